package golden

import (
	"os"
	"path/filepath"
	"testing"
)

// TestLoadBOM: a golden file saved with a UTF-8 BOM loads as without.
func TestLoadBOM(t *testing.T) {
	b, err := os.ReadFile("medvlm-r1-paper.json")
	if err != nil {
		t.Fatal(err)
	}
	p := filepath.Join(t.TempDir(), "g.json")
	os.WriteFile(p, append([]byte("\xef\xbb\xbf"), b...), 0o644)
	want, err := Load("medvlm-r1-paper.json")
	if err != nil {
		t.Fatal(err)
	}
	got, err := Load(p)
	if err != nil {
		t.Fatalf("BOM golden refused: %v", err)
	}
	if len(got.Rows) != len(want.Rows) || len(got.Rows) == 0 {
		t.Errorf("%d rows, want %d", len(got.Rows), len(want.Rows))
	}
}
