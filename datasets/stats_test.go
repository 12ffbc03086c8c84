package datasets

import (
	"math"
	"strings"
	"testing"
)

// seedLike builds 900 samples shaped like the seed file's statistics
// (docs/reference/medvlm-r1-seed.md#slices-per-modality): per slice the number of
// 4- and 2-option items and the
// answer-letter counts. Two-option items take the A/B letters first.
func seedLike() []Item {
	type part struct {
		mod, subset string
		four, two   int
		a, b, c, d  int
	}
	parts := []part{
		{MRI, SubsetMRI, 300, 0, 69, 73, 86, 72},
		{CT, SubsetCT, 237, 63, 90, 99, 50, 61},
		{Xray, SubsetXray, 288, 12, 91, 61, 77, 71},
	}
	var out []Item
	for _, p := range parts {
		letters := strings.Repeat("A", p.a) + strings.Repeat("B", p.b) + strings.Repeat("C", p.c) + strings.Repeat("D", p.d)
		for k := 0; k < p.four+p.two; k++ {
			n := 4
			if k < p.two {
				n = 2
			}
			opts := []string{"w", "x", "y", "z"}[:n]
			out = append(out, Item{Index: len(out), Modality: p.mod, Record: Record{Options: opts, Solution: letters[k : k+1], Subset: p.subset}})
		}
	}
	return out
}

func near(a, b float64) bool { return math.Abs(a-b) < 0.005 }

func TestComputeStatsSeedTable(t *testing.T) {
	st := ComputeStats(seedLike())
	// Golden values: the table in docs/reference/medvlm-r1-seed.md#slices-per-modality.
	want := []struct {
		mod          string
		four, two    int
		guess, major float64
		letter       string
	}{
		{MRI, 300, 0, 25.00, 28.67, "C"},
		{CT, 237, 63, 30.25, 33.00, "B"},
		{Xray, 288, 12, 26.00, 30.33, "A"},
	}
	if len(st.ByModality) != 3 {
		t.Fatalf("got %d modalities", len(st.ByModality))
	}
	for i, w := range want {
		m := st.ByModality[i]
		if m.Modality != w.mod || m.N != 300 || m.OptionsPerItem[4] != w.four || m.OptionsPerItem[2] != w.two {
			t.Errorf("%s: %+v", w.mod, m)
		}
		if !near(m.RandomGuessPct, w.guess) || !near(math.Round(m.MajorityPct*100)/100, w.major) || m.MajorityLetter != w.letter {
			t.Errorf("%s: random %.4f majority %.4f (%s), want %.2f %.2f (%s)", w.mod, m.RandomGuessPct, m.MajorityPct, m.MajorityLetter, w.guess, w.major, w.letter)
		}
	}
	// Total: (825*1/4 + 75*1/2)/900 and A = 69+90+91 = 250 of 900.
	if !near(st.Total.RandomGuessPct, 100*(825.0/4+75.0/2)/900) || st.Total.MajorityLetter != "A" || !near(st.Total.MajorityPct, 100*250.0/900) {
		t.Errorf("total %+v", st.Total)
	}
	if st.Total.Letters["D"] != 72+61+71 {
		t.Errorf("total D = %d", st.Total.Letters["D"])
	}
}

func TestComputeStatsTieAndEmpty(t *testing.T) {
	s := []Item{
		{Modality: CT, Record: Record{Options: []string{"a", "b"}, Solution: "B"}},
		{Modality: CT, Record: Record{Options: []string{"a", "b"}, Solution: "A"}},
	}
	st := ComputeStats(s)
	if st.ByModality[0].MajorityLetter != "A" || st.ByModality[0].MajorityPct != 50 {
		t.Errorf("tie: %+v", st.ByModality[0])
	}
	if st := ComputeStats(nil); st.Total.N != 0 || len(st.ByModality) != 0 {
		t.Errorf("empty: %+v", st)
	}
}

func TestSelectionAgreement(t *testing.T) {
	s := seedLike()
	ag := SelectionAgreement(s)
	if !AllAgree(ag) {
		t.Fatalf("seed-like layout should agree: %+v", ag)
	}
	// Move one CT record into the MRI slice's position range.
	s[5].Modality = CT
	ag = SelectionAgreement(s)
	if ag[0].Agree || ag[1].Agree || !ag[2].Agree {
		t.Errorf("after moving one record: %+v", ag)
	}
	if ag[0].Both != 299 || ag[1].BySubset != 301 {
		t.Errorf("counts %+v", ag)
	}
	// A short file cannot agree.
	if AllAgree(SelectionAgreement(seedLike()[:600])) {
		t.Error("600 records should not agree for Xray")
	}
}
