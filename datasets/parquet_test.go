package datasets

import (
	"bytes"
	"context"
	"image"
	"image/png"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/parquet-go/parquet-go"
)

func TestParquetRoundTripReferenced(t *testing.T) {
	dir := t.TempDir()
	p, err := Synth(context.Background(), SynthOptions{Out: dir, N: 12, Seed: 4, MaxSide: 48})
	if err != nil {
		t.Fatal(err)
	}
	pq := filepath.Join(dir, "d.parquet")
	if err := ConvertJSONToParquet(context.Background(), p, pq, "", false); err != nil {
		t.Fatal(err)
	}
	fromJSON, err := LoadJSON(p, dir)
	if err != nil {
		t.Fatal(err)
	}
	fromPQ, err := LoadParquet(pq, ColumnMap{}, dir)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(fromJSON, fromPQ) {
		t.Errorf("LoadParquet differs from LoadJSON:\n%+v\n%+v", fromPQ[0], fromJSON[0])
	}
	back := filepath.Join(dir, "back.json")
	if err := ConvertParquetToJSON(context.Background(), pq, back, ColumnMap{}, ""); err != nil {
		t.Fatal(err)
	}
	a, _ := os.ReadFile(p)
	b, _ := os.ReadFile(back)
	if !bytes.Equal(a, b) {
		t.Error("JSON -> parquet -> JSON changed the file")
	}
}

func TestParquetRoundTripEmbedded(t *testing.T) {
	dir := t.TempDir()
	p, err := Synth(context.Background(), SynthOptions{Out: dir, N: 9, Seed: 8, MaxSide: 48})
	if err != nil {
		t.Fatal(err)
	}
	pq := filepath.Join(t.TempDir(), "e.parquet")
	if err := ConvertJSONToParquet(context.Background(), p, pq, dir, true); err != nil {
		t.Fatal(err)
	}
	s, err := LoadParquet(pq, ColumnMap{}, "/nowhere")
	if err != nil {
		t.Fatal(err)
	}
	recs, _ := ReadRecords(p)
	for i, smp := range s {
		want, _ := os.ReadFile(JoinImagePath(dir, recs[i].Image[0]))
		if len(smp.ImageBytes) != 1 || !bytes.Equal(smp.ImageBytes[0], want) {
			t.Fatalf("sample %d: embedded bytes differ from the image file", i)
		}
		if smp.ImagePaths[0] != "/nowhere/"+recs[i].Image[0] || !reflect.DeepEqual(smp.Record, recs[i]) {
			t.Errorf("sample %d: %q %+v", i, smp.ImagePaths[0], smp.Record)
		}
	}
	out := t.TempDir()
	back := filepath.Join(out, "back.json")
	if err := ConvertParquetToJSON(context.Background(), pq, back, ColumnMap{}, ""); err != nil {
		t.Fatal(err)
	}
	probs, err := Validate(context.Background(), back, "")
	if err != nil || len(probs) != 0 {
		t.Fatalf("re-extracted dataset: %v %v", probs, err)
	}
	got, _ := ReadRecords(back)
	for i, r := range got {
		a, _ := os.ReadFile(JoinImagePath(out, r.Image[0]))
		b, _ := os.ReadFile(JoinImagePath(dir, recs[i].Image[0]))
		if !bytes.Equal(a, b) || filepath.Base(r.Image[0]) != filepath.Base(recs[i].Image[0]) {
			t.Errorf("record %d: image %q does not match %q", i, r.Image[0], recs[i].Image[0])
		}
	}
}

