package imageproc

import (
	"os"
	"path/filepath"
	"testing"
)

// TestLoadConfigBOM: preprocessor_config.json with a UTF-8 BOM loads.
func TestLoadConfigBOM(t *testing.T) {
	p := filepath.Join(t.TempDir(), "preprocessor_config.json")
	os.WriteFile(p, []byte("\xef\xbb\xbf"+`{"min_pixels": 3136, "max_pixels": 200704}`), 0o644)
	c, err := LoadConfig(p)
	if err != nil {
		t.Fatalf("BOM config refused: %v", err)
	}
	if c.MaxPixels != 200704 {
		t.Errorf("max_pixels %d", c.MaxPixels)
	}
}
