package qwen2vl

import (
	"fmt"
	"strings"
)

// DefaultSystem is the system line Qwen2-VL's chat template inserts when the
// conversation has no system message (MedVLM-R1 sends none).
const DefaultSystem = "You are a helpful assistant."

// specialTokens are the ids the runner needs, read from config.json and
// generation_config.json.
type specialTokens struct {
	imagePad    int
	visionStart int
	visionEnd   int
	pad         int
	merge       int
}

// ChatPrompt renders Qwen2-VL's chat template for one user turn holding
// nImages images followed by text, with the default system line and the
// generation prompt, exactly as apply_chat_template(add_generation_prompt=True)
// does: each image becomes <|vision_start|><|image_pad|><|vision_end|> (one
// pad; the runner expands it to the image's token count).
func ChatPrompt(text string, nImages int) string {
	var b strings.Builder
	b.WriteString("<|im_start|>system\n" + DefaultSystem + "<|im_end|>\n<|im_start|>user\n")
	for range nImages {
		b.WriteString("<|vision_start|><|image_pad|><|vision_end|>")
	}
	b.WriteString(text)
	b.WriteString("<|im_end|>\n<|im_start|>assistant\n")
	return b.String()
}

// expandImagePads replaces the k-th <|image_pad|> id of ids by counts[k]
// copies (grid_t·grid_h·grid_w / merge² for that image). The number of pads
// must equal the number of images.
func expandImagePads(ids []int, imagePad int, counts []int) ([]int, error) {
	n := 0
	extra := 0
	for _, id := range ids {
		if id == imagePad {
			if n < len(counts) {
				extra += counts[n] - 1
			}
			n++
		}
	}
	if n != len(counts) {
		return nil, fmt.Errorf("qwen2vl: prompt holds %d <|image_pad|> tokens for %d images (does the text contain special tokens?)", n, len(counts))
	}
	out := make([]int, 0, len(ids)+extra)
	k := 0
	for _, id := range ids {
		if id != imagePad {
			out = append(out, id)
			continue
		}
		for range counts[k] {
			out = append(out, imagePad)
		}
		k++
	}
	return out, nil
}

// leftPad lays rows out as a left-padded [B, S] batch (S = longest row) with
// the pad id, and returns the ids and the attention mask (0 on padding).
func leftPad(rows [][]int, pad int) (ids, mask []int64, S int) {
	for _, r := range rows {
		S = max(S, len(r))
	}
	ids = make([]int64, len(rows)*S)
	mask = make([]int64, len(rows)*S)
	for b, r := range rows {
		off := b*S + S - len(r)
		for s := b * S; s < off; s++ {
			ids[s] = int64(pad)
		}
		for j, id := range r {
			ids[off+j] = int64(id)
			mask[off+j] = 1
		}
	}
	return ids, mask, S
}
