package golden

import (
	"bytes"
	"fmt"
	"io"
	"os"
	"path/filepath"

	"github.com/medbench/medbench/records"
)

// ReadRun reads a run record for a check or a comparison. An incomplete
// record (torn samples.jsonl, no summary.json, one shard of a sharded run, a
// partial merge) is read with a one-line warning on warn; a record without
// samples is an error naming its directory.
func ReadRun(dir string, warn io.Writer) (*records.Run, error) {
	run, err := records.ReadRun(dir)
	if err != nil {
		return nil, err
	}
	if run.TornTail {
		fmt.Fprintf(warn, "medbench: warning: %s: samples.jsonl ends in a torn line (interrupted run); it was ignored\n", dir)
	}
	if run.Summary == nil {
		fmt.Fprintf(warn, "medbench: warning: %s has no summary.json (interrupted run?)\n", dir)
	}
	if sh := run.Manifest.Shard; sh != nil {
		fmt.Fprintf(warn, "medbench: warning: %s is shard %d/%d of a sharded run; join the shards with medbench merge first\n", dir, sh.Index, sh.Count)
	}
	if mg := run.Manifest.Merge; mg != nil && mg.Partial {
		fmt.Fprintf(warn, "medbench: warning: %s is a partial merge: %d samples missing\n", dir, len(mg.Missing))
	}
	if len(run.Samples) == 0 {
		return nil, fmt.Errorf("run %s has no samples", dir)
	}
	return run, nil
}

// InvalidItemsNote describes the invalid items a run scored (eval
// --invalid-items score), "" when none.
func InvalidItemsNote(run *records.Run) string {
	n := 0
	if run.Summary != nil {
		n = run.Summary.InvalidItems
	} else {
		ids := map[string]bool{}
		for _, s := range run.Samples {
			if s.Invalid != "" {
				ids[s.ID] = true
			}
		}
		n = len(ids)
	}
	if n == 0 {
		return ""
	}
	return fmt.Sprintf("invalid_items: %d item(s) of %s have answer-key problems and were scored anyway (--invalid-items score); they can never be right and pull every accuracy down (see \"invalid\" in samples.jsonl)", n, run.Dir)
}

// RunGate names a CI check of a run record against a golden table (the
// flags of `medbench check --run`).
type RunGate struct {
	// Run is the run record directory checked; Golden the table file.
	Run, Golden string
	// Baseline is the run directory that not_worse rows are tested against.
	Baseline string
	// Model and Dataset select the table's rows ("" picks its only one).
	Model, Dataset string
	// MaxParseFailureRate, when > 0, gates the parse-failure rate of every
	// checked accuracy cell that the table does not gate.
	MaxParseFailureRate float64
	// Warn receives the warnings about incomplete run records.
	Warn io.Writer
}

// Gate is the outcome of one golden check: the verdicts of Subject (a run
// or training directory) against the table in file Golden.
type Gate struct {
	Subject, Golden string
	Verdicts        []Verdict
	// Warning qualifies the verdicts (e.g. invalid items were scored); ""
	// for none.
	Warning string
}

// CheckRunDir reads the table and the run (and baseline) that g names and
// checks the run against it.
func CheckRunDir(g RunGate) (*Gate, error) {
	t, err := Load(g.Golden)
	if err != nil {
		return nil, err
	}
	run, err := ReadRun(g.Run, g.Warn)
	if err != nil {
		return nil, err
	}
	opts := CheckOptions{Model: g.Model, Dataset: g.Dataset, MaxParseFailureRate: g.MaxParseFailureRate}
	if g.Baseline != "" {
		if opts.Baseline, err = ReadRun(g.Baseline, g.Warn); err != nil {
			return nil, err
		}
	}
	out := &Gate{Subject: g.Run, Golden: g.Golden, Warning: InvalidItemsNote(run)}
	if out.Verdicts, err = CheckRun(run, t, opts); err != nil {
		return nil, fmt.Errorf("check %s against %s: %w", g.Run, g.Golden, err)
	}
	return out, nil
}

// Failed reports whether a cell regressed or is missing.
func (g *Gate) Failed() bool { return Count(g.Verdicts).Failed() }

// Write prints the verdict table and summary line to w, and writes JUnit
// XML to junit and appends a Markdown report to summary when they are not
// "".
func (g *Gate) Write(w io.Writer, junit, summary string) error {
	fmt.Fprintf(w, "medbench check: %s against %s\n", g.Subject, g.Golden)
	if err := WriteText(w, g.Verdicts); err != nil {
		return err
	}
	if g.Warning != "" {
		fmt.Fprintf(w, "warning: %s\n", g.Warning)
	}
	if junit != "" {
		if err := g.writeJUnit(junit); err != nil {
			return err
		}
	}
	if summary != "" {
		return g.appendSummary(summary)
	}
	return nil
}

func (g *Gate) writeJUnit(path string) error {
	var buf bytes.Buffer
	if err := WriteJUnit(&buf, "medbench check "+filepath.Base(g.Golden), g.Verdicts); err != nil {
		return err
	}
	if err := os.WriteFile(path, buf.Bytes(), 0o644); err != nil {
		return fmt.Errorf("check: junit: %w", err)
	}
	return nil
}

// appendSummary appends the Markdown report to path (e.g. a GitHub Actions
// job summary).
func (g *Gate) appendSummary(path string) error {
	var buf bytes.Buffer
	title := fmt.Sprintf("medbench check: %s vs %s", filepath.Base(g.Subject), filepath.Base(g.Golden))
	if err := WriteMarkdown(&buf, title, g.Verdicts); err != nil {
		return err
	}
	if g.Warning != "" {
		fmt.Fprintf(&buf, "\n> **Warning:** %s\n", g.Warning)
	}
	f, err := os.OpenFile(path, os.O_CREATE|os.O_APPEND|os.O_WRONLY, 0o644)
	if err != nil {
		return fmt.Errorf("check: summary: %w", err)
	}
	_, werr := f.Write(append(buf.Bytes(), '\n'))
	if cerr := f.Close(); werr == nil {
		werr = cerr
	}
	if werr != nil {
		return fmt.Errorf("check: summary %s: %w", path, werr)
	}
	return nil
}
