package golden

import (
	"fmt"
	"io"
	"math"
	"sort"
	"strings"

	"github.com/medbench/medbench/records"
)

// BlessMetrics are the metrics Bless and Calibrate write for every cell.
var blessMetrics = []string{MetricAccuracy, MetricParseFailureRate}

// BlessOptions configure Bless.
type BlessOptions struct {
	Model, Dataset string
	// Tolerance for every row; Direction is set per row: both when the
	// tolerance is exact (absolute 0), the metric's natural direction
	// otherwise. The zero value means exact (absolute 0).
	Tolerance Tolerance
	// Source is the provenance source (e.g. the command line); Note is added.
	Source, Note string
	// GeneratedBy is recorded in the table as the regeneration command.
	GeneratedBy string
}

// runCells lists the cells of a run: every prompt × policy × modality
// (plus "mean" when the run has more than one modality) × metric.
func runCells(ix *runIndex) []Key {
	policies := make([]string, 0, len(ix.policies))
	for p := range ix.policies {
		policies = append(policies, p)
	}
	sort.Strings(policies)
	mods := append([]string(nil), ix.modalities...)
	if len(mods) > 1 {
		mods = append(mods, ModalityMean)
	}
	var keys []Key
	for _, pr := range ix.prompts {
		for _, pol := range policies {
			for _, m := range blessMetrics {
				for _, mod := range mods {
					keys = append(keys, Key{Modality: mod, Prompt: pr, Policy: pol, Metric: m})
				}
			}
		}
	}
	return keys
}

// Bless builds a golden table of exact (or opts.Tolerance) values from a
// run: one row per prompt × policy × modality (and mean) × metric
// (accuracy, parse_failure_rate), each with the run's n.
func Bless(run *records.Run, opts BlessOptions) (*Table, error) {
	if opts.Model == "" || opts.Dataset == "" {
		return nil, fmt.Errorf("golden: bless needs a model and a dataset name")
	}
	ix, err := indexRun(run)
	if err != nil {
		return nil, err
	}
	if len(ix.prompts) == 0 {
		return nil, fmt.Errorf("golden: run %s has no samples", run.Dir)
	}
	tol := opts.Tolerance
	if tol.Kind == "" {
		tol = Tolerance{Kind: KindAbsolute}
	}
	t := &Table{Format: FormatID, Version: Version, GeneratedBy: opts.GeneratedBy,
		Description: fmt.Sprintf("Values of model %s on dataset %s measured in run %s, written by medbench check bless.", opts.Model, opts.Dataset, runID(run))}
	for _, k := range runCells(ix) {
		c, err := ix.cell(k.Modality, k.Prompt, k.Policy, k.Metric)
		if err != nil {
			return nil, fmt.Errorf("golden: %w", err)
		}
		k.Model, k.Dataset = opts.Model, opts.Dataset
		rt := tol
		switch {
		case rt.Kind == KindNotWorse || rt.Value > 0:
			rt.Direction = NaturalDirection(k.Metric)
		default:
			rt.Direction = DirBoth
		}
		t.Rows = append(t.Rows, Row{Key: k, Value: c.value, N: c.n, Tolerance: rt,
			Provenance: Provenance{Source: opts.Source, Verified: true, Note: joinNote("measured by medbench from run "+runID(run), opts.Note)}})
	}
	if err := t.Validate(); err != nil {
		return nil, fmt.Errorf("golden: %w", err)
	}
	return t, nil
}

// CalibrateOptions configure Calibrate.
type CalibrateOptions struct {
	Model, Dataset string
	// K multiplies the between-run standard deviation; 0 means 2.8, the
	// repeatability limit (≈ 1.96·√2: the 95% bound on the difference of
	// two runs).
	K float64
	// Floor is the smallest absolute tolerance written (e.g. 0 for
	// deterministic configurations).
	Floor       float64
	Source      string
	GeneratedBy string
}

// RepeatabilityK is the default multiplier of σ in Calibrate.
const RepeatabilityK = 2.8

