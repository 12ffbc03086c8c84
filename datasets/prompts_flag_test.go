package datasets

import (
	"path/filepath"
	"strings"
	"testing"
)

func TestParseTemplatesFlag(t *testing.T) {
	ts, err := ParseTemplatesFlag("prompt", []string{" simple", "", "complex "})
	if err != nil {
		t.Fatal(err)
	}
	if len(ts) != 2 || ts[0].Name != "simple" || ts[1].Name != "complex" {
		t.Errorf("parsed %v", ts)
	}
	if _, err := ParseTemplatesFlag("prompt", []string{" "}); err == nil || err.Error() != "--prompt: no prompt given" {
		t.Errorf("blank: %v", err)
	}
	if _, err := ParseTemplatesFlag("prompt", []string{"simple", "nope"}); err == nil || !strings.HasPrefix(err.Error(), "--prompt: ") {
		t.Errorf("unknown: %v", err)
	}
	missing := "x=" + filepath.Join(t.TempDir(), "missing.txt")
	if _, err := ParseTemplateFlag("prompt", missing); err == nil || !strings.HasPrefix(err.Error(), "--prompt "+missing+": ") {
		t.Errorf("missing file: %v", err)
	}
}
