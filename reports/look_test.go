package reports

import (
	"context"
	"image"
	"image/png"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"
	"gonum.org/v1/plot/vg/vgimg"
)

// charts builds every chart a full report draws, by name.
func charts(t *testing.T, in Input) map[string]*chart {
	t.Helper()
	names := runNames(in)
	out := map[string]*chart{}
	add := func(name string, c *chart, err error) {
		t.Helper()
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		out[name] = c
	}
	for _, pol := range policies(in.Runs) {
		c, err := accuracyPlot(in, names, pol)
		add("accuracy_"+pol, c, err)
	}
	c, err := parseFailurePlot(in, names)
	add("parse_failures", c, err)
	c, err = checkpointPlot(in, names)
	add("accuracy_across_runs", c, err)
	c, err = deltaPlot("delta", in.Comparisons[0].Rows, "before", "after")
	add("delta", c, err)
	var xys plotter.XYs
	for _, st := range in.Train.Steps {
		xys = append(xys, plotter.XY{X: st["step"], Y: st["reward"]})
	}
	c, err = linePlot("reward", "optimizer step", "reward", []lineSeries{{XYs: xys, Faint: true}, {XYs: ema(xys, EMAWeight)}},
		&[2]float64{0.4, 1.6}, []trainMark{{Step: 40, Value: 1.4, Low: 1.2, High: 1.6}})
	add("train_reward", c, err)
	return out
}

func drawLayout(c *chart) layout {
	w, h := 7*vg.Inch, c.height(3.4*vg.Inch)
	img := vgimg.New(w, h)
	return c.draw(draw.New(img))
}

// TestLegendsOutsideData computes, from each chart's geometry, where its
// legend box and data points land, and requires that no legend box covers a
// data point or the data area. It also checks that the detector catches a
// legend placed the old way (inside the data area, top right) over bars that
// reach 100 %.
func TestLegendsOutsideData(t *testing.T) {
	in := fullInput(t, 20)
	// A cell at 100 % puts a bar top where an inside legend sits.
	for i := range in.Runs[1].Summary.Cells {
		c := &in.Runs[1].Summary.Cells[i]
		if c.Modality == "Xray" {
			c.Accuracy, c.WilsonLow, c.WilsonHigh = 1, 0.9, 1
		}
	}
	for name, c := range charts(t, in) {
		lay := drawLayout(c)
		if len(lay.Points) == 0 {
			t.Errorf("%s: no data points recorded", name)
		}
		if lay.overlaps() {
			t.Errorf("%s: legend box %v overlaps the data (area %v)", name, lay.Legend, lay.Data)
		}
		if legendEntries(c.Plot) > 0 && lay.Legend.Size().Y <= 0 {
			t.Errorf("%s: legend entries but no legend box", name)
		}
		if lay.Legend.Size().Y > 0 && lay.Legend.Max.Y > lay.Data.Min.Y {
			t.Errorf("%s: legend box top %v above the data area's bottom %v", name, lay.Legend.Max.Y, lay.Data.Min.Y)
		}
	}
	// The old placement: legend drawn inside the data canvas, top right.
	c := charts(t, in)["accuracy_strict"]
	lay := drawLayout(c)
	leg := c.Legend
	leg.Top, leg.Left = true, false
	img := vgimg.New(7*vg.Inch, c.height(3.4*vg.Inch))
	plotArea, _, _ := c.arrange(draw.New(img))
	data := c.DataCanvas(plotArea)
	inside := layout{Data: lay.Data, Legend: leg.Rectangle(data), Points: lay.Points}
	if !inside.overlaps() {
		t.Fatalf("a legend inside the data area (%v) was not detected as overlapping", inside.Legend)
	}
}

