#!/usr/bin/env bash
# Fetch the ONNX Runtime 1.29.0 CUDA execution provider (CUDA 13, cuDNN 9)
# and place it next to the core library that `make setup` put in
# .cache/ort/1.29.0/ (ORT loads provider libraries from the core library's
# folder). Source: the npm package com.github.asus4.onnxruntime.linux-x64-gpu
# @0.4.9 (npm pack, no install scripts; 179 MB, fetched once into
# .cache/ort-cuda/), whose Plugins/Linux/x64 holds ORT 1.29.0's
# libonnxruntime_providers_{cuda,shared}.so. Every file is sha256-checked.
# Idempotent. At run time the provider needs libcudart.so.13,
# libcublas.so.13, libcublasLt.so.13, libcurand.so.10, libcufft.so.12 and
# cuDNN 9 on the library path (LD_LIBRARY_PATH).
set -euo pipefail
ORT_VERSION=1.29.0
PKG=com.github.asus4.onnxruntime.linux-x64-gpu
PKG_VERSION=0.4.9
TGZ_SHA256=2b459e0c17f340c92970c10ed86de4f37a3009f93c14053e6ad4334cbb6be412
CUDA_SHA256=56cf3254b118ad837ccc4ed8f6d1b23504bbf7ef91b34cbc0b289cb7f10b3037
SHARED_SHA256=c6a12593396095f5670160e284c35d1700b7708cf3037b7042e2a5200ccae772
root=$(cd "$(dirname "$0")/.." && pwd)
dest="$root/.cache/ort/$ORT_VERSION"
core="$dest/libonnxruntime.so.1"
[ -f "$core" ] || { echo "fetch-ort-cuda: $core missing; run \`make setup\` first" >&2; exit 2; }

ok() { [ -f "$1" ] && echo "$2  $1" | sha256sum -c --status; }
if ok "$dest/libonnxruntime_providers_cuda.so" "$CUDA_SHA256" && ok "$dest/libonnxruntime_providers_shared.so" "$SHARED_SHA256"; then
  exit 0
fi

dl="$root/.cache/ort-cuda"
tgz="$dl/$PKG-$PKG_VERSION.tgz"
mkdir -p "$dl" "$root/.cache/npm"
if ! ok "$tgz" "$TGZ_SHA256"; then
  command -v npm >/dev/null || { echo "fetch-ort-cuda: npm is required to fetch $PKG@$PKG_VERSION" >&2; exit 2; }
  echo "fetch-ort-cuda: npm pack $PKG@$PKG_VERSION (179 MB)" >&2
  rm -f "$tgz"
  (cd "$dl" && npm pack "$PKG@$PKG_VERSION" --silent --cache "$root/.cache/npm" >/dev/null)
  ok "$tgz" "$TGZ_SHA256" || { echo "fetch-ort-cuda: sha256 mismatch for $tgz (want $TGZ_SHA256)" >&2; rm -f "$tgz"; exit 2; }
fi
tmp=$(mktemp -d "$root/.cache/ort-cuda-x.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
src=package/Plugins/Linux/x64
tar -xzf "$tgz" -C "$tmp" "$src/libonnxruntime_providers_cuda.so" "$src/libonnxruntime_providers_shared.so"
ok "$tmp/$src/libonnxruntime_providers_cuda.so" "$CUDA_SHA256" \
  || { echo "fetch-ort-cuda: sha256 mismatch for libonnxruntime_providers_cuda.so" >&2; exit 2; }
ok "$tmp/$src/libonnxruntime_providers_shared.so" "$SHARED_SHA256" \
  || { echo "fetch-ort-cuda: sha256 mismatch for libonnxruntime_providers_shared.so" >&2; exit 2; }
mv "$tmp/$src/libonnxruntime_providers_shared.so" "$tmp/$src/libonnxruntime_providers_cuda.so" "$dest/"
echo "fetch-ort-cuda: CUDA provider installed in $dest (needs CUDA 13 + cuDNN 9 on LD_LIBRARY_PATH at run time)" >&2
