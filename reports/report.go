package reports

import (
	"context"
	"errors"
	"fmt"
	"hash/fnv"
	"math"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/vg"

	"github.com/medbench/medbench/metrics"
	"github.com/medbench/medbench/records"
)

// Output lists what Write produced.
type Output struct {
	PDF      string
	Markdown string
	Plots    []string // PNG paths (an SVG sits beside each)
	Tables   []string // CSV paths (an HTML sits beside each)
	Pages    int
}

// figure is a plot saved to disk, with a caption for the PDF/Markdown.
type figure struct {
	Path    string
	Caption string
	Half    bool // laid out two per row in the PDF
}

// TrainMetrics are the training-curve panels, in display order, with their
// axis labels. Each entry lists alternative keys (R1-V name first, TRL next).
var TrainMetrics = []struct {
	Title string
	Keys  []string
	Unit  string
}{
	{"Total reward", []string{"reward"}, "reward (sum of functions)"},
	{"Accuracy reward", []string{"rewards/accuracy_reward", "reward/accuracy_reward/mean"}, "reward"},
	{"Format reward", []string{"rewards/format_reward", "reward/format_reward/mean"}, "reward"},
	{"Reward std within group", []string{"reward_std"}, "std"},
	{"KL to reference", []string{"kl"}, "nats per token"},
	{"Completion length", []string{"completion_length", "completions/mean_length"}, "tokens"},
	{"Loss", []string{"loss"}, "loss"},
	{"Learning rate", []string{"learning_rate"}, "lr"},
	{"Eval accuracy", []string{"eval/accuracy", "eval_accuracy"}, "accuracy (fraction of items)"},
}

// Write renders the report for in into outDir: report.pdf, report.md,
// plots/*.png|svg and tables/*.csv|html.
func Write(ctx context.Context, in Input, outDir string) (*Output, error) {
	if len(in.Runs) == 0 && in.Train == nil && len(in.Bench) == 0 {
		return nil, errors.New("reports: nothing to report (give at least one run, a training log or bench results)")
	}
	for i, r := range in.Runs {
		if r.Summary == nil {
			return nil, fmt.Errorf("reports: run %s has no %s (interrupted? finish it with `medbench eval --resume`)", r.Dir, records.SummaryFile)
		}
		if i < len(in.RunNames) && in.RunNames[i] != "" {
			continue
		}
	}
	names := runNames(in)
	plotsDir, tablesDir := filepath.Join(outDir, "plots"), filepath.Join(outDir, "tables")
	for _, d := range []string{outDir, plotsDir, tablesDir} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			return nil, fmt.Errorf("reports: %w", err)
		}
	}
	out := &Output{}
	var figs []figure
	addFig := func(path, caption string) {
		figs = append(figs, figure{Path: path, Caption: caption})
		out.Plots = append(out.Plots, path)
	}
	// addPlot saves the chart a plot function returned (7 inches wide, h
	// high) as base in plotsDir and adds it as a figure.
	addPlot := func(c *chart, err error, base string, h vg.Length, caption string) error {
		if err != nil {
			return err
		}
		path, err := savePlot(c, plotsDir, base, 7*vg.Inch, h)
		if err != nil {
			return err
		}
		addFig(path, caption)
		return nil
	}

	// Tables: the paper-style table (page 1) in CSV, HTML and LaTeX, then
	// the detail tables; the flat accuracy table goes to the appendix.
	var tables []tableData
	var paper *paperTable
	if len(in.Runs) > 0 {
		pt := buildPaperTable(in.Runs, names)
		paper = &pt
		paths, err := pt.save(tablesDir)
		if err != nil {
			return nil, err
		}
		out.Tables = append(out.Tables, paths[0])
		tables = append(tables, accuracyTable(in.Runs, names))
		if t, ok := invalidItemsTable(in.Runs, names); ok {
			tables = append(tables, t)
		}
	}
	if len(in.Verdicts) > 0 {
		tables = append(tables, verdictTable(in.Verdicts))
	}
	for i, c := range in.Comparisons {
		tables = append(tables, comparisonTable(i, c))
	}
	if len(in.Bench) > 0 {
		tables = append(tables, benchTable(in.Bench))
	}
	for _, t := range tables {
		if err := t.save(tablesDir); err != nil {
			return nil, err
		}
		out.Tables = append(out.Tables, filepath.Join(tablesDir, t.Name+".csv"))
	}

	// Plots.
	if len(in.Runs) > 0 {
		for _, policy := range policies(in.Runs) {
			if err := ctx.Err(); err != nil {
				return nil, err
			}
			p, err := accuracyPlot(in, names, policy)
			if err := addPlot(p, err, "accuracy_"+safeName(policy), 3.6*vg.Inch, fmt.Sprintf("Accuracy per modality under the %s policy, with 95%% Wilson intervals; dashed lines mark golden values and shaded bands their tolerance.", policy)); err != nil {
				return nil, err
			}
		}
		p, err := parseFailurePlot(in, names)
		if err := addPlot(p, err, "parse_failures", 3.2*vg.Inch, "Reliability of answer extraction: share of outputs from which no answer could be extracted per modality, with 95% Wilson intervals (strict policy when present)."); err != nil {
			return nil, err
		}
		if len(in.Runs) > 1 {
			p, err := checkpointPlot(in, names)
			if err := addPlot(p, err, "accuracy_across_runs", 3.4*vg.Inch, "Accuracy per modality across the given runs (checkpoints), in the order given."); err != nil {
				return nil, err
			}
		}
	}
	for i, c := range in.Comparisons {
		p, err := deltaPlot(c.Title, c.Rows, c.A, c.B)
		if err := addPlot(p, err, fmt.Sprintf("delta_%d", i+1), 3.2*vg.Inch, fmt.Sprintf("Paired accuracy difference %s − %s per modality with 95%% paired-bootstrap intervals. %s", c.B, c.A, c.Note)); err != nil {
			return nil, err
		}
	}
	if in.Train != nil {
		tf, err := trainPlots(in.Train, plotsDir)
		if err != nil {
			return nil, err
		}
		for _, f := range tf {
			addFig(f.Path, f.Caption)
			figs[len(figs)-1].Half = true
		}
	}
	if len(in.Bench) > 0 {
		bf, err := benchPlots(in.Bench, plotsDir)
		if err != nil {
			return nil, err
		}
		for _, f := range bf {
			addFig(f.Path, f.Caption)
			figs[len(figs)-1].Half = true
		}
	}

	gallery := chooseGallery(in)
	md := markdown(in, names, paper, tables, figs, gallery, outDir)
	out.Markdown = filepath.Join(outDir, "report.md")
	if err := os.WriteFile(out.Markdown, []byte(md), 0o644); err != nil {
		return nil, fmt.Errorf("reports: %w", err)
	}
	out.PDF = filepath.Join(outDir, "report.pdf")
	pages, err := writePDF(ctx, out.PDF, in, names, paper, tables, figs, gallery)
	if err != nil {
		return nil, err
	}
	out.Pages = pages
	return out, nil
}

