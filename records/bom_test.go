package records

import (
	"os"
	"path/filepath"
	"testing"
)

// TestBOMInputs: manifest.json, samples.jsonl and a seed output file that
// start with a UTF-8 BOM are read; a resume keeps the samples after it.
func TestBOMInputs(t *testing.T) {
	dir := t.TempDir()
	bom := "\xef\xbb\xbf"
	mp := filepath.Join(dir, "m.json")
	os.WriteFile(mp, []byte(bom+`{"schema_version": 1}`), 0o644)
	var m Manifest
	if err := ReadJSON(mp, &m); err != nil || m.SchemaVersion != 1 {
		t.Errorf("ReadJSON: %+v %v", m, err)
	}
	sp := filepath.Join(dir, "samples.jsonl")
	os.WriteFile(sp, []byte(bom+`{"id":"0","prompt":"simple","output":"A"}`+"\n"+`{"id":"1","prompt":"simple","output":"B"}`+"\n"), 0o644)
	ss, torn, err := ReadSamples(sp)
	if err != nil || torn || len(ss) != 2 || ss[0].ID != "0" {
		t.Errorf("ReadSamples: %v %v %v", ss, torn, err)
	}
	rs, err := recoverSamples(sp)
	if err != nil || len(rs) != 2 {
		t.Errorf("recoverSamples: %v %v", rs, err)
	}
	fp := filepath.Join(dir, "seed.json")
	os.WriteFile(fp, []byte(bom+`{"accuracy": 50, "results": []}`), 0o644)
	so, err := ReadSeedFile(fp)
	if err != nil || so.Accuracy != 50 {
		t.Errorf("ReadSeedFile: %+v %v", so, err)
	}
}
