package datasets

import (
	"context"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

// withBOM copies src to dir with a UTF-8 BOM in front.
func withBOM(t *testing.T, src, dir string) string {
	t.Helper()
	b, err := os.ReadFile(src)
	if err != nil {
		t.Fatal(err)
	}
	p := filepath.Join(dir, "bom-"+filepath.Base(src))
	if err := os.WriteFile(p, append([]byte("\xef\xbb\xbf"), b...), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

// TestBOMAccepted: a dataset, a modality map and a truncated dataset that
// start with a UTF-8 BOM read as Python's utf-8-sig reads them, with byte
// offsets that are still the file's.
func TestBOMAccepted(t *testing.T) {
	dir := t.TempDir()
	want, err := ReadRecords("testdata/seed3.json")
	if err != nil {
		t.Fatal(err)
	}
	got, err := ReadRecords(withBOM(t, "testdata/seed3.json", dir))
	if err != nil {
		t.Fatalf("BOM dataset refused: %v", err)
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("BOM dataset read differently")
	}
	probs, err := Validate(context.Background(), withBOM(t, "testdata/seed3.json", dir), "testdata")
	if err != nil {
		t.Fatalf("validate: %v", err)
	}
	for _, p := range probs {
		if strings.Contains(p.Msg, "JSON") {
			t.Errorf("validate: %s", p)
		}
	}
	mp := filepath.Join(dir, "map.json")
	os.WriteFile(mp, []byte("\xef\xbb\xbf{\"Brain MRI\": \"MRI\"}"), 0o644)
	mm, err := LoadModalityMap(mp)
	if err != nil {
		t.Fatalf("BOM modality map: %v", err)
	}
	if m, err := mm.Canonical("Brain MRI"); err != nil || m != "MRI" {
		t.Errorf("map entry: %q %v", m, err)
	}
	// Offsets in messages count the BOM's bytes, as the file does.
	tp := filepath.Join(dir, "trunc.json")
	os.WriteFile(tp, []byte("\xef\xbb\xbf[{\"image\": [\"a.png\"]"), 0o644)
	_, err = ReadRecords(tp)
	if err == nil || !strings.Contains(err.Error(), "starting at byte offset 4") {
		t.Errorf("truncated BOM file: %v", err)
	}
}
