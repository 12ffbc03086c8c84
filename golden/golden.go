// Package golden reads, writes and checks medbench golden tables: versioned
// JSON files of expected metric values (keyed by model, dataset, modality,
// prompt, scoring policy, metric and training step) with a tolerance and a
// provenance per row. It turns a run record into per-cell verdicts for CI
// (check), blesses and calibrates golden tables from runs, and compares two
// runs or two prompts with paired statistics. The file format is documented
// in FORMAT.md.
package golden

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"reflect"
	"strings"

	"github.com/medbench/medbench/internal/utf8bom"
)

// FormatID and Version identify the file format; Load rejects other values.
const (
	FormatID = "medbench-golden"
	Version  = 1
)

// Tolerance kinds.
const (
	KindAbsolute = "absolute"  // |value − expected| within Value (metric units)
	KindRelative = "relative"  // within Value·|expected|
	KindNotWorse = "not_worse" // one-sided paired test against a baseline run at Alpha
)

// Directions: which deviations count as a regression.
const (
	DirBoth   = "both"             // any deviation beyond the tolerance
	DirHigher = "higher_is_better" // only a drop beyond the tolerance
	DirLower  = "lower_is_better"  // only a rise beyond the tolerance
)

// Metric names understood by CheckRun.
const (
	MetricAccuracy         = "accuracy"
	MetricParseFailureRate = "parse_failure_rate"
	MetricErrorRate        = "error_rate"
)

// ModalityMean is the modality of a cell that averages the per-modality
// values of its prompt × policy × metric, unweighted.
const ModalityMean = "mean"

// Key identifies a golden cell. Step is 0 for evaluation metrics and the
// optimizer step for training metrics.
type Key struct {
	Model    string `json:"model"`
	Dataset  string `json:"dataset"`
	Modality string `json:"modality"`
	Prompt   string `json:"prompt"`
	Policy   string `json:"policy"`
	Metric   string `json:"metric"`
	Step     int    `json:"step,omitempty"`
}

// String renders the key as model/dataset/modality/prompt/policy/metric[@step].
func (k Key) String() string {
	return strings.Join([]string{k.Model, k.Dataset, k.Modality, k.Prompt, k.Policy, k.metricAtStep()}, "/")
}

// metricAtStep is the metric, followed by "@step" for a training metric.
func (k Key) metricAtStep() string {
	if k.Step != 0 {
		return k.Metric + fmt.Sprintf("@%d", k.Step)
	}
	return k.Metric
}

// Tolerance says how far a measured value may be from the expected one.
type Tolerance struct {
	Kind string `json:"kind"`
	// Value is the allowed deviation: metric units for absolute, a fraction
	// of |expected| for relative; unused for not_worse.
	Value float64 `json:"value,omitempty"`
	// Direction is both, higher_is_better or lower_is_better. For not_worse
	// it says what "worse" means and must not be both.
	Direction string `json:"direction"`
	// Alpha is the one-sided significance level of not_worse.
	Alpha float64 `json:"alpha,omitempty"`
}

// Margin is the deviation from expected that the tolerance allows: Value
// for an absolute tolerance, Value·|expected| for a relative one. The check
// (judgeMargin) and the plotted band (Band) both measure from it.
func (t Tolerance) Margin(expected float64) float64 {
	if t.Kind == KindRelative {
		return t.Value * math.Abs(expected)
	}
	return t.Value
}

// Band is the interval of values the tolerance accepts around expected, as
// reports draw it: expected ± Margin, closed at expected on the side that a
// one-sided tolerance never fails (a higher_is_better band ends at expected).
// A not_worse tolerance has no band: lo = hi = expected.
func (t Tolerance) Band(expected float64) (lo, hi float64) {
	switch t.Kind {
	case KindAbsolute, KindRelative:
	default:
		return expected, expected
	}
	d := t.Margin(expected)
	lo, hi = expected-d, expected+d
	switch t.Direction {
	case DirHigher:
		hi = expected
	case DirLower:
		lo = expected
	}
	return lo, hi
}

