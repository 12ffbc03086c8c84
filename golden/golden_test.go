package golden

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestLoadPaperTable(t *testing.T) {
	tb, err := Load("medvlm-r1-paper.json")
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]map[string]float64{
		"Qwen2-VL-2B": {"MRI": 0.6167, "CT": 0.5067, "Xray": 0.53, "mean": 0.5511},
		"MedVLM-R1":   {"MRI": 0.9533, "CT": 0.7033, "Xray": 0.69, "mean": 0.7822},
	}
	if len(tb.Rows) != 8 {
		t.Fatalf("%d rows, want 8", len(tb.Rows))
	}
	for _, r := range tb.Rows {
		w, ok := want[r.Model][r.Modality]
		if !ok || r.Value != w {
			t.Errorf("%s: value %v, want %v", r.Key, r.Value, w)
		}
		if r.Dataset != "MRI_CT_XRAY_300each" || r.Prompt != "complex" || r.Policy != "strict" || r.Metric != "accuracy" {
			t.Errorf("%s: wrong key", r.Key)
		}
		// Only the abstract's means are verified.
		if r.Provenance.Verified != (r.Modality == ModalityMean) {
			t.Errorf("%s: verified = %v", r.Key, r.Provenance.Verified)
		}
		if wantN := map[bool]int{true: 900, false: 300}[r.Modality == ModalityMean]; r.N != wantN {
			t.Errorf("%s: n = %d, want %d", r.Key, r.N, wantN)
		}
	}
	// The unverified cells are at least consistent with the verified means.
	for model, cells := range want {
		m := (cells["MRI"] + cells["CT"] + cells["Xray"]) / 3
		if d := m - cells["mean"]; d > 5e-5 || d < -5e-5 {
			t.Errorf("%s: modality mean %.5f vs abstract %.4f", model, m, cells["mean"])
		}
	}
}

func TestParseErrors(t *testing.T) {
	good := `{"format":"medbench-golden","version":1,"rows":[{"model":"M","dataset":"D","modality":"CT","prompt":"p","policy":"strict","metric":"accuracy","value":0.5,"n":10,"tolerance":{"kind":"absolute","value":0.1,"direction":"both"},"provenance":{"source":"s","verified":false}}]}`
	if _, err := Parse([]byte(good)); err != nil {
		t.Fatalf("good table: %v", err)
	}
	tests := []struct{ name, from, to, want string }{
		{"unknown field", `"n":10,`, `"n":10,"nn":1,`, `row 1: json: unknown field "nn"`},
		{"bad type", `"n":10,`, `"n":1.5,`, `row 1: field "n" is a number 1.5; want an integer`},
		// Range checks: fractions in [0, 1], sane tolerances.
		{"percent accuracy", `"value":0.5,`, `"value":85.2,`, "row 1 (M/D/CT/p/strict/accuracy): value 85.2 of accuracy is outside [0, 1] (fractions, not percent: write 85.2 as 0.852)"},
		{"negative accuracy", `"value":0.5,`, `"value":-0.1,`, "row 1 (M/D/CT/p/strict/accuracy): value -0.1 of accuracy is outside [0, 1]"},
		{"percent rate", `"metric":"accuracy","value":0.5,`, `"metric":"parse_failure_rate","value":3,`, "value 3 of parse_failure_rate is outside [0, 1]"},
		{"tolerance admits all", `"value":0.1,"direction"`, `"value":5,"direction"`, "row 1 (M/D/CT/p/strict/accuracy): absolute tolerance 5 on the fraction accuracy admits every value in [0, 1]"},
		{"missing tolerance", `"tolerance":{"kind":"absolute","value":0.1,"direction":"both"},`, ``, `row 1 (M/D/CT/p/strict/accuracy): no tolerance; add e.g. "tolerance": {`},
		{"missing direction", `,"direction":"both"`, ``, `row 1 (M/D/CT/p/strict/accuracy): tolerance has no "direction" (want both, higher_is_better or lower_is_better)`},
		{"missing kind", `"kind":"absolute",`, ``, `tolerance has no "kind" (want absolute, relative or not_worse)`},
		{"unknown top field", `"version":1,`, `"version":1,"extra":true,`, `unknown field "extra"`},
		{"format", `medbench-golden`, `other`, "format"},
		{"version", `"version":1`, `"version":2`, "version 2"},
		{"kind", `"absolute"`, `"fuzzy"`, `row 1 (M/D/CT/p/strict/accuracy): tolerance kind "fuzzy"`},
		{"direction", `"both"`, `"up"`, "direction"},
		{"negative tol", `"value":0.1`, `"value":-0.1`, "tolerance value"},
		{"not_worse both", `"kind":"absolute","value":0.1,"direction":"both"`, `"kind":"not_worse","alpha":0.05,"direction":"both"`, "not_worse needs direction"},
		{"not_worse alpha", `"kind":"absolute","value":0.1,"direction":"both"`, `"kind":"not_worse","alpha":1.5,"direction":"higher_is_better"`, "alpha"},
		{"empty model", `"model":"M"`, `"model":""`, "empty model"},
		{"no source", `"source":"s"`, `"source":""`, "provenance.source"},
		{"trailing", `]}`, `]} {}`, "trailing"},
		{"duplicate", `]}`, `,{"model":"M","dataset":"D","modality":"CT","prompt":"p","policy":"strict","metric":"accuracy","value":0.5,"n":10,"tolerance":{"kind":"absolute","value":0.1,"direction":"both"},"provenance":{"source":"s","verified":false}}]}`, "row 2 (M/D/CT/p/strict/accuracy): duplicate of row 1"},
	}
	for _, tt := range tests {
		bad := strings.Replace(good, tt.from, tt.to, 1)
		if bad == good {
			t.Fatalf("%s: replacement did not apply", tt.name)
		}
		_, err := Parse([]byte(bad))
		if err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("%s: err = %v, want containing %q", tt.name, err, tt.want)
		}
	}
	// Whole-file shapes: one clear line each, no Go type names.
	for name, c := range map[string]struct{ in, want string }{
		"empty file":  {"", "empty file; a golden table is a JSON object"},
		"blank file":  {" \n", "empty file"},
		"array":       {"[]", "the top level is a JSON array; a golden table is an object"},
		"rows object": {`{"format":"medbench-golden","version":1,"rows":{}}`, `field "rows" is an object; want an array`},
		"no rows":     {`{"format":"medbench-golden","version":1}`, `no "rows" array`},
		"empty rows":  {`{"format":"medbench-golden","version":1,"rows":[]}`, `"rows" is empty`},
		"string":      {`"x"`, "the JSON value is a string; want an object"},
	} {
		_, err := Parse([]byte(c.in))
		if err == nil || !strings.Contains(err.Error(), c.want) || strings.Contains(err.Error(), "Go ") || strings.Contains(err.Error(), "struct") {
			t.Errorf("%s: err = %v, want containing %q", name, err, c.want)
		}
	}
	p := filepath.Join(t.TempDir(), "g.json")
	os.WriteFile(p, []byte(strings.Replace(good, `"version":1`, `"version":9`, 1)), 0o644)
	if _, err := Load(p); err == nil || !strings.Contains(err.Error(), "golden: "+p) {
		t.Errorf("Load error %v does not name the file", err)
	}
}

