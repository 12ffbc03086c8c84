package qwen2vl

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/medbench/medbench/internal/utf8bom"
)

// dtypeSuffixes maps --dtype to the file-name suffix of the onnx-community /
// transformers.js layout: onnx/{session}{suffix}.onnx.
var dtypeSuffixes = map[string]string{
	"fp32": "", "fp16": "_fp16", "q8": "_quantized", "quantized": "_quantized",
	"int8": "_int8", "uint8": "_uint8", "q4": "_q4", "q4f16": "_q4f16", "bnb4": "_bnb4",
}

// DTypes lists the accepted --dtype values.
func DTypes() []string {
	out := make([]string, 0, len(dtypeSuffixes))
	for k := range dtypeSuffixes {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// Session names (files onnx/{name}{suffix}.onnx).
const (
	sessVision  = "vision_encoder"
	sessEmbed   = "embed_tokens"
	sessDecoder = "decoder_model_merged"
)

// parseDType resolves a --dtype spec to a file suffix per session. The spec
// is one dtype for all three files ("fp32", "q4f16", ...) or a
// comma-separated list of a default dtype and session=dtype overrides, as
// transformers.js's per-session dtype objects allow, e.g.
// "q4,vision_encoder=fp16,embed_tokens=fp16".
func parseDType(spec string) (map[string]string, error) {
	if spec == "" {
		spec = "fp32"
	}
	out := map[string]string{}
	def, hasDef := "", false
	for _, item := range strings.Split(spec, ",") {
		item = strings.TrimSpace(item)
		sess, dt, per := strings.Cut(item, "=")
		if !per {
			sess, dt = "", item
		}
		suf, ok := dtypeSuffixes[dt]
		if !ok {
			return nil, fmt.Errorf("qwen2vl: unknown dtype %q in %q (want one of %s, optionally per session: DTYPE,SESSION=DTYPE)", dt, spec, strings.Join(DTypes(), ", "))
		}
		switch sess {
		case "":
			if hasDef {
				return nil, fmt.Errorf("qwen2vl: dtype %q: two default dtypes", spec)
			}
			def, hasDef = suf, true
		case sessVision, sessEmbed, sessDecoder:
			if _, dup := out[sess]; dup {
				return nil, fmt.Errorf("qwen2vl: dtype %q: %s given twice", spec, sess)
			}
			out[sess] = suf
		default:
			return nil, fmt.Errorf("qwen2vl: dtype %q: unknown session %q (want %s, %s or %s)", spec, sess, sessVision, sessEmbed, sessDecoder)
		}
	}
	for _, s := range []string{sessVision, sessEmbed, sessDecoder} {
		if _, ok := out[s]; !ok {
			out[s] = def // "" = fp32 when no default was given
		}
	}
	return out, nil
}

// modelFiles returns the three .onnx paths for a dtype spec (parseDType).
func modelFiles(dir, dtype string) (map[string]string, error) {
	sufs, err := parseDType(dtype)
	if err != nil {
		return nil, err
	}
	out := map[string]string{}
	var missing []string
	for _, s := range []string{sessVision, sessEmbed, sessDecoder} {
		p := filepath.Join(dir, "onnx", s+sufs[s]+".onnx")
		if _, err := os.Stat(p); err != nil {
			missing = append(missing, p)
		}
		out[s] = p
	}
	if len(missing) > 0 {
		return nil, fmt.Errorf("qwen2vl: model %s has no %s files: missing %s", dir, dtype, strings.Join(missing, ", "))
	}
	return out, nil
}

// hfConfig is the part of config.json the runner reads.
type hfConfig struct {
	ModelType          string          `json:"model_type"`
	NumHiddenLayers    int             `json:"num_hidden_layers"`
	NumKeyValueHeads   int             `json:"num_key_value_heads"`
	HiddenSize         int             `json:"hidden_size"`
	VocabSize          int             `json:"vocab_size"`
	ImageTokenID       *int            `json:"image_token_id"`
	VisionStartTokenID *int            `json:"vision_start_token_id"`
	VisionEndTokenID   *int            `json:"vision_end_token_id"`
	EOSTokenID         json.RawMessage `json:"eos_token_id"`
	PadTokenID         *int            `json:"pad_token_id"`
	VisionConfig       *struct {
		SpatialMergeSize int `json:"spatial_merge_size"`
	} `json:"vision_config"`
}

// genConfig is the part of generation_config.json the runner reads.
type genConfig struct {
	EOSTokenID json.RawMessage `json:"eos_token_id"`
	PadTokenID *int            `json:"pad_token_id"`
}

// intList parses an int or a list of ints (eos_token_id).
func intList(raw json.RawMessage) ([]int, error) {
	if len(raw) == 0 || string(raw) == "null" {
		return nil, nil
	}
	var one int
	if err := json.Unmarshal(raw, &one); err == nil {
		return []int{one}, nil
	}
	var many []int
	if err := json.Unmarshal(raw, &many); err != nil {
		return nil, fmt.Errorf("eos_token_id %s: want an int or a list of ints", raw)
	}
	return many, nil
}

// modelMeta is what the runner takes from the model directory's JSON files.
type modelMeta struct {
	cfg    hfConfig
	tok    specialTokens
	eos    []int
	layers int
}

func readJSON(path string, v any, required bool) (bool, error) {
	b, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) && !required {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("qwen2vl: %w", err)
	}
	if err := json.Unmarshal(utf8bom.Trim(b), v); err != nil {
		return false, fmt.Errorf("qwen2vl: %s: %w", path, err)
	}
	return true, nil
}

// loadMeta reads config.json and generation_config.json. EOS ids come from
// generation_config.json (as Hugging Face generate uses them), else
// config.json; the pad id from generation_config.json, else config.json, else
// the first EOS id.
func loadMeta(dir string) (*modelMeta, error) {
	m := &modelMeta{}
	cpath := filepath.Join(dir, "config.json")
	if _, err := readJSON(cpath, &m.cfg, true); err != nil {
		return nil, err
	}
	if m.cfg.ModelType != "qwen2_vl" {
		return nil, fmt.Errorf("qwen2vl: %s: model_type %q, want \"qwen2_vl\"", cpath, m.cfg.ModelType)
	}
	var missing []string
	need := func(name string, p *int) int {
		if p == nil {
			missing = append(missing, name)
			return -1
		}
		return *p
	}
	m.tok.imagePad = need("image_token_id", m.cfg.ImageTokenID)
	m.tok.visionStart = need("vision_start_token_id", m.cfg.VisionStartTokenID)
	m.tok.visionEnd = need("vision_end_token_id", m.cfg.VisionEndTokenID)
	if m.cfg.NumHiddenLayers <= 0 {
		missing = append(missing, "num_hidden_layers")
	}
	if len(missing) > 0 {
		return nil, fmt.Errorf("qwen2vl: %s: missing %s", cpath, strings.Join(missing, ", "))
	}
	m.layers = m.cfg.NumHiddenLayers
	m.tok.merge = 2
	if m.cfg.VisionConfig != nil && m.cfg.VisionConfig.SpatialMergeSize > 0 {
		m.tok.merge = m.cfg.VisionConfig.SpatialMergeSize
	}
	var g genConfig
	gpath := filepath.Join(dir, "generation_config.json")
	found, err := readJSON(gpath, &g, false)
	if err != nil {
		return nil, err
	}
	if found {
		if m.eos, err = intList(g.EOSTokenID); err != nil {
			return nil, fmt.Errorf("qwen2vl: %s: %w", gpath, err)
		}
	}
	if len(m.eos) == 0 {
		if m.eos, err = intList(m.cfg.EOSTokenID); err != nil {
			return nil, fmt.Errorf("qwen2vl: %s: %w", cpath, err)
		}
	}
	if len(m.eos) == 0 {
		return nil, fmt.Errorf("qwen2vl: %s: no eos_token_id in generation_config.json or config.json", dir)
	}
	switch {
	case g.PadTokenID != nil:
		m.tok.pad = *g.PadTokenID
	case m.cfg.PadTokenID != nil:
		m.tok.pad = *m.cfg.PadTokenID
	default:
		m.tok.pad = m.eos[0]
	}
	return m, nil
}

// CheckDType validates a --dtype spec (see Config.DType) without a model.
func CheckDType(spec string) error {
	_, err := parseDType(spec)
	return err
}