// String renders the tolerance for tables and reports.
func (t Tolerance) String() string {
	var s string
	switch t.Kind {
	case KindAbsolute:
		s = fmt.Sprintf("±%s abs", fmtNum(t.Value))
		if t.Value == 0 {
			s = "exact"
		}
	case KindRelative:
		s = fmt.Sprintf("±%s%% rel", fmtNum(100*t.Value))
	case KindNotWorse:
		return fmt.Sprintf("not worse (α=%s)", fmtNum(t.Alpha))
	default:
		return t.Kind
	}
	switch t.Direction {
	case DirHigher:
		s = strings.Replace(s, "±", "−", 1) + " (drop)"
		if t.Value == 0 {
			s = "≥ expected"
		}
	case DirLower:
		s = strings.Replace(s, "±", "+", 1) + " (rise)"
		if t.Value == 0 {
			s = "≤ expected"
		}
	}
	return s
}

// Provenance says where an expected value comes from.
type Provenance struct {
	Source string `json:"source"`
	// Verified is true only when the value was checked against its source.
	Verified bool   `json:"verified"`
	Note     string `json:"note,omitempty"`
}

// Row is one golden cell.
type Row struct {
	Key
	// Value is the expected value; accuracy and rates are fractions in [0, 1].
	Value float64 `json:"value"`
	// N is the number of items behind Value (0: unknown, not checked).
	N          int        `json:"n"`
	Tolerance  Tolerance  `json:"tolerance"`
	Provenance Provenance `json:"provenance"`
}

// Table is a golden file.
type Table struct {
	Format  string `json:"format"`
	Version int    `json:"version"`
	// Description says what the table is for.
	Description string `json:"description,omitempty"`
	// GeneratedBy is the command that regenerates the table, when it is
	// generated rather than transcribed.
	GeneratedBy string `json:"generated_by,omitempty"`
	Rows        []Row  `json:"rows"`
}

// Load reads and validates a golden file strictly: unknown fields, a wrong
// format id or version, invalid tolerances and duplicate keys are errors
// naming the file and the row.
func Load(path string) (*Table, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("golden: %w", err)
	}
	t, err := Parse(utf8bom.Trim(b))
	if err != nil {
		return nil, fmt.Errorf("golden: %s: %w", path, err)
	}
	return t, nil
}

// Parse decodes and validates a golden table from JSON (see Load).
func Parse(b []byte) (*Table, error) {
	trimmed := bytes.TrimSpace(bytes.TrimPrefix(b, []byte("\xef\xbb\xbf")))
	switch {
	case len(trimmed) == 0:
		return nil, errors.New(`empty file; a golden table is a JSON object {"format": "medbench-golden", "version": 1, "rows": [...]} (see golden/FORMAT.md)`)
	case trimmed[0] == '[':
		return nil, errors.New(`the top level is a JSON array; a golden table is an object {"format": "medbench-golden", "version": 1, "rows": [...]} with the rows under "rows"`)
	}
	// Decode the envelope first and each row on its own, so that a type
	// error names the row it is in.
	var env struct {
		Table
		Rows []json.RawMessage `json:"rows"`
	}
	if err := strictDecode(b, &env); err != nil {
		return nil, explainJSON(err)
	}
	if env.Rows == nil {
		return nil, errors.New(`no "rows" array; a golden table lists its expected values under "rows": [...]`)
	}
	t := env.Table
	t.Rows = make([]Row, len(env.Rows))
	for i, raw := range env.Rows {
		if err := strictDecode(raw, &t.Rows[i]); err != nil {
			return nil, fmt.Errorf("row %d: %w", i+1, explainJSON(err))
		}
	}
	if err := t.Validate(); err != nil {
		return nil, err
	}
	if len(t.Rows) == 0 {
		return nil, errors.New(`"rows" is empty: a golden table without rows checks nothing`)
	}
	return &t, nil
}

