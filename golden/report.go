package golden

import (
	"encoding/xml"
	"fmt"
	"io"
	"math"
	"slices"
	"strings"

	"github.com/jedib0t/go-pretty/v6/table"
	"github.com/jedib0t/go-pretty/v6/text"
)

// Counts tallies verdicts by status.
type Counts struct{ Passed, Regressions, Missing int }

// Count tallies vs.
func Count(vs []Verdict) Counts {
	var c Counts
	for _, v := range vs {
		switch v.Status {
		case StatusPass:
			c.Passed++
		case StatusRegression:
			c.Regressions++
		default:
			c.Missing++
		}
	}
	return c
}

// Failed reports whether any verdict fails.
func (c Counts) Failed() bool { return c.Regressions > 0 || c.Missing > 0 }

// String is the end-of-run summary line, e.g.
// "✓ 5 passed, ✗ 1 regression, 0 missing".
func (c Counts) String() string {
	reg := "regressions"
	if c.Regressions == 1 {
		reg = "regression"
	}
	return fmt.Sprintf("✓ %d passed, ✗ %d %s, %d missing", c.Passed, c.Regressions, reg, c.Missing)
}

func fmtVal(x float64) string {
	if math.IsNaN(x) {
		return "—"
	}
	return fmt.Sprintf("%.4f", x)
}

func fmtP(p *float64) string {
	if p == nil {
		return ""
	}
	if *p < 1e-4 {
		return fmt.Sprintf("%.2e", *p)
	}
	return fmt.Sprintf("%.4f", *p)
}

func cellName(k Key) string {
	parts := []string{k.Modality, k.Prompt, k.Policy, k.Metric}
	s := strings.Join(parts, " / ")
	if k.Step != 0 {
		s += fmt.Sprintf(" @%d", k.Step)
	}
	return s
}

func statusMark(s string) string {
	switch s {
	case StatusPass:
		return "✓ pass"
	case StatusRegression:
		return "✗ regression"
	}
	return "✗ " + s
}

// WriteText writes the verdicts as a go-pretty table followed by the
// summary line.
func WriteText(w io.Writer, vs []Verdict) error {
	tw := table.NewWriter()
	tw.SetOutputMirror(nil)
	tw.SetStyle(table.StyleLight)
	tw.Style().Format.Header = text.FormatDefault
	tw.AppendHeader(table.Row{"Model", "Modality", "Prompt", "Policy", "Metric", "n", "Value", "Expected", "Tolerance", "p", "Verdict", "Detail"})
	for _, v := range vs {
		exp := fmtVal(v.Expected)
		if !v.Verified {
			exp += "*"
		}
		metric := v.Key.metricAtStep()
		tw.AppendRow(table.Row{v.Key.Model, v.Key.Modality, v.Key.Prompt, v.Key.Policy, metric, v.N,
			fmtVal(v.Value), exp, v.Tolerance, fmtP(v.P), statusMark(v.Status), v.Detail})
	}
	tw.SetColumnConfigs([]table.ColumnConfig{
		{Number: 6, Align: text.AlignRight}, {Number: 7, Align: text.AlignRight}, {Number: 8, Align: text.AlignRight},
		{Number: 12, WidthMax: 60},
	})
	if _, err := fmt.Fprintln(w, tw.Render()); err != nil {
		return fmt.Errorf("golden: %w", err)
	}
	foot := ""
	if slices.ContainsFunc(vs, func(v Verdict) bool { return !v.Verified }) {
		foot = "* expected value not verified against its source\n"
	}
	_, err := fmt.Fprintf(w, "%s%s\n", foot, Count(vs))
	if err != nil {
		return fmt.Errorf("golden: %w", err)
	}
	return nil
}

func mdEscape(s string) string {
	return strings.NewReplacer("|", `\|`, "\n", " ", "\r", " ").Replace(s)
}

