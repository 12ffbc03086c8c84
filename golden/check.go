package golden

import (
	"fmt"
	"math"
	"slices"
	"sort"
	"strings"

	"github.com/medbench/medbench/metrics"
	"github.com/medbench/medbench/records"
)

// Verdict statuses.
const (
	StatusPass       = "pass"
	StatusRegression = "regression"
	// StatusMissing: the golden cell is absent from the run (or cannot be
	// evaluated there). It fails a check, like a regression.
	StatusMissing = "missing"
)

// Verdict is the outcome of checking one golden cell.
type Verdict struct {
	Key      Key
	Value    float64 // measured (NaN when missing)
	Expected float64 // golden value, or the baseline's value for not_worse
	N        int     // items behind Value
	// Tolerance is the row's tolerance, rendered.
	Tolerance string
	// P is the one-sided paired p-value of a not_worse cell, nil otherwise.
	P        *float64
	Status   string
	Detail   string
	Verified bool // the golden value's provenance is verified
}

// Failed reports whether the verdict fails the check.
func (v Verdict) Failed() bool { return v.Status != StatusPass }

// CheckOptions selects the rows to check and supplies the baseline run that
// not_worse rows are tested against.
type CheckOptions struct {
	// Baseline is the reference run for not_worse rows (nil: such rows are
	// an error).
	Baseline *records.Run
	// Model and Dataset select the table's rows; each may be empty when the
	// table holds a single model (dataset).
	Model, Dataset string
	// MaxParseFailureRate, when > 0, gates the parse-failure rate of every
	// modality × prompt × policy of the selected accuracy rows: a
	// parse_failure_rate row (expected 0, absolute tolerance
	// MaxParseFailureRate, lower is better) is added for each such cell the
	// table does not already gate.
	MaxParseFailureRate float64
}

// CheckRun checks run against the rows of t for the selected model and
// dataset. Every selected row yields one verdict; a row whose cell is not in
// the run yields StatusMissing. Errors are reserved for unusable input: no
// rows selected, not_worse rows without a baseline, inconsistent samples.
func CheckRun(run *records.Run, t *Table, opts CheckOptions) ([]Verdict, error) {
	rows, err := selectRows(t, opts.Model, opts.Dataset)
	if err != nil {
		return nil, err
	}
	if opts.MaxParseFailureRate > 0 {
		rows = addParseGate(rows, opts.MaxParseFailureRate)
	}
	cand, err := indexRun(run)
	if err != nil {
		return nil, err
	}
	var base *runIndex
	for _, r := range rows {
		switch r.Metric {
		case MetricAccuracy, MetricParseFailureRate, MetricErrorRate:
		default:
			if r.Step == 0 {
				return nil, fmt.Errorf("golden: row %s: metric %q cannot be computed from a run (known: %s, %s, %s)",
					r.Key, r.Metric, MetricAccuracy, MetricParseFailureRate, MetricErrorRate)
			}
		}
		if r.Tolerance.Kind == KindNotWorse && opts.Baseline == nil {
			return nil, fmt.Errorf("golden: row %s is not_worse but no baseline run was given", r.Key)
		}
	}
	if opts.Baseline != nil {
		if base, err = indexRun(opts.Baseline); err != nil {
			return nil, err
		}
	}
	out := make([]Verdict, 0, len(rows))
	for _, r := range rows {
		out = append(out, checkRow(r, cand, base))
	}
	return out, nil
}

// CheckValues checks precomputed values (for example training metrics keyed
// by metric name and step) against every row of t. Rows absent from values
// are StatusMissing; not_worse rows need paired samples and are reported
// missing here (use CheckRun).
func CheckValues(values map[Key]float64, t *Table) []Verdict {
	out := make([]Verdict, 0, len(t.Rows))
	for _, r := range t.Rows {
		v := newVerdict(r)
		x, ok := values[r.Key]
		switch {
		case r.Tolerance.Kind == KindNotWorse:
			v.Detail = "not_worse needs paired per-sample outcomes; not checkable from values"
		case !ok:
			v.Detail = "cell not in the values"
		case math.IsNaN(x):
			v.Detail = "value is NaN"
		default:
			v.Value = x
			judgeMargin(&v, r)
		}
		out = append(out, v)
	}
	return out
}

func newVerdict(r Row) Verdict {
	return Verdict{
		Key: r.Key, Value: math.NaN(), Expected: r.Value, N: r.N,
		Tolerance: r.Tolerance.String(), Status: StatusMissing, Verified: r.Provenance.Verified,
	}
}

// judgeMargin applies an absolute or relative tolerance to v.Value.
func judgeMargin(v *Verdict, r Row) {
	tol := r.Tolerance.Margin(r.Value)
	// Slack for binary floating point: 1e-12 of the scale.
	slack := 1e-12 * math.Max(1, math.Abs(r.Value))
	d := v.Value - r.Value
	ok := false
	switch r.Tolerance.Direction {
	case DirBoth:
		ok = math.Abs(d) <= tol+slack
	case DirHigher:
		ok = d >= -tol-slack
	case DirLower:
		ok = d <= tol+slack
	}
	v.Status = StatusRegression
	if ok {
		v.Status = StatusPass
	}
	v.Detail = fmt.Sprintf("Δ %+.4g", d)
}

