package reports

import (
	"bytes"
	"context"
	"fmt"
	"image"
	"image/color"
	"image/png"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/medbench/medbench/records"
	"github.com/medbench/medbench/runners"
)

var testModalities = []string{"MRI", "CT", "Xray"}

// makeRun writes a run record with n samples per modality and prompt, whose
// accuracy is acc[prompt], plus one small image per sample.
func makeRun(t testing.TB, dir string, n int, acc map[string]float64, seed uint64) *records.Run {
	t.Helper()
	imgDir := filepath.Join(dir, "images")
	if err := os.MkdirAll(imgDir, 0o755); err != nil {
		t.Fatal(err)
	}
	rng := rand.New(rand.NewPCG(seed, 7))
	run := &records.Run{Dir: dir}
	run.Manifest = records.Manifest{SchemaVersion: 1, Medbench: "test", Started: time.Unix(1700000000, 0),
		Dataset: records.Dataset{Path: "synth/dataset.json", SHA256: strings.Repeat("ab", 32), Selection: "subset", Modalities: testModalities, N: n * 3},
		Runner:  runners.Info{Name: "replay", Model: "tiny-fixture", Files: map[string]string{"onnx/decoder_model_merged.onnx": strings.Repeat("cd", 32)}},
		Prompts: []records.PromptInfo{{Name: "simple"}, {Name: "complex"}}, Policies: []string{"strict", "lenient"},
		Sampling: map[string]any{"do_sample": false, "max_new_tokens": 512}}
	var cells []records.Cell
	for mi, m := range testModalities {
		for _, prompt := range []string{"complex", "simple"} {
			correct := 0
			for i := 0; i < n; i++ {
				id := fmt.Sprint(mi*n + i)
				imgPath := ""
				if i < 4 { // images only where the gallery may look
					imgPath = filepath.Join(imgDir, id+".png")
					if _, err := os.Stat(imgPath); err != nil {
						img := image.NewGray(image.Rect(0, 0, 40, 30))
						for p := range img.Pix {
							img.Pix[p] = uint8(p * 7)
						}
						img.Set(5, 5, color.White)
						var buf bytes.Buffer
						_ = png.Encode(&buf, img)
						if err := os.WriteFile(imgPath, buf.Bytes(), 0o644); err != nil {
							t.Fatal(err)
						}
					}
				}
				ok := rng.Float64() < acc[prompt]
				letter := "B"
				out := "<think>a long line of reasoning that wraps — " + strings.Repeat("über word ", 30) + "\ttab</think>\n<answer>B</answer>"
				if !ok {
					letter = "C"
					out = strings.Replace(out, "<answer>B", "<answer>C", 1)
				}
				if ok {
					correct++
				}
				l := letter
				run.Samples = append(run.Samples, records.ScoredSample{ID: id, Index: mi*n + i, Modality: m, Prompt: prompt, Solution: "B",
					Question: "Which quadrant holds the bright lesion?\nA) upper left\nB) upper right\nC) lower left\nD) lower right",
					Image:    imgPath, Output: out, Extractions: map[string]*string{"strict": &l, "lenient": &l},
					Correct: map[string]bool{"strict": ok, "lenient": ok}})
			}
			for _, pol := range []string{"strict", "lenient"} {
				a := float64(correct) / float64(n)
				cells = append(cells, records.Cell{Modality: m, Prompt: prompt, Policy: pol, N: n, Correct: correct, Accuracy: a,
					WilsonLow: a * 0.9, WilsonHigh: min(1, a*1.1), ParseFailureRate: 0.02})
			}
		}
	}
	run.Summary = &records.Summary{SchemaVersion: 1, Cells: cells, Samples: len(run.Samples)}
	return run
}

