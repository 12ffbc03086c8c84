package datasets

import (
	"sort"
)

// ModalityStats summarizes the items of one modality (or of all of them).
type ModalityStats struct {
	Modality string `json:"modality"`
	N        int    `json:"n"`
	// OptionsPerItem counts items by their number of options.
	OptionsPerItem map[int]int `json:"options_per_item"`
	// Letters counts items by correct letter (the solution field).
	Letters map[string]int `json:"answer_letters"`
	// RandomGuessPct is the expected accuracy of a uniform random guess,
	// 100 * mean(1/len(options)).
	RandomGuessPct float64 `json:"random_guess_pct"`
	// MajorityLetter is the most common correct letter (ties: the earlier
	// letter) and MajorityPct the accuracy of always answering it.
	MajorityLetter string  `json:"majority_letter"`
	MajorityPct    float64 `json:"majority_pct"`
}

// Stats are a dataset's per-modality and overall statistics.
type Stats struct {
	ByModality []ModalityStats `json:"by_modality"`
	Total      ModalityStats   `json:"total"`
}

// ComputeStats computes per-modality statistics (modalities in report order)
// and the total over all samples.
func ComputeStats(samples []Item) Stats {
	groups := map[string][]Item{}
	for _, s := range samples {
		groups[s.Modality] = append(groups[s.Modality], s)
	}
	var st Stats
	for _, mod := range presentModalities(samples) {
		st.ByModality = append(st.ByModality, modalityStats(mod, groups[mod]))
	}
	st.Total = modalityStats("all", samples)
	return st
}

func modalityStats(mod string, samples []Item) ModalityStats {
	ms := ModalityStats{Modality: mod, N: len(samples), OptionsPerItem: map[int]int{}, Letters: map[string]int{}}
	var guess float64
	for _, s := range samples {
		n := len(s.Record.Options)
		ms.OptionsPerItem[n]++
		if n > 0 {
			guess += 1 / float64(n)
		}
		ms.Letters[s.Record.Solution]++
	}
	if ms.N == 0 {
		return ms
	}
	ms.RandomGuessPct = 100 * guess / float64(ms.N)
	letters := make([]string, 0, len(ms.Letters))
	for l := range ms.Letters {
		letters = append(letters, l)
	}
	sort.Strings(letters)
	best := -1
	for _, l := range letters {
		if ms.Letters[l] > best {
			best, ms.MajorityLetter = ms.Letters[l], l
		}
	}
	ms.MajorityPct = 100 * float64(best) / float64(ms.N)
	return ms
}

// SliceAgreement compares one seed slice with subset selection.
type SliceAgreement struct {
	Modality string `json:"modality"`
	Lo       int    `json:"lo"`
	Hi       int    `json:"hi"`
	// InSlice is the number of records present at positions [Lo, Hi).
	InSlice int `json:"in_slice"`
	// BySubset is the number of records, anywhere, whose subset maps to the
	// modality.
	BySubset int `json:"by_subset"`
	// Both is the number of records in the slice whose subset maps to the
	// modality.
	Both int `json:"both"`
	// Agree is true when the slice is complete and both selections pick
	// exactly the same records.
	Agree bool `json:"agree"`
}

// SelectionAgreement tells, for each seed slice (MRI, CT, Xray), whether
// positional and subset selection pick the same records. Samples must carry
// their subset-derived Modality (as loaded, not after seed-slice Select).
func SelectionAgreement(samples []Item) []SliceAgreement {
	sl := SeedSlices()
	out := make([]SliceAgreement, 0, 3)
	for _, mod := range []string{MRI, CT, Xray} {
		s := sl[mod]
		a := SliceAgreement{Modality: mod, Lo: s.Lo, Hi: s.Hi}
		for _, smp := range samples {
			in := smp.Index >= s.Lo && smp.Index < s.Hi
			if in {
				a.InSlice++
			}
			if smp.Modality == mod {
				a.BySubset++
				if in {
					a.Both++
				}
			}
		}
		n := s.Hi - s.Lo
		a.Agree = a.InSlice == n && a.BySubset == n && a.Both == n
		out = append(out, a)
	}
	return out
}

// AllAgree reports whether every slice agrees.
func AllAgree(a []SliceAgreement) bool {
	for _, x := range a {
		if !x.Agree {
			return false
		}
	}
	return len(a) > 0
}