// Select returns a copy of the table holding only the rows of one model and
// one dataset ("" picks the table's only one, and is an error naming the
// choices when there are several).
func (t *Table) Select(model, dataset string) (*Table, error) {
	rows, err := selectRows(t, model, dataset)
	if err != nil {
		return nil, err
	}
	c := *t
	c.Rows = rows
	return &c, nil
}

func selectRows(t *Table, model, dataset string) ([]Row, error) {
	pick := func(what, want string, get func(Row) string) (string, error) {
		if want != "" {
			return want, nil
		}
		var all []string
		for _, r := range t.Rows {
			if !slices.Contains(all, get(r)) {
				all = append(all, get(r))
			}
		}
		if len(all) == 1 {
			return all[0], nil
		}
		sort.Strings(all)
		return "", fmt.Errorf("golden: the table has rows for %d %ss (%s); select one (check --%s)", len(all), what, strings.Join(all, ", "), what)
	}
	model, err := pick("model", model, func(r Row) string { return r.Model })
	if err != nil {
		return nil, err
	}
	dataset, err = pick("dataset", dataset, func(r Row) string { return r.Dataset })
	if err != nil {
		return nil, err
	}
	var rows []Row
	for _, r := range t.Rows {
		if r.Model == model && r.Dataset == dataset {
			rows = append(rows, r)
		}
	}
	if len(rows) == 0 {
		return nil, fmt.Errorf("golden: the table has no rows for model %q, dataset %q", model, dataset)
	}
	return rows, nil
}

// addParseGate appends parse_failure_rate rows for the accuracy cells of
// rows that have none.
func addParseGate(rows []Row, max float64) []Row {
	has := map[Key]bool{}
	for _, r := range rows {
		has[r.Key] = true
	}
	out := rows
	for _, r := range rows {
		if r.Metric != MetricAccuracy || r.Step != 0 {
			continue
		}
		k := r.Key
		k.Metric = MetricParseFailureRate
		if has[k] {
			continue
		}
		has[k] = true
		out = append(out, Row{Key: k, N: r.N,
			Tolerance:  Tolerance{Kind: KindAbsolute, Value: max, Direction: DirLower},
			Provenance: Provenance{Source: fmt.Sprintf("parse-failure gate (at most %g)", max), Verified: true}})
	}
	return out
}

func checkRow(r Row, cand, base *runIndex) Verdict {
	v := newVerdict(r)
	if r.Step != 0 {
		v.Detail = fmt.Sprintf("training step %d: an evaluation run has no steps", r.Step)
		return v
	}
	cell, err := cand.cell(r.Modality, r.Prompt, r.Policy, r.Metric)
	if err != nil {
		v.Detail = err.Error()
		return v
	}
	if r.Tolerance.Kind != KindNotWorse {
		if r.N > 0 && cell.n != r.N {
			v.Value, v.N = cell.value, cell.n
			v.Detail = fmt.Sprintf("run has n=%d items, golden n=%d: not the same cell", cell.n, r.N)
			return v
		}
		v.Value, v.N = cell.value, cell.n
		judgeMargin(&v, r)
		if r.Modality != ModalityMean {
			// The measured proportion's 95% Wilson interval, for context.
			k := cell.bad
			if r.Metric == MetricAccuracy {
				k = cell.n - cell.bad
			}
			lo, hi := metrics.Wilson(k, cell.n, metrics.Z95)
			v.Detail += fmt.Sprintf("; 95%% CI [%.4f, %.4f]", lo, hi)
		}
		return v
	}
	bcell, err := base.cell(r.Modality, r.Prompt, r.Policy, r.Metric)
	if err != nil {
		v.Detail = "baseline: " + err.Error()
		return v
	}
	// Pair on the intersection of sample keys.
	var a, b []bool
	for k, good := range bcell.good {
		if cg, ok := cand.get(cell, k); ok {
			a, b = append(a, good), append(b, cg)
		}
	}
	if len(a) == 0 {
		v.Detail = "no items in common with the baseline"
		return v
	}
	// Direction: "good" is what the metric rewards; losses are items the
	// baseline had good and the candidate not.
	losses, gains := metrics.Discordant(a, b)
	p := metrics.McNemarOneSided(losses, gains)
	v.P = &p
	v.N = len(a)
	v.Value = pairedValue(r.Metric, b)
	v.Expected = pairedValue(r.Metric, a)
	v.Status = StatusRegression
	if p >= r.Tolerance.Alpha {
		v.Status = StatusPass
	}
	v.Detail = fmt.Sprintf("%d losses, %d gains vs baseline (one-sided exact McNemar)", losses, gains)
	// The smallest drop this one-sided test detects with 80% power (a
	// one-sided test at α is the two-sided test at 2α).
	if a2 := 2 * r.Tolerance.Alpha; a2 < 1 {
		v.Detail += "; MDE " + fmtMDE(metrics.MDE(len(a), float64(losses+gains)/float64(len(a)), a2, 0.8)) + " at 80% power"
	}
	if len(a) != cell.n || len(a) != bcell.n {
		v.Detail += fmt.Sprintf("; paired on %d common items (run %d, baseline %d)", len(a), cell.n, bcell.n)
	}
	if r.Modality == ModalityMean {
		v.Detail += "; modalities pooled"
	}
	return v
}

// pairedValue turns per-item "good" outcomes into the metric's value.
func pairedValue(metric string, good []bool) float64 {
	k := 0
	for _, g := range good {
		if g {
			k++
		}
	}
	if metric == MetricAccuracy {
		return float64(k) / float64(len(good))
	}
	return float64(len(good)-k) / float64(len(good))
}
