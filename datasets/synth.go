package datasets

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"image"
	"image/color"
	"image/jpeg"
	"image/png"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"runtime"
	"sync"
	"unicode/utf16"
)

// Synthetic image modes and formats.
const (
	ModeGray   = "gray"   // 8-bit grayscale
	ModeRGB    = "rgb"    // 8-bit RGB
	ModeRGBA   = "rgba"   // 8-bit RGB with a non-trivial alpha channel (PNG only)
	ModeGray16 = "gray16" // 16-bit grayscale (PNG only)

	FormatPNG  = "png"
	FormatJPEG = "jpeg"
)

// SynthDataset is the value of the synthetic records' "dataset" field.
const SynthDataset = "medbench-synth"

// Synthetic question texts.
const (
	QuadrantQuestion = "In which quadrant is the bright lesion?"
	PresenceQuestion = "Is there a bright lesion in this image?"
)

// QuadrantOptions are the answers of QuadrantQuestion; index q is the
// quadrant holding the lesion centre (0 upper left, 1 upper right, 2 lower
// left, 3 lower right).
var QuadrantOptions = []string{"Upper left", "Upper right", "Lower left", "Lower right"}

// SynthOptions configures Synth.
type SynthOptions struct {
	// Out is the output folder: Out/dataset.json and Out/images/.
	Out string
	// N is the number of records (> 0).
	N int
	// Seed makes the output deterministic: same options, same bytes.
	Seed uint64
	// Modalities, in block order (default MRI, CT, Xray). Records come in
	// contiguous blocks of N/len(Modalities), so with N = 900 and the default
	// the seed's positional slices select the same records as the subsets.
	Modalities []string
	// MinSide and MaxSide bound the image width and height in pixels
	// (defaults 20 and 2000). Most images are small (MinSide to
	// min(112, MaxSide)); about one in 16 is large (up to MaxSide).
	MinSide, MaxSide int
	// Formats to cycle through: "png", "jpeg" (default both). RGBA and
	// 16-bit images are always PNG.
	Formats []string
	// Modes to cycle through: "gray", "rgb", "rgba", "gray16" (default all).
	Modes []string
	// YesNoEvery makes every k-th record of a block a two-option presence
	// question instead of a four-option quadrant question (default 5;
	// negative: none).
	YesNoEvery int
}

func (o *SynthOptions) defaults() error {
	if o.Out == "" {
		return fmt.Errorf("datasets: synth: no output folder")
	}
	if o.N <= 0 {
		return fmt.Errorf("datasets: synth: N must be positive, got %d", o.N)
	}
	if len(o.Modalities) == 0 {
		o.Modalities = []string{MRI, CT, Xray}
	}
	mods, err := resolveModalities(o.Modalities)
	if err != nil {
		return fmt.Errorf("datasets: synth: %w", err)
	}
	o.Modalities = mods
	if o.MinSide == 0 {
		o.MinSide = 20
	}
	if o.MaxSide == 0 {
		o.MaxSide = 2000
	}
	if o.MinSide < 8 || o.MaxSide < o.MinSide || o.MaxSide > 8192 {
		return fmt.Errorf("datasets: synth: want 8 <= min side (%d) <= max side (%d) <= 8192", o.MinSide, o.MaxSide)
	}
	if len(o.Formats) == 0 {
		o.Formats = []string{FormatPNG, FormatJPEG}
	}
	for _, f := range o.Formats {
		if f != FormatPNG && f != FormatJPEG {
			return fmt.Errorf("datasets: synth: unknown format %q (want png, jpeg)", f)
		}
	}
	if len(o.Modes) == 0 {
		o.Modes = []string{ModeGray, ModeRGB, ModeRGBA, ModeGray16}
	}
	for _, m := range o.Modes {
		switch m {
		case ModeGray, ModeRGB, ModeRGBA, ModeGray16:
		default:
			return fmt.Errorf("datasets: synth: unknown image mode %q (want gray, rgb, rgba, gray16)", m)
		}
	}
	if o.YesNoEvery == 0 {
		o.YesNoEvery = 5
	}
	return nil
}

// synthItem is the plan for one record, drawn before rendering.
type synthItem struct {
	index    int
	modality string
	w, h     int
	mode     string
	format   string
	name     string
	yesNo    bool
	lesion   bool // presence questions: is there one
	quadrant int  // 0..3, where the lesion is
	record   Record
}