func runNames(in Input) []string {
	names := make([]string, len(in.Runs))
	for i, r := range in.Runs {
		if i < len(in.RunNames) && in.RunNames[i] != "" {
			names[i] = in.RunNames[i]
		} else {
			names[i] = filepath.Base(filepath.Clean(r.Dir))
		}
	}
	return names
}

func safeName(s string) string {
	return strings.Map(func(r rune) rune {
		if r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '-' || r == '_' {
			return r
		}
		return '_'
	}, s)
}

func policies(runs []*records.Run) []string {
	seen := map[string]bool{}
	var ps []string
	for _, r := range runs {
		for _, c := range r.Summary.Cells {
			if !seen[c.Policy] {
				seen[c.Policy] = true
				ps = append(ps, c.Policy)
			}
		}
	}
	sort.Strings(ps)
	// strict (the seed's policy) first.
	sort.SliceStable(ps, func(i, j int) bool { return ps[i] == "strict" && ps[j] != "strict" })
	return ps
}

func modalities(runs []*records.Run) []string {
	seen := map[string]bool{}
	var ms []string
	for _, r := range runs {
		for _, c := range r.Summary.Cells {
			if !seen[c.Modality] {
				seen[c.Modality] = true
				ms = append(ms, c.Modality)
			}
		}
	}
	sortModalities(ms)
	return ms
}

func promptsOf(r *records.Run) []string {
	seen := map[string]bool{}
	var ps []string
	for _, c := range r.Summary.Cells {
		if !seen[c.Prompt] {
			seen[c.Prompt] = true
			ps = append(ps, c.Prompt)
		}
	}
	sort.Strings(ps)
	return ps
}

func findCell(r *records.Run, modality, prompt, policy string) (records.Cell, bool) {
	for _, c := range r.Summary.Cells {
		if c.Modality == modality && c.Prompt == prompt && c.Policy == policy {
			return c, true
		}
	}
	return records.Cell{}, false
}

// cellSeries builds one bar series per run × prompt over the modalities,
// with value and interval (NaN: none) taken from each cell by get.
func cellSeries(in Input, names []string, cats []string, policy string, get func(records.Cell) (v, lo, hi float64)) []barSeries {
	var series []barSeries
	for i, r := range in.Runs {
		for _, prompt := range promptsOf(r) {
			s := barSeries{Label: prompt}
			if len(in.Runs) > 1 {
				s.Label = names[i] + " · " + prompt
			}
			for _, m := range cats {
				v, lo, hi := math.NaN(), math.NaN(), math.NaN()
				if c, ok := findCell(r, m, prompt, policy); ok {
					v, lo, hi = get(c)
				}
				s.Values, s.Lo, s.Hi = append(s.Values, v), append(s.Lo, lo), append(s.Hi, hi)
			}
			series = append(series, s)
		}
	}
	return series
}

