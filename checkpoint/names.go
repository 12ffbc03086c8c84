package checkpoint

import (
	"fmt"
	"strings"

	"github.com/medbench/medbench/runners/fixture"
)

// Naming is a checkpoint's tensor-name scheme.
type Naming string

// Tensor-name schemes of Qwen2VLForConditionalGeneration checkpoints.
const (
	// Legacy is transformers ≤ 4.51: model.embed_tokens…, model.layers.N…,
	// model.norm…, visual.…, lm_head.weight.
	Legacy Naming = "legacy"
	// New is transformers ≥ 4.52 (its _checkpoint_conversion_mapping):
	// model.language_model.…, model.visual.…, lm_head.weight.
	New Naming = "new"
)

// ToLegacy maps a tensor name of either scheme to the legacy one, and says
// which scheme it was in ("" for names both schemes share: lm_head.weight).
func ToLegacy(name string) (string, Naming) {
	switch {
	case strings.HasPrefix(name, "model.language_model."):
		return "model." + strings.TrimPrefix(name, "model.language_model."), New
	case strings.HasPrefix(name, "model.visual."):
		return strings.TrimPrefix(name, "model."), New
	case strings.HasPrefix(name, "model.") || strings.HasPrefix(name, "visual."):
		return name, Legacy
	}
	return name, ""
}

// stateDictOrder lists the legacy tensor names in the order of
// Qwen2VLForConditionalGeneration's state_dict (transformers v4.47.1
// module registration order: visual, then model, then lm_head), which is
// the order save_pretrained fills shards in. lm_head.weight only when
// untied (save_pretrained drops the tied copy).
func stateDictOrder(c *fixture.Config) []string {
	var n []string
	add := func(p string, names ...string) {
		for _, s := range names {
			n = append(n, p+s)
		}
	}
	add("", "visual.patch_embed.proj.weight")
	for l := 0; l < c.VisionDepth; l++ {
		add(fmt.Sprintf("visual.blocks.%d.", l), "norm1.weight", "norm1.bias", "norm2.weight", "norm2.bias",
			"attn.qkv.weight", "attn.qkv.bias", "attn.proj.weight", "attn.proj.bias",
			"mlp.fc1.weight", "mlp.fc1.bias", "mlp.fc2.weight", "mlp.fc2.bias")
	}
	add("visual.merger.", "ln_q.weight", "ln_q.bias", "mlp.0.weight", "mlp.0.bias", "mlp.2.weight", "mlp.2.bias")
	add("", "model.embed_tokens.weight")
	for l := 0; l < c.Layers; l++ {
		add(fmt.Sprintf("model.layers.%d.", l),
			"self_attn.q_proj.weight", "self_attn.q_proj.bias", "self_attn.k_proj.weight", "self_attn.k_proj.bias",
			"self_attn.v_proj.weight", "self_attn.v_proj.bias", "self_attn.o_proj.weight",
			"mlp.gate_proj.weight", "mlp.up_proj.weight", "mlp.down_proj.weight",
			"input_layernorm.weight", "post_attention_layernorm.weight")
	}
	add("", "model.norm.weight")
	if c.UntiedLMHead {
		add("", "lm_head.weight")
	}
	return n
}
