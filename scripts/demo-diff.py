#!/usr/bin/env python3
"""Compare two `medbench demo` output trees, ignoring wall-clock fields and the output folder's spelling.

usage: demo-diff.py BASE NEW   (exit 0: identical apart from ignored fields; 1: differences listed)

The proof that a refactor left behaviour unchanged: run `medbench demo --out DIR` before and after, then compare.
What is ignored was found by running the demo twice at one commit: wall-clock fields (started, finished,
created, step_time, latency_ms), the output folder's spelling, the checkout holding ONNX Runtime, the build
commit, lock files (a process id) and samples.parquet (samples.jsonl re-encoded, latencies included). Every other
byte of every file must match; PDFs are compared by their text (pdftotext), JSON by value.
"""
import json, os, re, subprocess, sys

# Fields that differ between two runs of the same binary (found by running `medbench demo` twice at
# one commit): wall-clock times and latencies. Everything else must match exactly.
# Build identity: the commit the binary was built from (the point of comparing two builds).
IGNORED_KEY = re.compile(r"^(started|finished|created|step_time|latency_ms|first_token_ms|wall_ms|elapsed_s|git_commit)$")
# Text lines with a wall-clock time (report.md / report.pdf "time: 2026-12-08 02:19:07Z → ...").
IGNORED_LINE = re.compile(r"\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}:\d{2}")
# Files that hold a process id (lock files) or re-encode samples.jsonl with its latencies (parquet).
IGNORED_FILE = re.compile(r"(^|/)(\.medbench\.lock|samples\.parquet)$")
ROOTS = []  # output-root spellings replaced by <OUT> before comparing

COMMIT = re.compile(r"(medbench:\*\* \S+ |medbench +\S+ |commit[ :]+)[0-9a-f]{7,40}\b")

# The ONNX Runtime library's path names the checkout it was fetched into.
ORTLIB = re.compile(r"[^\s\"'(]*/\.cache/ort/")

def norm(text):
    for r in ROOTS:
        text = text.replace(r, "<OUT>")
    text = ORTLIB.sub("<CHECKOUT>/.cache/ort/", text)
    return COMMIT.sub(lambda m: m.group(1) + "<COMMIT>", text)

def strip(v):
    if isinstance(v, dict):
        return {k: strip(x) for k, x in v.items() if not IGNORED_KEY.search(k)}
    if isinstance(v, list):
        return [strip(x) for x in v]
    return v

def diff_paths(a, b, path=""):
    out = []
    if type(a) != type(b):
        return [f"{path}: {json.dumps(a)[:80]} != {json.dumps(b)[:80]}"]
    if isinstance(a, dict):
        for k in sorted(set(a) | set(b)):
            if k not in a or k not in b:
                out.append(f"{path}/{k}: only in {'new' if k not in a else 'base'}")
            else:
                out += diff_paths(a[k], b[k], f"{path}/{k}")
    elif isinstance(a, list):
        if len(a) != len(b):
            out.append(f"{path}: length {len(a)} != {len(b)}")
        for i, (x, y) in enumerate(zip(a, b)):
            out += diff_paths(x, y, f"{path}[{i}]")
    elif a != b:
        out.append(f"{path}: {json.dumps(a)[:80]} != {json.dumps(b)[:80]}")
    return out

def text_lines(path):
    if path.endswith(".pdf"):
        r = subprocess.run(["pdftotext", "-layout", path, "-"], capture_output=True, text=True)
        return norm(r.stdout).splitlines() if r.returncode == 0 else None
    with open(path, encoding="utf-8", errors="replace") as f:
        return norm(f.read()).splitlines()

def compare(base, new, rel):
    a_path, b_path = os.path.join(base, rel), os.path.join(new, rel)
    with open(a_path, "rb") as f: a = f.read()
    with open(b_path, "rb") as f: b = f.read()
    if a == b or IGNORED_FILE.search(rel):
        return []
    ext = os.path.splitext(rel)[1].lower()
    if ext == ".json":
        try:
            return diff_paths(strip(json.loads(norm(a.decode()))), strip(json.loads(norm(b.decode()))))
        except ValueError:
            pass
    if ext == ".jsonl":
        la, lb = norm(a.decode()).splitlines(), norm(b.decode()).splitlines()
        if len(la) != len(lb):
            return [f"{len(la)} lines != {len(lb)} lines"]
        out = []
        for i, (x, y) in enumerate(zip(la, lb)):
            try:
                out += [f"line {i+1}{d}" for d in diff_paths(strip(json.loads(x)), strip(json.loads(y)))]
            except ValueError:
                if x != y: out.append(f"line {i+1} differs")
        return out
    if ext in (".md", ".csv", ".html", ".tex", ".txt", ".log", ".pdf", ".svg"):
        la, lb = text_lines(a_path), text_lines(b_path)
        if la is None or lb is None:
            return ["could not extract text"]
        fa = [l for l in la if not IGNORED_LINE.search(l)]
        fb = [l for l in lb if not IGNORED_LINE.search(l)]
        if fa == fb:
            return []
        out = [f"{len(fa)} vs {len(fb)} compared lines"] if len(fa) != len(fb) else []
        for x, y in zip(fa, fb):
            if x != y:
                out.append(f"- {x.strip()[:100]}\n      + {y.strip()[:100]}")
                if len(out) > 5: break
        return out
    return [f"bytes differ ({len(a)} vs {len(b)} bytes)"]

def files(root):
    out = set()
    for d, _, fs in os.walk(root):
        for f in fs:
            out.add(os.path.relpath(os.path.join(d, f), root))
    return out

def main():
    if len(sys.argv) != 3:
        print(__doc__.strip()); sys.exit(2)
    base, new = sys.argv[1:]
    for r in (os.path.abspath(new), os.path.abspath(base), new.rstrip("/"), base.rstrip("/"), "demo-out"):
        if r not in ROOTS:
            ROOTS.append(r)
    ROOTS.sort(key=len, reverse=True)
    fa, fb = files(base), files(new)
    bad = 0
    for rel in sorted(fa - fb): print(f"only in base: {rel}"); bad += 1
    for rel in sorted(fb - fa): print(f"only in new:  {rel}"); bad += 1
    same = 0
    for rel in sorted(fa & fb):
        d = compare(base, new, rel)
        if d:
            bad += 1
            print(f"DIFF {rel}")
            for x in d[:8]: print(f"    {x}")
        else:
            same += 1
    print(f"{same} files identical (timing/commit fields ignored), {bad} differ")
    sys.exit(1 if bad else 0)

main()