// Layouts as pyarrow writes them for HF datasets: every column optional.
type (
	omniRow struct { // OmniMedVQA's own JSON keys, image as raw bytes
		Question     string `parquet:"question,optional"`
		OptionA      string `parquet:"option_A,optional"`
		OptionB      string `parquet:"option_B,optional"`
		OptionC      string `parquet:"option_C,optional"`
		OptionD      string `parquet:"option_D,optional"`
		GTAnswer     string `parquet:"gt_answer,optional"`
		ModalityType string `parquet:"modality_type,optional"`
		Image        []byte `parquet:"image_bytes,optional"`
	}
	pathRow struct { // image as a path string, options a list of optional strings
		Image    string   `parquet:"image,optional"`
		Question string   `parquet:"question,optional"`
		Options  []string `parquet:"options,list,optional" parquet-element:",optional"`
		Answer   string   `parquet:"answer,optional"`
		Subset   string   `parquet:"subset,optional"`
	}
	legacyRow struct { // 2-level lists: repeated leaves without a LIST group
		Image    []string `parquet:"image"`
		Question string   `parquet:"question"`
		Options  []string `parquet:"options"`
		Answer   string   `parquet:"answer"`
		Subset   string   `parquet:"subset"`
	}
	structListRow struct { // image as a list of HF Image structs
		Image    []pqImage `parquet:"image,list"`
		Question string    `parquet:"question"`
		Options  []string  `parquet:"options,list"`
		Answer   string    `parquet:"answer"`
		Subset   string    `parquet:"subset"`
		Problem  string    `parquet:"problem,optional"`
	}
)

func writeParquet[T any](t *testing.T, rows []T) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "x.parquet")
	if err := parquet.WriteFile(p, rows); err != nil {
		t.Fatal(err)
	}
	return p
}

// The golden problem/solution are the seed's record 300
// (docs/reference/medvlm-r1-seed.md#the-test-file).
const (
	seedQ       = "Does this image show any visible abnormality?"
	seedProblem = "Does this image show any visible abnormality?\nA) No\nB) Yes."
)

func TestLoadParquetLayouts(t *testing.T) {
	var pb bytes.Buffer
	if err := png.Encode(&pb, image.NewGray(image.Rect(0, 0, 2, 3))); err != nil {
		t.Fatal(err)
	}
	pngBytes := pb.Bytes()
	t.Run("omnimedvqa columns, raw bytes", func(t *testing.T) {
		p := writeParquet(t, []omniRow{{Question: seedQ, OptionA: "No", OptionB: "Yes.", GTAnswer: "No", ModalityType: "CT(Computed Tomography)", Image: pngBytes}})
		s, err := LoadParquet(p, ColumnMap{Image: "image_bytes", Options: "option_A, option_B,option_C,option_D", Answer: "gt_answer", Subset: "modality_type"}, "")
		if err != nil {
			t.Fatal(err)
		}
		r := s[0].Record
		if r.Problem != seedProblem || r.Solution != "A" || s[0].Modality != CT || !bytes.Equal(s[0].ImageBytes[0], pngBytes) || r.Image[0] != "images/row000000.png" {
			t.Errorf("got %+v, image %q", r, r.Image)
		}
	})
	t.Run("path string, optional list", func(t *testing.T) {
		p := writeParquet(t, []pathRow{
			{Image: "images/Covid (612).png", Question: "Q?", Options: []string{"x", "y", "z"}, Answer: "z", Subset: "X-Ray"},
			{Image: "images/a%20b.png", Question: "R?", Options: []string{"u", "v"}, Answer: "u", Subset: "ultrasound"},
		})
		s, err := LoadParquet(p, ColumnMap{}, "/root")
		if err != nil {
			t.Fatal(err)
		}
		if s[0].ImagePaths[0] != "/root/images/Covid (612).png" || s[0].Record.Solution != "C" || s[0].Record.Problem != "Q?\nA) x\nB) y\nC) z" || s[0].ImageBytes != nil {
			t.Errorf("row 0: %+v", s[0])
		}
		if s[1].ImagePaths[0] != "/root/images/a%20b.png" || s[1].Modality != Ultrasound {
			t.Errorf("row 1: %+v", s[1])
		}
	})
	t.Run("legacy repeated fields, via Load", func(t *testing.T) {
		p := writeParquet(t, []legacyRow{{Image: []string{"images/x (1).png"}, Question: seedQ, Options: []string{"No", "Yes."}, Answer: "No", Subset: "CT(Computed Tomography)"}})
		s, err := Load(p, LoadOptions{ImagesRoot: "/r"})
		if err != nil {
			t.Fatal(err)
		}
		if s[0].Record.Problem != seedProblem || s[0].Record.Solution != "A" || s[0].ImagePaths[0] != "/r/images/x (1).png" || s[0].ImageBytes != nil {
			t.Errorf("%+v", s[0])
		}
	})
	t.Run("list of structs, problem given", func(t *testing.T) {
		p := writeParquet(t, []structListRow{{Image: []pqImage{{Bytes: pngBytes, Path: "/orig/x y.png"}, {Path: "rel/z.png"}}, Question: "Q?", Options: []string{"x", "y"}, Answer: "y", Subset: "Dermoscopy", Problem: "custom"}})
		s, err := LoadParquet(p, ColumnMap{}, "/r")
		if err != nil {
			t.Fatal(err)
		}
		if s[0].Record.Problem != "custom" || s[0].Record.Solution != "B" || !bytes.Equal(s[0].ImageBytes[0], pngBytes) || s[0].ImageBytes[1] != nil {
			t.Errorf("%+v", s[0])
		}
		if !reflect.DeepEqual(s[0].ImagePaths, []string{"/orig/x y.png", "/r/rel/z.png"}) {
			t.Errorf("paths %q", s[0].ImagePaths)
		}
	})
}