// explainJSON rewrites a JSON type error, which names Go types, in the
// file's terms: the field, what it holds and what it should hold.
func explainJSON(err error) error {
	var te *json.UnmarshalTypeError
	if !errors.As(err, &te) {
		return err
	}
	want := "a " + te.Type.Kind().String()
	switch te.Type.Kind() {
	case reflect.Slice, reflect.Array:
		want = "an array"
	case reflect.Struct, reflect.Map:
		want = "an object"
	case reflect.Float32, reflect.Float64:
		want = "a number"
	case reflect.Int, reflect.Int64, reflect.Uint64:
		want = "an integer"
	case reflect.Bool:
		want = "true or false"
	}
	if te.Field == "" {
		return fmt.Errorf("the JSON value is %s; want %s", article(te.Value), want)
	}
	return fmt.Errorf("field %q is %s; want %s", te.Field, article(te.Value), want)
}

func article(jsonKind string) string {
	switch jsonKind {
	case "array", "object":
		return "an " + jsonKind
	}
	return "a " + jsonKind
}

// strictDecode decodes exactly one JSON value into v, rejecting unknown
// fields and trailing data.
func strictDecode(b []byte, v any) error {
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return err
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return errors.New("trailing data after the JSON value")
	}
	return nil
}

// Validate checks the format id, version and every row.
func (t *Table) Validate() error {
	if t.Format != FormatID {
		return fmt.Errorf("format %q, want %q", t.Format, FormatID)
	}
	if t.Version != Version {
		return fmt.Errorf("version %d not supported (this medbench reads version %d)", t.Version, Version)
	}
	seen := make(map[Key]int, len(t.Rows))
	for i, r := range t.Rows {
		if err := r.validate(); err != nil {
			return fmt.Errorf("row %d (%s): %w", i+1, r.Key, err)
		}
		if j, dup := seen[r.Key]; dup {
			return fmt.Errorf("row %d (%s): duplicate of row %d", i+1, r.Key, j)
		}
		seen[r.Key] = i + 1
	}
	return nil
}

func (r Row) validate() error {
	for _, f := range []struct{ name, v string }{
		{"model", r.Model}, {"dataset", r.Dataset}, {"modality", r.Modality}, {"metric", r.Metric},
	} {
		if strings.TrimSpace(f.v) == "" {
			return fmt.Errorf("empty %s", f.name)
		}
	}
	if math.IsNaN(r.Value) || math.IsInf(r.Value, 0) {
		return fmt.Errorf("value %v is not finite", r.Value)
	}
	frac := IsFraction(r.Metric)
	if frac && (r.Value < 0 || r.Value > 1) {
		return fmt.Errorf("value %v of %s is outside [0, 1] (fractions, not percent: write %v as %v)", r.Value, r.Metric, r.Value, r.Value/100)
	}
	if r.N < 0 || r.Step < 0 {
		return errors.New("negative n or step")
	}
	if strings.TrimSpace(r.Provenance.Source) == "" {
		return errors.New("provenance.source is empty")
	}
	tol := r.Tolerance
	if tol == (Tolerance{}) {
		return errors.New(`no tolerance; add e.g. "tolerance": {"kind": "absolute", "value": 0.02, "direction": "higher_is_better"} (see golden/FORMAT.md)`)
	}
	switch tol.Direction {
	case DirBoth, DirHigher, DirLower:
	case "":
		return fmt.Errorf(`tolerance has no "direction" (want %s, %s or %s)`, DirBoth, DirHigher, DirLower)
	default:
		return fmt.Errorf("tolerance direction %q (want %s, %s or %s)", tol.Direction, DirBoth, DirHigher, DirLower)
	}
	if tol.Kind == "" {
		return fmt.Errorf(`tolerance has no "kind" (want %s, %s or %s)`, KindAbsolute, KindRelative, KindNotWorse)
	}
	switch tol.Kind {
	case KindAbsolute, KindRelative:
		if !(tol.Value >= 0) || math.IsInf(tol.Value, 0) {
			return fmt.Errorf("%s tolerance value %v (want a finite number ≥ 0)", tol.Kind, tol.Value)
		}
		if tol.Alpha != 0 {
			return fmt.Errorf("%s tolerance has an alpha", tol.Kind)
		}
		if frac && tol.Value >= 1 {
			return fmt.Errorf("%s tolerance %v on the fraction %s admits every value in [0, 1] (percent written as a fraction?)", tol.Kind, tol.Value, r.Metric)
		}
	case KindNotWorse:
		if !(tol.Alpha > 0 && tol.Alpha < 1) {
			return fmt.Errorf("not_worse alpha %v (want 0 < alpha < 1)", tol.Alpha)
		}
		if tol.Direction == DirBoth {
			return errors.New("not_worse needs direction higher_is_better or lower_is_better")
		}
		if tol.Value != 0 {
			return errors.New("not_worse tolerance has a value (it is a test, not a margin)")
		}
	default:
		return fmt.Errorf("tolerance kind %q (want %s, %s or %s)", tol.Kind, KindAbsolute, KindRelative, KindNotWorse)
	}
	return nil
}

