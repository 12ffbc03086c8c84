// Package demo runs the whole medbench job on the built-in fixture model
// and synthetic data: each stage a medbench command line, run in-process
// exactly as a user would type it, then a summary of the verdicts and the
// accuracy before and after training.
package demo

import (
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/medbench/medbench/golden"
	"github.com/medbench/medbench/grpo"
	"github.com/medbench/medbench/records"
)

// Stage is one step of the demo: a medbench command line, run in-process
// exactly as a user would type it, skipped when its output already exists.
type Stage struct {
	Title string
	Args  []string
	// Output is the file whose presence means the stage is done ("" = always run).
	Output string
	// OKCodes are the exit codes that let the demo go on (default: 0).
	OKCodes []int
}

// Plan lists the stages for an output directory. Every command here is
// the same one the README shows.
// The demo's training run has a final-accuracy band in the training golden
// table under this model and dataset (grpo's golden test writes it).
const (
	TrainGoldenModel = "fixture-tiny-seed1"
	// TrainGoldenDataset is the training golden table's dataset name.
	TrainGoldenDataset = "synth-count-demo-train400-seed11-test96-seed12"
)

// Plan lists the stages for an output directory. Every command here is the
// same one the README shows.
func Plan(out, goldenFile, trainGolden string, threads int) []Stage {
	p := func(parts ...string) string { return filepath.Join(append([]string{out}, parts...)...) }
	th := fmt.Sprint(threads)
	model := p("model")
	sft, grpoDir := p("train", "sft"), p("train", "grpo")
	trained := filepath.Join(grpoDir, "final")
	evalArgs := func(modelDir, runDir string) []string {
		return []string{"eval", "--model", modelDir, "--data", p("data", "test", "dataset.json"), "--modality", "all",
			"--prompt", "simple,complex,short", "--policy", "strict,lenient", "--preset", "medvlm-r1", "--max-new-tokens", "32",
			"--batch", "8", "--threads", th, "--out", runDir}
	}
	return []Stage{
		{Title: "write the tiny Qwen2-VL fixture model (ONNX, written from Go)",
			Args: []string{"model", "fixture", "--preset", "tiny", "--seed", "1", "--out", model}, Output: filepath.Join(model, "config.json")},
		{Title: "check the model layout", Args: []string{"model", "inspect", model}},
		{Title: "synthesize the test set (all modalities; the answer is how many lesions the image shows)",
			Args:   []string{"dataset", "synth", "--task", "count", "--out", p("data", "test"), "--n", "96", "--seed", "12", "--modalities", "all"},
			Output: p("data", "test", "dataset.json")},
		{Title: "synthesize the training set (disjoint seed)",
			Args:   []string{"dataset", "synth", "--task", "count", "--out", p("data", "train"), "--n", "400", "--seed", "11", "--modalities", "all"},
			Output: p("data", "train", "dataset.json")},
		{Title: "validate both sets", Args: []string{"dataset", "validate", p("data", "test", "dataset.json")}},
		{Title: "fixture golden: eval with the golden table's exact configuration",
			Args:   []string{"dataset", "synth", "--out", p("data", "golden"), "--n", "30", "--seed", "4", "--max-side", "40"},
			Output: p("data", "golden", "dataset.json")},
		{Title: "fixture golden: run", Args: []string{"eval", "--data", p("data", "golden", "dataset.json"), "--model", model, "--out", p("runs", "golden"),
			"--prompt", "simple,complex", "--policy", "strict,lenient", "--max-new-tokens", "16", "--threads", th},
			Output: p("runs", "golden", records.SummaryFile)},
		{Title: "fixture golden: check (CI gate; JUnit and Markdown summary)",
			Args: []string{"check", "--run", p("runs", "golden"), "--golden", goldenFile, "--junit", p("runs", "golden", "junit.xml"),
				"--summary", p("runs", "golden", "summary.md")}, OKCodes: []int{0, 1}},
		{Title: "evaluate the untrained model (both prompts, both scoring policies)",
			Args: evalArgs(model, p("runs", "before")), Output: p("runs", "before", records.SummaryFile)},
		{Title: "prompt ablation: simple vs complex (paired)",
			Args: []string{"compare", "--run", p("runs", "before"), "--prompts", "simple,complex", "--out", p("compare", "prompts")}},
		{Title: "SFT: learn the output format with every answer letter (the format, not the answers)",
			Args: []string{"train", "sft", "--model", model, "--data", p("data", "train", "dataset.json"), "--out", sft,
				"--template", "short", "--completion", "<think>Count.</think>\n<answer>{answer}</answer>", "--answers", "all",
				"--epochs", "1", "--lr", "3e-3", "--seed", "1", "--threads", th}, Output: filepath.Join(sft, "final", "config.json")},
		{Title: "GRPO: learn to read the image (accuracy + format rewards; the accuracy-rise task's settings)",
			Args: []string{"train", "grpo", "--model", filepath.Join(sft, "final"), "--data", p("data", "train", "dataset.json"),
				"--eval-data", p("data", "test", "dataset.json"), "--out", grpoDir, "--template", "short", "--eval-template", "short",
				"--num-generations", "8", "--prompts-per-step", "4", "--grad-accum", "1", "--max-steps", "200", "--lr", "3e-4",
				"--lr-scheduler", "constant", "--warmup-steps", "5", "--beta", "0.2", "--max-completion-length", "24",
				"--eval-max-new-tokens", "32", "--eval-steps", "40", "--save-steps", "50", "--seed", "1", "--threads", th},
			Output: filepath.Join(trained, "config.json")},
		{Title: "training golden check: final eval accuracy within its band (>= 0.80)",
			Args: []string{"check", "--train", grpoDir, "--golden", trainGolden, "--model", TrainGoldenModel,
				"--dataset", TrainGoldenDataset, "--junit", filepath.Join(grpoDir, "junit.xml")}, OKCodes: []int{0, 1}},
		{Title: "evaluate the GRPO checkpoint with the same eval command",
			Args: evalArgs(trained, p("runs", "after")), Output: p("runs", "after", records.SummaryFile)},
		{Title: "before vs after GRPO (paired McNemar per modality)",
			Args: []string{"compare", "--a", p("runs", "before"), "--b", p("runs", "after"), "--prompt", "short", "--out", p("compare", "grpo")}},
		{Title: "report (PDF, Markdown, plots, tables)",
			Args: []string{"report", "--run", p("runs", "before"), "--run", p("runs", "after"), "--name", "untrained", "--name", "GRPO",
				"--prompt", "short", "--train", grpoDir, "--title", "medbench demo: tiny Qwen2-VL fixture, SFT then GRPO",
				"--golden", goldenFile, "--check-run", p("runs", "golden"),
				"--train-golden", trainGolden, "--train-model", TrainGoldenModel, "--train-dataset", TrainGoldenDataset,
				"--out", p("report")}},
	}
}