// WriteMarkdown writes a Markdown report (for a CI job summary such as
// $GITHUB_STEP_SUMMARY): a heading, the summary line and the verdict table.
func WriteMarkdown(w io.Writer, title string, vs []Verdict) error {
	var b strings.Builder
	fmt.Fprintf(&b, "## %s\n\n**%s**\n\n", mdEscape(title), Count(vs))
	b.WriteString("| Model | Modality | Prompt | Policy | Metric | n | Value | Expected | Tolerance | p | Verdict | Detail |\n")
	b.WriteString("|---|---|---|---|---|--:|--:|--:|---|--:|---|---|\n")
	for _, v := range vs {
		exp := fmtVal(v.Expected)
		if !v.Verified {
			exp += " (unverified)"
		}
		metric := v.Key.metricAtStep()
		fmt.Fprintf(&b, "| %s | %s | %s | %s | %s | %d | %s | %s | %s | %s | %s | %s |\n",
			mdEscape(v.Key.Model), mdEscape(v.Key.Modality), mdEscape(v.Key.Prompt), mdEscape(v.Key.Policy),
			mdEscape(metric), v.N, fmtVal(v.Value), exp, mdEscape(v.Tolerance), fmtP(v.P), statusMark(v.Status), mdEscape(v.Detail))
	}
	if _, err := io.WriteString(w, b.String()); err != nil {
		return fmt.Errorf("golden: %w", err)
	}
	return nil
}

type junitSuites struct {
	XMLName  xml.Name     `xml:"testsuites"`
	Name     string       `xml:"name,attr"`
	Tests    int          `xml:"tests,attr"`
	Failures int          `xml:"failures,attr"`
	Errors   int          `xml:"errors,attr"`
	Suites   []junitSuite `xml:"testsuite"`
}

type junitSuite struct {
	Name     string      `xml:"name,attr"`
	Tests    int         `xml:"tests,attr"`
	Failures int         `xml:"failures,attr"`
	Errors   int         `xml:"errors,attr"`
	Skipped  int         `xml:"skipped,attr"`
	Time     string      `xml:"time,attr"`
	Cases    []junitCase `xml:"testcase"`
}

type junitCase struct {
	Name      string        `xml:"name,attr"`
	Classname string        `xml:"classname,attr"`
	Time      string        `xml:"time,attr"`
	Failure   *junitFailure `xml:"failure,omitempty"`
	SystemOut string        `xml:"system-out,omitempty"`
}

type junitFailure struct {
	Message string `xml:"message,attr"`
	Type    string `xml:"type,attr"`
	Body    string `xml:",chardata"`
}

// WriteJUnit writes the verdicts as JUnit XML, one testcase per golden cell
// (classname model.dataset, name modality/prompt/policy/metric); regressions
// and missing cells are failures of type "regression" or "missing".
func WriteJUnit(w io.Writer, suite string, vs []Verdict) error {
	s := junitSuite{Name: suite, Tests: len(vs), Time: "0"}
	for _, v := range vs {
		c := junitCase{
			Name:      cellName(v.Key),
			Classname: v.Key.Model + "." + v.Key.Dataset,
			Time:      "0",
			SystemOut: fmt.Sprintf("value=%s expected=%s n=%d tolerance=%s p=%s verified=%t %s",
				fmtVal(v.Value), fmtVal(v.Expected), v.N, v.Tolerance, fmtP(v.P), v.Verified, v.Detail),
		}
		if v.Failed() {
			s.Failures++
			c.Failure = &junitFailure{
				Type:    v.Status,
				Message: fmt.Sprintf("%s: value %s, expected %s (%s)", v.Status, fmtVal(v.Value), fmtVal(v.Expected), v.Tolerance),
				Body:    v.Detail,
			}
		}
		s.Cases = append(s.Cases, c)
	}
	doc := junitSuites{Name: suite, Tests: s.Tests, Failures: s.Failures, Suites: []junitSuite{s}}
	if _, err := io.WriteString(w, xml.Header); err != nil {
		return fmt.Errorf("golden: %w", err)
	}
	enc := xml.NewEncoder(w)
	enc.Indent("", "  ")
	if err := enc.Encode(doc); err != nil {
		return fmt.Errorf("golden: junit: %w", err)
	}
	_, err := io.WriteString(w, "\n")
	return err
}