// IsFraction reports whether a metric is a fraction in [0, 1]: the run
// metrics (accuracy, parse_failure_rate, error_rate) and training metrics
// named as accuracies, rates, ratios or fractions (eval_accuracy,
// rewards/accuracy_reward, frac_reward_zero_std, completions/clipped_ratio).
func IsFraction(metric string) bool {
	m := strings.ToLower(metric)
	return strings.Contains(m, "accuracy") || strings.HasSuffix(m, "_rate") || strings.HasSuffix(m, "_ratio") ||
		strings.HasPrefix(m, "frac_") || m == "rewards/format_reward"
}

// Write encodes the table as indented JSON after validating it.
func (t *Table) Write(w io.Writer) error {
	if err := t.Validate(); err != nil {
		return fmt.Errorf("golden: %w", err)
	}
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	enc.SetEscapeHTML(false)
	if err := enc.Encode(t); err != nil {
		return fmt.Errorf("golden: %w", err)
	}
	return nil
}

// Save writes the table to path (via a temporary file and rename).
func (t *Table) Save(path string) error {
	var buf bytes.Buffer
	if err := t.Write(&buf); err != nil {
		return err
	}
	tmp, err := os.CreateTemp(filepath.Dir(path), ".golden-*.json")
	if err != nil {
		return fmt.Errorf("golden: %w", err)
	}
	defer os.Remove(tmp.Name())
	if _, err := tmp.Write(buf.Bytes()); err != nil {
		tmp.Close()
		return fmt.Errorf("golden: %s: %w", path, err)
	}
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("golden: %s: %w", path, err)
	}
	if err := os.Rename(tmp.Name(), path); err != nil {
		return fmt.Errorf("golden: %w", err)
	}
	return nil
}

// ParseTolerance parses a command-line tolerance: "abs:X", "rel:X" or
// "not_worse:ALPHA". The direction is left empty for the caller to set.
func ParseTolerance(s string) (Tolerance, error) {
	kind, val, ok := strings.Cut(s, ":")
	if !ok {
		return Tolerance{}, fmt.Errorf("golden: tolerance %q: want abs:X, rel:X or not_worse:ALPHA", s)
	}
	var x float64
	if _, err := fmt.Sscan(val, &x); err != nil || math.IsNaN(x) || math.IsInf(x, 0) || x < 0 {
		return Tolerance{}, fmt.Errorf("golden: tolerance %q: %q is not a number ≥ 0", s, val)
	}
	switch kind {
	case "abs", KindAbsolute:
		return Tolerance{Kind: KindAbsolute, Value: x}, nil
	case "rel", KindRelative:
		return Tolerance{Kind: KindRelative, Value: x}, nil
	case KindNotWorse, "not-worse":
		if !(x > 0 && x < 1) {
			return Tolerance{}, fmt.Errorf("golden: tolerance %q: alpha must be in (0, 1)", s)
		}
		return Tolerance{Kind: KindNotWorse, Alpha: x}, nil
	}
	return Tolerance{}, fmt.Errorf("golden: tolerance %q: unknown kind %q (abs, rel, not_worse)", s, kind)
}

// NaturalDirection is the direction in which a metric improves: lower for
// rates of failures and errors and for losses, higher otherwise.
func NaturalDirection(metric string) string {
	m := strings.ToLower(metric)
	for _, w := range []string{"failure", "error", "loss", "kl", "latency"} {
		if strings.Contains(m, w) {
			return DirLower
		}
	}
	return DirHigher
}

// fmtNum formats a number compactly (up to 6 significant digits).
func fmtNum(x float64) string { return fmt.Sprintf("%.6g", x) }
