package main

import (
	"encoding/json"
	"errors"
	"fmt"

	"github.com/urfave/cli/v2"

	"github.com/medbench/medbench/model/imageproc"
)

func toolsPreprocessCommand() *cli.Command {
	return &cli.Command{
		Name:  "preprocess",
		Usage: "preprocess one image the Qwen2-VL way and print its size, grid_thw and image token count",
		UsageText: "medbench tools preprocess --image FILE [--config preprocessor_config.json] [--min-pixels N] [--max-pixels N]\n" +
			"   [--fetch-min-pixels N] [--fetch-max-pixels N] [--tjs-normalize] [--rgba MODE] [--resized OUT.png] [--pixel-values OUT.f32]",
		Description: "Runs MedVLM-R1's image path: decode (PNG, JPEG, GIF, BMP, TIFF, WebP), qwen_vl_utils'\n" +
			"to_rgb (RGBA pasted on white; --rgba qwen-vl-utils-0.0.8 drops alpha instead), smart_resize (factor patch_size*merge_size, --fetch-* bounds)\n" +
			"and Pillow's BICUBIC resize, the image processor's smart_resize (--min/--max-pixels) with a\n" +
			"second BICUBIC resize only if that changes the size, rescale + CLIP normalisation, temporal\n" +
			"duplication and patch flattening. Prints one\n" +
			"JSON object {\"height\",\"width\",\"grid_thw\",\"image_tokens\"}. --resized writes the resized\n" +
			"RGB image as PNG (bit-exact with Pillow for lossless inputs); --pixel-values writes\n" +
			"pixel_values as raw little-endian float32, row-major [grid_t*grid_h*grid_w, 1176].\n" +
			"Settings default to Qwen2-VL-2B-Instruct's (min_pixels 3136, max_pixels 12845056); --config\n" +
			"reads a preprocessor_config.json, and --min-pixels/--max-pixels override either.\n" +
			"Unreadable or undecodable files and images more elongated than 200:1 exit 2.",
		Flags: []cli.Flag{
			&cli.StringFlag{Name: "image", Usage: "input image `FILE`", Required: true},
			&cli.StringFlag{Name: "config", Usage: "preprocessor_config.json `FILE` (default: Qwen2-VL-2B-Instruct values)"},
			&cli.IntFlag{Name: "min-pixels", Usage: "image processor's smallest resized area, `N` pixels", DefaultText: "from --config, else 3136"},
			&cli.IntFlag{Name: "max-pixels", Usage: "image processor's largest resized area, `N` pixels", DefaultText: "from --config, else 12845056"},
			&cli.IntFlag{Name: "fetch-min-pixels", Usage: "qwen_vl_utils fetch_image's smallest area, `N` pixels (a message's min_pixels)", DefaultText: "3136"},
			&cli.IntFlag{Name: "fetch-max-pixels", Usage: "qwen_vl_utils fetch_image's largest area, `N` pixels (a message's max_pixels)", DefaultText: "12845056"},
			&cli.BoolFlag{Name: "tjs-normalize", Usage: "normalise the transformers.js way (float64, rounded once) instead of Hugging Face's float32"},
			rgbaFlag(),
			&cli.StringFlag{Name: "resized", Usage: "write the resized RGB image to this PNG `FILE`"},
			&cli.StringFlag{Name: "pixel-values", Usage: "write pixel_values as little-endian float32 to this `FILE`"},
		},
		Action: func(c *cli.Context) error {
			if c.Args().Len() > 0 {
				return usageErr("tools preprocess: unexpected arguments %q", c.Args().Slice())
			}
			cfg := imageproc.DefaultConfig()
			if p := c.String("config"); p != "" {
				var err error
				if cfg, err = imageproc.LoadConfig(p); err != nil {
					return inputErr(err)
				}
			}
			if c.IsSet("min-pixels") {
				cfg.MinPixels = c.Int("min-pixels")
			}
			if c.IsSet("max-pixels") {
				cfg.MaxPixels = c.Int("max-pixels")
			}
			if c.IsSet("fetch-min-pixels") {
				cfg.FetchMinPixels = c.Int("fetch-min-pixels")
			}
			if c.IsSet("fetch-max-pixels") {
				cfg.FetchMaxPixels = c.Int("fetch-max-pixels")
			}
			cfg.TJSNormalize = c.Bool("tjs-normalize")
			rgba, err := imageproc.ParseRGBAMode(c.String("rgba"))
			if err != nil {
				return usageErr("tools preprocess: --rgba: %v", err)
			}
			cfg.RGBA = rgba
			if err := cfg.Validate(); err != nil {
				return usageErr("tools preprocess: %v", err)
			}
			sum, err := imageproc.PreprocessFileTo(c.String("image"), cfg, imageproc.FileOutputs{ResizedPNG: c.String("resized"), PixelValues: c.String("pixel-values")})
			var oe *imageproc.OutputError
			if errors.As(err, &oe) {
				return inputErr(fmt.Errorf("tools preprocess: %w", err))
			}
			if err != nil {
				return inputErr(err)
			}
			return inputErr(json.NewEncoder(c.App.Writer).Encode(sum))
		},
	}
}
