package datasets

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestSampleReadImage(t *testing.T) {
	dir := t.TempDir()
	p, err := Synth(context.Background(), SynthOptions{Out: dir, N: 3, Seed: 1, MaxSide: 32})
	if err != nil {
		t.Fatal(err)
	}
	s, err := LoadJSON(p, "")
	if err != nil {
		t.Fatal(err)
	}
	want, _ := os.ReadFile(filepath.Join(dir, s[1].Record.Image[0]))
	if got, err := s[1].ReadImage(0); err != nil || !bytes.Equal(got, want) {
		t.Errorf("file image: %v", err)
	}
	s[1].ImageBytes = [][]byte{[]byte("embedded")}
	if got, _ := s[1].ReadImage(0); string(got) != "embedded" {
		t.Errorf("embedded bytes not preferred: %q", got)
	}
	if _, err := s[1].ReadImage(1); err == nil || !strings.Contains(err.Error(), "sample 1") {
		t.Errorf("out of range: %v", err)
	}
	os.Remove(s[2].ImagePaths[0])
	if _, err := s[2].ReadImage(0); err == nil || !strings.Contains(err.Error(), s[2].ImagePaths[0]) {
		t.Errorf("missing file: %v", err)
	}
}
