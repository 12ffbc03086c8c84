package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"image"
	"image/png"
	"io"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/medbench/medbench/records"
	"github.com/medbench/medbench/runners"
)

func TestToolsGenerate(t *testing.T) {
	dir := t.TempDir()
	model := tinyFixture(t)
	var cases []runners.Case
	for i, wh := range [][2]int{{56, 56}, {84, 56}, {56, 112}} {
		img := image.NewGray(image.Rect(0, 0, wh[0], wh[1]))
		for p := range img.Pix {
			img.Pix[p] = uint8(p*7 + i*40)
		}
		var b bytes.Buffer
		png.Encode(&b, img)
		path := filepath.Join(dir, fmt.Sprintf("%d.png", i))
		os.WriteFile(path, b.Bytes(), 0o644)
		cases = append(cases, runners.Case{Image: path, Text: fmt.Sprintf("case %d: which organ?", i)})
	}
	cases = append(cases, runners.Case{Text: "text only"})
	cb, _ := json.Marshal(cases)
	casesPath := filepath.Join(dir, "cases.json")
	os.WriteFile(casesPath, cb, 0o644)
	gen := func(extra ...string) []string {
		var out bytes.Buffer
		app := newApp(defaultRunners())
		app.Writer = &out
		args := append([]string{"medbench", "tools", "generate", "--model", model, "--threads", "1", "--max-new-tokens", "8", "--repetition-penalty", "2"}, extra...)
		if err := app.Run(args); err != nil {
			t.Fatalf("%v: %v", extra, err)
		}
		return strings.Split(strings.TrimSpace(out.String()), "\n")
	}
	one := gen("--cases", casesPath)
	three := gen("--cases", casesPath, "--batch", "3")
	if len(one) != 4 || strings.Join(one, "\n") != strings.Join(three, "\n") {
		t.Fatalf("batch 1:\n%s\nbatch 3:\n%s", strings.Join(one, "\n"), strings.Join(three, "\n"))
	}
	var o struct {
		IDs  []int  `json:"ids"`
		Text string `json:"text"`
	}
	if err := json.Unmarshal([]byte(one[0]), &o); err != nil || len(o.IDs) != 8 {
		t.Fatalf("line %q: %v", one[0], err)
	}
	single := gen("--image", cases[1].Image, "--text", cases[1].Text)
	if len(single) != 1 || single[0] != one[1] {
		t.Fatalf("single case %q, want %q", single, one[1])
	}
	app := newApp(defaultRunners())
	app.Writer = io.Discard
	err := app.Run([]string{"medbench", "tools", "generate", "--model", model, "--cases", casesPath, "--text", "x"})
	var ee *exitError
	if !errors.As(err, &ee) || ee.code != exitUsage {
		t.Fatalf("--cases with --text: %v", err)
	}
}

// TestEvalONNXResumeAfterCrash: `medbench eval --preset medvlm-r1` with the
// ONNX runner on the tiny fixture and a synthetic set, both prompts, writes a
// complete run record; a copy cut as a SIGKILL leaves it (5 flushed samples,
// a torn line, no summary) resumes with another batch size to the same
// samples and summary as the uninterrupted run.
func TestEvalONNXResumeAfterCrash(t *testing.T) {
	dir := t.TempDir()
	model := tinyFixture(t)
	medbench := func(args ...string) {
		t.Helper()
		app := newApp(defaultRunners())
		var out bytes.Buffer
		app.Writer, app.ErrWriter = &out, &out
		if err := app.Run(append([]string{"medbench"}, args...)); err != nil {
			t.Fatalf("%v: %v\n%s", args, err, out.String())
		}
	}
	data := filepath.Join(dir, "data")
	medbench("dataset", "synth", "--out", data, "-n", "12", "--seed", "4", "--max-side", "120")
	eval := func(out, batch string, extra ...string) {
		medbench(append([]string{"eval", "--data", filepath.Join(data, "dataset.json"), "--model", model, "--preset", "medvlm-r1",
			"--max-new-tokens", "8", "--threads", "1", "--batch", batch, "--out", out}, extra...)...)
	}
	full := filepath.Join(dir, "full")
	eval(full, "4")
	a, err := records.ReadRun(full)
	if err != nil {
		t.Fatal(err)
	}
	if a.Summary == nil || len(a.Samples) != 24 || a.Manifest.Runner.Name != "qwen2vl-onnx" || a.Manifest.Sampling["max_new_tokens"] != float64(8) {
		t.Fatalf("run record: summary %v, %d samples, runner %v, sampling %v", a.Summary != nil, len(a.Samples), a.Manifest.Runner.Name, a.Manifest.Sampling)
	}
	// simulate the SIGKILL: keep the manifest and 5 samples plus a torn line.
	cut := filepath.Join(dir, "cut")
	os.MkdirAll(cut, 0o755)
	mb, _ := os.ReadFile(filepath.Join(full, records.ManifestFile))
	os.WriteFile(filepath.Join(cut, records.ManifestFile), mb, 0o644)
	sb, _ := os.ReadFile(filepath.Join(full, records.SamplesFile))
	lines := strings.SplitAfter(string(sb), "\n")
	torn := strings.Join(lines[:5], "") + lines[5][:len(lines[5])/2]
	os.WriteFile(filepath.Join(cut, records.SamplesFile), []byte(torn), 0o644)
	eval(cut, "3", "--resume")
	b, err := records.ReadRun(cut)
	if err != nil {
		t.Fatal(err)
	}
	key := func(s records.ScoredSample) records.ScoredSample { s.LatencyMS = 0; return s }
	got := map[string]records.ScoredSample{}
	for _, s := range b.Samples {
		got[s.Key()] = key(s)
	}
	if len(got) != len(a.Samples) || b.Summary == nil {
		t.Fatalf("resumed run: %d distinct samples, summary %v", len(got), b.Summary != nil)
	}
	for _, s := range a.Samples {
		g, ok := got[s.Key()]
		if !ok || !reflect.DeepEqual(g, key(s)) {
			t.Errorf("%s: resumed %+v\nuninterrupted %+v", s.Key(), g, key(s))
		}
	}
	if !reflect.DeepEqual(a.Summary.Cells, b.Summary.Cells) {
		t.Errorf("summary cells differ after resume")
	}
}
