package golden

import (
	"encoding/csv"
	"fmt"
	"io"
	"strconv"
	"strings"

	"github.com/jedib0t/go-pretty/v6/table"
	"github.com/jedib0t/go-pretty/v6/text"
)

func pct(x float64) string { return fmt.Sprintf("%.2f", 100*x) }

func fmtPval(p float64) string {
	if p < 1e-4 {
		return fmt.Sprintf("%.2e", p)
	}
	return fmt.Sprintf("%.4f", p)
}

func (c *Comparison) header() []string {
	return []string{"Modality", "n", "Acc " + c.A + " %", "Acc " + c.B + " %", "Δ pp",
		fmt.Sprintf("%g%% CI (bootstrap)", 100*c.Options.Conf), "b (" + c.A + " only)", "c (" + c.B + " only)",
		"McNemar p", "Holm p", "MDE", "Verdict"}
}

func (c *Comparison) cells(r CompareRow) []string {
	return []string{r.Modality, strconv.Itoa(r.N), pct(r.AccA), pct(r.AccB), fmt.Sprintf("%+.2f", 100*r.Delta),
		fmt.Sprintf("[%+.2f, %+.2f]", 100*r.Lo, 100*r.Hi), strconv.Itoa(r.B), strconv.Itoa(r.C),
		fmtPval(r.P), fmtPval(r.PHolm), fmtMDE(r.MDE), strings.Replace(r.Verdict, "B ", c.B+" ", 1)}
}

// Notes are the comparison's caveats, one per line.
func (c *Comparison) Notes() []string {
	o := c.Options
	notes := []string{
		fmt.Sprintf("Δ = accuracy(%s) − accuracy(%s) under policy %q; b = items only %s got right, c = items only %s got right.", c.B, c.A, o.Policy, c.A, c.B),
		fmt.Sprintf("Paired bootstrap: %d resamples, seed %d. McNemar: exact two-sided binomial on b, c. Holm across the %d modalities at α = %g; the pooled row is not in the family.", o.Resamples, o.Seed, len(c.Rows), o.Alpha),
		fmt.Sprintf("MDE: smallest |Δ| detectable at α = %g with power %g given n and the observed discordance (Connor 1987).", o.Alpha, o.Power),
	}
	if c.Intersection() {
		notes = append(notes, fmt.Sprintf("The arms cover different items: compared on their intersection (%d items); %d items only in %s and %d only in %s were excluded.",
			c.Pooled.N, c.OnlyA, c.A, c.OnlyB, c.B))
	}
	return notes
}

// WriteText writes the paired table (go-pretty) and the notes.
func (c *Comparison) WriteText(w io.Writer) error {
	tw := table.NewWriter()
	tw.SetStyle(table.StyleLight)
	tw.Style().Format.Header = text.FormatDefault
	h := table.Row{}
	for _, s := range c.header() {
		h = append(h, s)
	}
	tw.AppendHeader(h)
	add := func(r CompareRow) {
		row := table.Row{}
		for _, s := range c.cells(r) {
			row = append(row, s)
		}
		tw.AppendRow(row)
	}
	for _, r := range c.Rows {
		add(r)
	}
	tw.AppendSeparator()
	add(c.Pooled)
	cfg := []table.ColumnConfig{}
	for i := 2; i <= 11; i++ {
		cfg = append(cfg, table.ColumnConfig{Number: i, Align: text.AlignRight})
	}
	tw.SetColumnConfigs(cfg)
	var b strings.Builder
	b.WriteString(tw.Render())
	b.WriteString("\n")
	for _, n := range c.Notes() {
		b.WriteString("• " + n + "\n")
	}
	if _, err := io.WriteString(w, b.String()); err != nil {
		return fmt.Errorf("golden: %w", err)
	}
	return nil
}

