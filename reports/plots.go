package reports

import (
	"fmt"
	"image/color"
	"io"
	"math"
	"os"
	"path/filepath"

	xfont "golang.org/x/image/font"
	"gonum.org/v1/plot"
	"gonum.org/v1/plot/font"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"
	"gonum.org/v1/plot/vg/vgimg"
	"gonum.org/v1/plot/vg/vgsvg"
)

// Palette holds the Okabe–Ito colour-blind-safe colours (Okabe & Ito, 2008)
// in the order series use them. The order is chosen for greyscale printing:
// the first five differ in luma (ITU-R BT.601) by at least 30 of 255 from
// each other (87, 162, 0, 213, 119), so they stay apart on a grey page.
var Palette = []color.RGBA{
	{0x00, 0x72, 0xB2, 0xff}, // blue
	{0xE6, 0x9F, 0x00, 0xff}, // orange
	{0x00, 0x00, 0x00, 0xff}, // black
	{0xF0, 0xE4, 0x42, 0xff}, // yellow
	{0xD5, 0x5E, 0x00, 0xff}, // vermillion
	{0x56, 0xB4, 0xE9, 0xff}, // sky blue
	{0x00, 0x9E, 0x73, 0xff}, // bluish green
	{0xCC, 0x79, 0xA7, 0xff}, // reddish purple
}

// markColor draws golden values and reference lines (dashed, so that they
// differ from black bars by shape, not only by colour).
var markColor = color.RGBA{0x33, 0x33, 0x33, 0xff}

// glyphs distinguish line series without colour.
var glyphs = []draw.GlyphDrawer{draw.CircleGlyph{}, draw.SquareGlyph{}, draw.TriangleGlyph{}, draw.CrossGlyph{},
	draw.PlusGlyph{}, draw.RingGlyph{}, draw.BoxGlyph{}, draw.PyramidGlyph{}}

func colorAt(i int) color.RGBA { return Palette[i%len(Palette)] }

func withAlpha(c color.RGBA, a uint8) color.NRGBA {
	return color.NRGBA{R: c.R, G: c.G, B: c.B, A: a}
}

// luma is the BT.601 grey level of c (0–255).
func luma(c color.RGBA) float64 { return 0.299*float64(c.R) + 0.587*float64(c.G) + 0.114*float64(c.B) }

// chart is a plot whose legend is drawn in a strip below the plot, outside
// the data area, and which remembers its data points (canvas geometry tests
// check that no legend box covers one).
type chart struct {
	*plot.Plot
	points []plotter.XY
}

func newChart(title, xLabel, yLabel string) *chart {
	p := plot.New()
	p.Title.Text = title
	p.X.Label.Text = xLabel
	p.Y.Label.Text = yLabel
	p.Legend.Top, p.Legend.Left = true, true
	sans(p)
	p.Add(plotter.NewGrid())
	return &chart{Plot: p}
}

// sans sets every text of p to Liberation Sans, the family of the PDF's
// body text and captions (gonum's default is the serif variant).
func sans(p *plot.Plot) {
	for _, f := range []*font.Font{&p.Title.TextStyle.Font, &p.X.Label.TextStyle.Font, &p.Y.Label.TextStyle.Font,
		&p.X.Tick.Label.Font, &p.Y.Tick.Label.Font, &p.Legend.TextStyle.Font} {
		f.Typeface, f.Variant = "Liberation", "Sans"
	}
	p.Title.TextStyle.Font.Weight = xfont.WeightBold
}

