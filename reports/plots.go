package reports

import (
	"fmt"
	"image/color"
	"math"
	"path/filepath"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"
)

// Palette is the Okabe–Ito colour-blind-safe palette (Okabe & Ito, 2008).
var Palette = []color.RGBA{
	{0x00, 0x72, 0xB2, 0xff}, // blue
	{0xE6, 0x9F, 0x00, 0xff}, // orange
	{0x00, 0x9E, 0x73, 0xff}, // bluish green
	{0xCC, 0x79, 0xA7, 0xff}, // reddish purple
	{0x56, 0xB4, 0xE9, 0xff}, // sky blue
	{0xD5, 0x5E, 0x00, 0xff}, // vermillion
	{0xF0, 0xE4, 0x42, 0xff}, // yellow
	{0x00, 0x00, 0x00, 0xff}, // black
}

func colorAt(i int) color.RGBA { return Palette[i%len(Palette)] }

func withAlpha(c color.RGBA, a uint8) color.NRGBA {
	return color.NRGBA{R: c.R, G: c.G, B: c.B, A: a}
}

// barSeries is one series of a grouped bar chart: one value per category,
// with an optional interval per value (NaN: none).
type barSeries struct {
	Label  string
	Values []float64
	Lo, Hi []float64
}

// mark is a horizontal reference drawn over one category's group of bars.
type mark struct {
	Category  int
	Value     float64
	Low, High float64
}

// groupedBars draws categories on X with one bar per series in each group,
// interval whiskers, and reference marks with shaded tolerance bands.
func groupedBars(title, xLabel, yLabel string, cats []string, series []barSeries, marks []mark, yMax float64) (*plot.Plot, error) {
	p := plot.New()
	p.Title.Text = title
	p.X.Label.Text = xLabel
	p.Y.Label.Text = yLabel
	p.Legend.Top = true
	p.Legend.Left = false
	p.Add(plotter.NewGrid())
	const groupWidth = 0.8
	n := len(series)
	if n == 0 {
		n = 1
	}
	bw := groupWidth / float64(n)
	for si, s := range series {
		col := colorAt(si)
		var errXY plotter.XYs
		var errs plotter.YErrors
		var legendThumb plot.Thumbnailer
		for ci := range cats {
			if ci >= len(s.Values) || math.IsNaN(s.Values[ci]) {
				continue
			}
			x0 := float64(ci) - groupWidth/2 + float64(si)*bw
			v := s.Values[ci]
			poly, err := plotter.NewPolygon(plotter.XYs{{X: x0 + bw*0.08, Y: 0}, {X: x0 + bw*0.92, Y: 0}, {X: x0 + bw*0.92, Y: v}, {X: x0 + bw*0.08, Y: v}})
			if err != nil {
				return nil, fmt.Errorf("reports: %s: %w", title, err)
			}
			poly.Color = col
			poly.LineStyle.Width = 0
			p.Add(poly)
			legendThumb = poly
			if ci < len(s.Lo) && ci < len(s.Hi) && !math.IsNaN(s.Lo[ci]) && !math.IsNaN(s.Hi[ci]) {
				errXY = append(errXY, plotter.XY{X: x0 + bw/2, Y: v})
				errs = append(errs, struct{ Low, High float64 }{Low: v - s.Lo[ci], High: s.Hi[ci] - v})
			}
		}
		if len(errXY) > 0 {
			eb, err := plotter.NewYErrorBars(errorPoints{errXY, errs})
			if err != nil {
				return nil, fmt.Errorf("reports: %s: %w", title, err)
			}
			eb.LineStyle.Width = vg.Points(1)
			eb.CapWidth = vg.Points(4)
			p.Add(eb)
		}
		if legendThumb != nil {
			p.Legend.Add(s.Label, legendThumb)
		}
	}
	addedMarkLegend := false
	for _, m := range marks {
		x0, x1 := float64(m.Category)-groupWidth/2-0.04, float64(m.Category)+groupWidth/2+0.04
		if m.High > m.Low {
			band, err := plotter.NewPolygon(plotter.XYs{{X: x0, Y: m.Low}, {X: x1, Y: m.Low}, {X: x1, Y: m.High}, {X: x0, Y: m.High}})
			if err != nil {
				return nil, fmt.Errorf("reports: %s: %w", title, err)
			}
			band.Color = withAlpha(Palette[7], 40)
			band.LineStyle.Width = 0
			p.Add(band)
		}
		l, err := plotter.NewLine(plotter.XYs{{X: x0, Y: m.Value}, {X: x1, Y: m.Value}})
		if err != nil {
			return nil, fmt.Errorf("reports: %s: %w", title, err)
		}
		l.Color = Palette[7]
		l.Width = vg.Points(2)
		l.Dashes = []vg.Length{vg.Points(5), vg.Points(3)}
		p.Add(l)
		if !addedMarkLegend {
			p.Legend.Add("golden (band: tolerance)", l)
			addedMarkLegend = true
		}
	}
	p.NominalX(cats...)
	p.X.Min, p.X.Max = -0.6, float64(len(cats))-0.4
	p.Y.Min = 0
	if yMax > 0 {
		p.Y.Max = yMax
	}
	return p, nil
}

