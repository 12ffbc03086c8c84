package onnxpb

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestLoadExternal reads an external tensor from the model's directory and
// refuses locations outside it.
func TestLoadExternal(t *testing.T) {
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "w.bin"), []byte{0, 1, 2, 3, 4, 5, 6, 7}, 0o644); err != nil {
		t.Fatal(err)
	}
	tt := Tensor{Name: "w", Type: Float, Dims: []int64{1}, External: &ExternalData{Location: "w.bin", Offset: 4, Length: 4}}
	if err := LoadExternal(dir, &tt); err != nil || string(tt.Raw) != "\x04\x05\x06\x07" {
		t.Errorf("raw %v, %v", tt.Raw, err)
	}
	for _, loc := range []string{"../w.bin", "/etc/passwd", "a/../../w.bin"} {
		tt := Tensor{Name: "w", Type: Float, Dims: []int64{1}, External: &ExternalData{Location: loc, Length: 4}}
		if err := LoadExternal(dir, &tt); err == nil || !strings.Contains(err.Error(), "outside the model directory") {
			t.Errorf("location %q: %v", loc, err)
		}
	}
	tt = Tensor{Name: "w", Type: Float, Dims: []int64{4}, External: &ExternalData{Location: "w.bin", Offset: 4, Length: 16}}
	if err := LoadExternal(dir, &tt); err == nil || !strings.Contains(err.Error(), "tensor needs 20") {
		t.Errorf("short file: %v", err)
	}
}
