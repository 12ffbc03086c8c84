package grpo

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/medbench/medbench/internal/utf8bom"
	"github.com/medbench/medbench/records"
)

// MetricsFile is the name of the per-step log in a training output folder.
const MetricsFile = "metrics.jsonl"

// Metrics is one line of metrics.jsonl: metric name → value, always with
// "step". Lines are written with sorted keys (encoding/json's map order), so
// a run's file is byte-for-byte deterministic.
type Metrics map[string]float64

// Step is the line's optimizer step.
func (m Metrics) Step() int { return int(m["step"]) }

// StepStats is what one optimizer step measured; Metrics turns it into a
// line under both R1-V's and TRL's names.
type StepStats struct {
	Step         int
	Epoch        float64
	Loss         float64
	GradNorm     float64
	LearningRate float64
	// Rewards[f][i] is reward function f's value for completion i; Names
	// orders the functions (R1-V logs rewards/<name>, TRL reward/<name>/mean).
	Names   []string
	Rewards [][]float64
	// GroupStd is each prompt group's unbiased std of the summed reward;
	// FracZeroStd the fraction of groups with equal rewards.
	GroupStd    []float64
	FracZeroStd float64
	// Lengths are the completion lengths (tokens up to and including the
	// first EOS); Terminated tells which ended with an EOS.
	Lengths    []int
	Terminated []bool
	KL         float64
	Entropy    float64
	// ClipLow/ClipHigh are per micro-batch clipped-token fractions;
	// ClipRegion the fraction over the whole step.
	ClipLow, ClipHigh []float64
	ClipRegion        float64
	// NumTokens counts prompt and completion tokens seen so far.
	NumTokens float64
	StepTime  float64
}

// Metrics renders the step under both naming schemes.
func (s StepStats) Metrics() Metrics {
	m := Metrics{
		"step":          float64(s.Step),
		"epoch":         s.Epoch,
		"loss":          s.Loss,
		"grad_norm":     s.GradNorm,
		"learning_rate": s.LearningRate,
		"kl":            s.KL,
		"entropy":       s.Entropy,
		"num_tokens":    s.NumTokens,
		"step_time":     s.StepTime,
	}
	n := 0
	if len(s.Rewards) > 0 {
		n = len(s.Rewards[0])
	}
	total := make([]float64, n)
	for f, name := range s.Names {
		r := s.Rewards[f]
		for i, v := range r {
			total[i] += v
		}
		m["rewards/"+name] = mean(r)
		m["reward/"+name+"/mean"] = mean(r)
		m["reward/"+name+"/std"] = unbiasedStd(r)
	}
	m["reward"] = mean(total)
	m["reward_std"] = mean(s.GroupStd)
	m["frac_reward_zero_std"] = s.FracZeroStd
	lens := make([]float64, len(s.Lengths))
	var term []float64
	clipped := 0
	for i, l := range s.Lengths {
		lens[i] = float64(l)
		if i < len(s.Terminated) && s.Terminated[i] {
			term = append(term, float64(l))
		} else {
			clipped++
		}
	}
	m["completion_length"] = mean(lens)
	m["completions/mean_length"] = mean(lens)
	m["completions/min_length"] = minOf(lens)
	m["completions/max_length"] = maxOf(lens)
	m["completions/mean_terminated_length"] = mean(term)
	m["completions/min_terminated_length"] = minOf(term)
	m["completions/max_terminated_length"] = maxOf(term)
	if len(lens) > 0 {
		m["completions/clipped_ratio"] = float64(clipped) / float64(len(lens))
	}
	m["clip_ratio/low_mean"] = mean(s.ClipLow)
	m["clip_ratio/low_min"] = minOf(s.ClipLow)
	m["clip_ratio/high_mean"] = mean(s.ClipHigh)
	m["clip_ratio/high_max"] = maxOf(s.ClipHigh)
	m["clip_ratio/region_mean"] = s.ClipRegion
	return m
}

func minOf(x []float64) float64 { return fold(x, math.Min) }

func maxOf(x []float64) float64 { return fold(x, math.Max) }

// fold combines x's values left to right with f (0 for no values).
func fold(x []float64, f func(a, b float64) float64) float64 {
	if len(x) == 0 {
		return 0
	}
	v := x[0]
	for _, y := range x[1:] {
		v = f(v, y)
	}
	return v
}

// WriteMetrics appends one line to w. Non-finite values are an error: JSON
// cannot carry them, and a NaN loss must stop training loudly.
func WriteMetrics(w io.Writer, m Metrics) error {
	for k, v := range m {
		if math.IsNaN(v) || math.IsInf(v, 0) {
			return fmt.Errorf("grpo: metric %q of step %d is %v", k, m.Step(), v)
		}
	}
	b, err := json.Marshal(map[string]float64(m))
	if err != nil {
		return fmt.Errorf("grpo: metrics of step %d: %w", m.Step(), err)
	}
	b = append(b, '\n')
	if _, err := w.Write(b); err != nil {
		return fmt.Errorf("grpo: write metrics of step %d: %w", m.Step(), err)
	}
	return nil
}

