package evaluate

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/medbench/medbench/datasets"
	"github.com/medbench/medbench/records"
)

// withImages writes one small file per sample and points the sample at it.
func withImages(t *testing.T, samples []datasets.Item) string {
	root := t.TempDir()
	for i := range samples {
		p := filepath.Join(root, fmt.Sprintf("%d.png", i))
		if err := os.WriteFile(p, []byte(fmt.Sprintf("image %d", i)), 0o644); err != nil {
			t.Fatal(err)
		}
		samples[i].ImagePaths = []string{p}
	}
	return root
}

func TestResumeRefusesChangedImage(t *testing.T) {
	samples := testSamples(6)
	root := withImages(t, samples)
	dir := t.TempDir()
	f := newFake(samples)
	ctx, cancel := context.WithCancel(context.Background())
	f.onCall = func(call int) error {
		if call == 2 {
			cancel()
		}
		return nil
	}
	if _, err := Run(ctx, config(t, samples, f, dir, 2)); !errors.Is(err, context.Canceled) {
		t.Fatalf("interrupted run: %v", err)
	}
	got, _, err := records.ReadSamples(filepath.Join(dir, records.SamplesFile))
	if err != nil || len(got) == 0 || len(got[0].ImageSHA256) != 1 || len(got[0].ImageSHA256[0]) != 64 {
		t.Fatalf("samples.jsonl does not record the image sha256: %+v, %v", got, err)
	}
	var m records.Manifest
	if err := records.ReadJSON(filepath.Join(dir, records.ManifestFile), &m); err != nil || len(m.Dataset.ImagesSHA256) != 64 {
		t.Fatalf("manifest images digest %q, %v", m.Dataset.ImagesSHA256, err)
	}
	// Change the image of a recorded sample: resume names it.
	if err := os.WriteFile(filepath.Join(root, "0.png"), []byte("another image"), 0o644); err != nil {
		t.Fatal(err)
	}
	f.onCall = nil
	cfg := config(t, samples, f, dir, 2)
	cfg.Resume = true
	_, err = Run(context.Background(), cfg)
	if err == nil || !strings.Contains(err.Error(), "image of sample simple/0") || !strings.Contains(err.Error(), got[0].ImageSHA256[0]) {
		t.Fatalf("changed recorded image: %v", err)
	}
	// Restored, but a not-yet-run sample's image changed: the digest differs.
	os.WriteFile(filepath.Join(root, "0.png"), []byte("image 0"), 0o644)
	os.WriteFile(filepath.Join(root, "5.png"), []byte("another image"), 0o644)
	if _, err := Run(context.Background(), cfg); err == nil || !strings.Contains(err.Error(), "dataset.images_sha256 differs") {
		t.Fatalf("changed pending image: %v", err)
	}
	os.WriteFile(filepath.Join(root, "5.png"), []byte("image 5"), 0o644)
	if _, err := Run(context.Background(), cfg); err != nil {
		t.Fatalf("resume with the original images: %v", err)
	}
}

func TestInvalidItemsRecordedAndCounted(t *testing.T) {
	samples := testSamples(4)
	samples[1].Record.Solution = "b" // lowercase: never right under the seed's rule
	probs := datasets.CheckSamples(samples, datasets.DefaultModalityMap())
	if len(probs) == 0 {
		t.Fatal("CheckSamples missed a lowercase solution")
	}
	cfg := config(t, samples, newFake(samples), t.TempDir(), 2)
	cfg.Invalid = datasets.InvalidByIndex(probs)
	sum, err := Run(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	if sum.InvalidItems != 1 {
		t.Errorf("summary invalid_items = %d, want 1", sum.InvalidItems)
	}
	var onDisk map[string]any
	if err := records.ReadJSON(filepath.Join(cfg.OutDir, records.SummaryFile), &onDisk); err != nil || onDisk["invalid_items"] != 1.0 {
		t.Errorf("summary.json invalid_items = %v (%v)", onDisk["invalid_items"], err)
	}
	got, _, _ := records.ReadSamples(filepath.Join(cfg.OutDir, records.SamplesFile))
	n := 0
	for _, s := range got {
		if s.Invalid != "" {
			n++
			if s.ID != "1" || !strings.Contains(s.Invalid, `"b" is not a single letter`) {
				t.Errorf("sample %s marked invalid: %q", s.Key(), s.Invalid)
			}
		}
	}
	if n != 2 { // one record under two prompts
		t.Errorf("%d samples marked invalid, want 2", n)
	}
}

func TestConcurrentWriterRefused(t *testing.T) {
	samples := testSamples(4)
	dir := t.TempDir()
	f := newFake(samples)
	started, release := make(chan struct{}), make(chan struct{})
	f.onCall = func(call int) error {
		if call == 1 {
			close(started)
			<-release
		}
		return nil
	}
	done := make(chan error)
	go func() { _, err := Run(context.Background(), config(t, samples, f, dir, 2)); done <- err }()
	<-started
	for _, resume := range []bool{false, true} {
		cfg := config(t, samples, newFake(samples), dir, 2)
		cfg.Resume = resume
		if _, err := Run(context.Background(), cfg); err == nil || !strings.Contains(err.Error(), "in use by another medbench process") {
			t.Errorf("second writer (resume=%v) while the first runs: %v", resume, err)
		}
	}
	close(release)
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	got, _, err := records.ReadSamples(filepath.Join(dir, records.SamplesFile))
	if err != nil || len(got) != 8 {
		t.Errorf("%d samples, err %v", len(got), err)
	}
}
