package datasets

import (
	"bytes"
	"context"
	"encoding/hex"
	"encoding/json"
	"image"
	"image/gif"
	"image/jpeg"
	"image/png"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"golang.org/x/image/bmp"
	"golang.org/x/image/tiff"
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

func TestCheckImageFormats(t *testing.T) {
	img := image.NewRGBA(image.Rect(0, 0, 3, 2))
	enc := map[string]func(*bytes.Buffer) error{
		"png":  func(b *bytes.Buffer) error { return png.Encode(b, img) },
		"jpeg": func(b *bytes.Buffer) error { return jpeg.Encode(b, img, nil) },
		"gif":  func(b *bytes.Buffer) error { return gif.Encode(b, img, nil) },
		"bmp":  func(b *bytes.Buffer) error { return bmp.Encode(b, img) },
		"tiff": func(b *bytes.Buffer) error { return tiff.Encode(b, img, nil) },
	}
	dir := t.TempDir()
	for name, f := range enc {
		var b bytes.Buffer
		if err := f(&b); err != nil {
			t.Fatal(err)
		}
		p := filepath.Join(dir, "x."+name)
		os.WriteFile(p, b.Bytes(), 0o644)
		if msg := checkImageFile(p); msg != "" {
			t.Errorf("%s: %s", name, msg)
		}
	}
	// 3x2 WebP files written by Pillow 9.4 (lossless and lossy); Go has no
	// WebP encoder.
	for _, h := range []string{
		"524946461e000000574542505650384c110000002f024000000750852257a1ff8188e87f0000",
		"524946463c000000574542505650382030000000d001009d012a0300020001402625a00274ba01f80003b000fef6135ffe2ce4623b3cdffe04efc09df813bff000000000",
	} {
		b, _ := hex.DecodeString(h)
		if msg := checkImageBytes(b, "webp"); msg != "" {
			t.Errorf("webp: %s", msg)
		}
	}
	for _, bad := range [][]byte{nil, []byte("GIF89a"), []byte("\x89PNG\r\n\x1a\n")} {
		if msg := checkImageBytes(bad, "bad"); !strings.Contains(msg, "not a decodable image") {
			t.Errorf("%q: %q", bad, msg)
		}
	}
}