func accuracyPlot(in Input, names []string, policy string) (*chart, error) {
	cats := modalities(in.Runs)
	series := cellSeries(in, names, cats, policy, func(c records.Cell) (float64, float64, float64) {
		return 100 * c.Accuracy, 100 * c.WilsonLow, 100 * c.WilsonHigh
	})
	var marks []mark
	for _, g := range in.Golden {
		if g.Policy != "" && g.Policy != policy {
			continue
		}
		for ci, m := range cats {
			if m == g.Modality {
				marks = append(marks, mark{Category: ci, Value: 100 * g.Value, Low: 100 * math.Max(g.Low, 0), High: 100 * math.Min(g.High, 1)})
			}
		}
	}
	return groupedBars(fmt.Sprintf("Accuracy per modality (%s scoring)", policy), "modality", "accuracy (%)", cats, series, marks, 100)
}

// parseFailurePlot is the reliability diagram of answer extraction: per
// modality, the share of outputs with no extractable answer, with its 95 %
// Wilson interval, one dot per run × prompt.
func parseFailurePlot(in Input, names []string) (*chart, error) {
	cats := modalities(in.Runs)
	policy := policies(in.Runs)[0]
	series := cellSeries(in, names, cats, policy, func(c records.Cell) (float64, float64, float64) {
		lo, hi := metrics.Wilson(c.ParseFailures, c.N, 1.959963984540054)
		return 100 * c.ParseFailureRate, 100 * lo, 100 * hi
	})
	top := 0.0
	for _, s := range series {
		for i, v := range s.Values {
			if !math.IsNaN(v) {
				top = math.Max(top, s.Hi[i])
			}
		}
	}
	yMax := 100.0
	if top < 50 {
		yMax = math.Min(100, math.Ceil((top+5)/10)*10)
	}
	return dotIntervals(fmt.Sprintf("Answer extraction: parse failures (%s policy)", policy), "modality", "outputs without an answer (%)", cats, series, yMax)
}

func checkpointPlot(in Input, names []string) (*chart, error) {
	cats := modalities(in.Runs)
	policy := policies(in.Runs)[0]
	prompt := promptsOf(in.Runs[0])[0]
	var series []lineSeries
	for i, m := range cats {
		s := lineSeries{Label: m, Color: i}
		for i, r := range in.Runs {
			if c, ok := findCell(r, m, prompt, policy); ok {
				s.XYs = append(s.XYs, plotter.XY{X: float64(i), Y: 100 * c.Accuracy})
			}
		}
		series = append(series, s)
	}
	p, err := linePlot(fmt.Sprintf("Accuracy across runs (%s prompt, %s policy)", prompt, policy), "run", "accuracy (%)", series, nil, nil)
	if err != nil {
		return nil, err
	}
	p.NominalX(names...)
	p.X.Min, p.X.Max = -0.3, float64(len(names))-0.7 // room for the first and last label
	p.Y.Min, p.Y.Max = 0, 100
	return p, nil
}

func trainPlots(t *TrainLog, dir string) ([]figure, error) {
	var figs []figure
	for _, m := range TrainMetrics {
		var xys plotter.XYs
		var key string
		for _, k := range m.Keys {
			xys = xys[:0]
			for i, st := range t.Steps {
				v, ok := st[k]
				if !ok || math.IsNaN(v) || math.IsInf(v, 0) {
					continue
				}
				x := float64(i + 1)
				if s, ok := st["step"]; ok {
					x = s
				}
				xys = append(xys, plotter.XY{X: x, Y: v})
			}
			if len(xys) > 0 {
				key = k
				break
			}
		}
		if len(xys) == 0 {
			continue
		}
		var band *[2]float64
		if b, ok := t.Bands[key]; ok {
			band = &b
		}
		var marks []trainMark
		for _, k := range m.Keys {
			for _, gm := range t.Marks {
				if gm.Metric == k {
					marks = append(marks, trainMark{Step: gm.Step, Value: gm.Value, Low: gm.Low, High: gm.High})
				}
			}
		}
		// The raw per-step series faint, its EMA bold; single-series plots
		// carry no legend entry for the data (the caption names it).
		series := []lineSeries{{XYs: append(plotter.XYs(nil), xys...), Faint: true}, {XYs: ema(xys, EMAWeight)}}
		p, err := linePlot(m.Title, "optimizer step", m.Unit, series, band, marks)
		if err != nil {
			return nil, err
		}
		if strings.HasPrefix(m.Unit, "accuracy") && fractions(xys) {
			p.Y.Min, p.Y.Max = 0, 1 // accuracy axes span the whole scale
		}
		path, err := savePlot(p, dir, "train_"+safeName(key), 5*vg.Inch, 2.8*vg.Inch)
		if err != nil {
			return nil, err
		}
		figs = append(figs, figure{Path: path, Caption: fmt.Sprintf("Training: %s (%s) per optimizer step; faint: raw values, bold: exponential moving average (weight %.2g, bias-corrected)%s%s.",
			m.Title, key, EMAWeight, bandNote(band), markNote(marks))})
	}
	return figs, nil
}

