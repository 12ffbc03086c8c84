package datasets

import (
	"fmt"
	"strings"
)

// Selection says how per-modality test sets are chosen.
type Selection string

const (
	// BySubset selects records whose subset maps to the modality (default).
	BySubset Selection = "subset"
	// BySeedSlices selects by position, as the seed's eval script does:
	// MRI = [0:300], CT = [300:600], Xray = [600:900].
	BySeedSlices Selection = "seed-slices"
)

// ParseSelection validates a --select value; "" means BySubset.
func ParseSelection(s string) (Selection, error) {
	switch Selection(s) {
	case "", BySubset:
		return BySubset, nil
	case BySeedSlices:
		return BySeedSlices, nil
	}
	return "", fmt.Errorf("datasets: unknown selection %q (want %q or %q)", s, BySubset, BySeedSlices)
}

// SeedSlice is a half-open range of record indices [Lo, Hi).
type SeedSlice struct{ Lo, Hi int }

// SeedSlices are the positional ranges of src/eval/test_qwen2vl_med.py lines
// 52-63 (MRI dataset[:300], CT dataset[300:600], Xray dataset[600:], the file
// having 900 records). The script has no slice for the other modalities.
func SeedSlices() map[string]SeedSlice {
	return map[string]SeedSlice{MRI: {0, 300}, CT: {300, 600}, Xray: {600, 900}}
}

// Select returns the samples of the requested modalities, grouped by modality
// in the order requested (file order within each group). modalities may be
// nil, empty or contain "all": every modality present (BySubset) or MRI, CT
// and Xray (BySeedSlices). Names are resolved with ParseModality. A modality
// with no samples is an error, and so is a seed slice that the samples do not
// cover completely, so a test set never shrinks silently. BySeedSlices picks
// by Sample.Index and sets each selected sample's Modality to its slice's,
// as the seed script does whatever the subset says.
func Select(samples []Item, sel Selection, modalities []string) ([]Item, error) {
	sel, err := ParseSelection(string(sel))
	if err != nil {
		return nil, err
	}
	mods, err := expandModalities(samples, sel, modalities)
	if err != nil {
		return nil, err
	}
	var out []Item
	switch sel {
	case BySubset:
		for _, mod := range mods {
			n := 0
			for _, s := range samples {
				if s.Modality == mod {
					out = append(out, s)
					n++
				}
			}
			if n == 0 {
				return nil, fmt.Errorf("datasets: no samples with modality %s (present: %s)", mod, strings.Join(presentModalities(samples), ", "))
			}
		}
	case BySeedSlices:
		slices := SeedSlices()
		for _, mod := range mods {
			sl, ok := slices[mod]
			if !ok {
				return nil, fmt.Errorf("datasets: seed-slices selection has no slice for %s (only MRI [0:300], CT [300:600], Xray [600:900]); use --select subset", mod)
			}
			n := 0
			for _, s := range samples {
				if s.Index >= sl.Lo && s.Index < sl.Hi {
					s.Modality = mod
					out = append(out, s)
					n++
				}
			}
			if n != sl.Hi-sl.Lo {
				return nil, fmt.Errorf("datasets: seed slice %s [%d:%d] needs records %d..%d, found %d of them", mod, sl.Lo, sl.Hi, sl.Lo, sl.Hi-1, n)
			}
		}
	}
	return out, nil
}

// expandModalities resolves names and "all", dropping duplicates.
func expandModalities(samples []Item, sel Selection, modalities []string) ([]string, error) {
	var out []string
	seen := map[string]bool{}
	add := func(m string) {
		if !seen[m] {
			seen[m] = true
			out = append(out, m)
		}
	}
	if len(modalities) == 0 {
		modalities = []string{"all"}
	}
	for _, name := range modalities {
		if strings.EqualFold(strings.TrimSpace(name), "all") {
			if sel == BySeedSlices {
				add(MRI)
				add(CT)
				add(Xray)
				continue
			}
			for _, m := range presentModalities(samples) {
				add(m)
			}
			continue
		}
		m := ParseModality(name)
		if m == "" {
			return nil, fmt.Errorf("datasets: empty modality name")
		}
		add(m)
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("datasets: no modalities to select (no samples)")
	}
	return out, nil
}

// presentModalities lists the samples' modalities in report order.
func presentModalities(samples []Item) []string {
	set := map[string]bool{}
	for _, s := range samples {
		set[s.Modality] = true
	}
	return orderModalities(set)
}