// Options configures Run.
type Options struct {
	// Out is the output directory; stages whose output exists are reused.
	Out string
	// Golden is the fixture's golden table, TrainGolden the training golden
	// table (the demo's final-accuracy band).
	Golden, TrainGolden string
	// Threads is ONNX Runtime's intra-op thread count.
	Threads int
	// Command runs one medbench command line (without the program name) and
	// returns its exit code.
	Command func(args []string) int
}

// Run checks that the golden tables exist, runs the stages of Plan in
// order, printing each command line and its exit code to w, stops at the
// first stage that exits with a code it does not accept, and prints the
// Summary. ctx stops it between stages.
func Run(ctx context.Context, w io.Writer, opts Options) error {
	if _, err := os.Stat(opts.Golden); err != nil {
		return fmt.Errorf("golden table %s: %v (run from the repository root, or pass --golden)", opts.Golden, err)
	}
	if _, err := os.Stat(opts.TrainGolden); err != nil {
		return fmt.Errorf("training golden table %s: %v (run from the repository root, or pass --train-golden)", opts.TrainGolden, err)
	}
	return runPlan(ctx, w, Plan(opts.Out, opts.Golden, opts.TrainGolden, opts.Threads), opts)
}

func runPlan(ctx context.Context, w io.Writer, plan []Stage, opts Options) error {
	start := time.Now()
	for i, st := range plan {
		fmt.Fprintf(w, "\n==> [%d/%d] %s\n    medbench %s\n", i+1, len(plan), st.Title, shellJoin(st.Args))
		if st.Output != "" {
			if _, err := os.Stat(st.Output); err == nil {
				fmt.Fprintf(w, "    (exists: %s — reused)\n", st.Output)
				continue
			}
		}
		if err := ctx.Err(); err != nil {
			return fmt.Errorf("step %d (%s): %w", i+1, st.Title, err)
		}
		t0 := time.Now()
		code := opts.Command(st.Args)
		ok := code == 0
		for _, c := range st.OKCodes {
			ok = ok || c == code
		}
		fmt.Fprintf(w, "    exit %d in %s\n", code, time.Since(t0).Round(100*time.Millisecond))
		if !ok {
			return fmt.Errorf("step %d (%s) failed with exit %d; fix it and rerun `medbench demo` (finished steps are reused)", i+1, st.Title, code)
		}
	}
	fmt.Fprintf(w, "\n==> demo finished in %s\n", time.Since(start).Round(time.Second))
	return Summary(w, opts.Out, opts.Golden, opts.TrainGolden)
}

