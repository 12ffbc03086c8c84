package checkpoint

import (
	"bytes"
	"encoding/json"
	"math"
	"strconv"
	"strings"

	"github.com/medbench/medbench/runners/fixture"
)

// TransformersVersion is the version export's config.json claims to be
// written by (the one MedVLM-R1 and the HF oracle use).
const TransformersVersion = "4.47.1"

// pyFloat is a float64 that marshals as Python's repr does (json.dumps
// writes floats with float.__repr__): shortest round-trip digits, fixed
// notation for decimal exponents in (-4, 16] with ".0" on integers,
// otherwise d.ddde±XX.
type pyFloat float64

func (f pyFloat) MarshalJSON() ([]byte, error) {
	return []byte(pyRepr(float64(f))), nil
}

func pyRepr(f float64) string {
	switch {
	case math.IsInf(f, 1):
		return "Infinity"
	case math.IsInf(f, -1):
		return "-Infinity"
	case math.IsNaN(f):
		return "NaN"
	}
	s := strconv.FormatFloat(f, 'e', -1, 64) // -d.ddde±XX
	sign := ""
	if s[0] == '-' {
		sign, s = "-", s[1:]
	}
	mant, expS, _ := strings.Cut(s, "e")
	exp, _ := strconv.Atoi(expS)
	digits := strings.Replace(mant, ".", "", 1)
	decpt := exp + 1 // digits × 10^(decpt - len(digits)), point after decpt digits
	if decpt > -4 && decpt <= 16 {
		switch {
		case decpt <= 0:
			return sign + "0." + strings.Repeat("0", -decpt) + digits
		case decpt >= len(digits):
			return sign + digits + strings.Repeat("0", decpt-len(digits)) + ".0"
		default:
			return sign + digits[:decpt] + "." + digits[decpt:]
		}
	}
	m := digits[:1]
	if len(digits) > 1 {
		m += "." + digits[1:]
	}
	es := "+"
	if exp < 0 {
		es, exp = "-", -exp
	}
	e := strconv.Itoa(exp)
	if len(e) < 2 {
		e = "0" + e
	}
	return sign + m + "e" + es + e
}

// configExtras are config.json values the builders' Config does not hold,
// with Qwen2VLConfig's defaults.
type configExtras struct {
	AttentionDropout *float64 `json:"attention_dropout"`
	SlidingWindow    *int     `json:"sliding_window"`
	MaxWindowLayers  *int     `json:"max_window_layers"`
	UseSlidingWindow *bool    `json:"use_sliding_window"`
}

// hfConfigJSON writes config.json as transformers v4.47.1's save_pretrained
// does for a Qwen2VLConfig: json.dumps(indent=2, sort_keys=True) of the
// values that differ from PretrainedConfig's defaults (to_diff_dict), the
// vision_config reduced to the keys that differ from
// Qwen2VLVisionConfig's defaults plus model_type, and rope_scaling as
// Qwen2VLConfig rewrites it ("mrope" → type and rope_type "default").
func hfConfigJSON(c *fixture.Config, ids fixture.TokenIDs, ex configExtras, torchDType string) ([]byte, error) {
	pick := func(p *float64, d float64) pyFloat {
		if p != nil {
			return pyFloat(*p)
		}
		return pyFloat(d)
	}
	iOr := func(p *int, d int) int {
		if p != nil {
			return *p
		}
		return d
	}
	cfg := map[string]any{
		"architectures":           []string{fixture.HFArchitecture},
		"attention_dropout":       pick(ex.AttentionDropout, 0),
		"hidden_act":              "silu",
		"hidden_size":             c.Hidden,
		"initializer_range":       pyFloat(c.InitializerRange),
		"intermediate_size":       c.Intermediate,
		"max_position_embeddings": c.MaxPositions,
		"max_window_layers":       iOr(ex.MaxWindowLayers, 80),
		"model_type":              fixture.HFModelType,
		"num_attention_heads":     c.Heads,
		"num_hidden_layers":       c.Layers,
		"num_key_value_heads":     c.KVHeads,
		"rms_norm_eps":            pyFloat(c.RMSNormEps),
		"rope_scaling": map[string]any{
			"mrope_section": c.MRopeSection[:],
			"rope_type":     "default",
			"type":          "default",
		},
		"rope_theta":           pyFloat(c.RopeTheta),
		"sliding_window":       iOr(ex.SlidingWindow, 4096),
		"tie_word_embeddings":  !c.UntiedLMHead,
		"torch_dtype":          torchDType,
		"transformers_version": TransformersVersion,
		"use_cache":            true,
		"use_sliding_window":   ex.UseSlidingWindow != nil && *ex.UseSlidingWindow,
		"vocab_size":           c.VocabSize,
	}
	for k, v := range map[string]*int{
		"bos_token_id": ids.BOS, "pad_token_id": ids.Pad, "vision_start_token_id": ids.VisionStart,
		"vision_end_token_id": ids.VisionEnd, "vision_token_id": ids.VisionPad,
		"image_token_id": ids.Image, "video_token_id": ids.Video,
	} {
		if v != nil {
			cfg[k] = *v
		}
	}
	if len(ids.EOS) > 0 {
		cfg["eos_token_id"] = ids.EOS
	}
	vision := map[string]any{"model_type": fixture.HFModelType}
	for _, f := range []struct {
		key       string
		got, dflt int
	}{
		{"depth", c.VisionDepth, 32}, {"embed_dim", c.VisionEmbed, 1280}, {"hidden_size", c.Hidden, 3584},
		{"num_heads", c.VisionHeads, 16},
	} {
		if f.got != f.dflt {
			vision[f.key] = f.got
		}
	}
	if r := c.VisionMLP / c.VisionEmbed; r != 4 {
		vision["mlp_ratio"] = r
	}
	cfg["vision_config"] = vision
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	enc.SetIndent("", "  ")
	if err := enc.Encode(cfg); err != nil {
		return nil, err
	}
	return b.Bytes(), nil
}