// fractions reports whether every value lies in [0, 1].
func fractions(xys plotter.XYs) bool {
	for _, xy := range xys {
		if xy.Y < 0 || xy.Y > 1 {
			return false
		}
	}
	return true
}

// EMAWeight is the smoothing weight of training curves (TensorBoard's slider value).
const EMAWeight = 0.9

func markNote(ms []trainMark) string {
	if len(ms) == 0 {
		return ""
	}
	var parts []string
	for _, m := range ms {
		parts = append(parts, fmt.Sprintf("%.4g at step %g (accepted [%.4g, %.4g])", m.Value, m.Step, m.Low, m.High))
	}
	return "; triangle: golden value " + strings.Join(parts, ", ")
}

func bandNote(b *[2]float64) string {
	if b == nil {
		return ""
	}
	return fmt.Sprintf("; shaded: golden band [%.4g, %.4g]", b[0], b[1])
}

func benchPlots(rows []BenchRow, dir string) ([]figure, error) {
	cats := make([]string, len(rows))
	sps := barSeries{Label: "samples/s"}
	tps := barSeries{Label: "generated tokens/s"}
	for i, r := range rows {
		cats[i] = r.Name
		sps.Values = append(sps.Values, r.SamplesPerSec)
		tps.Values = append(tps.Values, r.TokensPerSec)
	}
	var figs []figure
	for _, x := range []struct {
		s    barSeries
		base string
		unit string
	}{{sps, "bench_samples", "samples per second"}, {tps, "bench_tokens", "generated tokens per second"}} {
		p, err := groupedBars("Throughput: "+x.s.Label, "configuration", x.unit, cats, []barSeries{x.s}, nil, 0)
		if err != nil {
			return nil, err
		}
		path, err := savePlot(p, dir, x.base, 7*vg.Inch, 3.2*vg.Inch)
		if err != nil {
			return nil, err
		}
		figs = append(figs, figure{Path: path, Caption: "Measured " + x.unit + " per configuration (median of repeated runs)."})
	}
	return figs, nil
}

// galleryItem is one sample shown in the gallery.
type galleryItem struct {
	Run        string
	Sample     records.ScoredSample
	Policy     string
	Discordant *Discordant
}

// chooseGallery picks, per modality, GalleryPerModality samples of the first
// run deterministically (ordered by a hash of the sample key), and, for each
// comparison, its discordant samples first.
func chooseGallery(in Input) []galleryItem {
	n := in.GalleryPerModality
	if n == 0 {
		n = 3
	}
	if n < 0 || len(in.Runs) == 0 {
		return nil
	}
	var items []galleryItem
	names := runNames(in)
	policy := policies(in.Runs)[0]
	for ci, c := range in.Comparisons {
		perMod := map[string]int{}
		ds := append([]Discordant(nil), c.Discordant...)
		sort.SliceStable(ds, func(i, j int) bool {
			return hashKey(ds[i].Modality+"/"+ds[i].ID) < hashKey(ds[j].Modality+"/"+ds[j].ID)
		})
		for i := range ds {
			d := ds[i]
			if perMod[d.Modality] >= n {
				continue
			}
			perMod[d.Modality]++
			items = append(items, galleryItem{Run: fmt.Sprintf("comparison %d", ci+1), Discordant: &d})
		}
	}
	r := in.Runs[0]
	byMod := map[string][]records.ScoredSample{}
	for _, s := range r.Samples {
		byMod[s.Modality] = append(byMod[s.Modality], s)
	}
	ms := make([]string, 0, len(byMod))
	for m := range byMod {
		ms = append(ms, m)
	}
	sortModalities(ms)
	for _, m := range ms {
		ss := byMod[m]
		sort.SliceStable(ss, func(i, j int) bool { return hashKey(ss[i].Key()) < hashKey(ss[j].Key()) })
		for i := 0; i < n && i < len(ss); i++ {
			items = append(items, galleryItem{Run: names[0], Sample: ss[i], Policy: policy})
		}
	}
	return items
}

func hashKey(s string) uint64 {
	h := fnv.New64a()
	h.Write([]byte(s))
	return h.Sum64()
}
