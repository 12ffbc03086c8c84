package golden

import (
	"os"
	"testing"
)

// FuzzParse: arbitrary bytes never panic Parse, and every table Parse
// accepts survives a Write/Parse round trip.
func FuzzParse(f *testing.F) {
	if b, err := os.ReadFile("medvlm-r1-paper.json"); err == nil {
		f.Add(b)
	}
	f.Add([]byte(`{"format":"medbench-golden","version":1,"rows":[]}`))
	f.Add([]byte(`{"format":"medbench-golden","version":1,"rows":[{"model":"M","dataset":"D","modality":"CT","prompt":"p","policy":"s","metric":"accuracy","value":0.5,"n":3,"tolerance":{"kind":"not_worse","alpha":0.05,"direction":"higher_is_better"},"provenance":{"source":"s","verified":true}}]}`))
	f.Fuzz(func(t *testing.T, b []byte) {
		tb, err := Parse(b)
		if err != nil {
			return
		}
		var buf bytesBuffer
		if err := tb.Write(&buf); err != nil {
			t.Fatalf("accepted table does not write: %v", err)
		}
		if _, err := Parse(buf.b); err != nil {
			t.Fatalf("written table does not parse: %v\n%s", err, buf.b)
		}
	})
}

type bytesBuffer struct{ b []byte }

func (w *bytesBuffer) Write(p []byte) (int, error) { w.b = append(w.b, p...); return len(p), nil }
