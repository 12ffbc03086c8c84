package evaluate

import (
	"bytes"
	"strings"
	"testing"

	"github.com/medbench/medbench/records"
)

func TestWriteSummary(t *testing.T) {
	s := &records.Summary{Samples: 3, Errors: 1, InvalidItems: 2, Cells: []records.Cell{
		{Modality: "CT", Prompt: "simple", Policy: "strict", N: 3, Correct: 2, Accuracy: 2.0 / 3, WilsonLow: 0.2, WilsonHigh: 0.9, ParseFailureRate: 0.25, Errors: 1},
	}}
	var b bytes.Buffer
	WriteSummary(&b, s, "runs/x")
	out := b.String()
	for _, want := range []string{"│ CT       │ simple │ strict │ 3 │       2 │ 66.67      │ [20.00, 90.00] │ 25.00        │      1 │",
		"3 samples (1 failed); run record in runs/x\n",
		"2 invalid item(s) scored (--invalid-items score)"} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
}
