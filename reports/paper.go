package reports

import (
	"encoding/csv"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"strings"

	"github.com/medbench/medbench/records"
)

// paperTable is the table a paper prints: one row per run (and prompt, when
// the runs hold several), one column per modality plus the mean over
// modalities; each cell is the primary policy's accuracy with its 95 % Wilson
// interval, and the secondary policy's accuracy where it differs.
type paperTable struct {
	Primary, Secondary string // policy names ("strict", "lenient"); Secondary may be ""
	Columns            []string
	Rows               []paperRow
}

type paperRow struct {
	Label string
	Cells []paperCell // one per column; Present false where the run lacks it
}

type paperCell struct {
	Present  bool
	Acc      float64 // fraction
	Lo, Hi   float64 // Wilson interval (NaN for the mean column)
	N        int
	Other    float64 // secondary policy's accuracy (NaN: none)
	Best     bool    // highest primary accuracy in its column
	Excluded bool    // (mean column) some modality missing: mean over fewer modalities
}

// meanColumn names the column averaging a row's modalities (unweighted, as
// the paper's "mean" and the golden tables' "mean" rows are).
const meanColumn = "mean"

func buildPaperTable(runs []*records.Run, names []string) paperTable {
	ps := policies(runs)
	t := paperTable{Primary: ps[0]}
	for _, p := range ps[1:] {
		if p == "lenient" || t.Secondary == "" {
			t.Secondary = p
		}
	}
	mods := modalities(runs)
	t.Columns = append(append([]string(nil), mods...), meanColumn)
	multiPrompt := false
	for _, r := range runs {
		if len(promptsOf(r)) > 1 {
			multiPrompt = true
		}
	}
	for i, r := range runs {
		for _, prompt := range promptsOf(r) {
			row := paperRow{Label: names[i]}
			if multiPrompt || len(runs) == 1 {
				row.Label = names[i] + " · " + prompt
			}
			sum, sumOther, k, kOther := 0.0, 0.0, 0, 0
			for _, m := range mods {
				c := paperCell{Lo: math.NaN(), Hi: math.NaN(), Other: math.NaN()}
				if pc, ok := findCell(r, m, prompt, t.Primary); ok && pc.N > 0 {
					c.Present, c.Acc, c.Lo, c.Hi, c.N = true, pc.Accuracy, pc.WilsonLow, pc.WilsonHigh, pc.N
					sum += pc.Accuracy
					k++
					if t.Secondary != "" {
						if sc, ok := findCell(r, m, prompt, t.Secondary); ok && sc.N > 0 {
							c.Other = sc.Accuracy
							sumOther += sc.Accuracy
							kOther++
						}
					}
				}
				row.Cells = append(row.Cells, c)
			}
			mean := paperCell{Lo: math.NaN(), Hi: math.NaN(), Other: math.NaN()}
			if k > 0 {
				mean.Present, mean.Acc, mean.Excluded = true, sum/float64(k), k < len(mods)
				if kOther == k {
					mean.Other = sumOther / float64(k)
				}
				for _, c := range row.Cells {
					mean.N += c.N
				}
			}
			row.Cells = append(row.Cells, mean)
			t.Rows = append(t.Rows, row)
		}
	}
	for j := range t.Columns {
		best := math.Inf(-1)
		for _, r := range t.Rows {
			if c := r.Cells[j]; c.Present && c.Acc > best {
				best = c.Acc
			}
		}
		if len(t.Rows) < 2 {
			continue // nothing to rank
		}
		for i := range t.Rows {
			if c := &t.Rows[i].Cells[j]; c.Present && c.Acc == best {
				c.Best = true
			}
		}
	}
	return t
}

// differs reports whether the secondary value is shown (it rounds to a
// different percentage at the table's precision).
func (c paperCell) differs() bool {
	return !math.IsNaN(c.Other) && pct1(c.Other) != pct1(c.Acc)
}

func pct1(f float64) string { return fmt.Sprintf("%.1f", 100*f) }

// interval is the Wilson interval in percent, "" where there is none.
func (c paperCell) interval() string {
	if math.IsNaN(c.Lo) || math.IsNaN(c.Hi) {
		return ""
	}
	return fmt.Sprintf("[%s, %s]", pct1(c.Lo), pct1(c.Hi))
}

