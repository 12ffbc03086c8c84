package grpo

import (
	"fmt"
	"path/filepath"

	"github.com/medbench/medbench/golden"
)

// StepMetrics merges a run's metrics lines by step (a later line adds to
// or overrides an earlier one of the same step, e.g. the final eval).
func StepMetrics(ms []Metrics) map[int]Metrics {
	out := map[int]Metrics{}
	for _, m := range ms {
		s := m.Step()
		if out[s] == nil {
			out[s] = Metrics{}
		}
		for k, v := range m {
			out[s][k] = v
		}
	}
	return out
}

// TrainValues maps each row of a golden table to the training run's value
// of its metric at its step (rows whose metric or step the run lacks are
// absent, and golden.CheckValues reports them missing).
func TrainValues(ms []Metrics, t *golden.Table) map[golden.Key]float64 {
	by := StepMetrics(ms)
	values := map[golden.Key]float64{}
	for _, r := range t.Rows {
		if m, ok := by[r.Step]; ok {
			if v, ok := m[r.Metric]; ok {
				values[r.Key] = v
			}
		}
	}
	return values
}

// CheckTrain compares the metrics.jsonl of a training output folder (or a
// metrics.jsonl file itself) with the golden rows of one model and dataset
// ("" picks the table's only one, as medbench check does for runs): each
// row names a metric (R1-V or TRL name, or eval_accuracy) and an optimizer
// step.
func CheckTrain(dir, goldenPath, model, dataset string) ([]golden.Verdict, error) {
	t, err := golden.Load(goldenPath)
	if err != nil {
		return nil, err
	}
	if t, err = t.Select(model, dataset); err != nil {
		return nil, fmt.Errorf("%s: %w", goldenPath, err)
	}
	path := dir
	if filepath.Base(dir) != MetricsFile {
		path = filepath.Join(dir, MetricsFile)
	}
	ms, err := ReadMetrics(path)
	if err != nil {
		return nil, err
	}
	if len(ms) == 0 {
		return nil, fmt.Errorf("grpo: %s: no metrics", path)
	}
	return golden.CheckValues(TrainValues(ms, t), t), nil
}

// CheckTrainGate is CheckTrain as a golden.Gate over the training output
// dir, its errors naming dir and the golden table.
func CheckTrainGate(dir, goldenPath, model, dataset string) (*golden.Gate, error) {
	vs, err := CheckTrain(dir, goldenPath, model, dataset)
	if err != nil {
		return nil, fmt.Errorf("check %s against %s: %w", dir, goldenPath, err)
	}
	return &golden.Gate{Subject: dir, Golden: goldenPath, Verdicts: vs}, nil
}
