package demo

import (
	"context"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/medbench/medbench/golden"
)

// TestDemoTrainGolden: the demo's training run has a final-accuracy band in
// the committed training golden table, at the step the demo's GRPO stage
// stops, and the demo checks it right after training.
func TestDemoTrainGolden(t *testing.T) {
	trainGolden := filepath.Join("..", "golden", "grpo-tiny.json")
	tab, err := golden.Load(trainGolden)
	if err != nil {
		t.Fatal(err)
	}
	sel, err := tab.Select(TrainGoldenModel, TrainGoldenDataset)
	if err != nil {
		t.Fatal(err)
	}
	plan := Plan(t.TempDir(), "fixture.json", trainGolden, 2)
	grpoAt := slices.IndexFunc(plan, func(s Stage) bool { return len(s.Args) > 1 && s.Args[0] == "train" && s.Args[1] == "grpo" })
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
	if len(check) < 2 || check[0] != "check" || check[1] != "--train" || !slices.Contains(check, TrainGoldenDataset) {
		t.Errorf("stage after GRPO is not the training golden check: %v", check)
	}
}

// TestRunPlan: stages run in order through Options.Command, existing
// outputs are reused, accepted exit codes go on and any other stops the
// demo naming the step.
func TestRunPlan(t *testing.T) {
	dir := t.TempDir()
	done := filepath.Join(dir, "done")
	os.WriteFile(done, nil, 0o644)
	plan := []Stage{
		{Title: "first", Args: []string{"model", "fixture", "--out", "a b"}},
		{Title: "reused", Args: []string{"never"}, Output: done},
		{Title: "gate", Args: []string{"check"}, OKCodes: []int{0, 1}},
		{Title: "broken", Args: []string{"eval"}},
		{Title: "after", Args: []string{"report"}},
	}
	var ran []string
	opts := Options{Out: dir, Command: func(args []string) int {
		ran = append(ran, args[0])
		return map[string]int{"check": 1, "eval": 2}[args[0]]
	}}
	var w strings.Builder
	err := runPlan(context.Background(), &w, plan, opts)
	if err == nil || !strings.HasPrefix(err.Error(), "step 4 (broken) failed with exit 2;") {
		t.Fatalf("err %v", err)
	}
	if got := strings.Join(ran, ","); got != "model,check,eval" {
		t.Errorf("ran %s", got)
	}
	out := w.String()
	for _, want := range []string{"\n==> [1/5] first\n    medbench model fixture --out 'a b'\n    exit 0 in ",
		"(exists: " + done + " — reused)", "==> [3/5] gate\n    medbench check\n    exit 1 in "} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}

	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := runPlan(ctx, &w, plan[:1], opts); err == nil || !strings.Contains(err.Error(), "step 1 (first)") {
		t.Errorf("cancelled: err %v", err)
	}
	if err := Run(context.Background(), &w, Options{Golden: filepath.Join(dir, "none.json")}); err == nil || !strings.Contains(err.Error(), "golden table") {
		t.Errorf("missing golden: err %v", err)
	}
}

func TestShellJoin(t *testing.T) {
	if got, want := shellJoin([]string{"a", "", "b c", "it's", "x%y"}), `a '' 'b c' 'it'\''s' 'x%y'`; got != want {
		t.Errorf("shellJoin = %s, want %s", got, want)
	}
}
