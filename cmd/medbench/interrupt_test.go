package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/medbench/medbench/records"
)

// lockedBuffer is a bytes.Buffer safe for a subprocess's writes and the
// test's reads.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// waitFor polls cond every 10 ms until it holds or d passes.
func waitFor(d time.Duration, cond func() bool) bool {
	deadline := time.Now().Add(d)
	for !cond() {
		if time.Now().After(deadline) {
			return false
		}
		time.Sleep(10 * time.Millisecond)
	}
	return true
}

// exitCode waits for cmd (at most d, then kills it) and returns its status.
func exitCode(t *testing.T, cmd *exec.Cmd, d time.Duration) (int, time.Duration) {
	t.Helper()
	start := time.Now()
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	select {
	case err := <-done:
		var ee *exec.ExitError
		if errors.As(err, &ee) {
			return ee.ExitCode(), time.Since(start)
		}
		if err != nil {
			t.Fatal(err)
		}
		return 0, time.Since(start)
	case <-time.After(d):
		cmd.Process.Kill()
		<-done
		t.Fatalf("process still running %s after the interrupt", d)
	}
	return -1, 0
}

// TestEvalCtrlC sends SIGINT to a running `medbench eval`: the first is
// acknowledged at once on stderr, the running batch is finished and
// written, and eval exits 130 saying how to resume. Two SIGINTs abort the
// running batch at once. Both records resume to the summary of an
// uninterrupted run.
func TestEvalCtrlC(t *testing.T) {
	bin := buildMedbench(t)
	data := evalSynth(t, 12)
	outputs, _ := writeOutputs(t, data)
	args := func(out string, extra ...string) []string {
		return append([]string{"eval", "--data", data, "--runner", "replay", "--outputs", outputs, "--out", out,
			"--batch", "4", "--prompt", "complex"}, extra...)
	}
	ref := filepath.Join(t.TempDir(), "ref")
	if code, _, stderr := cliRun(t, args(ref)...); code != 0 {
		t.Fatal(stderr)
	}
	const ack = "medbench: interrupt: stopping after the running batch; Ctrl-C again to abort"
	resumeMatches := func(out string) {
		t.Helper()
		if b, err := exec.Command(bin, args(out, "--resume")...).CombinedOutput(); err != nil {
			t.Fatalf("resume: %v\n%s", err, b)
		}
		got, want := readSummary(t, out), readSummary(t, ref)
		got.Created, want.Created = time.Time{}, time.Time{}
		if !reflect.DeepEqual(got, want) {
			t.Errorf("resumed summary differs:\n got %+v\nwant %+v", got, want)
		}
		samples, torn, err := records.ReadSamples(filepath.Join(out, records.SamplesFile))
		if err != nil || torn || len(samples) != 12 {
			t.Errorf("after resume: %d samples, torn %v, %v", len(samples), torn, err)
		}
	}

	t.Run("once", func(t *testing.T) {
		out := filepath.Join(t.TempDir(), "run")
		var stderr lockedBuffer
		cmd := exec.Command(bin, args(out, "--replay-delay", "150ms")...) // 600 ms a batch
		cmd.Stderr = &stderr
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		samples := filepath.Join(out, records.SamplesFile)
		if !waitFor(20*time.Second, func() bool { return countLines(samples) >= 4 }) {
			cmd.Process.Kill()
			t.Fatal("no batch written")
		}
		before := countLines(samples)
		cmd.Process.Signal(syscall.SIGINT) // batch 2 is running (or about to start)
		sent := time.Now()
		if !waitFor(5*time.Second, func() bool { return strings.Contains(stderr.String(), ack) }) {
			t.Errorf("no acknowledgement on stderr: %q", stderr.String())
		} else if d := time.Since(sent); d > 400*time.Millisecond {
			t.Errorf("acknowledged after %s, not at once", d)
		}
		code, _ := exitCode(t, cmd, 20*time.Second)
		if code != 130 || !strings.Contains(stderr.String(), "--resume") {
			t.Fatalf("exit %d, stderr %q", code, stderr.String())
		}
		// Whole batches only, none lost: the one running at the signal (if
		// any had started) was finished and written, no later one begun.
		if n := countLines(samples); n%4 != 0 || n < before || n > before+4 || n == 12 {
			t.Errorf("%d samples recorded (%d at the signal): want whole batches, at most the running one added", n, before)
		}
		resumeMatches(out)
	})

	t.Run("twice", func(t *testing.T) {
		out := filepath.Join(t.TempDir(), "run")
		var stderr lockedBuffer
		cmd := exec.Command(bin, args(out, "--replay-delay", "1s")...) // 4 s a batch
		cmd.Stderr = &stderr
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		// manifest.json is written after the signal handler is installed.
		if !waitFor(20*time.Second, func() bool {
			_, err := os.Stat(filepath.Join(out, records.ManifestFile))
			return err == nil
		}) {
			cmd.Process.Kill()
			t.Fatal("eval did not start")
		}
		time.Sleep(300 * time.Millisecond)
		cmd.Process.Signal(syscall.SIGINT)
		if !waitFor(5*time.Second, func() bool { return strings.Contains(stderr.String(), ack) }) {
			t.Errorf("no acknowledgement: %q", stderr.String())
		}
		cmd.Process.Signal(syscall.SIGINT)
		code, took := exitCode(t, cmd, 20*time.Second)
		if code != 130 || !strings.Contains(stderr.String(), "second interrupt: aborting") {
			t.Fatalf("exit %d, stderr %q", code, stderr.String())
		}
		if took > 2*time.Second {
			t.Errorf("aborted after %s, not at once (a batch takes 4 s)", took)
		}
		if n := countLines(filepath.Join(out, records.SamplesFile)); n != 0 {
			t.Errorf("%d samples recorded from the aborted batch", n)
		}
		resumeMatches(out)
	})
}

