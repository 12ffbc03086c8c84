package datasets

import (
	"strings"
	"testing"
)

func TestSelect(t *testing.T) {
	all := seedLike()
	// Interleave a few Ultrasound records after the seed's 900.
	for k := 0; k < 3; k++ {
		all = append(all, Item{Index: len(all), Modality: Ultrasound})
	}
	for _, tc := range []struct {
		name  string
		sel   Selection
		mods  []string
		n     int
		first int // Index of the first sample
		err   string
	}{
		{"subset CT", BySubset, []string{"CT"}, 300, 300, ""},
		{"subset alias", BySubset, []string{"x-ray", "mr"}, 600, 600, ""},
		{"subset all", BySubset, []string{"all"}, 903, 0, ""},
		{"subset default", BySubset, nil, 903, 0, ""},
		{"subset dedupe", BySubset, []string{"CT", "ct"}, 300, 300, ""},
		{"subset absent", BySubset, []string{"Fundus"}, 0, 0, "no samples with modality Fundus"},
		{"slices Xray", BySeedSlices, []string{"Xray"}, 300, 600, ""},
		{"slices all", BySeedSlices, []string{"all"}, 900, 0, ""},
		{"slices no slice", BySeedSlices, []string{"Ultrasound"}, 0, 0, "no slice for Ultrasound"},
		{"empty selection means subset", "", []string{"US"}, 3, 900, ""},
		{"bad selection", "random", nil, 0, 0, "unknown selection"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := Select(all, tc.sel, tc.mods)
			if tc.err != "" {
				if err == nil || !strings.Contains(err.Error(), tc.err) {
					t.Fatalf("error %v, want %q", err, tc.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if len(got) != tc.n || got[0].Index != tc.first {
				t.Errorf("got %d samples from index %d, want %d from %d", len(got), got[0].Index, tc.n, tc.first)
			}
		})
	}
}

func TestSelectOrderAndSlices(t *testing.T) {
	s := seedLike()
	got, err := Select(s, BySubset, []string{"Xray", "MRI"})
	if err != nil {
		t.Fatal(err)
	}
	if got[0].Modality != Xray || got[299].Index != 899 || got[300].Modality != MRI || got[300].Index != 0 {
		t.Error("groups are not in the requested order")
	}
	// Seed slices are positional: a mislabelled record in [0:300] is still MRI.
	s[7].Modality = CT
	got, err = Select(s, BySeedSlices, []string{"MRI"})
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 300 || got[7].Modality != MRI {
		t.Errorf("seed slice: %d samples, record 7 modality %s", len(got), got[7].Modality)
	}
	// A file shorter than a slice is an error, not a silently smaller set.
	if _, err := Select(s[:899], BySeedSlices, []string{"Xray"}); err == nil || !strings.Contains(err.Error(), "found 299") {
		t.Errorf("short file: %v", err)
	}
}