// Calibrate derives tolerances from the spread of K ≥ 2 runs of the same
// configuration with different sampling seeds: each cell's expected value
// is the mean over the runs and its absolute tolerance max(K·σ, Floor),
// with σ the sample standard deviation (n−1) of the cell across runs, in
// the metric's natural direction (a drop in accuracy, a rise in failure
// rate). Every run must have the same cells with the same n.
func Calibrate(runs []*records.Run, opts CalibrateOptions) (*Table, error) {
	if len(runs) < 2 {
		return nil, fmt.Errorf("golden: calibrate needs at least 2 runs, got %d", len(runs))
	}
	if opts.Model == "" || opts.Dataset == "" {
		return nil, fmt.Errorf("golden: calibrate needs a model and a dataset name")
	}
	k := opts.K
	if k == 0 {
		k = RepeatabilityK
	}
	if !(k > 0) || !(opts.Floor >= 0) {
		return nil, fmt.Errorf("golden: calibrate: k = %v and floor = %v must be positive", k, opts.Floor)
	}
	idx := make([]*runIndex, len(runs))
	for i, r := range runs {
		ix, err := indexRun(r)
		if err != nil {
			return nil, err
		}
		idx[i] = ix
	}
	cells := runCells(idx[0])
	if len(cells) == 0 {
		return nil, fmt.Errorf("golden: run %s has no samples", runs[0].Dir)
	}
	dirs := make([]string, len(runs))
	for i, r := range runs {
		dirs[i] = runID(r)
	}
	t := &Table{Format: FormatID, Version: Version, GeneratedBy: opts.GeneratedBy,
		Description: fmt.Sprintf("Noise-floor tolerances (%.3g·σ over %d runs) for model %s on %s, written by medbench check calibrate.", k, len(runs), opts.Model, opts.Dataset)}
	for _, key := range cells {
		vals := make([]float64, len(runs))
		n := -1
		for i, ix := range idx {
			c, err := ix.cell(key.Modality, key.Prompt, key.Policy, key.Metric)
			if err != nil {
				return nil, fmt.Errorf("golden: calibrate: %w", err)
			}
			if n >= 0 && c.n != n {
				return nil, fmt.Errorf("golden: calibrate: cell %s has n=%d in run %s but n=%d in run %s", key, c.n, runs[i].Dir, n, runs[0].Dir)
			}
			n, vals[i] = c.n, c.value
		}
		mean, sd := meanSD(vals)
		key.Model, key.Dataset = opts.Model, opts.Dataset
		t.Rows = append(t.Rows, Row{Key: key, Value: mean, N: n,
			Tolerance: Tolerance{Kind: KindAbsolute, Value: math.Max(k*sd, opts.Floor), Direction: NaturalDirection(key.Metric)},
			Provenance: Provenance{Source: opts.Source, Verified: true,
				Note: fmt.Sprintf("mean of %d runs (%s); σ=%.6g; values %s", len(runs), strings.Join(dirs, ", "), sd, fmtVals(vals))}})
	}
	if err := t.Validate(); err != nil {
		return nil, fmt.Errorf("golden: %w", err)
	}
	return t, nil
}

// meanSD returns the mean and the sample standard deviation (n−1).
func meanSD(xs []float64) (mean, sd float64) {
	for _, x := range xs {
		mean += x
	}
	mean /= float64(len(xs))
	ss := 0.0
	for _, x := range xs {
		ss += (x - mean) * (x - mean)
	}
	return mean, math.Sqrt(ss / float64(len(xs)-1))
}

func fmtVals(xs []float64) string {
	s := make([]string, len(xs))
	for i, x := range xs {
		s[i] = fmt.Sprintf("%.6g", x)
	}
	return "[" + strings.Join(s, " ") + "]"
}

func joinNote(a, b string) string {
	if b == "" {
		return a
	}
	return a + "; " + b
}

// runID names a run by its directory's base name and seed.
func runID(r *records.Run) string {
	d := r.Dir
	if i := strings.LastIndexAny(d, `/\`); i >= 0 && i < len(d)-1 {
		d = d[i+1:]
	}
	return fmt.Sprintf("%s (seed %d)", d, r.Manifest.Seed)
}

// BlessDir reads the run record in dir (warnings about an incomplete one
// on warn), blesses it and saves the table to out.
func BlessDir(dir, out string, opts BlessOptions, warn io.Writer) (*Table, error) {
	run, err := ReadRun(dir, warn)
	if err != nil {
		return nil, err
	}
	t, err := Bless(run, opts)
	if err != nil {
		return nil, err
	}
	if err := t.Save(out); err != nil {
		return nil, err
	}
	return t, nil
}

// CalibrateDirs reads the run records in dirs (warnings about incomplete
// ones on warn), calibrates a table over them and saves it to out.
func CalibrateDirs(dirs []string, out string, opts CalibrateOptions, warn io.Writer) (*Table, error) {
	runs := make([]*records.Run, len(dirs))
	for i, d := range dirs {
		r, err := ReadRun(d, warn)
		if err != nil {
			return nil, err
		}
		runs[i] = r
	}
	t, err := Calibrate(runs, opts)
	if err != nil {
		return nil, err
	}
	if err := t.Save(out); err != nil {
		return nil, err
	}
	return t, nil
}