// TestTrainCtrlC sends SIGINT to `medbench train grpo` and `train sft`
// mid-run: the step in progress is finished, a checkpoint is written, one
// line says how to go on, and the exit status is 130. The GRPO run resumed
// from that checkpoint logs the same metrics as an uninterrupted run.
func TestTrainCtrlC(t *testing.T) {
	bin := buildMedbench(t)
	model := tinyFixture(t)
	dir := t.TempDir()
	if code, out, errOut := cliRun(t, "dataset", "synth", "--task", "count", "--n", "8", "--seed", "1", "--out", filepath.Join(dir, "d")); code != 0 {
		t.Fatalf("synth: %s%s", out, errOut)
	}
	data := filepath.Join(dir, "d", "dataset.json")
	const ack = "medbench: interrupt: finishing the current step, then writing a checkpoint; Ctrl-C again to abort"

	// interrupt starts the command, sends SIGINT once stderr shows marker,
	// and returns the exit status and stderr.
	interrupt := func(args []string, marker string) (int, string) {
		t.Helper()
		var stderr lockedBuffer
		cmd := exec.Command(bin, args...)
		cmd.Stderr = &stderr
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		if !waitFor(60*time.Second, func() bool { return strings.Contains(stderr.String(), marker) }) {
			cmd.Process.Kill()
			t.Fatalf("no %q on stderr: %q", marker, stderr.String())
		}
		cmd.Process.Signal(syscall.SIGINT)
		if !waitFor(5*time.Second, func() bool { return strings.Contains(stderr.String(), ack) }) {
			t.Errorf("no acknowledgement: %q", stderr.String())
		}
		code, _ := exitCode(t, cmd, 60*time.Second)
		return code, stderr.String()
	}

	t.Run("grpo", func(t *testing.T) {
		grpoArgs := func(out string, extra ...string) []string {
			return append([]string{"train", "grpo", "--model", model, "--data", data, "--out", out, "--max-steps", "6",
				"--num-generations", "3", "--prompts-per-step", "2", "--grad-accum", "1", "--max-completion-length", "8",
				"--save-steps", "0", "--threads", "1"}, extra...)
		}
		ref := filepath.Join(t.TempDir(), "ref")
		if code, _, stderr := cliRun(t, append(grpoArgs(ref), "--quiet")...); code != 0 {
			t.Fatalf("uninterrupted: %s", stderr)
		}
		out := filepath.Join(t.TempDir(), "run")
		code, stderr := interrupt(grpoArgs(out), "step 2/6")
		lines := strings.Split(strings.TrimSpace(stderr), "\n")
		last := lines[len(lines)-1]
		if code != 130 || !strings.Contains(last, "train grpo: interrupted after step") || !strings.Contains(last, "--resume") {
			t.Fatalf("exit %d, last line %q", code, last)
		}
		ms, err := readMetricsFile(filepath.Join(out, "metrics.jsonl"))
		if err != nil || len(ms) < 2 || len(ms) >= 6 {
			t.Fatalf("metrics after the interrupt: %d lines, %v", len(ms), err)
		}
		step := len(ms)
		ckpt := filepath.Join(out, "checkpoints", "step-"+strconv.Itoa(step))
		if !strings.Contains(last, ckpt) {
			t.Errorf("last line %q does not name %s", last, ckpt)
		}
		for _, f := range []string{"trainer_state.json", "optimizer.gob", "onnx/decoder_model_merged.onnx"} {
			if _, err := os.Stat(filepath.Join(ckpt, f)); err != nil {
				t.Errorf("checkpoint lacks %s", f)
			}
		}
		if code, _, stderr := cliRun(t, append(grpoArgs(out, "--resume"), "--quiet")...); code != 0 {
			t.Fatalf("resume: exit %d %s", code, stderr)
		}
		got, err := readMetricsFile(filepath.Join(out, "metrics.jsonl"))
		if err != nil {
			t.Fatal(err)
		}
		want, err := readMetricsFile(filepath.Join(ref, "metrics.jsonl"))
		if err != nil {
			t.Fatal(err)
		}
		if len(got) != len(want) {
			t.Fatalf("resumed run logged %d steps, uninterrupted %d", len(got), len(want))
		}
		for i := range got {
			delete(got[i], "step_time")
			delete(want[i], "step_time")
			if !reflect.DeepEqual(got[i], want[i]) {
				t.Errorf("step %d differs after resume:\n got %v\nwant %v", i+1, got[i], want[i])
			}
		}
	})

	t.Run("sft", func(t *testing.T) {
		out := filepath.Join(t.TempDir(), "sft")
		code, stderr := interrupt([]string{"train", "sft", "--model", model, "--data", data, "--out", out,
			"--epochs", "4", "--batch", "2", "--threads", "1"}, "sft step 2/16")
		lines := strings.Split(strings.TrimSpace(stderr), "\n")
		last := lines[len(lines)-1]
		if code != 130 || !strings.Contains(last, "train sft: interrupted after step") || !strings.Contains(last, "--model "+filepath.Join(out, "checkpoints", "step-")) {
			t.Fatalf("exit %d, last line %q", code, last)
		}
		ents, _ := os.ReadDir(filepath.Join(out, "checkpoints"))
		if len(ents) != 1 {
			t.Fatalf("%d checkpoints, want 1", len(ents))
		}
		if _, err := os.Stat(filepath.Join(out, "checkpoints", ents[0].Name(), "onnx", "decoder_model_merged.onnx")); err != nil {
			t.Errorf("checkpoint is not a model directory: %v", err)
		}
		if _, err := os.Stat(filepath.Join(out, "final")); err == nil {
			t.Error("an interrupted run wrote final/")
		}
	})
}

// readMetricsFile reads metrics.jsonl as generic objects.
func readMetricsFile(path string) ([]map[string]any, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var out []map[string]any
	for _, ln := range strings.Split(strings.TrimSpace(string(b)), "\n") {
		var m map[string]any
		if err := json.Unmarshal([]byte(ln), &m); err != nil {
			return nil, err
		}
		out = append(out, m)
	}
	return out, nil
}
