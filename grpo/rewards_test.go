package grpo

import "testing"

func TestScoreSeedRewards(t *testing.T) {
	funcs, err := Rewards(DefaultRewardNames)
	if err != nil {
		t.Fatal(err)
	}
	// Rows of the golden table in docs/reference/medvlm-r1-seed.md#golden-table
	// (ground truth B).
	comps := []string{
		"<think>x</think><answer>B</answer>",
		"<think>x</think><answer>B.</answer>",
		"<think>x</think><answer>A</answer>",
		"<think>x</think><answer>B</answer>\n",
		"B",
	}
	per, total, err := Score(funcs, comps, []string{"B", "B", "B", "B", "B"})
	if err != nil {
		t.Fatal(err)
	}
	wantAcc := []float64{1, 0.5, 0, 1, 0}
	wantFmt := []float64{1, 1, 1, 0, 0}
	for i := range comps {
		if per[0][i] != wantAcc[i] || per[1][i] != wantFmt[i] || total[i] != wantAcc[i]+wantFmt[i] {
			t.Errorf("%q: acc %v fmt %v total %v", comps[i], per[0][i], per[1][i], total[i])
		}
	}
	if funcs[0].Name != "accuracy_reward" || funcs[1].Name != "format_reward" {
		t.Errorf("names %q %q", funcs[0].Name, funcs[1].Name)
	}
	for _, bad := range [][]string{nil, {"length"}, {"format", "format"}} {
		if _, err := Rewards(bad); err == nil {
			t.Errorf("Rewards(%q): no error", bad)
		}
	}
	if _, _, err := Score(funcs, comps, nil); err == nil {
		t.Error("mismatched lengths accepted")
	}
}
