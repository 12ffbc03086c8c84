package reports

import (
	"bytes"
	"context"
	"fmt"
	"image"
	_ "image/gif" // gallery thumbnails
	_ "image/jpeg"
	"image/png"
	"os"
	"path/filepath"
	"strings"
	"time"
	"unicode"

	"codeberg.org/go-fonts/liberation/liberationmonoregular"
	"codeberg.org/go-fonts/liberation/liberationsansbold"
	"codeberg.org/go-fonts/liberation/liberationsansregular"
	"codeberg.org/go-pdf/fpdf"
	_ "golang.org/x/image/bmp"
	xdraw "golang.org/x/image/draw"
	_ "golang.org/x/image/tiff"
	_ "golang.org/x/image/webp"

	"github.com/medbench/medbench/records"
)

// Page geometry (A4 portrait, millimetres).
const (
	pageW, pageH = 210.0, 297.0
	margin       = 15.0
	contentW     = pageW - 2*margin
	maxOutput    = 900 // runes of model output shown per gallery item
)

type pdfDoc struct {
	*fpdf.Fpdf
	imgN int
}

func newPDF(version string) *pdfDoc {
	f := fpdf.New("P", "mm", "A4", "")
	f.SetMargins(margin, margin, margin)
	f.SetAutoPageBreak(true, margin+5)
	// Liberation fonts are embedded (subset) so the PDF renders anywhere.
	f.AddUTF8FontFromBytes("sans", "", liberationsansregular.TTF)
	f.AddUTF8FontFromBytes("sans", "B", liberationsansbold.TTF)
	f.AddUTF8FontFromBytes("mono", "", liberationmonoregular.TTF)
	f.AliasNbPages("{nb}")
	f.SetFooterFunc(func() {
		f.SetY(-12)
		f.SetFont("sans", "", 8)
		f.SetTextColor(110, 110, 110)
		f.CellFormat(0, 5, fmt.Sprintf("medbench %s · page %d of {nb}", version, f.PageNo()), "", 0, "C", false, 0, "")
		f.SetTextColor(0, 0, 0)
	})
	f.SetCreator("medbench "+version, true)
	// Reproducible bytes: fixed dates and sorted catalog (fpdf iterates maps otherwise).
	f.SetCreationDate(time.Unix(0, 0).UTC())
	f.SetModificationDate(time.Unix(0, 0).UTC())
	f.SetCatalogSort(true)
	return &pdfDoc{Fpdf: f}
}

// clean makes text safe for the PDF: tabs become spaces, other control
// characters are dropped, invalid UTF-8 was already replaced upstream.
func clean(s string) string {
	s = strings.ReplaceAll(s, "\t", "    ")
	s = strings.ReplaceAll(s, "\r\n", "\n")
	return strings.Map(func(r rune) rune {
		if r == '\n' {
			return r
		}
		if unicode.IsControl(r) || r == '\uFFFE' || r == '\uFEFF' {
			return -1
		}
		return r
	}, s)
}

func (d *pdfDoc) heading(text string, size float64) {
	d.SetFont("sans", "B", size)
	d.MultiCell(contentW, size*0.5, clean(text), "", "L", false)
	d.Ln(2)
}

func (d *pdfDoc) para(text string, size float64) {
	d.SetFont("sans", "", size)
	d.MultiCell(contentW, size*0.45, clean(text), "", "L", false)
	d.Ln(1)
}

// fit truncates s with an ellipsis so that it fits width w in the current font.
func (d *pdfDoc) fit(s string, w float64) string {
	s = strings.ReplaceAll(clean(s), "\n", " ")
	if d.GetStringWidth(s) <= w {
		return s
	}
	r := []rune(s)
	lo, hi := 0, len(r)
	for lo < hi {
		mid := (lo + hi + 1) / 2
		if d.GetStringWidth(string(r[:mid])+"…") <= w {
			lo = mid
		} else {
			hi = mid - 1
		}
	}
	return string(r[:lo]) + "…"
}

