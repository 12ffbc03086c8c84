package datasets

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestValidateDecodeWorkers: the decoding check finds a truncated image
// among many, on several workers, reports it once under its record, and
// writes progress lines to a non-terminal writer only when asked.
func TestValidateDecodeWorkers(t *testing.T) {
	dir := t.TempDir()
	path, err := Synth(context.Background(), SynthOptions{Out: dir, N: 24, Seed: 5, MaxSide: 64})
	if err != nil {
		t.Fatal(err)
	}
	recs, err := ReadRecords(path)
	if err != nil {
		t.Fatal(err)
	}
	bad := 17
	p := filepath.Join(dir, recs[bad].Image[0])
	b, _ := os.ReadFile(p)
	os.WriteFile(p, b[:len(b)/2], 0o644)

	header, err := ValidateWithOptions(context.Background(), path, dir, DefaultModalityMap(), ImageCheck{})
	if err != nil || len(header) != 0 {
		t.Fatalf("header check: %v %v (a truncated body has an intact header)", header, err)
	}
	var prog bytes.Buffer
	probs, err := ValidateWithOptions(context.Background(), path, dir, DefaultModalityMap(), ImageCheck{Decode: true, Workers: 4, Progress: &prog})
	if err != nil {
		t.Fatal(err)
	}
	if len(probs) != 1 || probs[0].Index != bad || probs[0].Field != "image" || !strings.Contains(probs[0].Msg, "does not decode ("+p+")") {
		t.Errorf("problems %v", probs)
	}
	// Cancelled: an error, not a partial list.
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := ValidateWithOptions(ctx, path, dir, DefaultModalityMap(), ImageCheck{Decode: true, Workers: 2}); err == nil {
		t.Error("cancelled validate returned no error")
	}
}
