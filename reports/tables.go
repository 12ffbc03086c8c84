package reports

import (
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/jedib0t/go-pretty/v6/table"

	"github.com/medbench/medbench/records"
)

// tableData is a header plus rows of pre-formatted cells, rendered to CSV,
// HTML, Markdown and the PDF from one source.
type tableData struct {
	Name   string
	Title  string
	Header []string
	Rows   [][]string
}

func (t tableData) writer() table.Writer {
	w := table.NewWriter()
	h := make(table.Row, len(t.Header))
	for i, c := range t.Header {
		h[i] = c
	}
	w.AppendHeader(h)
	for _, r := range t.Rows {
		row := make(table.Row, len(r))
		for i, c := range r {
			row[i] = c
		}
		w.AppendRow(row)
	}
	return w
}

// Markdown renders the table as GitHub-flavoured Markdown.
func (t tableData) Markdown() string { return t.writer().RenderMarkdown() }

// save writes tables/<name>.csv and tables/<name>.html.
func (t tableData) save(dir string) error {
	w := t.writer()
	if err := os.WriteFile(filepath.Join(dir, t.Name+".csv"), []byte(w.RenderCSV()+"\n"), 0o644); err != nil {
		return fmt.Errorf("reports: %w", err)
	}
	html := "<!doctype html><meta charset=\"utf-8\"><title>" + htmlEscape(t.Title) + "</title>\n" + w.RenderHTML() + "\n"
	if err := os.WriteFile(filepath.Join(dir, t.Name+".html"), []byte(html), 0o644); err != nil {
		return fmt.Errorf("reports: %w", err)
	}
	return nil
}

func htmlEscape(s string) string {
	return strings.NewReplacer("&", "&amp;", "<", "&lt;", ">", "&gt;").Replace(s)
}

func pct(f float64) string { return fmt.Sprintf("%.2f", 100*f) }

// modalityOrder sorts modalities canonically (the seed's three first).
var modalityRank = map[string]int{"MRI": 0, "CT": 1, "Xray": 2, "Ultrasound": 3, "Dermoscopy": 4, "Microscopy": 5, "Fundus": 6, "OCT": 7, "mean": 99}

func sortModalities(ms []string) {
	sort.SliceStable(ms, func(i, j int) bool {
		ri, oki := modalityRank[ms[i]]
		rj, okj := modalityRank[ms[j]]
		switch {
		case oki && okj:
			return ri < rj
		case oki != okj:
			return oki
		}
		return ms[i] < ms[j]
	})
}

func accuracyTable(runs []*records.Run, names []string) tableData {
	t := tableData{Name: "accuracy", Title: "Accuracy per run × modality × prompt × policy",
		Header: []string{"run", "modality", "prompt", "policy", "n", "correct", "accuracy %", "95% Wilson", "parse fail %", "errors"}}
	for i, r := range runs {
		cells := append([]records.Cell(nil), r.Summary.Cells...)
		sort.SliceStable(cells, func(a, b int) bool {
			ca, cb := cells[a], cells[b]
			if ca.Modality != cb.Modality {
				ms := []string{ca.Modality, cb.Modality}
				sortModalities(ms)
				return ms[0] == ca.Modality
			}
			if ca.Prompt != cb.Prompt {
				return ca.Prompt < cb.Prompt
			}
			return ca.Policy < cb.Policy
		})
		for _, c := range cells {
			t.Rows = append(t.Rows, []string{names[i], c.Modality, c.Prompt, c.Policy,
				fmt.Sprint(c.N), fmt.Sprint(c.Correct), pct(c.Accuracy),
				fmt.Sprintf("[%s, %s]", pct(c.WilsonLow), pct(c.WilsonHigh)),
				pct(c.ParseFailureRate), fmt.Sprint(c.Errors)})
		}
	}
	return t
}

// invalidItemsTable lists the runs that scored items with answer-key
// problems (eval --invalid-items score): such items can never be right, so
// the report shows how many each run's accuracy includes. ok is false when
// no run has any.
func invalidItemsTable(runs []*records.Run, names []string) (tableData, bool) {
	t := tableData{Name: "invalid_items", Title: "Invalid items scored (answer key can never be right)",
		Header: []string{"run", "invalid items", "samples"}}
	for i, r := range runs {
		if r.Summary != nil && r.Summary.InvalidItems > 0 {
			t.Rows = append(t.Rows, []string{names[i], fmt.Sprint(r.Summary.InvalidItems), fmt.Sprint(r.Summary.Samples)})
		}
	}
	return t, len(t.Rows) > 0
}

func verdictTable(vs []VerdictRow) tableData {
	t := tableData{Name: "verdicts", Title: "Golden check verdicts",
		Header: []string{"check", "cell", "value", "expected", "tolerance", "p", "verdict"}}
	for _, v := range vs {
		p := "—"
		if v.P != nil {
			p = fmt.Sprintf("%.4g", *v.P)
		}
		t.Rows = append(t.Rows, []string{v.Check, v.Cell, fmt.Sprintf("%.4g", v.Value), fmt.Sprintf("%.4g", v.Expected), v.Tolerance, p, strings.ToUpper(v.Status)})
	}
	return t
}

func comparisonTable(i int, c Comparison) tableData {
	t := tableData{Name: fmt.Sprintf("compare_%d", i+1), Title: c.Title,
		Header: []string{"modality", "n", "acc " + c.A + " %", "acc " + c.B + " %", "Δ points", "95% CI", "b", "c", "McNemar p", "Holm p", "MDE points", "verdict"}}
	for _, r := range c.Rows {
		t.Rows = append(t.Rows, []string{r.Modality, fmt.Sprint(r.N), pct(r.AccA), pct(r.AccB),
			fmt.Sprintf("%+.2f", 100*r.Delta), fmt.Sprintf("[%+.2f, %+.2f]", 100*r.Lo, 100*r.Hi),
			fmt.Sprint(r.B), fmt.Sprint(r.C), fmt.Sprintf("%.4g", r.P), fmt.Sprintf("%.4g", r.PHolm),
			fmt.Sprintf("%.2f", 100*r.MDE), r.Verdict})
	}
	return t
}

func benchTable(rows []BenchRow) tableData {
	t := tableData{Name: "bench", Title: "Throughput and latency",
		Header: []string{"configuration", "device", "samples/s", "tokens/s", "p50 ms", "p90 ms", "spread %", "machine"}}
	for _, b := range rows {
		t.Rows = append(t.Rows, []string{b.Name, b.Device, fmt.Sprintf("%.3f", b.SamplesPerSec), fmt.Sprintf("%.1f", b.TokensPerSec),
			fmt.Sprintf("%.1f", b.LatencyP50MS), fmt.Sprintf("%.1f", b.LatencyP90MS), fmt.Sprintf("%.1f", b.SpreadPct), b.Machine})
	}
	return t
}
