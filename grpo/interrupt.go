package grpo

import (
	"fmt"
	"os"
	"path/filepath"
	"strconv"
)

// Interrupted is returned by Train and SFT when their Stop channel was
// closed (a first Ctrl-C): the optimizer step in progress was finished and
// written to Checkpoint, and training stopped there.
type Interrupted struct {
	Step, MaxSteps int
	// Checkpoint is the checkpoint directory holding the model, optimizer
	// and trainer state after Step.
	Checkpoint string
	// Resumable is true when --resume continues from Checkpoint (GRPO);
	// SFT has no resume, and Checkpoint is a model directory to start from.
	Resumable bool
}

func (e *Interrupted) Error() string {
	return fmt.Sprintf("grpo: interrupted after step %d of %d; checkpoint in %s", e.Step, e.MaxSteps, e.Checkpoint)
}

// stopRequested reports whether stop is closed (a nil channel never is).
func stopRequested(stop <-chan struct{}) bool {
	select {
	case <-stop:
		return true
	default:
		return false
	}
}

// interruptCheckpoint writes the checkpoint of step (unless the regular
// save-steps schedule already wrote it) and returns the Interrupted error.
func interruptCheckpoint(e *Engine, out string, step, maxSteps int, seed uint64, resumable bool) error {
	dir := filepath.Join(out, "checkpoints", "step-"+strconv.Itoa(step))
	if _, err := os.Stat(filepath.Join(dir, stateFile)); err != nil {
		if err := saveCheckpoint(e, dir, trainState{step, maxSteps, seed}); err != nil {
			return err
		}
	}
	return &Interrupted{Step: step, MaxSteps: maxSteps, Checkpoint: dir, Resumable: resumable}
}
