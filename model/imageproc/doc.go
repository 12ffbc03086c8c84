// Package imageproc turns image files into Qwen2-VL vision inputs exactly as
// MedVLM-R1's Python path does: Pillow's Image.open + qwen_vl_utils' to_rgb
// (RGBA pasted on white; RGBAQwenVLUtils008 drops alpha instead, see
// docs/preprocessing.md), qwen_vl_utils.smart_resize, Pillow's BICUBIC
// resize, then the slow Hugging Face Qwen2VLImageProcessor (rescale, CLIP normalisation, temporal
// duplication and patch flattening into pixel_values [N, 1176] and
// image_grid_thw).
//
// Fidelity. Resized pixels are bit-exact with Pillow (9.4, Debian) for PNG
// (1/4/8/16-bit gray, gray+alpha, RGB, RGBA, 16-bit colour, palettes, tRNS),
// BMP, TIFF (none/LZW/deflate/PackBits; 8-bit and 16-bit gray, RGB, RGBA),
// GIF (first frame, transparency, frames smaller than the screen) and
// lossless WebP. JPEG and lossy WebP are bit-exact too on the golden set:
// JPEGs decode with image/jpeg's parser and libjpeg-turbo's ISLOW IDCT
// (internal/ljpeg), then libjpeg-turbo's fancy chroma upsampling and colour
// tables; lossy WebP uses libwebp's fancy upsampler and YUV→RGB arithmetic.
// Not supported: CMYK TIFF (golang.org/x/image/tiff lacks it), 12-bit JPEG,
// arithmetic-coded JPEG, animated images beyond their first frame.
//
// Golden data. scripts/pillow_golden.py generates test images from a seed and
// Pillow's results; testdata/golden holds seed 1. To check any other set:
//
//	scripts/pillow_golden.py --seed 7 --out /tmp/g7
//	go test ./model/imageproc -run TestGolden -golden /tmp/g7 -v
//	scripts/pillow_golden.py --check /tmp/g7 --medbench bin/medbench
package imageproc