// ReadMetrics reads a metrics.jsonl file. A torn last line (a run killed
// mid-write) is dropped; any other bad line is an error naming it.
func ReadMetrics(path string) ([]Metrics, error) {
	var out []Metrics
	_, err := records.ReadJSONL(path, "grpo", parseMetricsLine, func(line int, m Metrics) error {
		if _, ok := m["step"]; !ok {
			return fmt.Errorf("grpo: %s line %d: no \"step\"", path, line)
		}
		out = append(out, m)
		return nil
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// parseMetricsLine decodes one metrics object; NaN, Infinity and -Infinity
// are read as Python's json writes them (see WriteMetricsFile).
func parseMetricsLine(b []byte) (Metrics, error) {
	var raw map[string]any
	dec := json.NewDecoder(bytes.NewReader(pyNonFinite(b)))
	dec.UseNumber()
	if err := dec.Decode(&raw); err != nil {
		return nil, err
	}
	if raw == nil {
		return nil, errors.New("not a JSON object")
	}
	if dec.More() {
		return nil, errors.New("trailing data after the JSON object")
	}
	m := make(Metrics, len(raw))
	for k, v := range raw {
		f, err := toFloat(v)
		if err != nil {
			return nil, fmt.Errorf("%q: %w", k, err)
		}
		m[k] = f
	}
	return m, nil
}

// trainerState is the part of a Hugging Face trainer_state.json we read.
type trainerState struct {
	LogHistory []map[string]any `json:"log_history"`
}

// ImportTrainerState converts a TRL / R1-V trainer_state.json (Hugging Face
// Trainer's log_history) into metrics lines, one per logged step: entries
// of the same step (training log, eval, final summary) are merged, numeric
// fields are kept, and each metric is also written under its name in the
// other scheme (completion_length ↔ completions/mean_length, rewards/<f> ↔
// reward/<f>/mean) so that the same plots and checks apply.
func ImportTrainerState(path string) ([]Metrics, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("grpo: %w", err)
	}
	var st trainerState
	// Python's json writes NaN/Infinity/-Infinity; they are read as such.
	dec := json.NewDecoder(bytes.NewReader(pyNonFinite(utf8bom.Trim(b))))
	dec.UseNumber()
	if err := dec.Decode(&st); err != nil {
		var se *json.SyntaxError
		if errors.As(err, &se) {
			return nil, fmt.Errorf("grpo: %s: invalid JSON at byte offset %d: %w", path, se.Offset, err)
		}
		return nil, fmt.Errorf("grpo: %s: %w", path, err)
	}
	if st.LogHistory == nil {
		return nil, fmt.Errorf("grpo: %s: no log_history (not a Hugging Face trainer_state.json)", path)
	}
	byStep := map[int]Metrics{}
	for i, e := range st.LogHistory {
		sv, ok := e["step"]
		if !ok {
			return nil, fmt.Errorf("grpo: %s: log_history[%d] has no step", path, i)
		}
		stepF, err := toFloat(sv)
		if err != nil || stepF != math.Trunc(stepF) || stepF < 0 {
			return nil, fmt.Errorf("grpo: %s: log_history[%d]: bad step %v", path, i, sv)
		}
		m := byStep[int(stepF)]
		if m == nil {
			m = Metrics{}
			byStep[int(stepF)] = m
		}
		for k, v := range e {
			f, err := toFloat(v)
			if err != nil {
				continue // strings and nested objects are not metrics
			}
			m[k] = f // NaN and ±Inf kept, as Python's json wrote them
		}
	}
	steps := make([]int, 0, len(byStep))
	for s := range byStep {
		steps = append(steps, s)
	}
	sort.Ints(steps)
	out := make([]Metrics, 0, len(steps))
	for _, s := range steps {
		m := byStep[s]
		addAliases(m)
		out = append(out, m)
	}
	return out, nil
}

// addAliases fills each metric's name in the other scheme when absent.
func addAliases(m Metrics) {
	alias := func(a, b string) {
		if v, ok := m[a]; ok {
			if _, ok := m[b]; !ok {
				m[b] = v
			}
		}
	}
	alias("completion_length", "completions/mean_length")
	alias("completions/mean_length", "completion_length")
	for k, v := range m {
		if name, ok := strings.CutPrefix(k, "rewards/"); ok {
			if _, ok := m["reward/"+name+"/mean"]; !ok {
				m["reward/"+name+"/mean"] = v
			}
		}
		if rest, ok := strings.CutPrefix(k, "reward/"); ok {
			if name, ok := strings.CutSuffix(rest, "/mean"); ok {
				if _, ok := m["rewards/"+name]; !ok {
					m["rewards/"+name] = v
				}
			}
		}
	}
}

func toFloat(v any) (float64, error) {
	switch x := v.(type) {
	case json.Number:
		return x.Float64()
	case float64:
		return x, nil
	case string:
		if f, ok := pyFloat(x); ok {
			return f, nil
		}
	case bool:
		return 0, fmt.Errorf("bool")
	}
	return 0, fmt.Errorf("not a number: %T", v)
}

// WriteMetricsFile writes all lines to path (created or truncated). Unlike
// WriteMetrics, which refuses them during training, it keeps non-finite
// values of imported logs, written as Python's json writes them (NaN,
// Infinity, -Infinity), which ReadMetrics reads back; finite values are
// written as WriteMetrics writes them.
func WriteMetricsFile(path string, ms []Metrics) error {
	var buf bytes.Buffer
	for _, m := range ms {
		buf.Write(marshalPyMetrics(m))
		buf.WriteByte('\n')
	}
	if err := os.WriteFile(path, buf.Bytes(), 0o644); err != nil {
		return fmt.Errorf("grpo: %w", err)
	}
	return nil
}

// ImportTrainerStateTo imports a TRL / R1-V trainer_state.json
// (ImportTrainerState) into outDir/metrics.jsonl, creating outDir, and
// returns the file written and the number of logged steps.
func ImportTrainerStateTo(statePath, outDir string) (path string, steps int, err error) {
	ms, err := ImportTrainerState(statePath)
	if err != nil {
		return "", 0, err
	}
	if err := os.MkdirAll(outDir, 0o755); err != nil {
		return "", 0, fmt.Errorf("grpo: %w", err)
	}
	path = filepath.Join(outDir, MetricsFile)
	if err := WriteMetricsFile(path, ms); err != nil {
		return "", 0, err
	}
	return path, len(ms), nil
}