// table draws t with column widths proportional to content, shrinking the
// font until it fits the page width; cells that still overflow are truncated.
func (d *pdfDoc) table(t tableData, statusCol int) {
	d.heading(t.Title, 12)
	size := 8.0
	var widths []float64
	for ; size >= 5; size -= 0.5 {
		d.SetFont("sans", "", size)
		widths = make([]float64, len(t.Header))
		for i, h := range t.Header {
			widths[i] = d.GetStringWidth(h) + 3
		}
		for _, r := range t.Rows {
			for i, c := range r {
				if i < len(widths) {
					if w := d.GetStringWidth(clean(c)) + 3; w > widths[i] {
						widths[i] = w
					}
				}
			}
		}
		total := 0.0
		for _, w := range widths {
			total += w
		}
		if total <= contentW {
			break
		}
		if size <= 5 {
			for i := range widths {
				widths[i] *= contentW / total
			}
		}
	}
	rowH := size * 0.55
	header := func() {
		d.SetFont("sans", "B", size)
		d.SetFillColor(230, 236, 245)
		for i, h := range t.Header {
			d.CellFormat(widths[i], rowH, d.fit(h, widths[i]-1), "1", 0, "C", true, 0, "")
		}
		d.Ln(-1)
	}
	header()
	for _, r := range t.Rows {
		if d.GetY()+rowH > pageH-margin-8 {
			d.AddPage()
			header()
		}
		d.SetFont("sans", "", size)
		for i := range t.Header {
			c := ""
			if i < len(r) {
				c = r[i]
			}
			fill := false
			if i == statusCol {
				switch strings.ToLower(c) {
				case "pass":
					d.SetFillColor(204, 235, 220)
					fill = true
				case "regression", "missing", "fail", "error":
					d.SetFillColor(250, 215, 200)
					fill = true
				}
			}
			d.CellFormat(widths[i], rowH, d.fit(c, widths[i]-1), "1", 0, "L", fill, 0, "")
		}
		d.Ln(-1)
	}
	d.Ln(4)
}

// figure places a PNG at width w (content width, or half of it for paired
// figures) at x, starting a new page if it does not fit; it returns the
// height used.
func (d *pdfDoc) figure(f figure, x, w float64) (float64, error) {
	opts := fpdf.ImageOptions{ImageType: "PNG", ReadDpi: false}
	b, err := os.ReadFile(f.Path)
	if err != nil {
		return 0, fmt.Errorf("reports: %w", err)
	}
	// Register under the base name, not the path, so that the PDF does not
	// depend on the output directory.
	name := "plot:" + filepath.Base(f.Path)
	info := d.RegisterImageOptionsReader(name, opts, bytes.NewReader(b))
	if d.Err() {
		return 0, fmt.Errorf("reports: embed %s: %w", f.Path, d.Error())
	}
	h := w * info.Height() / info.Width()
	y := d.GetY()
	d.ImageOptions(name, x, y, w, h, false, opts, 0, "")
	d.SetXY(x, y+h+1)
	d.SetFont("sans", "", 7.5)
	d.MultiCell(w, 3.3, clean(f.Caption), "", "L", false)
	return d.GetY() - y, nil
}

// figures lays figures out: full-width ones alone, consecutive half-width
// ones two per row.
func (d *pdfDoc) figures(ctx context.Context, figs []figure) error {
	const gap = 6.0
	for i := 0; i < len(figs); i++ {
		if err := ctx.Err(); err != nil {
			return err
		}
		f := figs[i]
		w := contentW
		pair := f.Half && i+1 < len(figs) && figs[i+1].Half
		if f.Half {
			w = (contentW - gap) / 2
		}
		need := w*0.62 + 14
		if d.GetY()+need > pageH-margin-8 {
			d.AddPage()
		}
		y := d.GetY()
		h1, err := d.figure(f, margin, w)
		if err != nil {
			return err
		}
		h2 := 0.0
		if pair {
			d.SetXY(margin+w+gap, y)
			if h2, err = d.figure(figs[i+1], margin+w+gap, w); err != nil {
				return err
			}
			i++
		}
		d.SetXY(margin, y+max(h1, h2)+4)
	}
	return nil
}

