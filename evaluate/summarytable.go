package evaluate

import (
	"fmt"
	"io"

	"github.com/jedib0t/go-pretty/v6/table"

	"github.com/medbench/medbench/records"
)

// WriteSummary writes a run's accuracy table (one row per modality ×
// prompt × policy) and the line naming its record folder dir, as eval and
// merge print them.
func WriteSummary(w io.Writer, s *records.Summary, dir string) {
	t := table.NewWriter()
	t.SetOutputMirror(w)
	t.AppendHeader(table.Row{"Modality", "Prompt", "Policy", "N", "Correct", "Accuracy %", "Wilson 95% CI", "Parse fail %", "Errors"})
	for _, c := range s.Cells {
		t.AppendRow(table.Row{c.Modality, c.Prompt, c.Policy, c.N, c.Correct, fmt.Sprintf("%.2f", 100*c.Accuracy),
			fmt.Sprintf("[%.2f, %.2f]", 100*c.WilsonLow, 100*c.WilsonHigh), fmt.Sprintf("%.2f", 100*c.ParseFailureRate), c.Errors})
	}
	t.SetStyle(table.StyleLight)
	t.Render()
	fmt.Fprintf(w, "%d samples (%d failed); run record in %s\n", s.Samples, s.Errors, dir)
	if s.InvalidItems > 0 {
		fmt.Fprintf(w, "%d invalid item(s) scored (--invalid-items score): their answer key can never be right; see \"invalid\" in samples.jsonl\n", s.InvalidItems)
	}
}
