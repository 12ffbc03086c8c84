package metrics

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestReadOutcomes(t *testing.T) {
	dir := t.TempDir()
	good := filepath.Join(dir, "a.txt")
	os.WriteFile(good, []byte("1\n# comment\n\n0\nTRUE\n false \n"), 0o644)
	got, err := ReadOutcomes(good)
	if err != nil || len(got) != 4 || !got[0] || got[1] || !got[2] || got[3] {
		t.Fatalf("ReadOutcomes = %v, %v", got, err)
	}
	bad := filepath.Join(dir, "b.txt")
	os.WriteFile(bad, []byte("1\nyes\n"), 0o644)
	if _, err := ReadOutcomes(bad); err == nil || err.Error() != bad+` line 2: "yes" is not 1, 0, true or false` {
		t.Errorf("bad line: %v", err)
	}
	if _, err := ReadOutcomes(filepath.Join(dir, "none")); err == nil || !strings.Contains(err.Error(), "none") {
		t.Errorf("missing file: %v", err)
	}
}

func TestPairedResults(t *testing.T) {
	a := []bool{true, false, true, true, true}
	b := []bool{false, false, true, false, true}
	r := ComparePaired(a, b, 500, 3, 0.95)
	delta, lo, hi := PairedBootstrap(a, b, 500, 3, 0.95)
	if r.AccA != 0.8 || r.AccB != 0.4 || r.B != 2 || r.C != 0 || r.N != 5 || r.Delta != delta || r.Lo != lo || r.Hi != hi ||
		r.McNemarExactP != McNemarExact(2, 0) || r.Resamples != 500 || r.Seed != 3 || r.Conf != 0.95 {
		t.Errorf("ComparePaired = %+v", r)
	}
	// JSON keys in alphabetical order, as a map would write them.
	js, _ := json.Marshal(McNemarAll(10, 3))
	var m map[string]float64
	json.Unmarshal(js, &m)
	sorted, _ := json.Marshal(m)
	if string(js) != string(sorted) || m["n_discordant"] != 13 || m["exact_p"] != McNemarExact(10, 3) {
		t.Errorf("McNemarAll JSON %s", js)
	}
	if _, ok := MDEFor(0, 0.2, 0.05, 0.8); ok {
		t.Error("MDEFor(n=0) ok")
	}
	if r, ok := MDEFor(300, 0, 0.05, 0.8); !ok || r.MDE != nil {
		t.Errorf("undetectable: %+v %v", r, ok)
	}
	if r, ok := MDEFor(300, 0.2, 0.05, 0.8); !ok || r.MDE == nil || *r.MDE != MDE(300, 0.2, 0.05, 0.8) {
		t.Errorf("MDEFor = %+v %v", r, ok)
	}
}