// thumbnail decodes an image file and registers a ≤160 px PNG copy.
func (d *pdfDoc) thumbnail(path string) (name string, w, h float64, ok bool) {
	b, err := os.ReadFile(path)
	if err != nil {
		return "", 0, 0, false
	}
	img, _, err := image.Decode(bytes.NewReader(b))
	if err != nil {
		return "", 0, 0, false
	}
	sb := img.Bounds()
	const maxSide = 160
	tw, th := sb.Dx(), sb.Dy()
	if tw > maxSide || th > maxSide {
		if tw >= th {
			th = max(1, th*maxSide/tw)
			tw = maxSide
		} else {
			tw = max(1, tw*maxSide/th)
			th = maxSide
		}
	}
	dst := image.NewNRGBA(image.Rect(0, 0, tw, th))
	xdraw.ApproxBiLinear.Scale(dst, dst.Bounds(), img, sb, xdraw.Src, nil)
	var buf bytes.Buffer
	if err := png.Encode(&buf, dst); err != nil {
		return "", 0, 0, false
	}
	d.imgN++
	name = fmt.Sprintf("thumb%d", d.imgN)
	d.RegisterImageOptionsReader(name, fpdf.ImageOptions{ImageType: "PNG"}, &buf)
	if d.Err() {
		return "", 0, 0, false
	}
	scale := 32.0 / float64(max(tw, th))
	return name, float64(tw) * scale, float64(th) * scale, true
}

func resolveImage(r *records.Run, p string) string {
	if p == "" {
		return ""
	}
	if _, err := os.Stat(p); err == nil {
		return p
	}
	if r == nil || filepath.IsAbs(p) {
		return ""
	}
	// Record paths are relative to the images root, which defaults to the
	// dataset file's folder (both as given on the eval command line).
	roots := []string{r.Manifest.Dataset.Images}
	if r.Manifest.Dataset.Path != "" {
		roots = append(roots, filepath.Dir(r.Manifest.Dataset.Path))
	}
	for _, root := range roots {
		if root == "" {
			continue
		}
		q := root + string(os.PathSeparator) + p
		if _, err := os.Stat(q); err == nil {
			return q
		}
	}
	return ""
}

func (d *pdfDoc) galleryItem(g galleryItem, run *records.Run) {
	var title, question, img, body string
	if g.Discordant != nil {
		x := g.Discordant
		title = fmt.Sprintf("%s · %s · sample %s · discordant", g.Run, x.Modality, x.ID)
		question, img = x.Question, x.Image
		body = fmt.Sprintf("A (%s): %s\n\nB (%s): %s\n\nsolution: %s",
			rightWrong(x.CorrectA), compactOutput(x.OutputA, maxOutput/2), rightWrong(x.CorrectB), compactOutput(x.OutputB, maxOutput/2), x.Solution)
	} else {
		s := g.Sample
		title = fmt.Sprintf("%s · %s · %s prompt · sample %s", g.Run, s.Modality, s.Prompt, s.ID)
		question, img = s.Question, s.Image
		body = fmt.Sprintf("output: %s\n\nextraction (%s): %s — %s", compactOutput(s.Output, maxOutput), g.Policy, extractionText(s, g.Policy), correctText(s, g.Policy))
	}
	if d.GetY() > pageH-margin-60 {
		d.AddPage()
	}
	d.SetFont("sans", "B", 9)
	d.MultiCell(contentW, 4.5, d.fit(title, contentW), "", "L", false)
	y0 := d.GetY()
	textX := margin
	if p := resolveImage(run, img); p != "" {
		if name, w, h, ok := d.thumbnail(p); ok {
			d.ImageOptions(name, margin, y0+1, w, h, false, fpdf.ImageOptions{ImageType: "PNG"}, 0, "")
			textX = margin + 36
			defer func(bottom float64) {
				if d.GetY() < bottom {
					d.SetY(bottom)
				}
			}(y0 + h + 3)
		}
	}
	w := contentW - (textX - margin)
	d.SetXY(textX, y0)
	d.SetFont("sans", "", 8.5)
	d.MultiCell(w, 3.8, clean(question), "", "L", false)
	d.SetX(textX)
	d.SetFont("mono", "", 7.5)
	d.MultiCell(w, 3.4, clean(body), "", "L", false)
	d.Ln(3)
}

