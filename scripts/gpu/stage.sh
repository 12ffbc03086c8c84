#!/usr/bin/env bash
# Stage medbench and ONNX Runtime's CUDA provider for a GPU machine that has no
# Go and no network, in folders that each fit a 64 MiB transfer: .gpu/a holds
# the medbench binary, the core library, libonnxruntime_providers_shared.so and
# these scripts; .gpu/b….gpu/e hold the CUDA provider (230 MB) in four parts.
# On the GPU machine: copy each folder's content to /tmp/ort, then run
# /tmp/ort/run-device.sh (it joins the parts). Add /.gpu/ to .git/info/exclude
# (it is in .gitignore already).
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
cd "$root"
make setup-cuda build
ort=.cache/ort/1.29.0
rm -rf .gpu && mkdir -p .gpu/a .gpu/b .gpu/c .gpu/d .gpu/e
cp bin/medbench "$ort/libonnxruntime.so.1" "$ort/libonnxruntime_providers_shared.so" scripts/gpu/*.sh scripts/gpu/*.py .gpu/a/
split -n 4 -d "$ort/libonnxruntime_providers_cuda.so" .gpu/cuda.part.
i=0
for d in b c d e; do mv ".gpu/cuda.part.0$i" ".gpu/$d/"; i=$((i + 1)); done
sha256sum "$ort/libonnxruntime_providers_cuda.so" | awk '{print $1}' > .gpu/a/providers_cuda.sha256
du -sh .gpu/*
