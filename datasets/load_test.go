package datasets

import (
	"os"
	"path/filepath"
	"reflect"
	"strconv"
	"strings"
	"testing"
)

// testdata/seed3.json holds three records copied verbatim from the seed's
// MRI_CT_XRAY_300each_dataset.json (docs/reference/medvlm-r1-seed.md#data), formatted by
// Python's json.dumps(indent=4).

func writeFile(t *testing.T, dir, name, content string) string {
	t.Helper()
	p := filepath.Join(dir, name)
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestReadRecordsSeed(t *testing.T) {
	recs, err := ReadRecords("testdata/seed3.json")
	if err != nil {
		t.Fatal(err)
	}
	if len(recs) != 3 {
		t.Fatalf("got %d records, want 3", len(recs))
	}
	want := Record{
		Image:    []string{"images/lung-normal025348.png"},
		Problem:  "Does this image show any visible abnormality?\nA) No\nB) Yes.",
		Solution: "A",
		Question: "Does this image show any visible abnormality?",
		Options:  []string{"No", "Yes."},
		Answer:   "No",
		Dataset:  "OmniMedVQA",
		Subset:   "CT(Computed Tomography)",
	}
	if !reflect.DeepEqual(recs[1], want) {
		t.Errorf("record 1 = %+v, want %+v", recs[1], want)
	}
	// The seed's problem and solution texts are the golden values for
	// BuildProblem and SolutionLetter.
	for i, r := range recs {
		if got := BuildProblem(r.Question, r.Options); got != r.Problem {
			t.Errorf("record %d: BuildProblem = %q, seed has %q", i, got, r.Problem)
		}
		if got, ok := SolutionLetter(r.Options, r.Answer); !ok || got != r.Solution {
			t.Errorf("record %d: SolutionLetter = %q, %v; seed has %q", i, got, ok, r.Solution)
		}
	}
}

func TestWriteRecordsMatchesPythonIndent4(t *testing.T) {
	recs, err := ReadRecords("testdata/seed3.json")
	if err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(t.TempDir(), "out.json")
	if err := WriteRecords(out, recs); err != nil {
		t.Fatal(err)
	}
	got, _ := os.ReadFile(out)
	want, _ := os.ReadFile("testdata/seed3.json")
	if string(got) != string(want) {
		t.Errorf("WriteRecords output differs from Python json.dumps(indent=4):\n%s", got)
	}
	// Non-ASCII and HTML characters; want is Python 3.11's
	// json.dumps(records, indent=4) output.
	r := []Record{{Image: []string{"images/ü (1)%.png"}, Problem: "Ödem?\nA) ja\nB) 𝕏", Solution: "A", Question: "Ödem?",
		Options: []string{"ja", "𝕏"}, Answer: "ja", Dataset: "d<&>", Subset: "X-Ray"}}
	if err := WriteRecords(out, r); err != nil {
		t.Fatal(err)
	}
	got, _ = os.ReadFile(out)
	const py = "[\n    {\n        \"image\": [\n            \"images/\\u00fc (1)%.png\"\n        ],\n        \"problem\": \"\\u00d6dem?\\nA) ja\\nB) \\ud835\\udd4f\",\n        \"solution\": \"A\",\n        \"question\": \"\\u00d6dem?\",\n        \"options\": [\n            \"ja\",\n            \"\\ud835\\udd4f\"\n        ],\n        \"answer\": \"ja\",\n        \"dataset\": \"d<&>\",\n        \"subset\": \"X-Ray\"\n    }\n]"
	if string(got) != py {
		t.Errorf("non-ASCII output:\n%s\nwant\n%s", got, py)
	}
	back, err := ReadRecords(out)
	if err != nil || !reflect.DeepEqual(back, r) {
		t.Errorf("read back %+v, %v", back, err)
	}
}

func TestLoadJSON(t *testing.T) {
	s, err := LoadJSON("testdata/seed3.json", "/data/Huatuo")
	if err != nil {
		t.Fatal(err)
	}
	wantMods := []string{MRI, CT, Xray}
	for i := range s {
		if s[i].Index != i || s[i].Modality != wantMods[i] || s[i].ID() != string(rune('0'+i)) {
			t.Errorf("sample %d: index %d modality %s id %s", i, s[i].Index, s[i].Modality, s[i].ID())
		}
	}
	if got := s[0].ImagePaths[0]; got != "/data/Huatuo/images/brain002206.png" {
		t.Errorf("ImagePaths[0] = %q", got)
	}
	// Empty root: relative to the JSON file's folder.
	s, err = LoadJSON("testdata/seed3.json", "")
	if err != nil {
		t.Fatal(err)
	}
	if got := s[2].ImagePaths[0]; got != "testdata/images/PIP_435841.png" {
		t.Errorf("empty root: ImagePaths = %q", got)
	}
}

func TestJoinImagePath(t *testing.T) {
	for _, tc := range []struct{ root, rel, want string }{
		{"/d/Huatuo", "images/Covid (612).png", "/d/Huatuo/images/Covid (612).png"},
		{"/d/Huatuo", "images/2020.02.10.20021584-p6-52%11.png", "/d/Huatuo/images/2020.02.10.20021584-p6-52%11.png"},
		{"/d", "images/a%20b.png", "/d/images/a%20b.png"}, // never URL-decoded
		{"/d/", "images/x.png", "/d/images/x.png"},
		{"link", "../images/x.png", "link/../images/x.png"}, // not cleaned: link may be a symlink
		{"", "images/x.png", "images/x.png"},
		{"/d", "/abs/x.png", "/abs/x.png"},
		{"/d", "./images/x.png", "/d/./images/x.png"},
	} {
		if got := JoinImagePath(tc.root, tc.rel); got != tc.want {
			t.Errorf("JoinImagePath(%q, %q) = %q, want %q", tc.root, tc.rel, got, tc.want)
		}
	}
}

const goodRecord = `{"image": ["images/a.png"], "problem": "Q?\nA) x\nB) y", "solution": "B", "question": "Q?", "options": ["x", "y"], "answer": "y", "dataset": "OmniMedVQA", "subset": "X-Ray"}`

func TestReadRecordsErrors(t *testing.T) {
	dir := t.TempDir()
	for _, tc := range []struct {
		name, content string
		want          []string // substrings of the error
	}{
		{"truncated", "[\n" + goodRecord + ",\n" + goodRecord[:60], []string{"record 1", "truncated", "byte offset"}},
		{"truncated after comma", "[" + goodRecord + ",", []string{"record 1", "truncated"}},
		{"syntax", "[" + goodRecord + ", {\"image\": [}]", []string{"record 1", "invalid JSON", "byte offset"}},
		{"options number", "[" + strings.Replace(goodRecord, `["x", "y"]`, `3`, 1) + "]", []string{"record 0", `"options"`, "got number"}},
		{"image string", "[" + goodRecord + "," + strings.Replace(goodRecord, `["images/a.png"]`, `"images/a.png"`, 1) + "]", []string{"record 1", `"image"`, "got string"}},
		{"option element", "[" + strings.Replace(goodRecord, `["x", "y"]`, `["x", 2]`, 1) + "]", []string{"record 0", `"options"`, "element 1"}},
		{"solution null", "[" + strings.Replace(goodRecord, `"B"`, `null`, 1) + "]", []string{"record 0", `"solution"`, "got null"}},
		{"missing", "[" + strings.Replace(goodRecord, `"dataset": "OmniMedVQA", `, ``, 1) + "]", []string{"record 0", `"dataset"`, "missing"}},
		{"unknown", "[" + strings.Replace(goodRecord, `{`, `{"id": 3, `, 1) + "]", []string{"record 0", `"id"`, "unknown field"}},
		{"utf8", "[" + goodRecord + "," + strings.Replace(goodRecord, "Q?", "Q\xff?", 1) + "]", []string{"record 1", "invalid UTF-8", "byte offset"}},
		{"not object", "[" + goodRecord + ", 7]", []string{"record 1", "number", "want an object"}},
		{"object top", goodRecord, []string{"top level is an object"}},
		{"empty", "", []string{"empty file"}},
		{"trailing", "[" + goodRecord + "] []", []string{"trailing data"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p := writeFile(t, dir, strings.ReplaceAll(tc.name, " ", "_")+".json", tc.content)
			_, err := ReadRecords(p)
			if err == nil {
				t.Fatal("no error")
			}
			msg := err.Error()
			if !strings.HasPrefix(msg, "datasets: "+p) {
				t.Errorf("error %q does not start with the package and file", msg)
			}
			for _, w := range tc.want {
				if !strings.Contains(msg, w) {
					t.Errorf("error %q lacks %q", msg, w)
				}
			}
			if strings.Contains(msg, "\n") {
				t.Errorf("error is not one line: %q", msg)
			}
		})
	}
}

func TestReadRecordsTruncatedOffset(t *testing.T) {
	content := "[\n" + goodRecord + ",\n" + goodRecord[:60]
	p := writeFile(t, t.TempDir(), "t.json", content)
	_, err := ReadRecords(p)
	// Record 1 starts after "[\n" + record 0 + ",\n".
	start := len("[\n" + goodRecord + ",\n")
	if err == nil || !strings.Contains(err.Error(), "starting at byte offset "+strconv.Itoa(start)) {
		t.Errorf("error %v does not name the record's start offset %d", err, start)
	}
	if !strings.Contains(err.Error(), "ends at byte offset "+strconv.Itoa(len(content))) {
		t.Errorf("error %v does not name the file end %d", err, len(content))
	}
}

func TestLoadJSONUnknownSubset(t *testing.T) {
	p := writeFile(t, t.TempDir(), "u.json", "["+goodRecord+","+strings.Replace(goodRecord, "X-Ray", "Endoscopy", 1)+"]")
	_, err := LoadJSON(p, "")
	if err == nil {
		t.Fatal("no error")
	}
	for _, w := range []string{"record 1", `"subset"`, `"Endoscopy"`, `"MR (Mag-netic Resonance Imaging)"`, "--modality-map"} {
		if !strings.Contains(err.Error(), w) {
			t.Errorf("error %q lacks %q", err, w)
		}
	}
	mapFile := writeFile(t, t.TempDir(), "map.json", `{"Endoscopy": "endoscopy-custom", "X-Ray": "ct"}`)
	mm, err := LoadModalityMap(mapFile)
	if err != nil {
		t.Fatal(err)
	}
	s, err := LoadJSONWithMap(p, "", mm)
	if err != nil {
		t.Fatal(err)
	}
	if s[0].Modality != CT || s[1].Modality != "endoscopy-custom" {
		t.Errorf("modalities %q %q, want CT (normalized) and endoscopy-custom", s[0].Modality, s[1].Modality)
	}
}

func TestLoadByExtension(t *testing.T) {
	a, err := Load("testdata/seed3.json", LoadOptions{ImagesRoot: "/x"})
	if err != nil {
		t.Fatal(err)
	}
	b, err := LoadJSON("testdata/seed3.json", "/x")
	if err != nil || !reflect.DeepEqual(a, b) {
		t.Errorf("Load differs from LoadJSON: %v", err)
	}
	for p, want := range map[string]bool{"a.parquet": true, "A.PARQUET": true, "a.json": false, "parquet": false} {
		if IsParquetPath(p) != want {
			t.Errorf("IsParquetPath(%q) != %v", p, want)
		}
	}
}
