package evaluate

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/medbench/medbench/records"
)

func TestErrorRateExceeded(t *testing.T) {
	dir := t.TempDir()
	var lines []string
	for i, e := range []string{"", "runner: boom", "", strings.Repeat("x", 200), "third", "fourth"} {
		b, _ := json.Marshal(records.ScoredSample{Prompt: "simple", ID: string(rune('0' + i)), Error: e})
		lines = append(lines, string(b))
	}
	os.WriteFile(filepath.Join(dir, records.SamplesFile), []byte(strings.Join(lines, "\n")+"\n"), 0o644)

	if err := ErrorRateExceeded(dir, 4, 6, 0.7); err != nil {
		t.Errorf("within the limit: %v", err)
	}
	if err := ErrorRateExceeded(dir, 0, 0, 0); err != nil {
		t.Errorf("no samples: %v", err)
	}
	err := ErrorRateExceeded(dir, 4, 6, 0.05)
	if err == nil {
		t.Fatal("4 of 6 failed under a 5% limit: no error")
	}
	msg := err.Error()
	want := "4 of 6 samples failed (66.7%, above --max-error-rate 5.0%); the record in " + dir + " is complete; first errors: simple/1: runner: boom; simple/3: " +
		strings.Repeat("x", 160) + "…; simple/4: third"
	if msg != want {
		t.Errorf("got  %q\nwant %q", msg, want)
	}
	// Without a readable samples file the line still names the rate.
	if err := ErrorRateExceeded(t.TempDir(), 1, 2, 0); err == nil || !strings.HasSuffix(err.Error(), "first errors: ") {
		t.Errorf("no samples file: %v", err)
	}
}