func TestSaveLoadRoundTrip(t *testing.T) {
	tb := mkTable(row("M", "CT", MetricAccuracy, 0.1+0.2, 10, Tolerance{Kind: KindRelative, Value: 0.05, Direction: DirHigher}))
	p := filepath.Join(t.TempDir(), "g.json")
	if err := tb.Save(p); err != nil {
		t.Fatal(err)
	}
	back, err := Load(p)
	if err != nil {
		t.Fatal(err)
	}
	if back.Rows[0] != tb.Rows[0] {
		t.Errorf("round trip: %+v != %+v", back.Rows[0], tb.Rows[0])
	}
	var buf bytes.Buffer
	bad := mkTable(row("M", "CT", MetricAccuracy, 0.3, 10, Tolerance{Kind: "x", Direction: DirBoth}))
	if err := bad.Write(&buf); err == nil {
		t.Error("Write of an invalid table succeeded")
	}
}

func TestParseTolerance(t *testing.T) {
	tests := []struct {
		in   string
		want Tolerance
		err  bool
	}{
		{"abs:0.02", Tolerance{Kind: KindAbsolute, Value: 0.02}, false},
		{"rel:0.1", Tolerance{Kind: KindRelative, Value: 0.1}, false},
		{"not_worse:0.05", Tolerance{Kind: KindNotWorse, Alpha: 0.05}, false},
		{"abs", Tolerance{}, true},
		{"abs:-1", Tolerance{}, true},
		{"not_worse:2", Tolerance{}, true},
		{"foo:1", Tolerance{}, true},
		{"abs:x", Tolerance{}, true},
	}
	for _, tt := range tests {
		got, err := ParseTolerance(tt.in)
		if (err != nil) != tt.err || got != tt.want {
			t.Errorf("ParseTolerance(%q) = %+v, %v", tt.in, got, err)
		}
	}
}

func TestToleranceString(t *testing.T) {
	tests := []struct {
		tol  Tolerance
		want string
	}{
		{Tolerance{Kind: KindAbsolute, Value: 0.05, Direction: DirBoth}, "±0.05 abs"},
		{Tolerance{Kind: KindAbsolute, Direction: DirBoth}, "exact"},
		{Tolerance{Kind: KindAbsolute, Value: 0.02, Direction: DirHigher}, "−0.02 abs (drop)"},
		{Tolerance{Kind: KindRelative, Value: 0.1, Direction: DirLower}, "+10% rel (rise)"},
		{Tolerance{Kind: KindNotWorse, Alpha: 0.05, Direction: DirHigher}, "not worse (α=0.05)"},
	}
	for _, tt := range tests {
		if got := tt.tol.String(); got != tt.want {
			t.Errorf("%+v.String() = %q, want %q", tt.tol, got, tt.want)
		}
	}
}
