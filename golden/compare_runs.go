package golden

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
)

// Pairing names the two arms of a paired comparison of run records (the
// flags of `medbench compare`): either runs A and B on one Prompt, or two
// prompts PromptA and PromptB within Run (a prompt ablation).
type Pairing struct {
	A, B, Prompt          string
	Run, PromptA, PromptB string
	Options               CompareOptions
	// Top is the number of discordant items printed (0: none).
	Top int
	// Out, when not "", is the directory that receives compare.md,
	// compare.json, discordant.md and discordant.csv.
	Out string
	// Warn receives the warnings about incomplete run records.
	Warn io.Writer
}

// PairedResult is a comparison of two arms, labelled A and B.
type PairedResult struct {
	Title      string
	A, B       Side
	Comparison *Comparison
}

// CompareRuns reads the arms that p names, compares them, prints the table
// and the first p.Top discordant items to w, and writes the comparison files
// into p.Out.
func CompareRuns(ctx context.Context, w io.Writer, p Pairing) (*PairedResult, error) {
	res, err := readArms(p)
	if err != nil {
		return nil, err
	}
	cmp, err := Compare(ctx, res.A, res.B, p.Options)
	if err != nil {
		return nil, err
	}
	SortDiscordant(cmp.Discordant)
	res.Comparison = cmp
	fmt.Fprintln(w, res.Title)
	if err := cmp.WriteText(w); err != nil {
		return nil, err
	}
	res.writeTop(w, p.Top)
	if p.Out != "" {
		if err := res.writeFiles(p.Out); err != nil {
			return nil, err
		}
		fmt.Fprintf(w, "\nwrote %s, %s, %s, %s\n", filepath.Join(p.Out, "compare.md"), filepath.Join(p.Out, "compare.json"), filepath.Join(p.Out, "discordant.md"), filepath.Join(p.Out, "discordant.csv"))
	}
	return res, nil
}

// readArms reads the run records of the two arms.
func readArms(p Pairing) (*PairedResult, error) {
	if p.Run != "" {
		run, err := ReadRun(p.Run, p.Warn)
		if err != nil {
			return nil, err
		}
		return &PairedResult{Title: fmt.Sprintf("Prompt ablation: %s vs %s (run %s)", p.PromptA, p.PromptB, filepath.Base(p.Run)),
			A: Side{Run: run, Prompt: p.PromptA, Label: p.PromptA}, B: Side{Run: run, Prompt: p.PromptB, Label: p.PromptB}}, nil
	}
	ra, err := ReadRun(p.A, p.Warn)
	if err != nil {
		return nil, err
	}
	rb, err := ReadRun(p.B, p.Warn)
	if err != nil {
		return nil, err
	}
	return &PairedResult{Title: fmt.Sprintf("Run comparison: A = %s, B = %s (prompt %s)", p.A, p.B, p.Prompt),
		A: Side{Run: ra, Prompt: p.Prompt, Label: "A"}, B: Side{Run: rb, Prompt: p.Prompt, Label: "B"}}, nil
}

// writeTop prints the first top discordant items (B's losses first).
func (r *PairedResult) writeTop(w io.Writer, top int) {
	ds := r.Comparison.Discordant
	if top <= 0 || len(ds) == 0 {
		return
	}
	n := min(top, len(ds))
	fmt.Fprintf(w, "\nDiscordant items (%d; first %d, %s's losses first):\n", len(ds), n, r.B.Label)
	for _, d := range ds[:n] {
		who := r.A.Label
		if d.CorrectB {
			who = r.B.Label
		}
		fmt.Fprintf(w, "  %s #%s (answer %s, only %s right): %s=%q %s | %s=%q %s\n", d.Modality, d.ID, d.Solution, who,
			r.A.Label, d.ExtractedA, oneLine(d.OutputA, 60), r.B.Label, d.ExtractedB, oneLine(d.OutputB, 60))
	}
}

// writeFiles writes compare.md, compare.json, discordant.md and
// discordant.csv into dir.
func (r *PairedResult) writeFiles(dir string) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("compare: %w", err)
	}
	cmp := r.Comparison
	files := []struct {
		name  string
		write func(*bytes.Buffer) error
	}{
		{"compare.md", func(b *bytes.Buffer) error { return cmp.WriteMarkdown(b, r.Title) }},
		{"compare.json", func(b *bytes.Buffer) error { return cmp.WriteJSON(b, r.Title) }},
		{"discordant.md", func(b *bytes.Buffer) error { return cmp.WriteDiscordantMarkdown(b, 0, 0) }},
		{"discordant.csv", func(b *bytes.Buffer) error { return cmp.WriteDiscordantCSV(b) }},
	}
	for _, f := range files {
		var buf bytes.Buffer
		if err := f.write(&buf); err != nil {
			return err
		}
		if err := os.WriteFile(filepath.Join(dir, f.name), buf.Bytes(), 0o644); err != nil {
			return fmt.Errorf("compare: %w", err)
		}
	}
	return nil
}

// Worse is an error naming the first modality in which B is significantly
// worse than A, nil when there is none.
func (r *PairedResult) Worse() error {
	for _, row := range r.Comparison.Rows {
		if row.Verdict == CmpWorse {
			return fmt.Errorf("compare: %s is significantly worse than %s on %s (Holm p = %.4g)", r.B.Label, r.A.Label, row.Modality, row.PHolm)
		}
	}
	return nil
}

// oneLine flattens s to one line of at most n runes.
func oneLine(s string, n int) string {
	s = strings.Join(strings.Fields(s), " ")
	if r := []rune(s); len(r) > n {
		return string(r[:n]) + "…"
	}
	return s
}
