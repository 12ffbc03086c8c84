package golden

import (
	"context"
	"fmt"
	"io"
	"path/filepath"
	"strconv"
	"strings"
)

// Repeat runs one evaluation K times with successive seeds, for Calibrate
// over runs that differ in their seed only (`medbench check calibrate
// --repeat K`).
type Repeat struct {
	// K is the number of runs (at least 2).
	K int
	// Work is the folder of the run records: Work/seed-S for each seed S.
	Work string
	// FirstSeed is the seed of the first run; run i has FirstSeed+i.
	FirstSeed uint64
	// EvalArgs are the evaluation's arguments; Repeat adds --seed and
	// --out, so they must not set --seed, --out or --resume.
	EvalArgs []string
	// Eval runs one evaluation with its arguments and returns its exit
	// status.
	Eval func(args []string) int
	// Log receives one line per run started.
	Log io.Writer
}

// Check reports what makes the repeat unusable: fewer than 2 runs, no work
// folder, no evaluation arguments or one that Repeat sets itself.
func (r Repeat) Check() error {
	if r.K < 2 {
		return fmt.Errorf("--repeat must be at least 2, got %d", r.K)
	}
	if r.Work == "" {
		return fmt.Errorf("--repeat needs --work DIR for the run records")
	}
	if len(r.EvalArgs) == 0 {
		return fmt.Errorf("--repeat needs the eval arguments after --, e.g. -- --model DIR --data FILE --do-sample")
	}
	for _, a := range r.EvalArgs {
		name, _, _ := strings.Cut(strings.TrimLeft(a, "-"), "=")
		if strings.HasPrefix(a, "-") && (name == "seed" || name == "out" || name == "resume") {
			return fmt.Errorf("eval argument %q is set by calibrate itself", a)
		}
	}
	return nil
}

// Run checks the repeat and runs the K evaluations in turn, stopping at
// the first that fails or when ctx ends; it returns the run directories.
func (r Repeat) Run(ctx context.Context) ([]string, error) {
	if err := r.Check(); err != nil {
		return nil, err
	}
	dirs := make([]string, r.K)
	for i := range r.K {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		seed := r.FirstSeed + uint64(i)
		dirs[i] = filepath.Join(r.Work, fmt.Sprintf("seed-%d", seed))
		args := append(append([]string{}, r.EvalArgs...), "--seed", strconv.FormatUint(seed, 10), "--out", dirs[i])
		fmt.Fprintf(r.Log, "medbench check calibrate: run %d/%d: medbench eval ... --seed %d --out %s\n", i+1, r.K, seed, dirs[i])
		if code := r.Eval(args); code != 0 {
			return nil, fmt.Errorf("medbench eval (seed %d) exited %d", seed, code)
		}
	}
	return dirs, nil
}

// SplitRuns splits a comma-separated list of run directories, dropping
// blanks.
func SplitRuns(list string) []string {
	var dirs []string
	for _, d := range strings.Split(list, ",") {
		if d = strings.TrimSpace(d); d != "" {
			dirs = append(dirs, d)
		}
	}
	return dirs
}

// BlessCommand is the generated_by command line of a table blessed from
// the run in dir (`medbench check bless`).
func BlessCommand(dir, out, model, dataset, tolerance string) string {
	return fmt.Sprintf("medbench check bless --run %s --out %s --model %s --dataset %s --tolerance %s",
		ShellQuote(dir), ShellQuote(out), ShellQuote(model), ShellQuote(dataset), tolerance)
}

// CalibrateCommand is the generated_by command line of a table calibrated
// over the runs listed in runs, or, with rep, over the runs of a repeat
// (`medbench check calibrate`).
func CalibrateCommand(runs string, rep *Repeat, out, model, dataset string, k, floor float64) string {
	if rep == nil {
		return fmt.Sprintf("medbench check calibrate --runs %s", ShellQuote(runs)) +
			fmt.Sprintf(" --out %s --model %s --dataset %s --k %g --floor %g", ShellQuote(out), ShellQuote(model), ShellQuote(dataset), k, floor)
	}
	q := make([]string, len(rep.EvalArgs))
	for i, a := range rep.EvalArgs {
		q[i] = ShellQuote(a)
	}
	return fmt.Sprintf("medbench check calibrate --repeat %d --work %s --first-seed %d", rep.K, ShellQuote(rep.Work), rep.FirstSeed) +
		" --out " + ShellQuote(out) + " --model " + ShellQuote(model) + " --dataset " + ShellQuote(dataset) +
		fmt.Sprintf(" --k %g --floor %g -- %s", k, floor, strings.Join(q, " "))
}

// ShellQuote quotes s for a POSIX shell when it needs it.
func ShellQuote(s string) string {
	if s != "" && !strings.ContainsAny(s, " \t\n'\"\\$`!*?[]{}()<>|&;#~") {
		return s
	}
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}
