// Package hub downloads model and dataset repositories from the Hugging Face
// hub over its HTTP file API into the huggingface_hub cache layout, so that
// caches written by Python's huggingface_hub are reused and vice versa.
// docs/hub.md describes the URLs, headers, cache layout and verification.
package hub

import (
	"errors"
	"fmt"
	"regexp"
	"strings"
)

// RepoType is a hub repository kind.
type RepoType string

// Repository kinds.
const (
	Model   RepoType = "model"
	Dataset RepoType = "dataset"
)

// urlPrefix is the kind's prefix in resolve URLs (huggingface_hub's
// REPO_TYPES_URL_PREFIXES: models have none).
func (t RepoType) urlPrefix() string {
	if t == Dataset {
		return "datasets/"
	}
	return ""
}

// apiPath is the kind's collection in the API: /api/models, /api/datasets.
func (t RepoType) apiPath() string { return string(t) + "s" }

// DefaultRevision is the branch used when no revision is given.
const DefaultRevision = "main"

// Repo names one repository at one revision (branch, tag or commit).
type Repo struct {
	Type     RepoType
	ID       string // ORG/NAME
	Revision string // empty: main
}

func (r Repo) rev() string {
	if r.Revision == "" {
		return DefaultRevision
	}
	return r.Revision
}

// String renders the repo as hf:ORG/NAME[@REVISION] (datasets: hf:datasets/ORG/NAME).
func (r Repo) String() string {
	s := "hf:" + r.Type.urlPrefix() + r.ID
	if r.Revision != "" {
		s += "@" + r.Revision
	}
	return s
}

// folderName is the repo's folder in the cache: models--ORG--NAME,
// datasets--ORG--NAME (huggingface_hub's repo_folder_name).
func (r Repo) folderName() string {
	return string(r.Type) + "s--" + strings.ReplaceAll(r.ID, "/", "--")
}

var (
	idPart    = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._-]*$`)
	commitOID = regexp.MustCompile(`^[0-9a-f]{40}$`)
)

// ValidateID checks an ORG/NAME repository id: two parts of letters, digits,
// '.', '_' and '-', no "--" or ".." (the hub's own rules, and what keeps the
// id safe as a cache folder name).
func ValidateID(id string) error {
	org, name, ok := strings.Cut(id, "/")
	if !ok || !idPart.MatchString(org) || !idPart.MatchString(name) ||
		strings.Contains(id, "--") || strings.Contains(id, "..") || len(id) > 96 {
		return fmt.Errorf("hub: repo id %q: want ORG/NAME (letters, digits, '.', '_', '-'; no \"--\" or \"..\")", id)
	}
	return nil
}

// validateRevision rejects revisions that could escape refs/ as a path.
func validateRevision(rev string) error {
	if rev == "" || strings.HasPrefix(rev, "/") || strings.HasSuffix(rev, "/") || strings.Contains(rev, "\\") ||
		strings.ContainsAny(rev, "\x00\n\r") || len(rev) > 256 {
		return fmt.Errorf("hub: revision %q: not a branch, tag or commit name", rev)
	}
	for _, p := range strings.Split(rev, "/") {
		if p == "" || p == "." || p == ".." {
			return fmt.Errorf("hub: revision %q: not a branch, tag or commit name", rev)
		}
	}
	return nil
}

// IsCommit reports whether rev is a full 40-hex commit id.
func IsCommit(rev string) bool { return commitOID.MatchString(rev) }

// ModelPrefix marks a hub model reference where a model directory is accepted.
const ModelPrefix = "hf:"

// IsRef reports whether s is a hub reference (hf:...) rather than a path.
func IsRef(s string) bool { return strings.HasPrefix(s, ModelPrefix) }

// ParseRef parses ORG/NAME[@REVISION], with or without the hf: prefix, as a
// repository of kind t.
func ParseRef(s string, t RepoType) (Repo, error) {
	body := strings.TrimPrefix(s, ModelPrefix)
	id, rev, hasRev := strings.Cut(body, "@")
	r := Repo{Type: t, ID: id, Revision: rev}
	if err := ValidateID(id); err != nil {
		return r, fmt.Errorf("hub: %q: %w", s, err)
	}
	if hasRev {
		if err := validateRevision(rev); err != nil {
			return r, fmt.Errorf("hub: %q: %w", s, err)
		}
	}
	return r, nil
}

// ParseRefRevision parses ORG/NAME[@REVISION] as ParseRef does, with the
// revision also given apart (rev, when hasRev is set, as --revision is):
// the revision may be given once only.
func ParseRefRevision(s string, t RepoType, rev string, hasRev bool) (Repo, error) {
	spec := strings.TrimPrefix(s, ModelPrefix)
	if hasRev {
		if strings.Contains(spec, "@") {
			return Repo{}, errors.New("give the revision once (ORG/NAME@REV or --revision)")
		}
		spec += "@" + rev
	}
	return ParseRef(spec, t)
}

// validateFile rejects repository file names that are not plain relative
// paths (a hostile listing must not write outside the snapshot).
func validateFile(name string) error {
	if name == "" || strings.HasPrefix(name, "/") || strings.Contains(name, "\\") || strings.ContainsAny(name, "\x00\n\r") {
		return fmt.Errorf("hub: file name %q: not a relative path", name)
	}
	for _, p := range strings.Split(name, "/") {
		if p == "" || p == "." || p == ".." {
			return fmt.Errorf("hub: file name %q: not a relative path", name)
		}
	}
	return nil
}
