package qwen2vl

import (
	"fmt"
	"path/filepath"

	"github.com/medbench/medbench/model/imageproc"
	"github.com/medbench/medbench/model/tokenizer"
)

// jsonFiles holds what the runner reads from a model directory's JSON
// files: config.json and generation_config.json (meta), tokenizer.json and
// preprocessor_config.json.
type jsonFiles struct {
	meta *modelMeta
	tok  *tokenizer.Tokenizer
	img  imageproc.Config
}

// loadJSONFiles reads and checks a model directory's JSON files exactly as
// Open does. It returns every problem found, each naming its file; the
// files are usable only when there is none.
func loadJSONFiles(dir string) (jsonFiles, []error) {
	var (
		f    jsonFiles
		errs []error
		err  error
	)
	if f.meta, err = loadMeta(dir); err != nil {
		errs = append(errs, err)
	}
	if f.tok, err = tokenizer.Load(filepath.Join(dir, "tokenizer.json")); err != nil {
		errs = append(errs, fmt.Errorf("qwen2vl: %w", err))
	} else if f.meta != nil {
		for _, c := range []struct {
			name string
			want int
		}{{"<|image_pad|>", f.meta.tok.imagePad}, {"<|vision_start|>", f.meta.tok.visionStart}, {"<|vision_end|>", f.meta.tok.visionEnd}} {
			if got, ok := f.tok.TokenID(c.name); !ok || got != c.want {
				errs = append(errs, fmt.Errorf("qwen2vl: %s: tokenizer.json maps %s to %d (found %v), config.json says %d", dir, c.name, got, ok, c.want))
			}
		}
	}
	f.img = imageproc.DefaultConfig()
	if p := filepath.Join(dir, "preprocessor_config.json"); fileExists(p) {
		if f.img, err = imageproc.LoadConfig(p); err != nil {
			errs = append(errs, fmt.Errorf("qwen2vl: %w", err))
		} else if f.meta != nil && f.img.MergeSize != f.meta.tok.merge {
			errs = append(errs, fmt.Errorf("qwen2vl: %s: preprocessor merge_size %d differs from config.json spatial_merge_size %d", dir, f.img.MergeSize, f.meta.tok.merge))
		}
	}
	return f, errs
}

// CheckJSONFiles loads a model directory's config.json,
// generation_config.json, tokenizer.json and preprocessor_config.json the
// way Open does, without ONNX Runtime, and returns every problem, each
// naming the file and the error (none: the runner will accept them).
func CheckJSONFiles(dir string) []error {
	f, errs := loadJSONFiles(dir)
	if len(errs) == 0 {
		// Open validates after the --min/--max-pixels overrides; without
		// them the file's own bounds must hold.
		if err := f.img.Validate(); err != nil {
			errs = append(errs, fmt.Errorf("qwen2vl: %s: %w", filepath.Join(dir, "preprocessor_config.json"), err))
		}
	}
	return errs
}