// Synth writes a synthetic dataset in the seed's JSON schema to opts.Out and
// returns the path of Out/dataset.json. Each record's correct answer is
// determined by its image: quadrant questions ask where the one bright
// lesion is, presence questions whether there is one. The output depends
// only on the options: the same seed gives byte-identical files.
func Synth(ctx context.Context, opts SynthOptions) (string, error) {
	if err := opts.defaults(); err != nil {
		return "", err
	}
	items := planSynth(opts)
	if err := os.MkdirAll(filepath.Join(opts.Out, "images"), 0o755); err != nil {
		return "", fmt.Errorf("datasets: synth: %w", err)
	}
	if err := renderAll(ctx, opts, items); err != nil {
		return "", err
	}
	recs := make([]Record, len(items))
	for i, it := range items {
		recs[i] = it.record
	}
	path := filepath.Join(opts.Out, "dataset.json")
	if err := WriteRecords(path, recs); err != nil {
		return "", fmt.Errorf("datasets: synth: %w", err)
	}
	return path, nil
}

// WriteRecords writes records the way the seed file was written (Python
// json.dump(records, f, indent=4) with its defaults): 4-space indent, no
// HTML escaping, non-ASCII as \uXXXX escapes, no trailing newline. The file
// is written to a temporary name and renamed into place.
func WriteRecords(path string, recs []Record) error {
	if recs == nil {
		recs = []Record{}
	}
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	enc.SetIndent("", "    ")
	if err := enc.Encode(recs); err != nil {
		return fmt.Errorf("datasets: %s: %w", path, err)
	}
	return writeFileAtomic(path, asciiJSON(bytes.TrimSuffix(buf.Bytes(), []byte("\n"))))
}

// asciiJSON replaces every non-ASCII rune of encoded JSON (which can only
// occur inside strings) by its \uXXXX escape, with UTF-16 surrogate pairs
// above U+FFFF, as Python's ensure_ascii does.
func asciiJSON(b []byte) []byte {
	ascii := true
	for _, c := range b {
		if c >= 0x80 {
			ascii = false
			break
		}
	}
	if ascii {
		return b
	}
	out := make([]byte, 0, len(b)+len(b)/4)
	for _, r := range string(b) {
		switch {
		case r < 0x80:
			out = append(out, byte(r))
		case r <= 0xFFFF:
			out = fmt.Appendf(out, "\\u%04x", r)
		default:
			hi, lo := utf16.EncodeRune(r)
			out = fmt.Appendf(out, "\\u%04x\\u%04x", hi, lo)
		}
	}
	return out
}

func writeFileAtomic(path string, b []byte) error {
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, b, 0o644); err != nil {
		return fmt.Errorf("datasets: %w", err)
	}
	if err := os.Rename(tmp, path); err != nil {
		os.Remove(tmp)
		return fmt.Errorf("datasets: %w", err)
	}
	return nil
}

// itemRand is the random stream of record i: it depends only on the seed
// and the index, so records can be rendered in any order.
func itemRand(seed uint64, i int, stream uint64) *rand.Rand {
	return rand.New(rand.NewPCG(seed, uint64(i)<<8|stream))
}

// variants are the (mode, format) pairs the options allow, in a fixed order.
func variants(o SynthOptions) [][2]string {
	var out [][2]string
	for _, f := range []string{FormatPNG, FormatJPEG} {
		if !contains(o.Formats, f) {
			continue
		}
		for _, m := range []string{ModeGray, ModeRGB, ModeRGBA, ModeGray16} {
			if !contains(o.Modes, m) {
				continue
			}
			if f == FormatJPEG && (m == ModeRGBA || m == ModeGray16) {
				continue
			}
			out = append(out, [2]string{m, f})
		}
	}
	if len(out) == 0 {
		// Only JPEG was asked for with only PNG-only modes: use PNG.
		for _, m := range o.Modes {
			out = append(out, [2]string{m, FormatPNG})
		}
	}
	return out
}

func contains(list []string, s string) bool {
	for _, v := range list {
		if v == s {
			return true
		}
	}
	return false
}

