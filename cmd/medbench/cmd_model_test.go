package main

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestModelFixtureAndInspect(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "tiny")
	if code, _, errOut := cliRun(t, "model", "fixture", "--preset", "tiny", "--seed", "3", "--out", dir); code != 0 {
		t.Fatalf("fixture: exit %d: %s", code, errOut)
	}
	code, out, errOut := cliRun(t, "model", "inspect", dir)
	if code != 0 {
		t.Fatalf("inspect: exit %d: %s\n%s", code, errOut, out)
	}
	for _, want := range []string{
		"onnx/decoder_model_merged.onnx", "| in  | past_key_values.1.value | float32 | [batch_size, 2, past_sequence_length, 16]",
		"| out | present.0.key           | float32 | [batch_size, 2, total_sequence_length, 16]",
		"| in  | grid_thw       | int64   | [batch_size, 3]", "|  8 |    17 |", "layout: compatible",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("inspect output lacks %q:\n%s", want, out)
		}
	}

	// An fp16-only directory is inspected as fp16 by default.
	dir16 := filepath.Join(t.TempDir(), "tiny16")
	if code, _, errOut := cliRun(t, "model", "fixture", "--dtype", "fp16", "--out", dir16); code != 0 {
		t.Fatalf("fixture fp16: exit %d: %s", code, errOut)
	}
	if code, out, _ := cliRun(t, "model", "inspect", dir16); code != 0 || !strings.Contains(out, "decoder_model_merged_fp16.onnx") ||
		!strings.Contains(out, "| in  | inputs_embeds           | float16 |") || !strings.Contains(out, "compatible with the medbench Qwen2-VL runner (fp16)") {
		t.Errorf("fp16 inspect: exit %d\n%s", code, out)
	}

	// The fp16 files are absent: incompatible, exit 1, every file listed.
	code, out, _ = cliRun(t, "model", "inspect", "--dtype", "fp16", dir)
	if code != 1 || strings.Count(out, "expected file, found none") != 3 || !strings.Contains(out, "INCOMPATIBLE") {
		t.Errorf("fp16 inspect of an fp32 dir: exit %d\n%s", code, out)
	}
	// A config with three layers: the decoder lacks layer 2's cache.
	cfg := filepath.Join(dir, "config.json")
	b, _ := os.ReadFile(cfg)
	os.WriteFile(cfg, []byte(strings.Replace(string(b), `"num_hidden_layers": 2`, `"num_hidden_layers": 3`, 1)), 0o644)
	code, out, _ = cliRun(t, "model", "inspect", dir)
	if code != 1 || !strings.Contains(out, "past_key_values.2.key: expected input float32") || !strings.Contains(out, "present.2.value: expected output") {
		t.Errorf("3-layer config: exit %d\n%s", code, out)
	}
	os.WriteFile(filepath.Join(dir, "onnx", "vision_encoder.onnx"), []byte{0xff, 0xff}, 0o644)
	if code, _, errOut := cliRun(t, "model", "inspect", dir); code != 2 || !strings.Contains(errOut, "vision_encoder.onnx") {
		t.Errorf("corrupt file: exit %d: %s", code, errOut)
	}
}

func TestModelUsageErrors(t *testing.T) {
	out := t.TempDir()
	for _, args := range [][]string{
		{"model", "fixture", "--preset", "huge", "--out", out},
		{"model", "fixture", "--dtype", "int8", "--out", out},
		{"model", "fixture"},
		{"model", "fixture", "--out", out, "extra"},
		{"model", "inspect"},
		{"model", "inspect", "--dtype", "bf16", out},
		{"model", "inspect", filepath.Join(out, "missing")},
	} {
		code, _, errOut := cliRun(t, args...)
		if code != 2 || !strings.HasPrefix(errOut, "medbench: ") {
			t.Errorf("%v: exit %d, stderr %q", args, code, errOut)
		}
	}
}

// TestModelInspectLoadsJSONFiles: inspect loads tokenizer.json,
// generation_config.json, preprocessor_config.json and config.json as the
// runner does: a truncated or garbage one makes the directory incompatible
// (exit 1), naming the file and the error.
func TestModelInspectLoadsJSONFiles(t *testing.T) {
	base := t.TempDir()
	src := filepath.Join(base, "m")
	if code, _, errOut := cliRun(t, "model", "fixture", "--out", src, "--preset", "tiny"); code != 0 {
		t.Fatalf("fixture: %s", errOut)
	}
	cases := []struct {
		file, body, want string
	}{
		{"tokenizer.json", "", "unexpected end of JSON input"}, // truncated below
		{"generation_config.json", `{"eos_token_id": "end"}`, "generation_config.json"},
		{"preprocessor_config.json", `{"min_pixels": 3136, "max_pixels": 1000}`, "max_pixels"},
		{"preprocessor_config.json", `garbage`, "invalid character"},
		{"config.json", `{"model_type": "qwen2_vl"`, "config.json"},
	}
	for i, c := range cases {
		dir := filepath.Join(base, fmt.Sprint(i))
		copyDir(t, src, dir)
		p := filepath.Join(dir, c.file)
		body := []byte(c.body)
		if c.body == "" {
			b, err := os.ReadFile(p)
			if err != nil {
				t.Fatal(err)
			}
			body = b[:len(b)/2]
		}
		os.WriteFile(p, body, 0o644)
		code, out, errOut := cliRun(t, "model", "inspect", dir)
		if code != 1 || !strings.Contains(out, "INCOMPATIBLE") || !strings.Contains(out, p) || !strings.Contains(out, c.want) {
			t.Errorf("%s %q: exit %d, want 1 naming %s and %q:\n%s%s", c.file, c.body, code, p, c.want, out, errOut)
		}
	}
}