func (c *chart) mark(xys ...plotter.XY) { c.points = append(c.points, xys...) }

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
func groupedBars(title, xLabel, yLabel string, cats []string, series []barSeries, marks []mark, yMax float64) (*chart, error) {
	c := newChart(title, xLabel, yLabel)
	const groupWidth = 0.8
	n := max(len(series), 1)
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
			poly.LineStyle.Width = vg.Points(0.4) // outline: pale bars stay visible in greyscale
			poly.LineStyle.Color = markColor
			c.Add(poly)
			c.mark(plotter.XY{X: x0 + bw*0.08, Y: v}, plotter.XY{X: x0 + bw*0.92, Y: v})
			legendThumb = poly
			if ci < len(s.Lo) && ci < len(s.Hi) && !math.IsNaN(s.Lo[ci]) && !math.IsNaN(s.Hi[ci]) {
				errXY = append(errXY, plotter.XY{X: x0 + bw/2, Y: v})
				errs = append(errs, struct{ Low, High float64 }{Low: v - s.Lo[ci], High: s.Hi[ci] - v})
				c.mark(plotter.XY{X: x0 + bw/2, Y: s.Hi[ci]})
			}
		}
		if len(errXY) > 0 {
			eb, err := plotter.NewYErrorBars(errorPoints{errXY, errs})
			if err != nil {
				return nil, fmt.Errorf("reports: %s: %w", title, err)
			}
			eb.LineStyle.Width = vg.Points(1)
			eb.CapWidth = vg.Points(4)
			c.Add(eb)
		}
		if legendThumb != nil {
			c.Legend.Add(s.Label, legendThumb)
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
			band.Color = withAlpha(markColor, 40)
			band.LineStyle.Width = 0
			c.Add(band)
		}
		l, err := plotter.NewLine(plotter.XYs{{X: x0, Y: m.Value}, {X: x1, Y: m.Value}})
		if err != nil {
			return nil, fmt.Errorf("reports: %s: %w", title, err)
		}
		l.Color = markColor
		l.Width = vg.Points(2)
		l.Dashes = []vg.Length{vg.Points(5), vg.Points(3)}
		c.Add(l)
		c.mark(plotter.XY{X: x0, Y: m.Value}, plotter.XY{X: x1, Y: m.Value})
		if !addedMarkLegend {
			c.Legend.Add("golden (band: tolerance)", l)
			addedMarkLegend = true
		}
	}
	c.categoryAxes(cats, yMax)
	return c, nil
}

// categoryAxes names the X axis's categories, each a unit wide, and starts
// the Y axis at 0, up to yMax when it is positive (else as the data need).
func (c *chart) categoryAxes(cats []string, yMax float64) {
	c.NominalX(cats...)
	c.X.Min, c.X.Max = -0.6, float64(len(cats))-0.4
	c.Y.Min = 0
	if yMax > 0 {
		c.Y.Max = yMax
	}
}

type errorPoints struct {
	plotter.XYs
	plotter.YErrors
}

// lineSeries is one line over X values. Faint draws it thin and translucent
// (the raw series under a smoothed one) without markers or legend entry.
type lineSeries struct {
	Label string
	XYs   plotter.XYs
	Color int // palette index
	Faint bool
}

// trainMark is a golden value at an optimizer step (with its tolerance band).
type trainMark struct {
	Step, Value, Low, High float64
}

func linePlot(title, xLabel, yLabel string, series []lineSeries, band *[2]float64, marks []trainMark) (*chart, error) {
	c := newChart(title, xLabel, yLabel)
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
		poly.Color = withAlpha(markColor, 40)
		poly.LineStyle.Width = 0
		c.Add(poly)
		c.Legend.Add("golden band", poly)
	}
	for _, m := range marks {
		eb, err := plotter.NewYErrorBars(errorPoints{plotter.XYs{{X: m.Step, Y: m.Value}}, plotter.YErrors{{Low: m.Value - m.Low, High: m.High - m.Value}}})
		if err != nil {
			return nil, fmt.Errorf("reports: %s: %w", title, err)
		}
		eb.Color = markColor
		eb.LineStyle.Width = vg.Points(1.5)
		eb.CapWidth = vg.Points(8)
		sc, err := plotter.NewScatter(plotter.XYs{{X: m.Step, Y: m.Value}})
		if err != nil {
			return nil, fmt.Errorf("reports: %s: %w", title, err)
		}
		sc.Shape = draw.PyramidGlyph{}
		sc.Color = markColor
		sc.Radius = vg.Points(4)
		c.Add(eb, sc)
		c.mark(plotter.XY{X: m.Step, Y: m.Low}, plotter.XY{X: m.Step, Y: m.High})
	}
	if len(marks) > 0 {
		c.Legend.Add("golden value (bar: tolerance)", c.lastScatter())
	}
	for i, s := range series {
		if len(s.XYs) == 0 {
			continue
		}
		col := colorAt(s.Color)
		l, err := plotter.NewLine(s.XYs)
		if err != nil {
			return nil, fmt.Errorf("reports: %s: %w", title, err)
		}
		c.mark(s.XYs...)
		if s.Faint {
			l.Color = withAlpha(col, 70)
			l.Width = vg.Points(0.8)
			c.Add(l)
			continue
		}
		l.Color = col
		l.Width = vg.Points(1.6)
		c.Add(l)
		var thumb plot.Thumbnailer = l
		if s.Label != "" && len(s.XYs) <= 60 { // markers tell labelled series apart without colour
			pts, err := plotter.NewScatter(s.XYs)
			if err != nil {
				return nil, fmt.Errorf("reports: %s: %w", title, err)
			}
			pts.Color = col
			pts.Shape = glyphs[i%len(glyphs)]
			pts.Radius = vg.Points(3)
			c.Add(pts)
			thumb = lineGlyph{l, pts}
		}
		if s.Label != "" {
			c.Legend.Add(s.Label, thumb)
		}
	}
	return c, nil
}