func fullInput(t testing.TB, n int) Input {
	dir := t.TempDir()
	a := makeRun(t, filepath.Join(dir, "before"), n, map[string]float64{"complex": 0.3, "simple": 0.25}, 1)
	b := makeRun(t, filepath.Join(dir, "after"), n, map[string]float64{"complex": 0.85, "simple": 0.6}, 2)
	p := 0.0123
	steps := make([]map[string]float64, 40)
	for i := range steps {
		steps[i] = map[string]float64{"step": float64(i + 1), "reward": 0.5 + float64(i)/40, "rewards/accuracy_reward": float64(i) / 40,
			"rewards/format_reward": 0.9, "reward_std": 0.3, "kl": 0.001 * float64(i), "completion_length": 20, "loss": 0.01, "learning_rate": 1e-4 * (1 - float64(i)/40)}
		if i%10 == 9 {
			steps[i]["eval/accuracy"] = 25 + float64(i)*1.5
		}
	}
	return Input{
		Title: "test report", Version: "0.1.0-test", Runs: []*records.Run{a, b}, RunNames: []string{"before", "after"},
		Golden:   []GoldenMark{{Modality: "MRI", Prompt: "complex", Policy: "strict", Value: 0.9533, Low: 0.92, High: 0.98}},
		Verdicts: []VerdictRow{{Cell: "MRI / complex / strict / accuracy", Value: 85, Expected: 95.33, Tolerance: "±3 abs", Status: "regression", P: &p}, {Cell: "CT / complex / strict / accuracy", Value: 70, Expected: 70.33, Tolerance: "±3 abs", Status: "pass"}},
		Comparisons: []Comparison{{Title: "before vs after (complex, strict)", A: "before", B: "after", Note: "compared on the intersection of all samples",
			Rows: []DeltaRow{{Modality: "MRI", N: n, AccA: 0.3, AccB: 0.85, Delta: 0.55, Lo: 0.45, Hi: 0.65, B: 3, C: 40, P: 1e-9, PHolm: 3e-9, MDE: 0.1, Verdict: "B better"},
				{Modality: "CT", N: n, AccA: 0.3, AccB: 0.8, Delta: 0.5, Lo: 0.4, Hi: 0.6, B: 5, C: 38, P: 1e-8, PHolm: 2e-8, MDE: 0.1, Verdict: "B better"}},
			Discordant: []Discordant{{ID: "1", Modality: "MRI", Question: "Q?", Image: a.Samples[1].Image, OutputA: "<answer>C</answer>", OutputB: "<answer>B</answer>", CorrectB: true, Solution: "B"}}}},
		Train: &TrainLog{Name: "grpo", Steps: steps, Bands: map[string][2]float64{"reward": {0.4, 1.6}}},
		Bench: []BenchRow{{Name: "medbench cpu b=1", SamplesPerSec: 1.2, TokensPerSec: 30, LatencyP50MS: 800, LatencyP90MS: 900, Device: "cpu"}, {Name: "peer", SamplesPerSec: 0.8, TokensPerSec: 20, Device: "cpu"}},
	}
}