// planSynth draws every record's layout and question.
func planSynth(o SynthOptions) []synthItem {
	vars := variants(o)
	nm := len(o.Modalities)
	items := make([]synthItem, o.N)
	start := 0
	for b, mod := range o.Modalities {
		size := o.N / nm
		if b < o.N%nm {
			size++
		}
		// The correct letter cycles from a random offset, so that letters are
		// balanced within each block; the other options are shuffled.
		br := itemRand(o.Seed, b, 0xB0)
		off4, off2 := br.IntN(4), br.IntN(2)
		nq, nyn := 0, 0
		for j := 0; j < size; j++ {
			i := start + j
			r := itemRand(o.Seed, i, 1)
			it := synthItem{index: i, modality: mod}
			v := vars[(i+int(o.Seed%uint64(len(vars))))%len(vars)]
			it.mode, it.format = v[0], v[1]
			it.w, it.h = drawSize(r, o, i)
			it.quadrant = r.IntN(4)
			it.yesNo = o.YesNoEvery > 0 && j%o.YesNoEvery == o.YesNoEvery-1
			var options []string
			var answer string
			var pos int
			if it.yesNo {
				it.lesion = r.IntN(2) == 1
				answer = "No"
				if it.lesion {
					answer = "Yes"
				}
				pos = (nyn + off2) % 2
				nyn++
				options = placeAnswer(r, []string{"Yes", "No"}, answer, pos)
			} else {
				it.lesion = true
				answer = QuadrantOptions[it.quadrant]
				pos = (nq + off4) % 4
				nq++
				options = placeAnswer(r, QuadrantOptions, answer, pos)
			}
			it.name = synthName(i, it.format)
			q := QuadrantQuestion
			if it.yesNo {
				q = PresenceQuestion
			}
			subset, _ := SubsetOf(mod)
			it.record = Record{
				Image:    []string{it.name},
				Problem:  BuildProblem(q, options),
				Solution: Letter(pos),
				Question: q,
				Options:  options,
				Answer:   answer,
				Dataset:  SynthDataset,
				Subset:   subset,
			}
			items[i] = it
		}
		start += size
	}
	return items
}

// placeAnswer returns all options shuffled, with answer at position pos.
func placeAnswer(r *rand.Rand, all []string, answer string, pos int) []string {
	others := make([]string, 0, len(all)-1)
	for _, o := range all {
		if o != answer {
			others = append(others, o)
		}
	}
	r.Shuffle(len(others), func(a, b int) { others[a], others[b] = others[b], others[a] })
	out := make([]string, 0, len(all))
	out = append(out, others[:pos]...)
	out = append(out, answer)
	return append(out, others[pos:]...)
}

// drawSize picks width and height: mostly small, one in 16 large; record 0
// is at MinSide and record 15 at MaxSide so both bounds are exercised.
func drawSize(r *rand.Rand, o SynthOptions, i int) (int, int) {
	smallMax := min(112, o.MaxSide)
	smallMin := min(max(28, o.MinSide), smallMax)
	var side int
	switch {
	case i == 0:
		side = o.MinSide
	case i%16 == 15 && o.MaxSide > smallMax:
		if i == 15 {
			side = o.MaxSide
		} else {
			lo, hi := math.Log(float64(smallMax+1)), math.Log(float64(o.MaxSide))
			side = int(math.Exp(lo + r.Float64()*(hi-lo)))
		}
	default:
		side = smallMin + r.IntN(smallMax-smallMin+1)
	}
	aspect := 0.75 + r.Float64()*0.5
	w, h := side, int(math.Round(float64(side)*aspect))
	if r.IntN(2) == 0 {
		w, h = h, w
	}
	clamp := func(v int) int { return min(max(v, o.MinSide), o.MaxSide) }
	return clamp(w), clamp(h)
}

// synthName builds the image path, cycling through names with spaces,
// parentheses and '%' (including a literal "%20" that must not be decoded).
func synthName(i int, format string) string {
	ext := ".png"
	if format == FormatJPEG {
		ext = ".jpeg"
		if i%2 == 1 {
			ext = ".jpg"
		}
	}
	switch i % 5 {
	case 1:
		return fmt.Sprintf("images/case %d (%d)%s", i, i%7, ext)
	case 2:
		return fmt.Sprintf("images/scan %d%%20x%s", i, ext)
	case 3:
		return fmt.Sprintf("images/lesion (%d) 50%%%s", i, ext)
	case 4:
		return fmt.Sprintf("images/Covid (%d)%%11%s", i, ext)
	}
	return fmt.Sprintf("images/synth%06d%s", i, ext)
}

