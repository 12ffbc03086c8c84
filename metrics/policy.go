package metrics

import (
	"errors"
	"fmt"
	"strings"

	"github.com/medbench/medbench/answer"
)

// Policy is a named, versioned answer-extraction rule. Extract returns the
// extracted choice letter (A–Z), or nil when no answer can be extracted.
// format is the answer format the prompt's template declares, options the
// record's answer options in letter order (may be nil). A policy whose
// rule changes gets a new version, so that run manifests ("name/vN", see
// PolicyID) tell results of different rules apart.
//
// A policy may also have a method Note() string: a short remark that
// PolicySet.Usage shows in brackets after its name.
type Policy interface {
	Name() string
	Version() int
	Extract(output string, format answer.Format, options []string) *string
}

// The built-in policies.
var (
	// Strict is the seed's extraction (docs/reference/medvlm-r1-seed.md#scoring).
	Strict Policy = strictPolicy{}
	// Lenient recovers answers the seed scores as wrong, refusing to guess.
	Lenient Policy = lenientPolicy{}
)

// DefaultPolicies is the set of built-in policies, strict first: the
// policies the CLI knows by name. A new policy is one type implementing
// Policy and one entry here.
func DefaultPolicies() PolicySet { return NewPolicySet(Strict, Lenient) }

// PolicyID is "name/vVERSION", the form stored in run manifests.
func PolicyID(p Policy) string { return fmt.Sprintf("%s/v%d", p.Name(), p.Version()) }

// PolicySet is an ordered list of policies with distinct names: the one
// place a program looks policies up by name, lists them in its usage texts
// and takes their manifest IDs from. The zero PolicySet is empty.
type PolicySet struct {
	list []Policy
}

// NewPolicySet returns the set of ps in the order given. It panics when a
// policy has an empty name or two share a name: sets are written in code,
// and such a set is a programming error.
func NewPolicySet(ps ...Policy) PolicySet {
	seen := make(map[string]bool, len(ps))
	for _, p := range ps {
		if p.Name() == "" || seen[p.Name()] {
			panic(fmt.Sprintf("metrics: policy set: empty or repeated policy name %q", p.Name()))
		}
		seen[p.Name()] = true
	}
	return PolicySet{list: append([]Policy(nil), ps...)}
}

// List returns the set's policies in order (a copy).
func (s PolicySet) List() []Policy { return append([]Policy(nil), s.list...) }

// Names returns the policies' names in order.
func (s PolicySet) Names() []string {
	out := make([]string, len(s.list))
	for i, p := range s.list {
		out[i] = p.Name()
	}
	return out
}

// IDs returns the policies' manifest IDs ("name/vN", PolicyID) in order.
func (s PolicySet) IDs() []string { return PolicyIDs(s.list) }

// PolicyIDs lists policies as name/vN, the form run manifests record.
func PolicyIDs(ps []Policy) []string {
	out := make([]string, len(ps))
	for i, p := range ps {
		out[i] = PolicyID(p)
	}
	return out
}

// ByName returns the set's policy with the given name.
func (s PolicySet) ByName(name string) (Policy, error) {
	for _, p := range s.list {
		if p.Name() == name {
			return p, nil
		}
	}
	return nil, fmt.Errorf("metrics: unknown extraction policy %q (known: %s)", name, strings.Join(s.Names(), ", "))
}

// Usage describes the set for a flag's help text: the names in order, each
// followed by its bracketed note when it has one, the last joined by
// "and/or" ("strict (the seed's rule) and/or lenient").
func (s PolicySet) Usage() string {
	parts := make([]string, len(s.list))
	for i, p := range s.list {
		parts[i] = p.Name()
		if n, ok := p.(interface{ Note() string }); ok && n.Note() != "" {
			parts[i] += " (" + n.Note() + ")"
		}
	}
	if len(parts) < 2 {
		return strings.Join(parts, "")
	}
	return strings.Join(parts[:len(parts)-1], ", ") + " and/or " + parts[len(parts)-1]
}

// Parse returns the set's policies named in names, in order, skipping
// blanks and repeats; at least one is needed.
func (s PolicySet) Parse(names []string) ([]Policy, error) {
	var out []Policy
	seen := map[string]bool{}
	for _, n := range names {
		n = strings.TrimSpace(n)
		if n == "" || seen[n] {
			continue
		}
		seen[n] = true
		p, err := s.ByName(n)
		if err != nil {
			return nil, err
		}
		out = append(out, p)
	}
	if len(out) == 0 {
		return nil, errors.New("no policy given")
	}
	return out, nil
}