// lastScatter returns a thumbnail of the golden marker for the legend.
func (c *chart) lastScatter() plot.Thumbnailer {
	sc, _ := plotter.NewScatter(plotter.XYs{{}})
	sc.Shape = draw.PyramidGlyph{}
	sc.Color = markColor
	sc.Radius = vg.Points(4)
	return sc
}

// lineGlyph draws a line with its marker in the legend.
type lineGlyph struct {
	l *plotter.Line
	s *plotter.Scatter
}

func (g lineGlyph) Thumbnail(c *draw.Canvas) { g.l.Thumbnail(c); g.s.Thumbnail(c) }

// ema is the exponential moving average TensorBoard's smoothing slider
// draws: s_t = w·s_{t−1} + (1−w)·x_t from s_0 = 0, divided by 1 − w^t so the
// start is not pulled towards zero.
func ema(xys plotter.XYs, w float64) plotter.XYs {
	out := make(plotter.XYs, len(xys))
	s, debias := 0.0, 1.0
	for i, xy := range xys {
		s = w*s + (1-w)*xy.Y
		debias *= w
		out[i] = plotter.XY{X: xy.X, Y: s / (1 - debias)}
	}
	return out
}

// deltaPlot draws paired differences with intervals per modality around 0.
func deltaPlot(title string, rows []DeltaRow, aLabel, bLabel string) (*chart, error) {
	c := newChart(title, "modality", fmt.Sprintf("accuracy %s − %s (points)", bLabel, aLabel))
	var xys plotter.XYs
	var errs plotter.YErrors
	cats := make([]string, len(rows))
	for i, r := range rows {
		cats[i] = r.Modality
		xys = append(xys, plotter.XY{X: float64(i), Y: 100 * r.Delta})
		errs = append(errs, struct{ Low, High float64 }{Low: 100 * (r.Delta - r.Lo), High: 100 * (r.Hi - r.Delta)})
		c.mark(plotter.XY{X: float64(i), Y: 100 * r.Lo}, plotter.XY{X: float64(i), Y: 100 * r.Delta}, plotter.XY{X: float64(i), Y: 100 * r.Hi})
	}
	zero, err := plotter.NewLine(plotter.XYs{{X: -0.5, Y: 0}, {X: float64(len(rows)) - 0.5, Y: 0}})
	if err != nil {
		return nil, fmt.Errorf("reports: %s: %w", title, err)
	}
	zero.Color = markColor
	zero.Dashes = []vg.Length{vg.Points(3), vg.Points(3)}
	c.Add(zero)
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
		c.Add(eb, sc)
		c.Legend.Add("Δ with 95% paired-bootstrap interval", sc)
	}
	c.NominalX(cats...)
	c.X.Min, c.X.Max = -0.6, float64(len(rows))-0.4
	return c, nil
}

// dotIntervals draws, per category, one dot per series with its interval,
// offset within the category so that intervals do not overlap.
func dotIntervals(title, xLabel, yLabel string, cats []string, series []barSeries, yMax float64) (*chart, error) {
	c := newChart(title, xLabel, yLabel)
	n := max(len(series), 1)
	for si, s := range series {
		var xys plotter.XYs
		var errs plotter.YErrors
		for ci := range cats {
			if ci >= len(s.Values) || math.IsNaN(s.Values[ci]) {
				continue
			}
			x := float64(ci) + (float64(si)+0.5)/float64(n)*0.7 - 0.35
			v := s.Values[ci]
			xys = append(xys, plotter.XY{X: x, Y: v})
			errs = append(errs, struct{ Low, High float64 }{Low: v - s.Lo[ci], High: s.Hi[ci] - v})
			c.mark(plotter.XY{X: x, Y: s.Lo[ci]}, plotter.XY{X: x, Y: v}, plotter.XY{X: x, Y: s.Hi[ci]})
		}
		if len(xys) == 0 {
			continue
		}
		sc, err := plotter.NewScatter(xys)
		if err != nil {
			return nil, fmt.Errorf("reports: %s: %w", title, err)
		}
		sc.Color = colorAt(si)
		sc.Shape = glyphs[si%len(glyphs)]
		sc.Radius = vg.Points(3.5)
		eb, err := plotter.NewYErrorBars(errorPoints{xys, errs})
		if err != nil {
			return nil, fmt.Errorf("reports: %s: %w", title, err)
		}
		eb.Color = colorAt(si)
		eb.LineStyle.Width = vg.Points(1.2)
		eb.CapWidth = vg.Points(4)
		c.Add(eb, sc)
		c.Legend.Add(s.Label, sc)
	}
	c.categoryAxes(cats, yMax)
	return c, nil
}