// Summary prints the verdicts of both golden checks, the accuracy before
// and after training and the paths of the comparisons, the training log and
// the report, for whatever of them exist under out.
func Summary(w io.Writer, out, goldenFile, trainGolden string) error {
	p := func(parts ...string) string { return filepath.Join(append([]string{out}, parts...)...) }
	fmt.Fprintln(w, "\nSummary")
	if run, err := records.ReadRun(p("runs", "golden")); err == nil {
		if t, err := golden.Load(goldenFile); err == nil {
			if vs, err := golden.CheckRun(run, t, golden.CheckOptions{}); err == nil {
				fmt.Fprintf(w, "  fixture golden check:   %s  (%s)\n", golden.Count(vs), p("runs", "golden", "junit.xml"))
			}
		}
	}
	if vs, err := grpo.CheckTrain(p("train", "grpo"), trainGolden, TrainGoldenModel, TrainGoldenDataset); err == nil {
		fmt.Fprintf(w, "  training golden check:  %s  (%s)\n", golden.Count(vs), p("train", "grpo", "junit.xml"))
	}
	for _, r := range []struct{ name, dir string }{{"untrained", "before"}, {"after GRPO", "after"}} {
		run, err := records.ReadRun(p("runs", r.dir))
		if err != nil || run.Summary == nil {
			continue
		}
		var parts []string
		for _, cell := range run.Summary.Cells {
			if cell.Prompt == "short" && cell.Policy == "strict" {
				parts = append(parts, fmt.Sprintf("%s %.1f%%", cell.Modality, 100*cell.Accuracy))
			}
		}
		fmt.Fprintf(w, "  accuracy, %-11s %s  (short prompt, strict scoring)\n", r.name+":", strings.Join(parts, ", "))
	}
	for _, f := range []struct{ what, path string }{
		{"prompt ablation", p("compare", "prompts", "compare.md")},
		{"before vs after", p("compare", "grpo", "compare.md")},
		{"training log", p("train", "grpo", "metrics.jsonl")},
		{"report (PDF)", p("report", "report.pdf")},
		{"report (Markdown)", p("report", "report.md")},
	} {
		if _, err := os.Stat(f.path); err == nil {
			fmt.Fprintf(w, "  %-18s %s\n", f.what+":", f.path)
		}
	}
	return nil
}

// shellJoin writes args as a POSIX shell would need them typed.
func shellJoin(args []string) string {
	q := make([]string, len(args))
	for i, a := range args {
		if a == "" || strings.ContainsAny(a, " \t'\"$`\\()%&;|<>*?[]{}!#~") {
			q[i] = "'" + strings.ReplaceAll(a, "'", `'\''`) + "'"
		} else {
			q[i] = a
		}
	}
	return strings.Join(q, " ")
}
