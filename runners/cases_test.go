package runners

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// echoRunner answers each request with its text and the batch size as
// ids; a request whose text is "fail" fails.
type echoRunner struct{ batches [][]string }

func (e *echoRunner) Generate(_ context.Context, reqs []Request) ([]Result, error) {
	var ids []string
	out := make([]Result, len(reqs))
	for i, q := range reqs {
		ids = append(ids, q.ID)
		out[i] = Result{Text: q.Text, TokenIDs: []int{len(reqs), len(q.Images)}}
		if q.Text == "fail" {
			out[i] = Result{Err: errors.New("boom")}
		}
	}
	e.batches = append(e.batches, ids)
	return out, nil
}
func (e *echoRunner) Info() Info   { return Info{Name: "echo"} }
func (e *echoRunner) Close() error { return nil }

func TestGenerateCases(t *testing.T) {
	r := &echoRunner{}
	var out bytes.Buffer
	cases := []Case{{Text: "a", Image: "x.png"}, {Text: "b"}, {Text: "c<"}}
	if err := GenerateCases(context.Background(), "cmd", r, cases, 2, &out); err != nil {
		t.Fatal(err)
	}
	want := `{"ids":[2,1],"text":"a"}` + "\n" + `{"ids":[2,0],"text":"b"}` + "\n" + `{"ids":[1,0],"text":"c<"}` + "\n"
	if out.String() != want {
		t.Errorf("output\n%s\nwant\n%s", out.String(), want)
	}
	if got := len(r.batches); got != 2 || strings.Join(r.batches[0], ",") != "0,1" || strings.Join(r.batches[1], ",") != "2" {
		t.Errorf("batches %v", r.batches)
	}
	err := GenerateCases(context.Background(), "cmd", &echoRunner{}, []Case{{Text: "ok"}, {Text: "fail"}}, 2, &out)
	if err == nil || err.Error() != "cmd: case 1: boom" {
		t.Errorf("error %v", err)
	}
}

func TestReadCases(t *testing.T) {
	dir := t.TempDir()
	good := filepath.Join(dir, "good.json")
	os.WriteFile(good, []byte("\ufeff"+`[{"image": "i.png", "text": "t"}, {"text": "u"}]`), 0o644)
	cases, err := ReadCases(good)
	if err != nil || len(cases) != 2 || cases[0] != (Case{Image: "i.png", Text: "t"}) || cases[1] != (Case{Text: "u"}) {
		t.Errorf("ReadCases = %v, %v", cases, err)
	}
	bad := filepath.Join(dir, "bad.json")
	os.WriteFile(bad, []byte(`{"text": "t"}`), 0o644)
	if _, err := ReadCases(bad); err == nil || !strings.Contains(err.Error(), bad+": want a JSON array") {
		t.Errorf("bad file: %v", err)
	}
}

func TestCasesFrom(t *testing.T) {
	if cs, err := CasesFrom("", "i.png", "t", true, true); err != nil || len(cs) != 1 || cs[0] != (Case{Image: "i.png", Text: "t"}) {
		t.Errorf("single case: %v, %v", cs, err)
	}
	if _, err := CasesFrom("c.json", "", "t", false, true); err == nil || err.Error() != "give --cases or --image/--text, not both" {
		t.Errorf("both: %v", err)
	}
	if _, err := CasesFrom("", "i.png", "", true, false); err == nil || err.Error() != "give --cases FILE, or --text (and optionally --image)" {
		t.Errorf("no text: %v", err)
	}
	p := filepath.Join(t.TempDir(), "c.json")
	os.WriteFile(p, []byte(`[{"text": "a"}]`), 0o644)
	if cs, err := CasesFrom(p, "", "", false, false); err != nil || len(cs) != 1 || cs[0].Text != "a" {
		t.Errorf("file: %v, %v", cs, err)
	}
}