func TestWriteFullReport(t *testing.T) {
	in := fullInput(t, 30)
	out := t.TempDir()
	res, err := Write(context.Background(), in, out)
	if err != nil {
		t.Fatal(err)
	}
	pdf, err := os.ReadFile(res.PDF)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.HasPrefix(pdf, []byte("%PDF-")) {
		t.Fatalf("not a PDF")
	}
	if !bytes.Contains(pdf, []byte("/FontFile2")) {
		t.Errorf("fonts are not embedded")
	}
	if res.Pages < 5 || res.Pages > 30 {
		t.Errorf("pages = %d, want a handful", res.Pages)
	}
	// Every plot exists as PNG (decodable, non-trivial) and SVG.
	wantPlots := []string{"accuracy_strict", "accuracy_lenient", "parse_failures", "accuracy_across_runs", "delta_1", "train_reward", "train_kl", "train_eval_accuracy", "bench_samples"}
	for _, w := range wantPlots {
		p := filepath.Join(out, "plots", w+".png")
		f, err := os.Open(p)
		if err != nil {
			t.Errorf("missing plot %s", p)
			continue
		}
		cfg, err := png.DecodeConfig(f)
		f.Close()
		if err != nil || cfg.Width < 300 || cfg.Height < 150 {
			t.Errorf("plot %s: %v %dx%d", p, err, cfg.Width, cfg.Height)
		}
		if _, err := os.Stat(filepath.Join(out, "plots", w+".svg")); err != nil {
			t.Errorf("missing svg for %s", w)
		}
	}
	for _, tb := range []string{"accuracy", "verdicts", "compare_1", "bench"} {
		for _, ext := range []string{".csv", ".html"} {
			if _, err := os.Stat(filepath.Join(out, "tables", tb+ext)); err != nil {
				t.Errorf("missing table %s%s", tb, ext)
			}
		}
	}
	md, _ := os.ReadFile(res.Markdown)
	for _, want := range []string{"Verdict: REGRESSION", "MRI", "CT", "Xray", "plots/accuracy_strict.png", "discordant", "dataset sha256"} {
		if !strings.Contains(string(md), want) {
			t.Errorf("report.md lacks %q", want)
		}
	}
	// With poppler installed, check the PDF's text as a reader would.
	if _, err := exec.LookPath("pdftotext"); err == nil {
		txt, err := exec.Command("pdftotext", "-layout", res.PDF, "-").Output()
		if err != nil {
			t.Fatalf("pdftotext: %v", err)
		}
		for _, want := range []string{"Verdict: REGRESSION", "MRI", "CT", "Xray", "Sample gallery", "tiny-fixture"} {
			if !strings.Contains(string(txt), want) {
				t.Errorf("PDF text lacks %q", want)
			}
		}
	} else {
		t.Log("pdftotext not installed: PDF text not checked")
	}
}

func TestReportDeterministic(t *testing.T) {
	in := fullInput(t, 10)
	a, b := t.TempDir(), t.TempDir()
	ra, err := Write(context.Background(), in, a)
	if err != nil {
		t.Fatal(err)
	}
	rb, err := Write(context.Background(), in, b)
	if err != nil {
		t.Fatal(err)
	}
	// fpdf orders images by width over a map iteration, so the PDF's bytes may
	// differ; everything we generate ourselves must be identical.
	ma, _ := os.ReadFile(ra.Markdown)
	mb, _ := os.ReadFile(rb.Markdown)
	if !bytes.Equal(ma, mb) {
		t.Errorf("report.md differs between identical inputs")
	}
	for i := range ra.Plots {
		pa, _ := os.ReadFile(ra.Plots[i])
		pb, _ := os.ReadFile(rb.Plots[i])
		if !bytes.Equal(pa, pb) {
			t.Errorf("plot %s differs between identical inputs", filepath.Base(ra.Plots[i]))
		}
	}
	if ra.Pages != rb.Pages {
		t.Errorf("page counts differ: %d vs %d", ra.Pages, rb.Pages)
	}
}