// WriteMarkdown writes compare.md: title, paired table and notes.
func (c *Comparison) WriteMarkdown(w io.Writer, title string) error {
	var b strings.Builder
	fmt.Fprintf(&b, "# %s\n\n", mdEscape(title))
	h := c.header()
	b.WriteString("| " + strings.Join(h, " | ") + " |\n|")
	for i := range h {
		if i == 0 || i == len(h)-1 {
			b.WriteString("---|")
		} else {
			b.WriteString("--:|")
		}
	}
	b.WriteString("\n")
	for _, r := range append(append([]CompareRow(nil), c.Rows...), c.Pooled) {
		cs := c.cells(r)
		for i := range cs {
			cs[i] = mdEscape(cs[i])
		}
		if r.Modality == "all" {
			cs[0] = "**all**"
		}
		b.WriteString("| " + strings.Join(cs, " | ") + " |\n")
	}
	b.WriteString("\n")
	for _, n := range c.Notes() {
		b.WriteString("- " + mdEscape(n) + "\n")
	}
	fmt.Fprintf(&b, "\n%d discordant items: see discordant.md and discordant.csv.\n", len(c.Discordant))
	if _, err := io.WriteString(w, b.String()); err != nil {
		return fmt.Errorf("golden: %w", err)
	}
	return nil
}

// WriteDiscordantCSV writes every discordant item with both outputs.
func (c *Comparison) WriteDiscordantCSV(w io.Writer) error {
	cw := csv.NewWriter(w)
	_ = cw.Write([]string{"modality", "id", "solution", "correct_" + c.A, "correct_" + c.B,
		"extracted_" + c.A, "extracted_" + c.B, "question", "output_" + c.A, "output_" + c.B})
	for _, d := range c.Discordant {
		_ = cw.Write([]string{d.Modality, d.ID, d.Solution, strconv.FormatBool(d.CorrectA), strconv.FormatBool(d.CorrectB),
			d.ExtractedA, d.ExtractedB, d.Question, d.OutputA, d.OutputB})
	}
	cw.Flush()
	if err := cw.Error(); err != nil {
		return fmt.Errorf("golden: discordant csv: %w", err)
	}
	return nil
}

// WriteDiscordantMarkdown writes up to limit discordant items (all when
// limit ≤ 0) with both outputs, for reading.
func (c *Comparison) WriteDiscordantMarkdown(w io.Writer, limit int, maxOutput int) error {
	var b strings.Builder
	ds := c.Discordant
	fmt.Fprintf(&b, "# Discordant items: %s vs %s (policy %s)\n\n%d items on which exactly one arm is correct.\n\n",
		mdEscape(c.A), mdEscape(c.B), mdEscape(c.Options.Policy), len(ds))
	if limit > 0 && len(ds) > limit {
		ds = ds[:limit]
		fmt.Fprintf(&b, "Showing the first %d.\n\n", limit)
	}
	for _, d := range ds {
		who := c.A
		if d.CorrectB {
			who = c.B
		}
		fmt.Fprintf(&b, "## %s #%s: answer %s, only %s correct\n\n%s\n\n", mdEscape(d.Modality), mdEscape(d.ID), mdEscape(d.Solution), mdEscape(who), quote(d.Question, maxOutput))
		fmt.Fprintf(&b, "**%s** (extracted %q):\n\n%s\n\n**%s** (extracted %q):\n\n%s\n\n",
			mdEscape(c.A), d.ExtractedA, quote(d.OutputA, maxOutput), mdEscape(c.B), d.ExtractedB, quote(d.OutputB, maxOutput))
	}
	if _, err := io.WriteString(w, b.String()); err != nil {
		return fmt.Errorf("golden: %w", err)
	}
	return nil
}

// quote renders s as a Markdown block quote, truncated to max runes when
// max > 0.
func quote(s string, max int) string {
	if r := []rune(s); max > 0 && len(r) > max {
		s = string(r[:max]) + " …"
	}
	if strings.TrimSpace(s) == "" {
		s = "(empty)"
	}
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	for i, l := range lines {
		lines[i] = "> " + l
	}
	return strings.Join(lines, "\n")
}
