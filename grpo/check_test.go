package grpo

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestCheckTrainMedVLMR1 checks the imported MedVLM-R1 log against a golden
// table of its first steps: exact values pass, a changed value fails, a
// step the log lacks is missing.
func TestCheckTrainMedVLMR1(t *testing.T) {
	ms, err := ImportTrainerState("testdata/trainer_state_medvlm_r1.json")
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	if err := WriteMetricsFile(filepath.Join(dir, MetricsFile), ms); err != nil {
		t.Fatal(err)
	}
	table := `{"format":"medbench-golden","version":1,"rows":[
 {"model":"MedVLM-R1","dataset":"MRI","modality":"train","prompt":"train","policy":"grpo","metric":"reward_std","step":2,"value":0.136931,"n":0,
  "tolerance":{"kind":"absolute","value":1e-6,"direction":"both"},"provenance":{"source":"trainer_state.json step 2","verified":true}},
 {"model":"MedVLM-R1","dataset":"MRI","modality":"train","prompt":"train","policy":"grpo","metric":"reward/format_reward/mean","step":3,"value":0.125,"n":0,
  "tolerance":{"kind":"absolute","value":0,"direction":"both"},"provenance":{"source":"trainer_state.json step 3","verified":true}},
 {"model":"MedVLM-R1","dataset":"MRI","modality":"train","prompt":"train","policy":"grpo","metric":"kl","step":3,"value":0.0005,"n":0,
  "tolerance":{"kind":"absolute","value":0.0001,"direction":"lower_is_better"},"provenance":{"source":"made up: must fail","verified":false}},
 {"model":"MedVLM-R1","dataset":"MRI","modality":"train","prompt":"train","policy":"grpo","metric":"kl","step":4,"value":0.001,"n":0,
  "tolerance":{"kind":"absolute","value":0.001,"direction":"both"},"provenance":{"source":"step not logged: missing","verified":false}}
]}`
	gp := filepath.Join(dir, "golden.json")
	os.WriteFile(gp, []byte(table), 0o644)
	vs, err := CheckTrain(dir, gp, "", "")
	if err != nil {
		t.Fatal(err)
	}
	want := []bool{false, false, true, true} // failed?
	for i, v := range vs {
		if v.Failed() != want[i] {
			t.Errorf("row %d (%s): status %s detail %q, want failed=%v", i, v.Key, v.Status, v.Detail, want[i])
		}
	}
	if _, err := CheckTrain(filepath.Join(dir, "nope"), gp, "", ""); err == nil {
		t.Error("missing metrics accepted")
	}
	g, err := CheckTrainGate(dir, gp, "", "")
	if err != nil || g.Subject != dir || g.Golden != gp || len(g.Verdicts) != 4 || !g.Failed() {
		t.Errorf("CheckTrainGate = %+v, %v", g, err)
	}
	if _, err := CheckTrainGate(filepath.Join(dir, "nope"), gp, "", ""); err == nil || !strings.HasPrefix(err.Error(), "check "+filepath.Join(dir, "nope")+" against "+gp+": ") {
		t.Errorf("missing metrics: %v", err)
	}
}

// TestCheckTrainBand: the committed table holds several datasets; a check
// must pick one, and the accuracy-rise band passes at ≥ 0.80 only.
func TestCheckTrainBand(t *testing.T) {
	dir := t.TempDir()
	if _, err := CheckTrain(dir, goldenPath, "", ""); err == nil || !strings.Contains(err.Error(), goldenTaskDataset) {
		t.Errorf("no dataset selected: err %v, want the choices named", err)
	}
	for _, c := range []struct {
		acc  float64
		fail bool
	}{{1, false}, {0.8, false}, {0.7875, true}} {
		if err := WriteMetricsFile(filepath.Join(dir, MetricsFile), []Metrics{{"step": 0, "eval_accuracy": 0.2}, {"step": 200, "eval_accuracy": c.acc}}); err != nil {
			t.Fatal(err)
		}
		vs, err := CheckTrain(dir, goldenPath, goldenModel, goldenTaskDataset)
		if err != nil {
			t.Fatal(err)
		}
		if len(vs) != 1 || vs[0].Failed() != c.fail {
			t.Errorf("final accuracy %v: verdicts %+v, want failed=%v", c.acc, vs, c.fail)
		}
	}
}
