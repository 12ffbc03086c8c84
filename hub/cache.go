package hub

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"
)

// Cache layout (huggingface_hub's file_download.py):
//
//	{cache}/models--ORG--NAME/blobs/{etag}                  file contents
//	{cache}/models--ORG--NAME/blobs/{etag}.incomplete       a transfer in progress
//	{cache}/models--ORG--NAME/snapshots/{commit}/{path}     relative symlink to ../../blobs/{etag}
//	{cache}/models--ORG--NAME/refs/{revision}               the commit a branch/tag pointed to
//	{cache}/.locks/models--ORG--NAME/{etag}.lock            flock while a blob is written
//
// medbench adds {cache}/models--ORG--NAME/.medbench/files-{commit}.json, the
// commit's file list, so that a complete snapshot is reused without asking
// the hub for the listing again (huggingface_hub ignores the folder).

func (c *Client) repoDir(r Repo) string { return filepath.Join(c.CacheDir, r.folderName()) }

// SnapshotDir is the folder holding the repo's files at a commit.
func (c *Client) SnapshotDir(r Repo, commit string) string {
	return filepath.Join(c.repoDir(r), "snapshots", commit)
}

func (c *Client) blobPath(r Repo, etag string) string {
	return filepath.Join(c.repoDir(r), "blobs", etag)
}

func (c *Client) refPath(r Repo, rev string) string {
	return filepath.Join(c.repoDir(r), "refs", filepath.FromSlash(rev))
}

func (c *Client) listingPath(r Repo, commit string) string {
	return filepath.Join(c.repoDir(r), ".medbench", "files-"+commit+".json")
}

// cachedCommit is the commit a revision resolves to without the network:
// the revision itself when it is a commit id, else refs/{revision}.
func (c *Client) cachedCommit(r Repo) (string, bool) {
	if IsCommit(r.rev()) {
		return r.rev(), true
	}
	b, err := os.ReadFile(c.refPath(r, r.rev()))
	if err != nil {
		return "", false
	}
	s := strings.TrimSpace(string(b))
	return s, IsCommit(s)
}

// writeRef records that revision pointed to commit (nothing for commit ids).
func (c *Client) writeRef(r Repo, commit string) error {
	if r.rev() == commit {
		return nil
	}
	p := c.refPath(r, r.rev())
	if b, err := os.ReadFile(p); err == nil && strings.TrimSpace(string(b)) == commit {
		return nil
	}
	return writeFileAtomic(p, []byte(commit))
}

// cachedListing is the commit's file list saved by an earlier online call.
func (c *Client) cachedListing(r Repo, commit string) ([]string, bool) {
	b, err := os.ReadFile(c.listingPath(r, commit))
	if err != nil {
		return nil, false
	}
	var files []string
	if json.Unmarshal(b, &files) != nil {
		return nil, false
	}
	for _, f := range files {
		if validateFile(f) != nil {
			return nil, false
		}
	}
	return files, true
}

func (c *Client) saveListing(r Repo, commit string, files []string) error {
	b, err := json.Marshal(files)
	if err != nil {
		return err
	}
	return writeFileAtomic(c.listingPath(r, commit), b)
}

// snapshotFiles lists the files present (links that resolve) in a snapshot.
func (c *Client) snapshotFiles(r Repo, commit string) []string {
	root := c.SnapshotDir(r, commit)
	var out []string
	_ = filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return nil
		}
		if _, err := os.Stat(p); err != nil { // dangling link
			return nil
		}
		rel, _ := filepath.Rel(root, p)
		out = append(out, filepath.ToSlash(rel))
		return nil
	})
	sort.Strings(out)
	return out
}

// inSnapshot reports whether the snapshot holds the file (following links).
func (c *Client) inSnapshot(r Repo, commit, file string) bool {
	st, err := os.Stat(filepath.Join(c.SnapshotDir(r, commit), filepath.FromSlash(file)))
	return err == nil && st.Mode().IsRegular()
}

// link points snapshots/{commit}/{file} at blobs/{etag} with a relative
// symlink, as huggingface_hub does (_create_symlink with relpath).
func (c *Client) link(r Repo, commit, file, etag string) error {
	ptr := filepath.Join(c.SnapshotDir(r, commit), filepath.FromSlash(file))
	if err := os.MkdirAll(filepath.Dir(ptr), 0o755); err != nil {
		return fmt.Errorf("hub: %w", err)
	}
	rel, err := filepath.Rel(filepath.Dir(ptr), c.blobPath(r, etag))
	if err != nil {
		return fmt.Errorf("hub: %w", err)
	}
	tmp := ptr + ".medbench-link"
	_ = os.Remove(tmp)
	if err := os.Symlink(rel, tmp); err != nil {
		return fmt.Errorf("hub: %w", err)
	}
	if err := os.Rename(tmp, ptr); err != nil {
		_ = os.Remove(tmp)
		return fmt.Errorf("hub: %w", err)
	}
	return nil
}

// writeFileAtomic writes via a temp file and rename.
func writeFileAtomic(path string, data []byte) error {
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return fmt.Errorf("hub: %w", err)
	}
	f, err := os.CreateTemp(filepath.Dir(path), ".tmp-"+filepath.Base(path)+"-*")
	if err != nil {
		return fmt.Errorf("hub: %w", err)
	}
	_, werr := f.Write(data)
	cerr := f.Close()
	if err := errors.Join(werr, cerr); err != nil {
		os.Remove(f.Name())
		return fmt.Errorf("hub: %s: %w", path, err)
	}
	if err := os.Rename(f.Name(), path); err != nil {
		os.Remove(f.Name())
		return fmt.Errorf("hub: %s: %w", path, err)
	}
	return nil
}
