package imageproc

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestDefaultConfig(t *testing.T) {
	c := DefaultConfig()
	if c.MinPixels != 3136 || c.MaxPixels != 12845056 || c.PatchSize != 14 || c.TemporalPatchSize != 2 || c.MergeSize != 2 {
		t.Fatalf("DefaultConfig() = %+v", c)
	}
	if c.Factor() != 28 || c.PatchDim() != 1176 {
		t.Fatalf("factor %d, patch dim %d", c.Factor(), c.PatchDim())
	}
	if c.Mean != [3]float32{0.48145466, 0.4578275, 0.40821073} || c.Std != [3]float32{0.26862954, 0.26130258, 0.27577711} {
		t.Fatalf("mean %v std %v", c.Mean, c.Std)
	}
	if c.RescaleFactor != 1.0/255 || c.TJSNormalize {
		t.Fatalf("rescale %v, TJS %v", c.RescaleFactor, c.TJSNormalize)
	}
}

func TestParseConfig(t *testing.T) {
	tests := []struct {
		name    string
		json    string
		check   func(Config) bool
		wantErr string
	}{
		{"Qwen2-VL-2B-Instruct file", `{"min_pixels": 3136, "max_pixels": 12845056, "patch_size": 14, "temporal_patch_size": 2,
			"merge_size": 2, "image_mean": [0.48145466, 0.4578275, 0.40821073], "image_std": [0.26862954, 0.26130258, 0.27577711],
			"image_processor_type": "Qwen2VLImageProcessor", "processor_class": "Qwen2VLProcessor"}`,
			func(c Config) bool { return c.MinPixels == 3136 && c.MaxPixels == 12845056 && c.Mean[0] == 0.48145466 }, ""},
		{"size edges", `{"size": {"shortest_edge": 1000, "longest_edge": 401408}}`,
			func(c Config) bool { return c.MinPixels == 1000 && c.MaxPixels == 401408 }, ""},
		{"min/max_pixels win over size", `{"min_pixels": 2000, "max_pixels": 300000, "size": {"shortest_edge": 1000, "longest_edge": 401408}}`,
			func(c Config) bool { return c.MinPixels == 2000 && c.MaxPixels == 300000 }, ""},
		{"other constants", `{"patch_size": 16, "merge_size": 1, "temporal_patch_size": 1, "rescale_factor": 0.5, "image_mean": [0.5, 0.5, 0.5], "image_std": [0.25, 0.5, 1]}`,
			func(c Config) bool {
				return c.PatchSize == 16 && c.MergeSize == 1 && c.TemporalPatchSize == 1 && c.RescaleFactor == 0.5 &&
					c.Mean == [3]float32{0.5, 0.5, 0.5} && c.Std == [3]float32{0.25, 0.5, 1} && c.Factor() == 16
			}, ""},
		{"empty object keeps defaults", `{}`, func(c Config) bool { return c.MaxPixels == 12845056 && c.PatchSize == 14 }, ""},
		{"bad json", `{"min_pixels": }`, nil, "parse preprocessor config"},
		{"two means", `{"image_mean": [0.5, 0.5]}`, nil, "image_mean has 2 values"},
		{"zero std", `{"image_std": [0, 1, 1]}`, nil, "image_std[0] is zero"},
		{"min above max", `{"min_pixels": 5000, "max_pixels": 4000}`, nil, "min_pixels"},
		{"zero patch", `{"patch_size": 0}`, nil, "patch_size"},
		{"flags on", `{"do_resize": true, "do_rescale": true, "do_normalize": true, "do_convert_rgb": true, "resample": 3}`,
			func(c Config) bool { return c.MaxPixels == 12845056 }, ""},
		{"normalisation off", `{"do_normalize": false}`, nil, "do_normalize is false"},
		{"rescale off", `{"do_rescale": false}`, nil, "do_rescale is false"},
		{"bilinear", `{"resample": 2}`, nil, "resample is 2"},
	}
	for _, tc := range tests {
		c, err := ParseConfig([]byte(tc.json))
		if tc.wantErr != "" {
			if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
				t.Errorf("%s: error %v, want one containing %q", tc.name, err, tc.wantErr)
			}
			continue
		}
		if err != nil || !tc.check(c) {
			t.Errorf("%s: got %+v, %v", tc.name, c, err)
		}
	}
}

func TestLoadConfigNamesFile(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "preprocessor_config.json")
	if err := os.WriteFile(path, []byte(`{"max_pixels": 401408}`), 0o644); err != nil {
		t.Fatal(err)
	}
	c, err := LoadConfig(path)
	if err != nil || c.MaxPixels != 401408 || c.MinPixels != 3136 {
		t.Fatalf("LoadConfig: %+v, %v", c, err)
	}
	if err := os.WriteFile(path, []byte(`[1]`), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := LoadConfig(path); err == nil || !strings.Contains(err.Error(), path) || !strings.HasPrefix(err.Error(), "imageproc: ") {
		t.Errorf("bad file: error %v, want one naming %s", err, path)
	}
	if _, err := LoadConfig(filepath.Join(dir, "none.json")); err == nil || !strings.Contains(err.Error(), "none.json") {
		t.Errorf("missing file: error %v", err)
	}
}

// TestTJSMeanStd: transformers.js divides by the JSON's float64 constants,
// not by their float32 roundings; changing Mean/Std after loading falls back
// to the float32 values.
func TestTJSMeanStd(t *testing.T) {
	c, err := ParseConfig([]byte(`{"image_mean": [0.1, 0.2, 0.3], "image_std": [0.7, 0.8, 0.9]}`))
	if err != nil {
		t.Fatal(err)
	}
	mean, std := c.tjsMeanStd()
	if mean != [3]float64{0.1, 0.2, 0.3} || std != [3]float64{0.7, 0.8, 0.9} {
		t.Fatalf("tjsMeanStd = %v %v", mean, std)
	}
	c.Mean[1] = 0.25
	mean, _ = c.tjsMeanStd()
	if mean[1] != 0.25 || mean[0] != 0.1 {
		t.Fatalf("after edit: %v", mean)
	}
}
