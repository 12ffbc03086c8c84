package main

import (
	"path/filepath"
	"slices"
	"strconv"
	"testing"

	"github.com/medbench/medbench/golden"
)

// TestDemoTrainGolden: the demo's training run has a final-accuracy band in
// the committed training golden table, at the step the demo's GRPO stage
// stops, and the demo checks it right after training.
func TestDemoTrainGolden(t *testing.T) {
	trainGolden := filepath.Join("..", "..", "golden", "grpo-tiny.json")
	tab, err := golden.Load(trainGolden)
	if err != nil {
		t.Fatal(err)
	}
	sel, err := tab.Select(demoTrainGoldenModel, demoTrainGoldenDataset)
	if err != nil {
		t.Fatal(err)
	}
	plan := demoPlan(t.TempDir(), "fixture.json", trainGolden, 2)
	grpoAt := slices.IndexFunc(plan, func(s demoStage) bool { return len(s.Args) > 1 && s.Args[0] == "train" && s.Args[1] == "grpo" })
	if grpoAt < 0 || grpoAt+1 >= len(plan) {
		t.Fatal("no GRPO stage followed by another")
	}
	args := plan[grpoAt].Args
	i := slices.Index(args, "--max-steps")
	if i < 0 {
		t.Fatal("GRPO stage without --max-steps")
	}
	steps, err := strconv.Atoi(args[i+1])
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range sel.Rows {
		if r.Metric == "eval_accuracy" && r.Step != steps {
			t.Errorf("band at step %d, demo trains %d steps", r.Step, steps)
		}
	}
	check := plan[grpoAt+1].Args
	if len(check) < 2 || check[0] != "check" || check[1] != "--train" || !slices.Contains(check, demoTrainGoldenDataset) {
		t.Errorf("stage after GRPO is not the training golden check: %v", check)
	}
}