// TestAxesAndGreyscale: accuracy axes span 0–100 (no headroom to 150 %),
// every text is Liberation Sans, and the first five series colours stay
// apart in grey.
func TestAxesAndGreyscale(t *testing.T) {
	in := fullInput(t, 20)
	cs := charts(t, in)
	for _, name := range []string{"accuracy_strict", "accuracy_lenient", "accuracy_across_runs"} {
		c := cs[name]
		if c.Y.Min != 0 || c.Y.Max != 100 {
			t.Errorf("%s: y axis [%v, %v], want [0, 100]", name, c.Y.Min, c.Y.Max)
		}
	}
	for name, c := range cs {
		for _, f := range []string{string(c.Title.TextStyle.Font.Variant), string(c.X.Tick.Label.Font.Variant), string(c.Legend.TextStyle.Font.Variant), string(c.Y.Label.TextStyle.Font.Variant)} {
			if f != "Sans" {
				t.Errorf("%s: font variant %q, want Sans", name, f)
			}
		}
	}
	for i := 0; i < 5; i++ {
		for j := i + 1; j < 5; j++ {
			if d := math.Abs(luma(Palette[i]) - luma(Palette[j])); d < 30 {
				t.Errorf("palette %d and %d differ by %.0f grey levels, want ≥ 30", i, j, d)
			}
		}
	}
	// SVGs name no serif font.
	dir := t.TempDir()
	if _, err := savePlot(cs["accuracy_strict"], dir, "a", 7*vg.Inch, 3*vg.Inch); err != nil {
		t.Fatal(err)
	}
	svg, err := os.ReadFile(filepath.Join(dir, "a.svg"))
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(string(svg), "Serif") || !strings.Contains(string(svg), "Sans") {
		t.Errorf("SVG fonts: want Liberation Sans only")
	}
}

func TestEMA(t *testing.T) {
	xs := ema(plotter.XYs{{X: 1, Y: 10}, {X: 2, Y: 0}, {X: 3, Y: 0}}, 0.5)
	// s1 = 5/(1-.5) = 10; s2 = 2.5/(1-.25) = 3.333; s3 = 1.25/(1-.125) = 1.4286
	want := []float64{10, 10.0 / 3, 1.25 / 0.875}
	for i, w := range want {
		if math.Abs(xs[i].Y-w) > 1e-12 || xs[i].X != float64(i+1) {
			t.Errorf("ema[%d] = %v, want (%d, %v)", i, xs[i], i+1, w)
		}
	}
}

func TestPaperTable(t *testing.T) {
	in := fullInput(t, 20)
	pt := buildPaperTable(in.Runs, runNames(in))
	if got := strings.Join(pt.Columns, ","); got != "MRI,CT,Xray,mean" {
		t.Fatalf("columns %s", got)
	}
	if len(pt.Rows) != 4 { // 2 runs × 2 prompts
		t.Fatalf("%d rows, want 4", len(pt.Rows))
	}
	for j := range pt.Columns {
		best, nBest := -1.0, 0
		for _, r := range pt.Rows {
			best = math.Max(best, r.Cells[j].Acc)
		}
		for _, r := range pt.Rows {
			if r.Cells[j].Best {
				nBest++
				if r.Cells[j].Acc != best {
					t.Errorf("column %s: bold %v is not the best %v", pt.Columns[j], r.Cells[j].Acc, best)
				}
			}
		}
		if nBest == 0 {
			t.Errorf("column %s: no best cell", pt.Columns[j])
		}
	}
	for _, r := range pt.Rows {
		sum := 0.0
		for _, c := range r.Cells[:3] {
			sum += c.Acc
		}
		if m := r.Cells[3]; math.Abs(m.Acc-sum/3) > 1e-12 || !math.IsNaN(m.Lo) {
			t.Errorf("%s: mean %v, want %v without interval", r.Label, m.Acc, sum/3)
		}
	}
	tex := pt.latex()
	for _, want := range []string{`\toprule`, `\midrule`, `\bottomrule`, `\textbf{`, `{\scriptsize [`} {
		if !strings.Contains(tex, want) {
			t.Errorf("LaTeX lacks %q", want)
		}
	}
	md := pt.markdown()
	if !strings.Contains(md, "**") || !strings.Contains(md, "<sub>[") {
		t.Errorf("Markdown table lacks bold best or small intervals:\n%s", md)
	}
}

