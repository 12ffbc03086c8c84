#!/usr/bin/env bash
# Fetch the ONNX Runtime 1.29.0 CPU library from the npm package
# onnxruntime-node@1.29.0 (npm pack: no install scripts run), verify its
# sha256 and place it under .cache/ort/1.29.0/. Idempotent.
set -euo pipefail
ORT_VERSION=1.29.0
TGZ_SHA256=cfdfb45ec4044b1fdca43e5d2e180fb6817e649ff8ad1e0dfc90e18e51b67037
SO_SHA256=89688f5cf51c7e31befbb7b9101bc027799009b18d1baa9a5b1146a72e69538d
root=$(cd "$(dirname "$0")/.." && pwd)
dest="$root/.cache/ort/$ORT_VERSION"
so="$dest/libonnxruntime.so.1"
if [ -f "$so" ] && echo "$SO_SHA256  $so" | sha256sum -c --status; then
  exit 0
fi
command -v npm >/dev/null || { echo "fetch-ort: npm is required (node/npm) to fetch ONNX Runtime" >&2; exit 2; }
mkdir -p "$dest" "$root/.cache/npm"
tmp=$(mktemp -d "$root/.cache/ort-dl.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
echo "fetch-ort: npm pack onnxruntime-node@$ORT_VERSION" >&2
(cd "$tmp" && npm pack "onnxruntime-node@$ORT_VERSION" --silent --cache "$root/.cache/npm" >/dev/null)
tgz="$tmp/onnxruntime-node-$ORT_VERSION.tgz"
echo "$TGZ_SHA256  $tgz" | sha256sum -c --status || { echo "fetch-ort: sha256 mismatch for $tgz" >&2; exit 2; }
tar -xzf "$tgz" -C "$tmp" package/bin/napi-v6/linux/x64/libonnxruntime.so.1
echo "$SO_SHA256  $tmp/package/bin/napi-v6/linux/x64/libonnxruntime.so.1" | sha256sum -c --status \
  || { echo "fetch-ort: sha256 mismatch for libonnxruntime.so.1" >&2; exit 2; }
mv "$tmp/package/bin/napi-v6/linux/x64/libonnxruntime.so.1" "$so"
echo "fetch-ort: $so" >&2