// renderAll renders and writes the images on all CPUs.
func renderAll(ctx context.Context, o SynthOptions, items []synthItem) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var (
		mu       sync.Mutex
		firstErr error
	)
	workers := min(runtime.GOMAXPROCS(0), len(items))
	forEachParallel(ctx, len(items), workers, func(i int) {
		b, err := renderItem(o.Seed, items[i])
		if err == nil {
			err = os.WriteFile(JoinImagePath(o.Out, items[i].name), b, 0o644)
		}
		if err != nil {
			mu.Lock()
			if firstErr == nil {
				firstErr = fmt.Errorf("datasets: synth: record %d (%s): %w", i, items[i].name, err)
			}
			mu.Unlock()
			cancel()
		}
	})
	if firstErr != nil {
		return firstErr
	}
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("datasets: synth: %w", err)
	}
	return nil
}

// Lesion and background intensity ranges (luminance in [0, 1]). The lesion
// core is always brighter than any background pixel by a wide margin, so
// "where is the brightest blob" determines the answer.
const (
	bgMax        = 0.5
	lesionCore   = 0.92
	lesionMargin = 0.3
)

// renderItem draws the record's image and encodes it.
func renderItem(seed uint64, it synthItem) ([]byte, error) {
	r := itemRand(seed, it.index, 2)
	lum := synthLuminance(r, it)
	tint := modalityTint(it.modality)
	var img image.Image
	w, h := it.w, it.h
	switch it.mode {
	case ModeGray:
		g := image.NewGray(image.Rect(0, 0, w, h))
		for k, v := range lum {
			g.Pix[k] = uint8(math.Round(v * 255))
		}
		img = g
	case ModeGray16:
		g := image.NewGray16(image.Rect(0, 0, w, h))
		for k, v := range lum {
			u := gray16Level(v)
			g.Pix[2*k], g.Pix[2*k+1] = uint8(u>>8), uint8(u)
		}
		img = g
	case ModeRGB, ModeRGBA:
		c := image.NewNRGBA(image.Rect(0, 0, w, h))
		border := max(1, min(w, h)/10)
		for y := 0; y < h; y++ {
			for x := 0; x < w; x++ {
				k := y*w + x
				v := lum[k]
				px := c.Pix[4*k : 4*k+4]
				for ch := 0; ch < 3; ch++ {
					// Tint the background; the lesion saturates towards white.
					t := tint[ch] + (1-tint[ch])*smooth((v-bgMax)/lesionMargin)
					px[ch] = uint8(math.Round(math.Min(1, v*t) * 255))
				}
				px[3] = 255
				if it.mode == ModeRGBA && (x < border || y < border || x >= w-border || y >= h-border) {
					px[3] = uint8(96 + r.IntN(128))
				}
			}
		}
		img = c
	default:
		return nil, fmt.Errorf("unknown mode %q", it.mode)
	}
	var buf bytes.Buffer
	var err error
	if it.format == FormatJPEG {
		if n, ok := img.(*image.NRGBA); ok {
			img = opaqueRGBA(n)
		}
		err = jpeg.Encode(&buf, img, &jpeg.Options{Quality: 92})
	} else {
		err = (&png.Encoder{CompressionLevel: png.BestSpeed}).Encode(&buf, img)
	}
	return buf.Bytes(), err
}

// gray16Bg is the highest 16-bit level of the background.
const gray16Bg = 160

// gray16Level maps luminance to a 16-bit level so that the answer survives
// both ways a reader may turn 16-bit gray into 8 bits. PIL (the seed's
// qwen_vl_utils: Image.open(...).convert("RGB")) opens such a PNG in mode
// "I" and clips levels above 255 to white, so the background is kept in
// [0, gray16Bg] and stays below the lesion's 255; scaling by 1/257 (Go's
// color model) turns that background black and keeps the lesion, mapped
// above gray16Bg up to 65535, bright.
func gray16Level(v float64) uint16 {
	if v <= bgMax {
		return uint16(math.Round(v / bgMax * gray16Bg))
	}
	return uint16(math.Round(gray16Bg + (v-bgMax)/(1-bgMax)*(65535-gray16Bg)))
}

// opaqueRGBA copies an opaque NRGBA into an RGBA (for the JPEG encoder).
func opaqueRGBA(n *image.NRGBA) *image.RGBA {
	out := image.NewRGBA(n.Rect)
	for k := 0; k < len(n.Pix); k += 4 {
		c := color.NRGBA{n.Pix[k], n.Pix[k+1], n.Pix[k+2], 255}
		out.Pix[k], out.Pix[k+1], out.Pix[k+2], out.Pix[k+3] = c.R, c.G, c.B, 255
	}
	return out
}

