package imageproc

import (
	"errors"
	"fmt"
	"math"
)

// MaxAspectRatio is qwen_vl_utils' MAX_RATIO: images whose long side is more
// than this many times the short side are rejected.
const MaxAspectRatio = 200

// ErrAspectRatio is wrapped by SmartResize's error for images more elongated
// than MaxAspectRatio:1.
var ErrAspectRatio = errors.New("imageproc: absolute aspect ratio must be smaller than 200")

// SmartResize returns the (height, width) qwen_vl_utils.smart_resize picks for
// an h×w image: both sides multiples of factor, at least factor, the area
// within [minPixels, maxPixels] and the aspect ratio kept as well as possible.
// Rounding follows Python's round() (half to even). It fails for
// non-positive arguments and for aspect ratios above 200:1.
func SmartResize(h, w int, minPixels, maxPixels, factor int) (hh, ww int, err error) {
	if h <= 0 || w <= 0 {
		return 0, 0, fmt.Errorf("imageproc: smart_resize: invalid image size %dx%d", w, h)
	}
	if factor <= 0 || minPixels < 0 || maxPixels <= 0 || minPixels > maxPixels {
		return 0, 0, fmt.Errorf("imageproc: smart_resize: invalid settings factor=%d min_pixels=%d max_pixels=%d", factor, minPixels, maxPixels)
	}
	if float64(max(h, w))/float64(min(h, w)) > MaxAspectRatio {
		return 0, 0, fmt.Errorf("%w, got %g (%dx%d)", ErrAspectRatio, float64(max(h, w))/float64(min(h, w)), w, h)
	}
	f := float64(factor)
	hBar := max(factor, int(math.RoundToEven(float64(h)/f))*factor)
	wBar := max(factor, int(math.RoundToEven(float64(w)/f))*factor)
	switch {
	case hBar*wBar > maxPixels:
		beta := math.Sqrt(float64(h) * float64(w) / float64(maxPixels))
		hBar = int(math.Floor(float64(h)/beta/f)) * factor
		wBar = int(math.Floor(float64(w)/beta/f)) * factor
	case hBar*wBar < minPixels:
		beta := math.Sqrt(float64(minPixels) / (float64(h) * float64(w)))
		hBar = int(math.Ceil(float64(h)*beta/f)) * factor
		wBar = int(math.Ceil(float64(w)*beta/f)) * factor
	}
	if hBar <= 0 || wBar <= 0 {
		return 0, 0, fmt.Errorf("imageproc: smart_resize: %dx%d with max_pixels=%d gives an empty %dx%d image", w, h, maxPixels, wBar, hBar)
	}
	return hBar, wBar, nil
}
