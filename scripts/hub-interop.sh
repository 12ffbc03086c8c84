#!/bin/bash
# Checks that medbench and Python's huggingface_hub read each other's cache:
# Python downloads from the fake hub (hub/hubtest) and medbench reuses that
# cache (pinned commit: no request; HF_HUB_OFFLINE=1: no request; branch: the
# revision request only), then medbench downloads and huggingface_hub reads
# it offline (snapshot_download, hf_hub_download, scan_cache_dir).
#
#   scripts/hub-interop.sh HUB_PYTHONPATH [PYTHON]
#
# HUB_PYTHONPATH: a folder holding the huggingface_hub package (e.g. a git
# checkout's src/); PYTHON needs requests, filelock, tqdm, pyyaml, packaging.
set -euo pipefail
site=$1
py=${2:-python3}
root=$(cd "$(dirname "$0")/.." && pwd)
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cd "$root"
go build -o "$work/medbench" ./cmd/medbench
go build -o "$work/fakehub" ./hub/hubtest/fakehub
mkdir -p "$work/repo/onnx"
head -c 300000 /dev/urandom >"$work/repo/model.safetensors"
head -c 120000 /dev/urandom >"$work/repo/onnx/model.onnx"
echo '{"model_type": "qwen2_vl"}' >"$work/repo/config.json"
echo 'card' >"$work/repo/README.md"
coproc HUB { "$work/fakehub" "$work/repo" org/tiny; }
read -r url commit <&"${HUB[0]}"
export HF_ENDPOINT=$url
requests() { # prints the request count since the last call
	echo >&"${HUB[1]}"
	local line n
	read -r line <&"${HUB[0]}"
	n=${line#requests: }
	for ((i = 0; i < n; i++)); do read -r _ <&"${HUB[0]}"; done
	echo "$n"
}
expect() { # expect NAME WANT GOT
	if [ "$2" != "$3" ]; then echo "FAIL: $1: want $2, got $3"; exit 1; fi
	echo "ok: $1 ($3)"
}
pyrun() { HF_HUB_CACHE=$1 PYTHONPATH=$site "$py" -c "$2" 2>/dev/null; }
mb() { HF_HUB_CACHE=$1 "$work/medbench" "${@:2}" 2>/dev/null; }

echo "huggingface_hub $(PYTHONPATH=$site "$py" -c 'import huggingface_hub as h; print(h.__version__)'), fake hub $url, commit $commit"
pyrun "$work/py" "from huggingface_hub import snapshot_download as s; s('org/tiny'); s('org/tiny', repo_type='dataset')" >/dev/null
requests >/dev/null
snap=$(mb "$work/py" model download org/tiny --revision "$commit" --include config.json --include model.safetensors)
expect "medbench on the Python cache, pinned commit, named files: requests" 0 "$(requests)"
expect "snapshot folder" "$work/py/models--org--tiny/snapshots/$commit" "$snap"
mb "$work/py" model download org/tiny --revision "$commit" >/dev/null
expect "medbench on the Python cache, pinned commit, all files: requests (file list only)" 1 "$(requests)"
mb "$work/py" model download org/tiny --revision "$commit" >/dev/null
expect "same again (file list now cached): requests" 0 "$(requests)"
HF_HUB_OFFLINE=1 mb "$work/py" dataset download org/tiny >/dev/null
expect "medbench on the Python cache, HF_HUB_OFFLINE=1: requests" 0 "$(requests)"
mb "$work/py" model download org/tiny >/dev/null
expect "medbench on the Python cache, branch main: requests (revision API only)" 1 "$(requests)"

mb "$work/go" model download org/tiny >/dev/null
mb "$work/go" dataset download org/tiny >/dev/null
requests >/dev/null
out=$(HF_HUB_OFFLINE=1 pyrun "$work/go" "
import hashlib
from huggingface_hub import snapshot_download, hf_hub_download, scan_cache_dir
print(snapshot_download('org/tiny'))
print(snapshot_download('org/tiny', repo_type='dataset'))
for f in ['config.json', 'model.safetensors', 'onnx/model.onnx', 'README.md']:
    print(hashlib.sha256(open(hf_hub_download('org/tiny', f), 'rb').read()).hexdigest())
info = scan_cache_dir()
print(len(info.warnings), sorted((r.repo_type, r.nb_files, len(r.revisions)) for r in info.repos))
")
expect "huggingface_hub on the medbench cache, offline: requests" 0 "$(requests)"
want=$(printf '%s\n%s\n' "$work/go/models--org--tiny/snapshots/$commit" "$work/go/datasets--org--tiny/snapshots/$commit"
	for f in config.json model.safetensors onnx/model.onnx README.md; do sha256sum "$work/repo/$f" | cut -d' ' -f1; done
	echo "0 [('dataset', 4, 1), ('model', 4, 1)]")
expect "huggingface_hub reads medbench's snapshot, blobs and refs" "$want" "$out"
exec {HUB[1]}>&-
wait
echo "interop: all checks passed"