// caption explains the table once, for every rendering.
func (t paperTable) caption() string {
	s := fmt.Sprintf("Accuracy (%%) under the %s policy per modality, with the 95%% Wilson interval in small type", t.Primary)
	if t.Secondary != "" {
		s += fmt.Sprintf("; the %s policy's value follows in parentheses where it differs", t.Secondary)
	}
	s += ". Mean: unweighted mean over modalities (as the paper and the golden tables average). Best per column in bold."
	return s
}

// markdown renders the table for report.md: bold best, interval in <sub>.
func (t paperTable) markdown() string {
	rows := make([][]string, len(t.Rows))
	for i, r := range t.Rows {
		rows[i] = []string{r.Label}
		for _, c := range r.Cells {
			rows[i] = append(rows[i], c.text("**", "**", "<sub>", "</sub>"))
		}
	}
	return mdTable("run", t.Columns, rows, t.caption())
}

// mdTable renders a right-aligned Markdown table whose first column (named
// first) holds escaped labels, followed by an italic caption.
func mdTable(first string, cols []string, rows [][]string, caption string) string {
	var b strings.Builder
	b.WriteString("| " + first + " |")
	for _, c := range cols {
		b.WriteString(" " + c + " |")
	}
	b.WriteString("\n|---|" + strings.Repeat("---:|", len(cols)) + "\n")
	for _, r := range rows {
		b.WriteString("| " + mdEscape(r[0]) + " |")
		for _, c := range r[1:] {
			b.WriteString(" " + c + " |")
		}
		b.WriteString("\n")
	}
	b.WriteString("\n_" + caption + "_\n")
	return b.String()
}

// text renders one cell with the given bold and small-type delimiters.
func (c paperCell) text(boldOpen, boldClose, smallOpen, smallClose string) string {
	if !c.Present {
		return "—"
	}
	s := pct1(c.Acc)
	if c.Best {
		s = boldOpen + s + boldClose
	}
	if c.differs() {
		s += " (" + pct1(c.Other) + ")"
	}
	if iv := c.interval(); iv != "" {
		s += " " + smallOpen + iv + smallClose
	}
	if c.Excluded {
		s += "†"
	}
	return s
}

// latex renders a booktabs table.
func (t paperTable) latex() string {
	var b strings.Builder
	b.WriteString("% medbench paper-style table; needs \\usepackage{booktabs}\n")
	b.WriteString("\\begin{table}[t]\n\\centering\n\\small\n")
	b.WriteString("\\begin{tabular}{l" + strings.Repeat("r", len(t.Columns)) + "}\n\\toprule\n")
	b.WriteString("Run")
	for _, c := range t.Columns {
		b.WriteString(" & " + latexEscape(c))
	}
	b.WriteString(" \\\\\n\\midrule\n")
	for _, r := range t.Rows {
		b.WriteString(latexEscape(r.Label))
		for _, c := range r.Cells {
			b.WriteString(" & " + strings.ReplaceAll(c.text("\\textbf{", "}", "{\\scriptsize ", "}"), "†", "$^\\dagger$"))
		}
		b.WriteString(" \\\\\n")
	}
	b.WriteString("\\bottomrule\n\\end{tabular}\n")
	b.WriteString("\\caption{" + latexEscape(t.caption()) + "}\n\\end{table}\n")
	return b.String()
}

func latexEscape(s string) string {
	return strings.NewReplacer(`\`, `\textbackslash{}`, "&", `\&`, "%", `\%`, "$", `\$`, "#", `\#`, "_", `\_`,
		"{", `\{`, "}", `\}`, "~", `\textasciitilde{}`, "^", `\textasciicircum{}`, "·", `$\cdot$`).Replace(s)
}

