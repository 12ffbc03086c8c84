#!/usr/bin/env python3
"""The seed's own decoding path, timed: Hugging Face transformers'
Qwen2VLForConditionalGeneration.generate on a GPU, random weights with
Qwen2-VL-2B's configuration, bf16, sdpa attention, a 376-token prompt holding
256 image tokens (one 448x448 image: grid 1x32x32 patches, merged 2x2), 256 new
tokens forced (min_new_tokens = max_new_tokens), greedy, batch 1 and 16.

Prints one JSON line per batch size: tokens/s (generated tokens over the median
generate() wall time, CUDA-synchronized), the times, the peak device memory.
No network: the model is built from the configuration below, not downloaded.
Usage: python3 hf_generate_bench.py [--batches 1,16] [--repeats 3] [--device cuda]
       [--tiny] (a tiny configuration, to smoke-test the script on CPU)
"""
import argparse, json, statistics, sys, time

import torch
from transformers import Qwen2VLConfig, Qwen2VLForConditionalGeneration

# Qwen2-VL-2B-Instruct's config.json (Hugging Face hub, Qwen/Qwen2-VL-2B-Instruct).
CFG_2B = dict(
    vocab_size=151936, hidden_size=1536, intermediate_size=8960, num_hidden_layers=28,
    num_attention_heads=12, num_key_value_heads=2, max_position_embeddings=32768, rms_norm_eps=1e-6,
    rope_theta=1000000.0, tie_word_embeddings=True, bos_token_id=151643, eos_token_id=151645,
    vision_start_token_id=151652, vision_end_token_id=151653, vision_token_id=151654,
    image_token_id=151655, video_token_id=151656,
    rope_scaling={"type": "mrope", "mrope_section": [16, 24, 24]},
    vision_config=dict(depth=32, embed_dim=1280, hidden_size=1536, hidden_act="quick_gelu", mlp_ratio=4,
                       num_heads=16, in_channels=3, patch_size=14, spatial_merge_size=2, temporal_patch_size=2),
)
CFG_TINY = dict(CFG_2B, hidden_size=64, intermediate_size=128, num_hidden_layers=2, num_attention_heads=4,
                num_key_value_heads=2, rope_scaling={"type": "mrope", "mrope_section": [2, 3, 3]},
                vision_config=dict(CFG_2B["vision_config"], depth=2, embed_dim=32, num_heads=2, hidden_size=64))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--batches", default="1,16")
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--new-tokens", type=int, default=256)
    ap.add_argument("--prompt-tokens", type=int, default=376)
    ap.add_argument("--device", default="cuda")
    ap.add_argument("--tiny", action="store_true")
    a = ap.parse_args()
    torch.manual_seed(0)
    cfg = Qwen2VLConfig(**(CFG_TINY if a.tiny else CFG_2B))
    dtype = torch.bfloat16 if a.device.startswith("cuda") else torch.float32
    attn = "sdpa" if a.device.startswith("cuda") else "eager"
    model = Qwen2VLForConditionalGeneration._from_config(cfg, attn_implementation=attn, torch_dtype=dtype)
    model.to(a.device).eval()
    grid_h = grid_w = 32  # 448 / 14
    n_img = grid_h * grid_w // 4  # 256 merged image tokens
    text = a.prompt_tokens - n_img - 2
    g = torch.Generator().manual_seed(1)
    # <|vision_start|> 256 x <|image_pad|> <|vision_end|>, then ordinary text ids.
    ids = [cfg.vision_start_token_id] + [cfg.image_token_id] * n_img + [cfg.vision_end_token_id]
    ids += torch.randint(1000, 100000, (text,), generator=g).tolist()
    patch_dim = 3 * 2 * 14 * 14
    for b in [int(x) for x in a.batches.split(",")]:
        input_ids = torch.tensor([ids] * b, device=a.device)
        pixel_values = torch.randn(b * grid_h * grid_w, patch_dim, generator=g).to(a.device, dtype)
        grid = torch.tensor([[1, grid_h, grid_w]] * b, device=a.device)
        kw = dict(input_ids=input_ids, attention_mask=torch.ones_like(input_ids), pixel_values=pixel_values,
                  image_grid_thw=grid, max_new_tokens=a.new_tokens, min_new_tokens=a.new_tokens,
                  do_sample=False, eos_token_id=None, pad_token_id=cfg.eos_token_id)
        with torch.inference_mode():
            model.generate(**kw)  # warm-up
            times = []
            if a.device.startswith("cuda"):
                torch.cuda.reset_peak_memory_stats()
            for _ in range(a.repeats):
                if a.device.startswith("cuda"):
                    torch.cuda.synchronize()
                t = time.perf_counter()
                out = model.generate(**kw)
                if a.device.startswith("cuda"):
                    torch.cuda.synchronize()
                times.append(time.perf_counter() - t)
        gen = (out.shape[1] - input_ids.shape[1]) * b
        med = statistics.median(times)
        peak = torch.cuda.max_memory_allocated() if a.device.startswith("cuda") else 0
        print(json.dumps({"peer": "transformers generate", "batch": b, "prompt_tokens": len(ids), "generated_tokens": gen,
                          "seconds": times, "median_s": med, "tokens_per_sec": gen / med, "peak_device_bytes": peak,
                          "dtype": str(dtype), "attn": attn, "torch": torch.__version__,
                          "transformers": __import__("transformers").__version__}), flush=True)


if __name__ == "__main__":
    sys.exit(main())