func writePDF(ctx context.Context, path string, in Input, names []string, paper *paperTable, tables []tableData, figs []figure, gallery []galleryItem) (int, error) {
	d := newPDF(in.Version)
	// Page 1 answers the question: the verdicts, the paper-style table and
	// the paired differences.
	d.AddPage()
	title := in.Title
	if title == "" {
		title = "medbench report"
	}
	d.heading(title, 16)
	d.para(fmt.Sprintf("Written by medbench %s. Runs: %s. Run details follow on the next page; the per-cell table is in the appendix.", in.Version, strings.Join(names, ", ")), 8.5)
	for _, g := range verdictGroups(in.Verdicts) {
		d.verdictBanner(g)
	}
	if paper != nil {
		d.paperTable(*paper)
	}
	if len(in.Comparisons) > 0 {
		ds := buildDeltaSummary(in.Comparisons)
		t := tableData{Title: "Paired differences (points)", Header: append([]string{"comparison"}, ds.Columns...)}
		for _, r := range ds.Rows {
			t.Rows = append(t.Rows, append([]string{r.Label}, r.Cells...))
		}
		d.table(t, -1)
		d.SetY(d.GetY() - 3)
		d.para(deltaCaption, 7.5)
	}
	// Run details.
	d.AddPage()
	d.heading("Runs", 14)
	for i, r := range in.Runs {
		d.heading("Run: "+names[i], 12)
		for _, kv := range runFacts(r) {
			d.SetFont("sans", "B", 8.5)
			d.CellFormat(32, 4, kv[0], "", 0, "L", false, 0, "")
			d.SetFont("sans", "", 8.5)
			d.MultiCell(contentW-32, 4, clean(kv[1]), "", "L", false)
		}
		d.Ln(3)
	}
	if in.Train != nil {
		d.heading("Training log: "+in.Train.Name, 12)
		d.para(fmt.Sprintf("%d optimizer steps logged.", len(in.Train.Steps)), 9)
	}
	// Verdict details, comparisons, bench.
	first := true
	for _, t := range tables {
		if t.Name == "accuracy" {
			continue // appendix
		}
		if first || d.GetY() > pageH/2 {
			d.AddPage()
		}
		first = false
		statusCol := len(t.Header) - 1
		d.table(t, statusCol)
		for _, c := range in.Comparisons {
			if c.Title == t.Title && c.Note != "" {
				d.para(c.Note, 8.5)
			}
		}
	}
	// Plots.
	if len(figs) > 0 {
		d.AddPage()
		d.heading("Plots", 14)
		if err := d.figures(ctx, figs); err != nil {
			return 0, err
		}
	}
	// Gallery.
	if len(gallery) > 0 {
		d.AddPage()
		d.heading("Sample gallery", 14)
		d.para("Samples chosen deterministically per modality (by a hash of the sample key); discordant samples of each comparison first.", 8.5)
		var run *records.Run
		if len(in.Runs) > 0 {
			run = in.Runs[0]
		}
		for _, g := range gallery {
			d.galleryItem(g, run)
		}
	}
	// Appendix.
	for _, t := range tables {
		if t.Name == "accuracy" {
			d.AddPage()
			d.heading("Appendix", 14)
			d.table(t, -1)
		}
	}
	if d.Err() {
		return 0, fmt.Errorf("reports: %s: %w", path, d.Error())
	}
	if err := d.OutputFileAndClose(path); err != nil {
		return 0, fmt.Errorf("reports: write %s: %w", path, err)
	}
	return d.PageCount(), nil
}

// verdictGroup is one golden check's verdicts.
type verdictGroup struct {
	Check string
	Rows  []VerdictRow
}

func verdictGroups(vs []VerdictRow) []verdictGroup {
	var gs []verdictGroup
	for _, v := range vs {
		if len(gs) == 0 || gs[len(gs)-1].Check != v.Check {
			gs = append(gs, verdictGroup{Check: v.Check})
		}
		gs[len(gs)-1].Rows = append(gs[len(gs)-1].Rows, v)
	}
	return gs
}

// verdictBanner is one coloured line per golden check: the overall verdict
// and the counts by status.
func (d *pdfDoc) verdictBanner(g verdictGroup) {
	v := overall(g.Rows)
	if v == "PASS" {
		d.SetFillColor(204, 235, 220)
	} else {
		d.SetFillColor(250, 215, 200)
	}
	d.SetFont("sans", "B", 12)
	label := "Verdict: " + v
	if g.Check != "" {
		label += " — " + g.Check
	}
	d.MultiCell(contentW, 6.5, d.fit(label, contentW-2), "", "L", true)
	d.SetFont("sans", "", 9)
	d.MultiCell(contentW, 4.5, verdictLine(g.Rows), "", "L", false)
	d.Ln(2)
}