// save writes tables/paper.csv (one row per run × column, numbers unformatted),
// tables/paper.html and tables/paper.tex.
func (t paperTable) save(dir string) ([]string, error) {
	csvPath := filepath.Join(dir, "paper.csv")
	f, err := os.Create(csvPath)
	if err != nil {
		return nil, fmt.Errorf("reports: %w", err)
	}
	w := csv.NewWriter(f)
	_ = w.Write([]string{"run", "column", "policy", "accuracy", "wilson_low", "wilson_high", "n", "secondary_policy", "secondary_accuracy", "best"})
	num := func(v float64) string {
		if math.IsNaN(v) {
			return ""
		}
		return fmt.Sprintf("%.6f", v)
	}
	for _, r := range t.Rows {
		for j, c := range r.Cells {
			if !c.Present {
				continue
			}
			_ = w.Write([]string{r.Label, t.Columns[j], t.Primary, num(c.Acc), num(c.Lo), num(c.Hi), fmt.Sprint(c.N), t.Secondary, num(c.Other), fmt.Sprint(c.Best)})
		}
	}
	w.Flush()
	if err := w.Error(); err != nil {
		f.Close()
		return nil, fmt.Errorf("reports: %s: %w", csvPath, err)
	}
	if err := f.Close(); err != nil {
		return nil, fmt.Errorf("reports: %s: %w", csvPath, err)
	}
	var h strings.Builder
	h.WriteString("<!doctype html><meta charset=\"utf-8\"><title>Accuracy per modality</title>\n<table>\n<caption>" + htmlEscape(t.caption()) + "</caption>\n<thead><tr><th>run</th>")
	for _, c := range t.Columns {
		h.WriteString("<th>" + htmlEscape(c) + "</th>")
	}
	h.WriteString("</tr></thead>\n<tbody>\n")
	for _, r := range t.Rows {
		h.WriteString("<tr><td>" + htmlEscape(r.Label) + "</td>")
		for _, c := range r.Cells {
			h.WriteString("<td align=\"right\">" + c.text("<b>", "</b>", "<small>", "</small>") + "</td>")
		}
		h.WriteString("</tr>\n")
	}
	h.WriteString("</tbody>\n</table>\n")
	htmlPath := filepath.Join(dir, "paper.html")
	texPath := filepath.Join(dir, "paper.tex")
	for p, s := range map[string]string{htmlPath: h.String(), texPath: t.latex()} {
		if err := os.WriteFile(p, []byte(s), 0o644); err != nil {
			return nil, fmt.Errorf("reports: %w", err)
		}
	}
	return []string{csvPath, htmlPath, texPath}, nil
}

// deltaSummary is the paired-Δ block of page 1: one row per comparison, one
// column per modality, each cell Δ in points with the Holm-adjusted
// significance mark.
type deltaSummary struct {
	Columns []string
	Rows    []deltaSummaryRow
}

type deltaSummaryRow struct {
	Label string
	Cells []string
}

func buildDeltaSummary(cs []Comparison) deltaSummary {
	var d deltaSummary
	seen := map[string]bool{}
	for _, c := range cs {
		for _, r := range c.Rows {
			if !seen[r.Modality] {
				seen[r.Modality] = true
				d.Columns = append(d.Columns, r.Modality)
			}
		}
	}
	sortModalities(d.Columns)
	for _, c := range cs {
		row := deltaSummaryRow{Label: fmt.Sprintf("%s − %s", c.B, c.A)}
		for _, m := range d.Columns {
			cell := "—"
			for _, r := range c.Rows {
				if r.Modality == m {
					cell = fmt.Sprintf("%+.1f%s", 100*r.Delta, holmMark(r.PHolm))
				}
			}
			row.Cells = append(row.Cells, cell)
		}
		d.Rows = append(d.Rows, row)
	}
	return d
}

// holmMark marks Holm-adjusted significance: * p<0.05, ** p<0.01, *** p<0.001.
func holmMark(p float64) string {
	switch {
	case math.IsNaN(p):
		return ""
	case p < 0.001:
		return "***"
	case p < 0.01:
		return "**"
	case p < 0.05:
		return "*"
	}
	return ""
}

const deltaCaption = "Paired accuracy difference in points per modality; * p < 0.05, ** p < 0.01, *** p < 0.001 by the exact McNemar test after Holm's correction across modalities."

func (d deltaSummary) markdown() string {
	rows := make([][]string, len(d.Rows))
	for i, r := range d.Rows {
		rows[i] = []string{r.Label}
		for _, c := range r.Cells {
			rows[i] = append(rows[i], strings.ReplaceAll(c, "*", `\*`))
		}
	}
	return mdTable("comparison", d.Columns, rows, deltaCaption)
}

// verdictLine counts a golden check's verdicts by status.
func verdictLine(vs []VerdictRow) string {
	var pass, reg, miss int
	for _, v := range vs {
		switch v.Status {
		case "pass":
			pass++
		case "missing":
			miss++
		default:
			reg++
		}
	}
	return fmt.Sprintf("%d pass, %d regression, %d missing (of %d golden cells)", pass, reg, miss, len(vs))
}
