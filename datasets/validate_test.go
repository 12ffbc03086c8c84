package datasets

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// brokenCase edits a freshly synthesized dataset (records as generic JSON
// objects, the raw file and the images folder) and lists the problems
// Validate must report.
type brokenCase struct {
	name  string
	edit  func(t *testing.T, dir string, recs []map[string]any) []byte // returns the new file, or nil to encode recs
	wants []Problem                                                    // Index, Field and a substring of Msg
}

func encodeRecs(t *testing.T, recs []map[string]any) []byte {
	t.Helper()
	b, err := json.MarshalIndent(recs, "", "    ")
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestValidate(t *testing.T) {
	cases := []brokenCase{
		{"clean", func(t *testing.T, dir string, recs []map[string]any) []byte { return nil }, nil},
		{"missing image", func(t *testing.T, dir string, recs []map[string]any) []byte {
			os.Remove(JoinImagePath(dir, recs[3]["image"].([]any)[0].(string)))
			return nil
		}, []Problem{{3, "image", "missing"}}},
		{"undecodable image", func(t *testing.T, dir string, recs []map[string]any) []byte {
			os.WriteFile(JoinImagePath(dir, recs[4]["image"].([]any)[0].(string)), []byte("not an image"), 0o644)
			return nil
		}, []Problem{{4, "image", "not a decodable image"}}},
		{"wrong letter", func(t *testing.T, dir string, recs []map[string]any) []byte {
			recs[5]["solution"] = map[string]string{"A": "B", "B": "A", "C": "D", "D": "C"}[recs[5]["solution"].(string)]
			return nil
		}, []Problem{{5, "solution", "but the answer"}}},
		{"letter out of range", func(t *testing.T, dir string, recs []map[string]any) []byte {
			recs[4]["solution"] = "D" // record 4 is a yes/no item
			return nil
		}, []Problem{{4, "solution", "only 2 options"}}},
		{"not a letter", func(t *testing.T, dir string, recs []map[string]any) []byte {
			recs[1]["solution"] = "<answer>A</answer>"
			return nil
		}, []Problem{{1, "solution", "not a single letter"}}},
		{"answer not an option", func(t *testing.T, dir string, recs []map[string]any) []byte {
			recs[2]["answer"] = "Centre"
			return nil
		}, []Problem{{2, "answer", "not one of the options"}}},
		{"empty options", func(t *testing.T, dir string, recs []map[string]any) []byte {
			recs[6]["options"] = []any{}
			return nil
		}, []Problem{{6, "options", "empty list"}}},
		{"duplicate option", func(t *testing.T, dir string, recs []map[string]any) []byte {
			o := recs[7]["options"].([]any)
			o[1] = o[0]
			return nil
		}, []Problem{{7, "options", "repeats option A"}, {7, "problem", "differs"}}},
		{"problem text", func(t *testing.T, dir string, recs []map[string]any) []byte {
			recs[0]["problem"] = recs[0]["question"].(string) + "\nA. x"
			return nil
		}, []Problem{{0, "problem", "differs"}}},
		{"duplicate image", func(t *testing.T, dir string, recs []map[string]any) []byte {
			recs[8]["image"] = recs[2]["image"]
			return nil
		}, []Problem{{8, "image", "also the image of record 2"}}},
		{"unknown subset", func(t *testing.T, dir string, recs []map[string]any) []byte {
			recs[9]["subset"] = "MRI(Magnetic Resonance Imaging)"
			return nil
		}, []Problem{{9, "subset", "unknown subset"}}},
		{"wrong types", func(t *testing.T, dir string, recs []map[string]any) []byte {
			recs[1]["options"] = "Upper left"
			recs[2]["image"] = 7
			recs[3]["question"] = nil
			return nil
		}, []Problem{{1, "options", "got string"}, {2, "image", "got number"}, {3, "question", "got null"}}},
		{"missing and unknown fields", func(t *testing.T, dir string, recs []map[string]any) []byte {
			delete(recs[2], "answer")
			recs[2]["id"] = "2"
			return nil
		}, []Problem{{2, "answer", "missing"}, {2, "id", "unknown field"}}},
		{"invalid UTF-8", func(t *testing.T, dir string, recs []map[string]any) []byte {
			b := encodeRecs(t, recs)
			s := strings.Replace(string(b), "Is there", "Is \xfe there", 2) // problem and question of record 4
			return []byte(s)
		}, []Problem{{4, "", "invalid UTF-8"}}},
		{"truncated", func(t *testing.T, dir string, recs []map[string]any) []byte {
			b := encodeRecs(t, recs)
			cut := strings.Index(string(b), recs[8]["image"].([]any)[0].(string))
			return b[:cut]
		}, []Problem{{8, "", "truncated JSON"}}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			p, err := Synth(context.Background(), SynthOptions{Out: dir, N: 15, Seed: 11, MaxSide: 48})
			if err != nil {
				t.Fatal(err)
			}
			raw, _ := os.ReadFile(p)
			var recs []map[string]any
			if err := json.Unmarshal(raw, &recs); err != nil {
				t.Fatal(err)
			}
			b := tc.edit(t, dir, recs)
			if b == nil {
				b = encodeRecs(t, recs)
			}
			if err := os.WriteFile(p, b, 0o644); err != nil {
				t.Fatal(err)
			}
			probs, err := Validate(context.Background(), p, "")
			if err != nil {
				t.Fatal(err)
			}
			if len(probs) != len(tc.wants) {
				t.Fatalf("got %d problems %v, want %d %v", len(probs), probs, len(tc.wants), tc.wants)
			}
			for k, w := range tc.wants {
				g := probs[k]
				if g.Index != w.Index || g.Field != w.Field || !strings.Contains(g.Msg, w.Msg) {
					t.Errorf("problem %d = %s, want record %d field %q containing %q", k, g, w.Index, w.Field, w.Msg)
				}
			}
		})
	}
}

func TestValidateFileErrors(t *testing.T) {
	dir := t.TempDir()
	if _, err := Validate(context.Background(), filepath.Join(dir, "absent.json"), ""); err == nil {
		t.Error("absent file: no error")
	}
	p := writeFile(t, dir, "obj.json", `{"image": []}`)
	if _, err := Validate(context.Background(), p, ""); err == nil || !strings.Contains(err.Error(), p) {
		t.Errorf("object file: %v", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := Validate(ctx, "testdata/seed3.json", ""); err == nil {
		t.Error("cancelled: no error")
	}
}

// The seed examples' images are not in the repository: Validate reports
// exactly the three missing files and nothing else about the records.
func TestValidateSeedRecords(t *testing.T) {
	probs, err := Validate(context.Background(), "testdata/seed3.json", t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	if len(probs) != 3 {
		t.Fatalf("problems %v", probs)
	}
	for i, p := range probs {
		if p.Index != i || p.Field != "image" || !strings.Contains(p.Msg, "missing") {
			t.Errorf("problem %d: %s", i, p)
		}
	}
}