// legendEntryHeight is the height of one legend line.
func legendEntryHeight(p *plot.Plot) vg.Length {
	return p.Legend.TextStyle.Rectangle("Xg").Size().Y + p.Legend.Padding
}

// layout is where a chart's parts land on a w×h canvas: the plot's data
// area and the legend box (zero when the chart has no legend), in canvas
// coordinates, and every remembered data point.
type layout struct {
	Data, Legend vg.Rectangle
	Points       []vg.Point
}

// arrange splits the canvas: the plot on top, its legend in a strip below
// (outside the data area by construction). It returns the plot's canvas,
// the legend's canvas and the strip height.
func (c *chart) arrange(dc draw.Canvas) (plotArea, legendArea draw.Canvas, strip vg.Length) {
	if n := legendEntries(c.Plot); n > 0 {
		strip = vg.Length(n)*legendEntryHeight(c.Plot) + vg.Points(10)
	}
	plotArea = draw.Crop(dc, 0, 0, strip, 0)
	legendArea = draw.Crop(dc, vg.Points(40), 0, vg.Points(4), -(dc.Max.Y - dc.Min.Y - strip))
	return plotArea, legendArea, strip
}

// legendEntries counts legend entries (gonum keeps them unexported).
func legendEntries(p *plot.Plot) int {
	r := p.Legend.Rectangle(draw.Canvas{Rectangle: vg.Rectangle{Max: vg.Point{X: 1000, Y: 1000}}})
	if r.Size().Y <= 0 {
		return 0
	}
	return int(math.Round(float64(r.Size().Y / p.Legend.TextStyle.Rectangle("Xg").Size().Y)))
}

// draw renders the chart onto dc and returns where its parts landed.
func (c *chart) draw(dc draw.Canvas) layout {
	plotArea, legendArea, strip := c.arrange(dc)
	leg := c.Legend
	c.Legend = plot.NewLegend() // drawn separately below
	c.Legend.TextStyle = leg.TextStyle
	c.Plot.Draw(plotArea)
	c.Legend = leg
	var lay layout
	data := c.DataCanvas(plotArea)
	lay.Data = data.Rectangle
	tx, ty := c.Transforms(&data)
	for _, p := range c.points {
		lay.Points = append(lay.Points, vg.Point{X: tx(p.X), Y: ty(p.Y)})
	}
	if strip > 0 {
		leg.Draw(legendArea)
		lay.Legend = leg.Rectangle(legendArea)
	}
	return lay
}

// overlaps reports whether any data point lies inside the legend box, or
// the legend box intersects the data area.
func (l layout) overlaps() bool {
	if l.Legend.Size().X <= 0 {
		return false
	}
	for _, p := range l.Points {
		if p.X >= l.Legend.Min.X && p.X <= l.Legend.Max.X && p.Y >= l.Legend.Min.Y && p.Y <= l.Legend.Max.Y {
			return true
		}
	}
	return l.Legend.Min.X < l.Data.Max.X && l.Legend.Max.X > l.Data.Min.X && l.Legend.Min.Y < l.Data.Max.Y && l.Legend.Max.Y > l.Data.Min.Y
}

// height is the canvas height a chart needs for a plot of height h plus its
// legend strip.
func (c *chart) height(h vg.Length) vg.Length {
	if n := legendEntries(c.Plot); n > 0 {
		return h + vg.Length(n)*legendEntryHeight(c.Plot) + vg.Points(10)
	}
	return h
}

// savePlot writes base.png and base.svg and returns the PNG path.
func savePlot(c *chart, dir, base string, w, h vg.Length) (string, error) {
	h = c.height(h)
	png := filepath.Join(dir, base+".png")
	img := vgimg.NewWith(vgimg.UseWH(w, h), vgimg.UseDPI(vgimg.DefaultDPI), vgimg.UseBackgroundColor(color.White))
	c.draw(draw.New(img))
	if err := writeTo(png, vgimg.PngCanvas{Canvas: img}); err != nil {
		return "", err
	}
	svgPath := filepath.Join(dir, base+".svg")
	sv := vgsvg.New(w, h)
	dc := draw.New(sv)
	dc.SetColor(color.White)
	dc.Fill(dc.Rectangle.Path())
	c.draw(dc)
	if err := writeTo(svgPath, sv); err != nil {
		return "", err
	}
	return png, nil
}

func writeTo(path string, w io.WriterTo) error {
	f, err := os.Create(path)
	if err != nil {
		return fmt.Errorf("reports: save %s: %w", path, err)
	}
	if _, err := w.WriteTo(f); err != nil {
		f.Close()
		return fmt.Errorf("reports: save %s: %w", path, err)
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("reports: save %s: %w", path, err)
	}
	return nil
}