// TestLookPage1 renders report.pdf with poppler (Debian's poppler-utils;
// make test installs it where it can) and checks what a reader relies on:
// page 1 holds the verdicts, the paper-style table with every run and
// modality, and the paired differences; the flat table sits in the appendix.
func TestLookPage1(t *testing.T) {
	for _, tool := range []string{"pdftotext", "pdftoppm"} {
		if _, err := exec.LookPath(tool); err != nil {
			t.Skipf("%s not installed (apt-get install poppler-utils): look test skipped", tool)
		}
	}
	in := fullInput(t, 20)
	for i := range in.Verdicts {
		in.Verdicts[i].Check = "run after against golden.json"
	}
	dir := t.TempDir()
	res, err := Write(context.Background(), in, dir)
	if err != nil {
		t.Fatal(err)
	}
	page := func(first, last string) string {
		out, err := exec.Command("pdftotext", "-f", first, "-l", last, "-layout", res.PDF, "-").Output()
		if err != nil {
			t.Fatalf("pdftotext: %v", err)
		}
		return string(out)
	}
	p1 := page("1", "1")
	for _, want := range []string{"Verdict: REGRESSION", "1 pass, 1 regression, 0 missing", "Accuracy per modality", "Paired differences",
		"MRI", "CT", "Xray", "mean", "before · simple", "after · complex", "***"} {
		if !strings.Contains(p1, want) {
			t.Errorf("page 1 lacks %q:\n%s", want, p1)
		}
	}
	if strings.Contains(p1, "parse fail") {
		t.Errorf("page 1 holds the flat per-cell table; it belongs in the appendix")
	}
	all := page("1", "1000")
	if i, j := strings.Index(all, "Appendix"), strings.LastIndex(all, "parse fail %"); i < 0 || j < i {
		t.Errorf("flat table not in the appendix (Appendix at %d, its header at %d)", i, j)
	}
	for _, want := range []string{"before", "after", "MRI", "CT", "Xray"} {
		if !strings.Contains(all, want) {
			t.Errorf("text layer lacks %q", want)
		}
	}
	// Render page 1 and check it is a portrait page with text in its top third.
	prefix := filepath.Join(dir, "page")
	if out, err := exec.Command("pdftoppm", "-f", "1", "-l", "1", "-r", "40", "-png", res.PDF, prefix).CombinedOutput(); err != nil {
		t.Fatalf("pdftoppm: %v: %s", err, out)
	}
	matches, _ := filepath.Glob(prefix + "*.png")
	if len(matches) != 1 {
		t.Fatalf("pdftoppm wrote %v", matches)
	}
	f, err := os.Open(matches[0])
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	img, err := png.Decode(f)
	if err != nil {
		t.Fatal(err)
	}
	b := img.Bounds()
	if r := float64(b.Dy()) / float64(b.Dx()); math.Abs(r-297.0/210) > 0.02 {
		t.Errorf("page 1 is %v, not A4 portrait", b)
	}
	if dark := darkShare(img, image.Rect(b.Min.X, b.Min.Y, b.Max.X, b.Min.Y+b.Dy()/3)); dark < 0.005 {
		t.Errorf("page 1's top third is blank (%.4f dark)", dark)
	}
}

func darkShare(img image.Image, r image.Rectangle) float64 {
	n, dark := 0, 0
	for y := r.Min.Y; y < r.Max.Y; y++ {
		for x := r.Min.X; x < r.Max.X; x++ {
			cr, cg, cb, _ := img.At(x, y).RGBA()
			if (cr+cg+cb)/3 < 0x8000 {
				dark++
			}
			n++
		}
	}
	return float64(dark) / float64(n)
}
