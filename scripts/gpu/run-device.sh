#!/usr/bin/env bash
# On the GPU machine, after the five staged folders were copied to /tmp/ort:
# joins the CUDA provider, writes the Qwen2-VL-2B-shaped fixture (random
# weights, fp16), synthesizes 16 requests with 448x448 images (256 image
# tokens each), and runs, side by side in one session:
#   1. medbench bench --device cuda, KV cache on the GPU (IoBinding) and, as a
#      check of what it saves, on the host;
#   2. Hugging Face transformers' generate (the seed's path) on the same GPU:
#      random-weight Qwen2-VL-2B, bf16, sdpa, 376-token prompt with 256 image
#      tokens, 256 new tokens forced, batch 1 and 16.
# Results go to $OUT (bench-*.json, hf.jsonl, logs).
set -euo pipefail
T=/tmp/ort
OUT=${OUT:-/tmp/out}
mkdir -p "$OUT"
if [ ! -f "$T/libonnxruntime_providers_cuda.so" ]; then
  cat "$T"/cuda.part.0* > "$T/libonnxruntime_providers_cuda.so"
  echo "$(cat "$T/providers_cuda.sha256")  $T/libonnxruntime_providers_cuda.so" | sha256sum -c
fi
export LD_LIBRARY_PATH=$T:/usr/local/cuda/targets/x86_64-linux/lib:${LD_LIBRARY_PATH:-}
export MEDBENCH_ORT_LIB=$T/libonnxruntime.so.1
M=$T/medbench
nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv > "$OUT/gpu.txt" || true
[ -d /tmp/m2b ] || $M model fixture --preset qwen2vl-2b --dtype fp16 --out /tmp/m2b
[ -d /tmp/d448 ] || $M dataset synth --out /tmp/d448 --n 16 --seed 3 --min-side 448 --max-side 448 --formats png --modes rgb
for kv in device host; do
  $M bench --model /tmp/m2b --data /tmp/d448/dataset.json --dtype fp16 --device cuda --kv-cache $kv --peer none \
    --n 16 --batch 1,16 --repeats 3 --warmup 1 --max-new-tokens 256 --min-new-tokens 256 \
    --out "$OUT/bench-$kv.json" 2>&1 | tee "$OUT/bench-$kv.log"
done
python3 "$T/hf_generate_bench.py" --batches 1,16 --repeats 3 2>&1 | tee "$OUT/hf.jsonl"
