package qwen2vl

import (
	"errors"
	"fmt"

	"github.com/urfave/cli/v2"

	"github.com/medbench/medbench/model/imageproc"
	"github.com/medbench/medbench/runners"
)

// Driver is the ONNX Runtime runner as the command line offers it
// (--runner onnx): its flags, its opening from them, and its manifest
// config entries.
func Driver() runners.Driver {
	flags := []cli.Flag{
		&cli.StringFlag{Name: "model", Usage: "onnx: model `DIR` (onnx-community Qwen2-VL layout: config.json, tokenizer.json, onnx/*.onnx), or hf:ORG/NAME[@REVISION] from the Hugging Face hub (see `medbench model download`)"},
		&cli.StringFlag{Name: "dtype", Value: "fp32", Usage: "onnx: weight variant `DTYPE` (fp32, fp16, q8/quantized, int8, uint8, q4, q4f16, bnb4), or per session, e.g. q4,vision_encoder=fp16,embed_tokens=fp16"},
		&cli.StringFlag{Name: "device", Value: "cpu", Usage: "onnx: `DEVICE` cpu, cuda, cuda:N or auto (CUDA when available, else CPU)"},
		&cli.StringFlag{Name: "kv-cache", Value: KVAuto, Usage: "onnx: where the decoder's KV cache lives: auto (on the GPU with IoBinding on CUDA, host buffers on CPU), host, or device (IoBinding; on CPU, ONNX Runtime-owned memory)"},
		&cli.IntFlag{Name: "threads", Usage: "onnx: ONNX Runtime intra-op threads `N` (0 = ORT default)"},
		&cli.StringFlag{Name: "ort-lib", Usage: "onnx: ONNX Runtime library `PATH` (default: $MEDBENCH_ORT_LIB, then .cache/ort/1.29.0 from `make setup`)"},
		RGBAFlag(),
		&cli.Int64Flag{Name: "max-image-pixels", Value: imageproc.DefaultMaxImagePixels, Usage: "onnx: decompression-bomb limit in decoded `PIXELS`, checked from each image's header before decoding, as Pillow's MAX_IMAGE_PIXELS: above it the sample records a warning, above twice it the sample fails (-1 = off)"},
		&cli.Int64Flag{Name: "max-batch-image-mib", Value: imageproc.DefaultMaxBatchImageBytes >> 20, Usage: "onnx: decoded-image memory in `MiB` a batch may leave uncollected before the runner frees it"},
		&cli.BoolFlag{Name: "tjs-normalize", Usage: "onnx: normalize pixels as transformers.js does (float64, one rounding) for bit-identical inputs"},
	}
	return runners.Driver{
		Name:      "onnx",
		Usage:     "Qwen2-VL on ONNX Runtime",
		Flags:     append(flags, runners.ImageBoundFlags()...),
		Samples:   true,
		ModelFlag: true,
		Check: func(v runners.Values) error {
			_, err := ConfigFromFlags(v, runners.Sampling{})
			return err
		},
		Open: runners.OpenFromFlags(ConfigFromFlags, Open),
		Config: func(v runners.Values) map[string]any {
			return map[string]any{
				"rgba": v.String("rgba"), "max_image_pixels": v.Int64("max-image-pixels"),
				"max_batch_image_mib": v.Int64("max-batch-image-mib"), "dtype": v.String("dtype"), "device": v.String("device"),
			}
		},
	}
}

// ConfigFromFlags builds the runner configuration from the driver's flags
// and the resolved sampling settings; --model must already name a local
// folder.
func ConfigFromFlags(v runners.Values, s runners.Sampling) (Config, error) {
	cfg := Config{
		ModelDir:           v.String("model"),
		DType:              v.String("dtype"),
		Device:             v.String("device"),
		KVCache:            v.String("kv-cache"),
		Threads:            v.Int("threads"),
		ORTLib:             v.String("ort-lib"),
		Sampling:           s,
		MinPixels:          v.Int("min-pixels"),
		MaxPixels:          v.Int("max-pixels"),
		MaxImagePixels:     v.Int64("max-image-pixels"),
		MaxBatchImageBytes: v.Int64("max-batch-image-mib") << 20,
		TJSNormalize:       v.Bool("tjs-normalize"),
	}
	if cfg.MaxBatchImageBytes < 0 {
		return cfg, fmt.Errorf("--max-batch-image-mib %d: want a positive size", v.Int64("max-batch-image-mib"))
	}
	if cfg.ModelDir == "" {
		return cfg, errors.New("--model: a Qwen2-VL model directory (onnx-community layout) is required for the ONNX runner")
	}
	if cfg.DType == "" {
		cfg.DType = "fp32"
	}
	if err := CheckDType(cfg.DType); err != nil {
		return cfg, fmt.Errorf("--dtype: %w", err)
	}
	if cfg.Threads < 0 {
		return cfg, fmt.Errorf("--threads %d: want 0 (ONNX Runtime default) or more", cfg.Threads)
	}
	var err error
	if cfg.RGBA, err = imageproc.ParseRGBAMode(v.String("rgba")); err != nil {
		return cfg, fmt.Errorf("--rgba: %w", err)
	}
	return cfg, nil
}

// RGBAFlag is --rgba: how images with an alpha channel (Pillow mode RGBA)
// become RGB (also read by `tools preprocess`).
func RGBAFlag() cli.Flag {
	return &cli.StringFlag{Name: "rgba", Value: string(imageproc.RGBAWhite),
		Usage: "onnx: RGBA images: `MODE` white = pasted on white (qwen-vl-utils >= 0.0.9, what MedVLM-R1 ran), " +
			"qwen-vl-utils-0.0.8 = alpha dropped (as 0.0.8 and transformers.js do)"}
}
