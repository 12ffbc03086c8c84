package evaluate

import (
	"context"
	"errors"
	"path/filepath"
	"testing"

	"github.com/medbench/medbench/records"
)

// TestStopAfterBatch: closing Config.Stop during a batch (a first Ctrl-C)
// lets that batch finish and be written, starts no other, and returns
// ErrStopped; the run then resumes to the uninterrupted summary.
func TestStopAfterBatch(t *testing.T) {
	samples := testSamples(10)
	ref, err := Run(context.Background(), config(t, samples, newFake(samples), t.TempDir(), 3))
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	f := newFake(samples)
	stop := make(chan struct{})
	f.onCall = func(call int) error {
		if call == 2 {
			close(stop)
		}
		return nil
	}
	cfg := config(t, samples, f, dir, 3)
	cfg.Stop = stop
	if _, err := Run(context.Background(), cfg); !errors.Is(err, ErrStopped) {
		t.Fatalf("stopped run: err = %v", err)
	}
	got, _, err := records.ReadSamples(filepath.Join(dir, records.SamplesFile))
	if err != nil || len(got) != 6 {
		t.Fatalf("after stop: %d samples recorded (want 6: two batches), err %v", len(got), err)
	}
	f.onCall = nil
	cfg = config(t, samples, f, dir, 3)
	cfg.Resume = true
	sum, err := Run(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	if sum.Samples != ref.Samples || sum.Errors != ref.Errors || len(sum.Cells) != len(ref.Cells) {
		t.Errorf("resumed summary %+v, want %+v", sum, ref)
	}
	for k, n := range f.seen {
		if n != 1 {
			t.Errorf("%s generated %d times", k, n)
		}
	}
}