func TestPageCountBoundedFor10kSamples(t *testing.T) {
	if testing.Short() {
		t.Skip("short")
	}
	in := fullInput(t, 3334) // 3 modalities × 2 prompts × 3334 ≈ 20k sample lines
	res, err := Write(context.Background(), in, t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	if res.Pages > 30 {
		t.Errorf("10k samples gave %d pages; the report must stay bounded", res.Pages)
	}
}

func TestWriteErrors(t *testing.T) {
	if _, err := Write(context.Background(), Input{}, t.TempDir()); err == nil {
		t.Error("empty input accepted")
	}
	r := &records.Run{Dir: "/x/run1"}
	_, err := Write(context.Background(), Input{Runs: []*records.Run{r}}, t.TempDir())
	if err == nil || !regexp.MustCompile(`run1.*summary\.json`).MatchString(err.Error()) {
		t.Errorf("run without summary: err = %v", err)
	}
}

func TestFitTruncates(t *testing.T) {
	d := newPDF("t")
	d.AddPage()
	d.SetFont("sans", "", 8)
	s := d.fit(strings.Repeat("wide text ", 50), 40)
	if !strings.HasSuffix(s, "…") || d.GetStringWidth(s) > 40 {
		t.Errorf("fit: %q width %.1f", s, d.GetStringWidth(s))
	}
	if got := d.fit("short", 40); got != "short" {
		t.Errorf("fit changed short text: %q", got)
	}
	if got := clean("a\tb\x00c\r\nd"); got != "a    bc\nd" {
		t.Errorf("clean = %q", got)
	}
}

// TestSingleRunAndTrainOnly covers the report's two smallest shapes: one run
// (no comparison across runs, but the prompt ablation plots still apply when
// given) and a training directory alone (curves only, no gallery).
func TestSingleRunAndTrainOnly(t *testing.T) {
	full := fullInput(t, 12)
	one := Input{Title: "one run", Version: "t", Runs: full.Runs[:1], RunNames: []string{"only"}}
	out := t.TempDir()
	res, err := Write(context.Background(), one, out)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(out, "plots", "accuracy_across_runs.png")); err == nil {
		t.Error("a single run got an across-runs plot")
	}
	md, _ := os.ReadFile(res.Markdown)
	for _, want := range []string{"MRI", "CT", "Xray", "Sample gallery", "plots/accuracy_strict.png"} {
		if !strings.Contains(string(md), want) {
			t.Errorf("single-run report.md lacks %q", want)
		}
	}
	if res.Pages < 3 {
		t.Errorf("single-run report has %d pages", res.Pages)
	}

	train := Input{Title: "training", Version: "t", Train: full.Train}
	tout := t.TempDir()
	tr, err := Write(context.Background(), train, tout)
	if err != nil {
		t.Fatal(err)
	}
	if len(tr.Plots) < 8 {
		t.Errorf("training-only report has %d plots, want one per logged metric (≥ 8)", len(tr.Plots))
	}
	tmd, _ := os.ReadFile(tr.Markdown)
	if strings.Contains(string(tmd), "Sample gallery") || !strings.Contains(string(tmd), "train_reward.png") {
		t.Errorf("training-only report.md:\n%s", tmd)
	}
}

// TestResolveImage: a record's relative image path resolves against the
// manifest's images root, else against the dataset file's folder.
func TestResolveImage(t *testing.T) {
	dir := t.TempDir()
	img := filepath.Join(dir, "data", "images", "a b (1)%.png")
	if err := os.MkdirAll(filepath.Dir(img), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(img, []byte("x"), 0o644); err != nil {
		t.Fatal(err)
	}
	r := &records.Run{Manifest: records.Manifest{Dataset: records.Dataset{Path: filepath.Join(dir, "data", "dataset.json")}}}
	if got := resolveImage(r, "images/a b (1)%.png"); got != img {
		t.Errorf("via the dataset folder: %q, want %q", got, img)
	}
	r.Manifest.Dataset.Images = filepath.Join(dir, "data")
	r.Manifest.Dataset.Path = "elsewhere/dataset.json"
	if got := resolveImage(r, "images/a b (1)%.png"); got != img {
		t.Errorf("via the images root: %q", got)
	}
	if got := resolveImage(r, "images/missing.png"); got != "" {
		t.Errorf("missing image resolved to %q", got)
	}
}

func TestCompactOutput(t *testing.T) {
	for _, c := range []struct{ in, want string }{
		{"a\n\nb", "a\n\nb"},
		{strings.Repeat("\n", 32), "\n[32 line breaks]\n"},
		{"<think>x</think>\n\n\n\n<answer>B</answer>", "<think>x</think>\n[4 line breaks]\n<answer>B</answer>"},
		{"über", "über"},
	} {
		if got := compactOutput(c.in, 100); got != c.want {
			t.Errorf("compactOutput(%q) = %q, want %q", c.in, got, c.want)
		}
	}
	if got := compactOutput(strings.Repeat("x", 50), 10); got != strings.Repeat("x", 10)+"…" {
		t.Errorf("not truncated: %q", got)
	}
}
