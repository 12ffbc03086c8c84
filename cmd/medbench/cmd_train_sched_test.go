package main

import (
	"path/filepath"
	"testing"

	"github.com/medbench/medbench/datasets"
)

// TestTrainGRPOLRSchedulerFlag checks that `train grpo --lr-scheduler`
// rejects an unknown schedule as a usage error before any training.
func TestTrainGRPOLRSchedulerFlag(t *testing.T) {
	dir := t.TempDir()
	train, err := datasets.SynthCount(t.Context(), filepath.Join(dir, "train"), 4, 1, nil)
	if err != nil {
		t.Fatal(err)
	}
	args := []string{"medbench", "train", "grpo", "--model", filepath.Join(dir, "model"), "--data", train,
		"--out", filepath.Join(dir, "out"), "--lr-scheduler", "step"}
	if code := run(args); code != 2 {
		t.Errorf("--lr-scheduler step: exit %d, want 2", code)
	}
}
