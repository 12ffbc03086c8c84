package grpo

import (
	"os"
	"path/filepath"
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
	vs, err := CheckTrain(dir, gp)
	if err != nil {
		t.Fatal(err)
	}
	want := []bool{false, false, true, true} // failed?
	for i, v := range vs {
		if v.Failed() != want[i] {
			t.Errorf("row %d (%s): status %s detail %q, want failed=%v", i, v.Key, v.Status, v.Detail, want[i])
		}
	}
	if _, err := CheckTrain(filepath.Join(dir, "nope"), gp); err == nil {
		t.Error("missing metrics accepted")
	}
}