// paperTable draws the paper-style table: value (bold where best), the
// secondary policy's value in parentheses where it differs, and the Wilson
// interval in small grey type on a second line.
func (d *pdfDoc) paperTable(t paperTable) {
	d.heading("Accuracy per modality", 12)
	size := 9.0
	labelW, colW := 0.0, 0.0
	for ; size >= 5; size -= 0.5 {
		d.SetFont("sans", "", size)
		labelW = d.GetStringWidth("run") + 3
		for _, r := range t.Rows {
			labelW = max(labelW, d.GetStringWidth(clean(r.Label))+3)
		}
		labelW = min(labelW, 0.3*contentW)
		colW = 0
		for _, c := range t.Columns {
			colW = max(colW, d.GetStringWidth(c)+3)
		}
		for _, r := range t.Rows {
			for _, c := range r.Cells {
				d.SetFont("sans", "B", size)
				w := d.GetStringWidth(pct1(c.Acc) + "†")
				if c.differs() {
					d.SetFont("sans", "", size-1.5)
					w += d.GetStringWidth(" (" + pct1(c.Other) + ")")
				}
				d.SetFont("sans", "", size-2.5)
				colW = max(colW, w+3, d.GetStringWidth(c.interval())+3)
			}
		}
		if labelW+colW*float64(len(t.Columns)) <= contentW {
			break
		}
	}
	colW = min(max(colW, 20), (contentW-labelW)/float64(len(t.Columns)))
	lineH := size * 0.5
	d.SetFont("sans", "B", size)
	d.SetFillColor(230, 236, 245)
	d.CellFormat(labelW, lineH+1, "run", "1", 0, "L", true, 0, "")
	for _, c := range t.Columns {
		d.CellFormat(colW, lineH+1, d.fit(c, colW-1), "1", 0, "C", true, 0, "")
	}
	d.Ln(-1)
	for _, r := range t.Rows {
		if d.GetY()+2*lineH > pageH-margin-8 {
			d.AddPage()
		}
		x0, y0 := d.GetX(), d.GetY()
		rowH := 2*lineH + 1
		d.SetFont("sans", "", size)
		d.CellFormat(labelW, rowH, d.fit(r.Label, labelW-1), "1", 0, "L", false, 0, "")
		for j, c := range r.Cells {
			x := x0 + labelW + float64(j)*colW
			d.Rect(x, y0, colW, rowH, "D")
			if !c.Present {
				d.SetXY(x, y0)
				d.CellFormat(colW, rowH, "—", "", 0, "C", false, 0, "")
				continue
			}
			style := ""
			if c.Best {
				style = "B"
			}
			main := pct1(c.Acc)
			if c.Excluded {
				main += "†"
			}
			d.SetFont("sans", style, size)
			wMain := d.GetStringWidth(main)
			other := ""
			if c.differs() {
				other = " (" + pct1(c.Other) + ")"
			}
			d.SetFont("sans", "", size-1.5)
			wOther := d.GetStringWidth(other)
			xs := x + (colW-wMain-wOther)/2
			d.SetXY(xs, y0+0.3)
			d.SetFont("sans", style, size)
			d.CellFormat(wMain, lineH, main, "", 0, "L", false, 0, "")
			if other != "" {
				d.SetFont("sans", "", size-1.5)
				d.CellFormat(wOther, lineH, other, "", 0, "L", false, 0, "")
			}
			if iv := c.interval(); iv != "" {
				d.SetFont("sans", "", size-2.5)
				d.SetTextColor(90, 90, 90)
				d.SetXY(x, y0+lineH+0.2)
				d.CellFormat(colW, lineH, iv, "", 0, "C", false, 0, "")
				d.SetTextColor(0, 0, 0)
			}
		}
		d.SetXY(x0, y0+rowH)
	}
	d.Ln(1)
	d.para(t.caption()+" †: mean over the modalities present.", 7.5)
	d.Ln(2)
}

// compactOutput shortens a model output for the gallery: runs of more than
// two line breaks become one marker line, and the text is cut at n runes.
func compactOutput(out string, n int) string {
	var b strings.Builder
	for i := 0; i < len(out); {
		j := i
		for j < len(out) && (out[j] == '\n' || out[j] == '\r') {
			j++
		}
		if nl := strings.Count(out[i:j], "\n"); nl > 2 {
			fmt.Fprintf(&b, "\n[%d line breaks]\n", nl)
			i = j
			continue
		} else if j > i {
			b.WriteString(out[i:j])
			i = j
			continue
		}
		b.WriteByte(out[i])
		i++
	}
	return truncateRunes(b.String(), n)
}