func smooth(t float64) float64 {
	t = math.Min(1, math.Max(0, t))
	return t * t * (3 - 2*t)
}

// modalityTint is the RGB colour of the background per modality: neutral
// for radiology, skin, stain and retina tones for the photographic ones.
func modalityTint(mod string) [3]float64 {
	switch mod {
	case Dermoscopy:
		return [3]float64{1.0, 0.75, 0.6}
	case Microscopy:
		return [3]float64{0.95, 0.6, 0.85}
	case Fundus:
		return [3]float64{1.0, 0.45, 0.2}
	case Ultrasound:
		return [3]float64{0.95, 0.92, 0.85}
	}
	return [3]float64{1, 1, 1}
}

// synthLuminance renders the image as luminance in [0, 1], row-major: a dim
// body ellipse with low-frequency texture and pixel noise (all below bgMax),
// plus one bright soft-edged disc centred inside the lesion's quadrant.
func synthLuminance(r *rand.Rand, it synthItem) []float64 {
	w, h := it.w, it.h
	lum := make([]float64, w*h)
	base := 0.12 + 0.1*r.Float64()
	// Low-frequency texture: a few random plane waves.
	type wave struct{ fx, fy, ph, amp float64 }
	waves := make([]wave, 3)
	for k := range waves {
		waves[k] = wave{fx: (r.Float64()*2 - 1) * 3, fy: (r.Float64()*2 - 1) * 3, ph: r.Float64() * 2 * math.Pi, amp: 0.03 + 0.03*r.Float64()}
	}
	ex, ey := 0.42+0.06*r.Float64(), 0.42+0.06*r.Float64()
	for y := 0; y < h; y++ {
		v := (float64(y)+0.5)/float64(h) - 0.5
		for x := 0; x < w; x++ {
			u := (float64(x)+0.5)/float64(w) - 0.5
			d := (u*u)/(ex*ex) + (v*v)/(ey*ey)
			val := 0.04
			if d < 1 {
				val = base + 0.12*(1-d)
			}
			for _, wv := range waves {
				val += wv.amp * math.Sin(2*math.Pi*(wv.fx*u+wv.fy*v)+wv.ph)
			}
			val += (r.Float64() - 0.5) * 0.08
			lum[y*w+x] = math.Min(bgMax, math.Max(0, val))
		}
	}
	if !it.lesion {
		return lum
	}
	// Lesion centre in the quadrant's middle band, away from the midlines.
	qx, qy := it.quadrant%2, it.quadrant/2
	cx := (float64(qx)*0.5 + 0.17 + 0.16*r.Float64()) * float64(w)
	cy := (float64(qy)*0.5 + 0.17 + 0.16*r.Float64()) * float64(h)
	rad := math.Max(1.6, float64(min(w, h))*(0.07+0.04*r.Float64()))
	for y := max(0, int(cy-rad-2)); y < min(h, int(cy+rad+2)); y++ {
		for x := max(0, int(cx-rad-2)); x < min(w, int(cx+rad+2)); x++ {
			d := math.Hypot(float64(x)+0.5-cx, float64(y)+0.5-cy) / rad
			if d >= 1.25 {
				continue
			}
			s := 1 - smooth((d-0.75)/0.5)
			v := lesionCore + 0.06*r.Float64()
			k := y*w + x
			lum[k] = math.Max(lum[k], lum[k]*(1-s)+v*s)
		}
	}
	return lum
}

// resolveModalities expands "all", canonicalizes names (ParseModality) and
// drops repeats, keeping the given order.
func resolveModalities(in []string) ([]string, error) {
	mods := make([]string, 0, len(in))
	seen := map[string]bool{}
	for _, m := range in {
		if m == "all" {
			for _, c := range Modalities {
				if !seen[c] {
					seen[c] = true
					mods = append(mods, c)
				}
			}
			continue
		}
		c := ParseModality(m)
		if _, ok := SubsetOf(c); !ok {
			return nil, fmt.Errorf("unknown modality %q (known: %v)", m, Modalities)
		}
		if !seen[c] {
			seen[c] = true
			mods = append(mods, c)
		}
	}
	return mods, nil
}