type errorPoints struct {
	plotter.XYs
	plotter.YErrors
}

// linePlot draws one line per series over X values, with optional bands.
type lineSeries struct {
	Label string
	XYs   plotter.XYs
}

func linePlot(title, xLabel, yLabel string, series []lineSeries, band *[2]float64) (*plot.Plot, error) {
	p := plot.New()
	p.Title.Text = title
	p.X.Label.Text = xLabel
	p.Y.Label.Text = yLabel
	p.Add(plotter.NewGrid())
	var xmin, xmax = math.Inf(1), math.Inf(-1)
	for _, s := range series {
		for _, xy := range s.XYs {
			xmin, xmax = math.Min(xmin, xy.X), math.Max(xmax, xy.X)
		}
	}
	if band != nil && !math.IsInf(xmin, 0) {
		poly, err := plotter.NewPolygon(plotter.XYs{{X: xmin, Y: band[0]}, {X: xmax, Y: band[0]}, {X: xmax, Y: band[1]}, {X: xmin, Y: band[1]}})
		if err != nil {
			return nil, fmt.Errorf("reports: %s: %w", title, err)
		}
		poly.Color = withAlpha(Palette[2], 50)
		poly.LineStyle.Width = 0
		p.Add(poly)
		p.Legend.Add("golden band", poly)
	}
	for i, s := range series {
		if len(s.XYs) == 0 {
			continue
		}
		l, pts, err := plotter.NewLinePoints(s.XYs)
		if err != nil {
			return nil, fmt.Errorf("reports: %s: %w", title, err)
		}
		l.Color = colorAt(i)
		l.Width = vg.Points(1.5)
		pts.Color = colorAt(i)
		pts.Shape = draw.CircleGlyph{}
		pts.Radius = vg.Points(1.5)
		if len(s.XYs) > 60 {
			pts.Radius = 0
		}
		p.Add(l, pts)
		if s.Label != "" {
			p.Legend.Add(s.Label, l)
		}
	}
	p.Legend.Top = true
	return p, nil
}

// deltaPlot draws paired differences with intervals per modality around 0.
func deltaPlot(title string, rows []DeltaRow, aLabel, bLabel string) (*plot.Plot, error) {
	p := plot.New()
	p.Title.Text = title
	p.X.Label.Text = "modality"
	p.Y.Label.Text = fmt.Sprintf("accuracy %s − %s (points)", bLabel, aLabel)
	p.Add(plotter.NewGrid())
	var xys plotter.XYs
	var errs plotter.YErrors
	cats := make([]string, len(rows))
	for i, r := range rows {
		cats[i] = r.Modality
		xys = append(xys, plotter.XY{X: float64(i), Y: 100 * r.Delta})
		errs = append(errs, struct{ Low, High float64 }{Low: 100 * (r.Delta - r.Lo), High: 100 * (r.Hi - r.Delta)})
	}
	zero, err := plotter.NewLine(plotter.XYs{{X: -0.5, Y: 0}, {X: float64(len(rows)) - 0.5, Y: 0}})
	if err != nil {
		return nil, fmt.Errorf("reports: %s: %w", title, err)
	}
	zero.Color = Palette[7]
	zero.Dashes = []vg.Length{vg.Points(3), vg.Points(3)}
	p.Add(zero)
	if len(xys) > 0 {
		sc, err := plotter.NewScatter(xys)
		if err != nil {
			return nil, fmt.Errorf("reports: %s: %w", title, err)
		}
		sc.Color = Palette[0]
		sc.Shape = draw.CircleGlyph{}
		sc.Radius = vg.Points(4)
		eb, err := plotter.NewYErrorBars(errorPoints{xys, errs})
		if err != nil {
			return nil, fmt.Errorf("reports: %s: %w", title, err)
		}
		eb.Color = Palette[0]
		eb.LineStyle.Width = vg.Points(1.5)
		eb.CapWidth = vg.Points(6)
		p.Add(eb, sc)
		p.Legend.Add("Δ with 95% paired-bootstrap interval", sc)
		p.Legend.Top = true
	}
	p.NominalX(cats...)
	p.X.Min, p.X.Max = -0.6, float64(len(rows))-0.4
	return p, nil
}

// savePlot writes base.png and base.svg and returns the PNG path.
func savePlot(p *plot.Plot, dir, base string, w, h vg.Length) (string, error) {
	png := filepath.Join(dir, base+".png")
	if err := p.Save(w, h, png); err != nil {
		return "", fmt.Errorf("reports: save %s: %w", png, err)
	}
	svg := filepath.Join(dir, base+".svg")
	if err := p.Save(w, h, svg); err != nil {
		return "", fmt.Errorf("reports: save %s: %w", svg, err)
	}
	return png, nil
}