func TestLoadParquetErrors(t *testing.T) {
	for _, tc := range []struct {
		name string
		path func(t *testing.T) string
		cols ColumnMap
		want []string
	}{
		{"missing column", func(t *testing.T) string {
			return writeParquet(t, []pathRow{{Image: "a.png", Question: "Q", Options: []string{"a", "b"}, Answer: "a", Subset: "X-Ray"}})
		}, ColumnMap{Answer: "gt_answer"}, []string{`no column "gt_answer"`, "columns: image, question, options, answer, subset"}},
		{"answer not an option", func(t *testing.T) string {
			return writeParquet(t, []pathRow{{Image: "a.png", Question: "Q", Options: []string{"a", "b"}, Answer: "a", Subset: "X-Ray"}, {Image: "b.png", Question: "Q", Options: []string{"a", "b"}, Answer: "c", Subset: "X-Ray"}})
		}, ColumnMap{}, []string{"record 1", `"solution"`, `answer "c" is not one of the options`}},
		{"null question", func(t *testing.T) string {
			return writeParquet(t, []pathRow{{Image: "a.png", Options: []string{"a", "b"}, Answer: "a", Subset: "X-Ray"}})
		}, ColumnMap{}, []string{"record 0", `"question"`, "null"}},
		{"null image", func(t *testing.T) string {
			return writeParquet(t, []pathRow{{Question: "Q", Options: []string{"a", "b"}, Answer: "a", Subset: "X-Ray"}})
		}, ColumnMap{}, []string{"record 0", `"image"`, "null"}},
		{"unknown subset", func(t *testing.T) string {
			return writeParquet(t, []pathRow{{Image: "a.png", Question: "Q", Options: []string{"a", "b"}, Answer: "a", Subset: "Endoscopy"}})
		}, ColumnMap{}, []string{"record 0", `"subset"`, `unknown subset "Endoscopy"`}},
		{"not parquet", func(t *testing.T) string {
			return writeFile(t, t.TempDir(), "x.parquet", "PAR1 nonsense PAR1")
		}, ColumnMap{}, []string{"not a readable parquet file"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p := tc.path(t)
			_, err := LoadParquet(p, tc.cols, "")
			if err == nil {
				t.Fatal("no error")
			}
			if !strings.HasPrefix(err.Error(), "datasets: "+p) {
				t.Errorf("error %q does not name the file", err)
			}
			for _, w := range tc.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q lacks %q", err, w)
				}
			}
		})
	}
}

func TestConvertEmbedErrors(t *testing.T) {
	dir := t.TempDir()
	if err := ConvertJSONToParquet(context.Background(), "testdata/seed3.json", filepath.Join(dir, "x.parquet"), dir, true); err == nil || !strings.Contains(err.Error(), "record 0") {
		t.Errorf("embedding missing images: %v", err)
	}
	if _, err := os.Stat(filepath.Join(dir, "x.parquet")); err == nil {
		t.Error("a failed conversion left an output file")
	}
}

func FuzzLoadParquet(f *testing.F) {
	dir := f.TempDir()
	p := filepath.Join(dir, "seed.parquet")
	if err := ConvertJSONToParquet(context.Background(), "testdata/seed3.json", p, "", false); err != nil {
		f.Fatal(err)
	}
	good, _ := os.ReadFile(p)
	f.Add(good)
	f.Add(good[:len(good)/2])
	f.Add(good[len(good)/3:])
	f.Add([]byte("PAR1PAR1"))
	var buf bytes.Buffer
	_ = parquet.Write(&buf, []structListRow{{Image: []pqImage{{Path: "a"}}, Question: "Q", Options: []string{"a", "b"}, Answer: "a", Subset: "X-Ray"}})
	f.Add(buf.Bytes())
	f.Fuzz(func(t *testing.T, b []byte) {
		path := filepath.Join(t.TempDir(), "f.parquet")
		if err := os.WriteFile(path, b, 0o644); err != nil {
			t.Fatal(err)
		}
		s, err := LoadParquet(path, ColumnMap{}, "")
		if err == nil {
			for _, smp := range s {
				if len(smp.ImagePaths) == 0 || smp.Record.Solution == "" {
					t.Fatalf("accepted an incomplete row: %+v", smp)
				}
			}
		}
	})
}

func FuzzReadRecords(f *testing.F) {
	good, err := os.ReadFile("testdata/seed3.json")
	if err != nil {
		f.Fatal(err)
	}
	f.Add(good)
	f.Add(good[:len(good)/2])
	f.Add([]byte("[" + goodRecord + "]"))
	f.Add([]byte(`[{"image": [1], "options": {}}, null, "x", 3]`))
	f.Add([]byte("[\xff]"))
	f.Fuzz(func(t *testing.T, b []byte) {
		dir := t.TempDir()
		path := filepath.Join(dir, "f.json")
		if err := os.WriteFile(path, b, 0o644); err != nil {
			t.Fatal(err)
		}
		recs, err := ReadRecords(path)
		probs, verr := Validate(context.Background(), path, dir)
		if (err != nil) == (verr == nil && len(probs) == 0) && err != nil {
			t.Fatalf("ReadRecords failed (%v) but Validate found nothing", err)
		}
		if err == nil && verr != nil {
			t.Fatalf("ReadRecords accepted %d records, Validate could not parse: %v", len(recs), verr)
		}
	})
}

func TestValidateParquet(t *testing.T) {
	dir := t.TempDir()
	p, err := Synth(context.Background(), SynthOptions{Out: dir, N: 6, Seed: 2, MaxSide: 40})
	if err != nil {
		t.Fatal(err)
	}
	recs, _ := ReadRecords(p)
	emb := filepath.Join(t.TempDir(), "e.parquet")
	ref := filepath.Join(t.TempDir(), "r.parquet")
	if err := ConvertJSONToParquet(context.Background(), p, emb, "", true); err != nil {
		t.Fatal(err)
	}
	if err := ConvertJSONToParquet(context.Background(), p, ref, "", false); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct{ path, root string }{{emb, "/nowhere"}, {ref, dir}} {
		probs, err := ValidateParquet(context.Background(), tc.path, ColumnMap{}, tc.root, DefaultModalityMap())
		if err != nil || len(probs) != 0 {
			t.Errorf("%s: %v %v", tc.path, probs, err)
		}
	}
	// Referenced images that are missing, and a wrong solution column.
	os.Remove(JoinImagePath(dir, recs[2].Image[0]))
	recs[4].Solution = "D"
	bad := filepath.Join(t.TempDir(), "bad.json")
	if err := WriteRecords(bad, recs); err != nil {
		t.Fatal(err)
	}
	if err := ConvertJSONToParquet(context.Background(), bad, ref, "", false); err != nil {
		t.Fatal(err)
	}
	probs, err := ValidateParquet(context.Background(), ref, ColumnMap{}, dir, DefaultModalityMap())
	if err != nil {
		t.Fatal(err)
	}
	if len(probs) != 2 || probs[0].Index != 2 || probs[0].Field != "image" || probs[1].Index != 4 || probs[1].Field != "solution" {
		t.Errorf("problems %v", probs)
	}
}
