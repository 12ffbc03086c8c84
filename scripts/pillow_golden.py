#!/usr/bin/env python3
"""Generate Pillow golden data for medbench's runners/imageproc.

For a deterministic set of test images (drawn from --seed) this writes each
encoded input, the result of MedVLM-R1's Python preprocessing up to the resize
(qwen_vl_utils.fetch_image: Image.open -> convert("RGB") -> smart_resize ->
resize((w, h)) [BICUBIC]; then Qwen2VLImageProcessor: smart_resize with its own
min/max_pixels and, if that changes the size, a second BICUBIC resize) as an
8-bit RGB PNG, and an index.json describing them. Lossless inputs (PNG, BMP, TIFF, GIF, lossless WebP) must match Pillow
bit for bit; lossy ones (JPEG, lossy WebP) within +-2 per channel (decoders
may differ; for those, Pillow's decoded pixels are written too).

Needs Pillow and numpy from Debian (apt-get install python3-pil python3-numpy);
if the running interpreter lacks them the script re-executes itself with
/usr/bin/python3.

Usage:
  scripts/pillow_golden.py --seed 1 --out runners/imageproc/testdata/golden   # the committed set
  scripts/pillow_golden.py --seed 7 --out /tmp/g7                             # any other set
Check a folder against the Go code, either way:
  go test ./runners/imageproc -run TestGolden -golden /tmp/g7 -v
  scripts/pillow_golden.py --check /tmp/g7 --medbench bin/medbench   # through `medbench tools preprocess`
"""
import argparse
import io
import json
import math
import os
import struct
import sys
import zlib

try:
    import numpy as np
    from PIL import Image, ImageDraw
    import PIL
except ImportError:
    if sys.executable != "/usr/bin/python3" and os.path.exists("/usr/bin/python3"):
        os.execv("/usr/bin/python3", ["/usr/bin/python3"] + sys.argv)
    raise

# qwen_vl_utils constants.
IMAGE_FACTOR = 28
MIN_PIXELS = 4 * 28 * 28
MAX_PIXELS = 16384 * 28 * 28
MAX_RATIO = 200


def smart_resize(height, width, factor=IMAGE_FACTOR, min_pixels=MIN_PIXELS, max_pixels=MAX_PIXELS):
    """qwen_vl_utils.vision_process.smart_resize, verbatim semantics."""
    if max(height, width) / min(height, width) > MAX_RATIO:
        raise ValueError(
            f"absolute aspect ratio must be smaller than {MAX_RATIO}, got {max(height, width) / min(height, width)}")
    h_bar = max(factor, round(height / factor) * factor)
    w_bar = max(factor, round(width / factor) * factor)
    if h_bar * w_bar > max_pixels:
        beta = math.sqrt((height * width) / max_pixels)
        h_bar = math.floor(height / beta / factor) * factor
        w_bar = math.floor(width / beta / factor) * factor
    elif h_bar * w_bar < min_pixels:
        beta = math.sqrt(min_pixels / (height * width))
        h_bar = math.ceil(height * beta / factor) * factor
        w_bar = math.ceil(width * beta / factor) * factor
    return h_bar, w_bar


def content8(rng, h, w, ch):
    """Structured 8-bit content: gradients, shapes, edges and some noise,
    so that resampling is exercised but PNGs stay small."""
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float64)
    planes = []
    for _ in range(ch):
        a, b, c = rng.uniform(-1, 1, 3)
        f = rng.uniform(0.01, 0.3) * min(1.0, 250.0 / max(h, w))
        p = 128 + 90 * np.sin(f * (a * xx + b * yy) + c * 3) * np.cos(f * 0.7 * (b * xx - a * yy))
        planes.append(p)
    arr = np.stack(planes, -1)
    if h * w > 250000:
        arr = np.floor(arr / 16) * 16  # posterise the large images: smaller PNGs
    img = Image.fromarray(np.clip(arr, 0, 255).astype(np.uint8).squeeze(-1) if ch == 1
                          else np.clip(arr, 0, 255).astype(np.uint8))
    d = ImageDraw.Draw(img)
    for _ in range(int(rng.integers(2, 8))):
        x0, x1 = sorted(rng.integers(0, w, 2).tolist())
        y0, y1 = sorted(rng.integers(0, h, 2).tolist())
        col = tuple(int(v) for v in rng.integers(0, 256, ch)) if ch > 1 else int(rng.integers(0, 256))
        (d.rectangle if rng.random() < 0.5 else d.ellipse)([x0, y0, x1, y1], fill=col)
    arr = np.asarray(img).astype(np.int32)
    amp = int(rng.integers(0, 24))
    if amp and h * w <= 250000:  # keep the large images compressible
        noise = rng.integers(-amp, amp + 1, arr.shape)
        mask = rng.random(arr.shape[:2]) < 0.3
        if arr.ndim == 3:
            mask = mask[..., None]
        arr = arr + noise * mask
    # a few saturated pixels to hit the clip paths
    for _ in range(4):
        arr[int(rng.integers(0, h)), int(rng.integers(0, w))] = 255 if rng.random() < 0.5 else 0
    return np.clip(arr, 0, 255).astype(np.uint8)


def png_chunk(t, d):
    return struct.pack(">I", len(d)) + t + d + struct.pack(">I", zlib.crc32(t + d) & 0xFFFFFFFF)


def raw_png(arr, ctype, depth, trns=None, width=None):
    """Encode a PNG by hand (Pillow cannot write 16-bit colour PNGs). For
    depths below 8, arr holds packed rows and width the pixel width."""
    h, w = arr.shape[:2]
    w = width or w
    dt = ">u2" if depth == 16 else "u1"
    rows = b"".join(b"\x00" + arr[y].astype(dt).tobytes() for y in range(h))
    out = b"\x89PNG\r\n\x1a\n" + png_chunk(b"IHDR", struct.pack(">IIBBBBB", w, h, depth, ctype, 0, 0, 0))
    if trns is not None:
        out += png_chunk(b"tRNS", trns)
    return out + png_chunk(b"IDAT", zlib.compress(rows, 9)) + png_chunk(b"IEND", b"")


def to16(rng, a8):
    """16-bit samples from 8-bit content: some below 256 (kept by Pillow's
    clip), some far above (clipped), so both behaviours are visible."""
    scale = rng.choice([1, 2, 3, 257])
    v = a8.astype(np.int64) * scale
    if a8.size <= 250000:
        v = v + rng.integers(0, 4, a8.shape)
    return np.clip(v, 0, 65535)


def palette_image(rng, h, w, colors):
    a = content8(rng, h, w, 3)
    return Image.fromarray(a).quantize(colors=colors, method=Image.Quantize.MEDIANCUT)


def encode(rng, kind, h, w):
    """Return (bytes, extension) for one test image kind."""
    buf = io.BytesIO()
    if kind == "png-L":
        Image.fromarray(content8(rng, h, w, 1)).save(buf, "PNG")
    elif kind == "png-LA":
        Image.fromarray(content8(rng, h, w, 2), "LA").save(buf, "PNG")
    elif kind == "png-RGB":
        Image.fromarray(content8(rng, h, w, 3)).save(buf, "PNG")
    elif kind == "png-RGBA":
        Image.fromarray(content8(rng, h, w, 4), "RGBA").save(buf, "PNG")
    elif kind == "png-1":
        Image.fromarray(content8(rng, h, w, 1) > 127).save(buf, "PNG")
    elif kind == "png-P":
        palette_image(rng, h, w, int(rng.integers(2, 256))).save(buf, "PNG")
    elif kind == "png-P-trns":
        im = palette_image(rng, h, w, int(rng.integers(4, 200)))
        im.info["transparency"] = int(rng.integers(0, 3))
        im.save(buf, "PNG", transparency=im.info["transparency"])
    elif kind == "png-I16":
        return raw_png(to16(rng, content8(rng, h, w, 1)), 0, 16), "png"
    elif kind == "png-I16-trns":
        return raw_png(to16(rng, content8(rng, h, w, 1)), 0, 16, struct.pack(">H", int(rng.integers(0, 300)))), "png"
    elif kind == "png-RGB48":
        return raw_png(to16(rng, content8(rng, h, w, 3)), 2, 16), "png"
    elif kind == "png-RGBA64":
        return raw_png(to16(rng, content8(rng, h, w, 4)), 6, 16), "png"
    elif kind == "png-LA16":
        return raw_png(to16(rng, content8(rng, h, w, 2)), 4, 16), "png"
    elif kind == "png-RGB-trns":
        return raw_png(content8(rng, h, w, 3), 2, 8, struct.pack(">HHH", 10, 20, 30)), "png"
    elif kind == "bmp-RGB":
        Image.fromarray(content8(rng, h, w, 3)).save(buf, "BMP")
        return buf.getvalue(), "bmp"
    elif kind == "bmp-L":
        Image.fromarray(content8(rng, h, w, 1)).save(buf, "BMP")
        return buf.getvalue(), "bmp"
    elif kind == "bmp-P":
        palette_image(rng, h, w, int(rng.integers(2, 256))).save(buf, "BMP")
        return buf.getvalue(), "bmp"
    elif kind.startswith("tiff-"):
        mode, comp = kind.split("-")[1:]
        comp = {"raw": None, "lzw": "tiff_lzw", "deflate": "tiff_adobe_deflate", "packbits": "packbits"}[comp]
        if mode == "I16":
            im = Image.fromarray(to16(rng, content8(rng, h, w, 1)).astype(np.uint16))
        elif mode == "CMYK":
            im = Image.fromarray(content8(rng, h, w, 4), "CMYK")
        else:
            ch = {"L": 1, "RGB": 3, "RGBA": 4}[mode]
            a = content8(rng, h, w, ch)
            im = Image.fromarray(a, mode) if ch > 1 else Image.fromarray(a)
        im.save(buf, "TIFF", compression=comp)
        return buf.getvalue(), "tiff"
    elif kind == "gif-P":
        palette_image(rng, h, w, int(rng.integers(2, 256))).save(buf, "GIF")
        return buf.getvalue(), "gif"
    elif kind == "gif-L":
        Image.fromarray(content8(rng, h, w, 1)).save(buf, "GIF")
        return buf.getvalue(), "gif"
    elif kind == "gif-P-trns":
        im = palette_image(rng, h, w, int(rng.integers(4, 200)))
        im.save(buf, "GIF", transparency=int(rng.integers(0, 3)))
        return buf.getvalue(), "gif"
    elif kind in ("gif-offset", "gif-offset-trns"):
        # A first frame smaller than the logical screen: Pillow shows it on a
        # screen-size canvas filled with the transparent index (or 0).
        fh, fw = max(1, h - int(rng.integers(0, h // 2 + 1))), max(1, w - int(rng.integers(0, w // 2 + 1)))
        im = palette_image(rng, fh, fw, int(rng.integers(4, 200)))
        extra = {"transparency": int(rng.integers(1, 4))} if kind == "gif-offset-trns" else {}
        im.save(buf, "GIF", **extra)
        d = bytearray(buf.getvalue())
        i = 13 + (3 << ((d[10] & 7) + 1)) if d[10] & 0x80 else 13
        while d[i] == 0x21:
            j = i + 2
            while d[j] != 0:
                j += d[j] + 1
            i = j + 1
        assert d[i] == 0x2C
        d[6:8], d[8:10] = w.to_bytes(2, "little"), h.to_bytes(2, "little")
        d[i + 1:i + 3] = int(rng.integers(0, w - fw + 1)).to_bytes(2, "little")
        d[i + 3:i + 5] = int(rng.integers(0, h - fh + 1)).to_bytes(2, "little")
        return bytes(d), "gif"
    elif kind == "png-L4":
        a = content8(rng, h, w, 1) >> 4
        rows = np.zeros((h, (w + 1) // 2), np.uint8)
        rows[:, :w // 2] = (a[:, 0:2 * (w // 2):2] << 4) | a[:, 1:2 * (w // 2):2]
        if w % 2:
            rows[:, -1] = a[:, -1] << 4
        return raw_png(rows, 0, 4, None, w), "png"
    elif kind == "png-L-trns":
        return raw_png(content8(rng, h, w, 1), 0, 8, struct.pack(">H", int(rng.integers(0, 256)))), "png"
    elif kind == "png-P4":
        palette_image(rng, h, w, int(rng.integers(2, 16))).save(buf, "PNG", bits=4)
    elif kind == "bmp-RGBA":
        Image.fromarray(content8(rng, h, w, 4), "RGBA").save(buf, "BMP")
        return buf.getvalue(), "bmp"
    elif kind == "bmp-1":
        Image.fromarray(content8(rng, h, w, 1) > 127).save(buf, "BMP")
        return buf.getvalue(), "bmp"
    elif kind == "webp-lossless":
        Image.fromarray(content8(rng, h, w, 3)).save(buf, "WEBP", lossless=True)
        return buf.getvalue(), "webp"
    elif kind == "webp-lossless-RGBA":
        Image.fromarray(content8(rng, h, w, 4), "RGBA").save(buf, "WEBP", lossless=True)
        return buf.getvalue(), "webp"
    elif kind == "webp-lossy":
        Image.fromarray(content8(rng, h, w, 3)).save(buf, "WEBP", quality=int(rng.integers(50, 95)))
        return buf.getvalue(), "webp"
    elif kind == "webp-lossy-RGBA":
        Image.fromarray(content8(rng, h, w, 4), "RGBA").save(buf, "WEBP", quality=int(rng.integers(50, 95)))
        return buf.getvalue(), "webp"
    elif kind.startswith("jpeg-"):
        q = int(rng.integers(60, 96))
        if kind == "jpeg-420":
            Image.fromarray(content8(rng, h, w, 3)).save(buf, "JPEG", quality=q, subsampling=2)
        elif kind == "jpeg-422":
            Image.fromarray(content8(rng, h, w, 3)).save(buf, "JPEG", quality=q, subsampling=1)
        elif kind == "jpeg-444":
            Image.fromarray(content8(rng, h, w, 3)).save(buf, "JPEG", quality=q, subsampling=0)
        elif kind == "jpeg-gray":
            Image.fromarray(content8(rng, h, w, 1)).save(buf, "JPEG", quality=q)
        elif kind == "jpeg-progressive":
            Image.fromarray(content8(rng, h, w, 3)).save(buf, "JPEG", quality=q, progressive=True, subsampling=2)
        elif kind == "jpeg-cmyk":
            Image.fromarray(content8(rng, h, w, 4), "CMYK").save(buf, "JPEG", quality=q)
        else:
            raise ValueError(kind)
        return buf.getvalue(), "jpg"
    else:
        raise ValueError(kind)
    return buf.getvalue(), "png"


LOSSLESS_KINDS = [
    "png-L", "png-LA", "png-RGB", "png-RGBA", "png-1", "png-P", "png-P-trns", "png-I16", "png-I16-trns",
    "png-RGB48", "png-RGBA64", "png-LA16", "png-RGB-trns",
    "bmp-RGB", "bmp-L", "bmp-P",
    "tiff-RGB-raw", "tiff-L-lzw", "tiff-RGBA-deflate", "tiff-I16-raw", "tiff-RGB-lzw", "tiff-RGB-packbits",
    "gif-P", "gif-L", "gif-P-trns", "gif-offset", "gif-offset-trns",
    "png-L4", "png-L-trns", "png-P4", "bmp-RGBA", "bmp-1",
    "webp-lossless", "webp-lossless-RGBA",
]
LOSSY_KINDS = ["jpeg-420", "jpeg-422", "jpeg-444", "jpeg-gray", "jpeg-progressive", "jpeg-cmyk",
               "webp-lossy", "webp-lossy-RGBA"]


def size_plan(rng, n_lossless, n_lossy):
    """(kind, h, w, bounds) for each image; bounds are the qwen_vl_utils
    fetch_image ("fetch_*") and image processor min/max pixels."""
    def bounds(fetch_min=MIN_PIXELS, fetch_max=MAX_PIXELS, min_pixels=MIN_PIXELS, max_pixels=MAX_PIXELS):
        return {"fetch_min_pixels": fetch_min, "fetch_max_pixels": fetch_max,
                "min_pixels": min_pixels, "max_pixels": max_pixels}
    plan = []
    kinds = [LOSSLESS_KINDS[i % len(LOSSLESS_KINDS)] for i in range(n_lossless)]
    rng.shuffle(kinds)
    for i, kind in enumerate(kinds):
        r = i % 10
        b = bounds()
        if r == 0:  # tiny: min_pixels branch (upscale), sometimes again by the processor
            h, w = rng.integers(8, 40, 2)
            if rng.random() < 0.5:
                b = bounds(min_pixels=int(rng.integers(5, 20)) * 28 * 28)
        elif r == 1:  # extreme aspect ratio up to ~150:1
            s = int(rng.integers(4, 12))
            l = int(s * rng.uniform(60, 150))
            h, w = (s, l) if rng.random() < 0.5 else (l, s)
        elif r == 2:  # downscale forced by a small fetch_image max_pixels (one resize)
            h, w = rng.integers(120, 420, 2)
            b = bounds(fetch_max=int(rng.integers(6, 40)) * 28 * 28)
        elif r == 3:  # mild sizes near multiples of 28 (round half even)
            h = int(rng.integers(1, 12)) * 28 + int(rng.choice([0, 13, 14, 15, 27]))
            w = int(rng.integers(1, 12)) * 28 + int(rng.choice([0, 13, 14, 15, 27]))
        elif r == 4:  # a small processor max_pixels: resized twice
            h, w = rng.integers(120, 420, 2)
            b = bounds(max_pixels=int(rng.integers(6, 40)) * 28 * 28)
        else:
            h, w = rng.integers(20, 240, 2)
        plan.append((kind, int(h), int(w), b))
    # a few larger images (~1200 px) with MedVLM-R1's training max_pixels
    # (401408) or half of it in the processor config: resized twice
    for kind in ["png-RGB", "png-L", "png-I16"]:
        h, w = int(rng.integers(900, 1300)), int(rng.integers(900, 1300))
        plan.append((kind, h, w, bounds(max_pixels=int(rng.choice([401408, 200704])))))
    plan.append(("png-RGB", int(rng.integers(480, 700)), int(rng.integers(480, 700)), bounds()))
    # more than 200:1 must be rejected
    plan.append(("png-L", 2, int(rng.integers(405, 600)), bounds()))
    for i in range(n_lossy):
        kind = LOSSY_KINDS[i % len(LOSSY_KINDS)]
        h, w = rng.integers(30, 400, 2)
        small = int(rng.integers(20, 120)) * 28 * 28
        b = [bounds(), bounds(fetch_max=small), bounds(), bounds(max_pixels=small)][i % 4]
        plan.append((kind, int(h), int(w), b))
    return plan


CLIP_MEAN = [0.48145466, 0.4578275, 0.40821073]
CLIP_STD = [0.26862954, 0.26130258, 0.27577711]


def normalize_table():
    """Every byte value normalised per channel, as float32 bit patterns:
    "hf" the way transformers' rescale + normalize compute it (rescale in
    float64 cast to float32, then float32 (x - mean) / std), "tjs" the way
    transformers.js does ((x - mean) / std in float64, rounded once)."""
    x = (np.arange(256, dtype=np.float64) * (1 / 255)).astype(np.float32)
    hf, tjs = [], []
    for c in range(3):
        h = (x - np.float32(CLIP_MEAN[c])) / np.float32(CLIP_STD[c])
        assert h.dtype == np.float32
        t = ((x.astype(np.float64) - CLIP_MEAN[c]) / CLIP_STD[c]).astype(np.float32)
        hf.append(h.view(np.uint32).tolist())
        tjs.append(t.view(np.uint32).tolist())
    return {"mean": CLIP_MEAN, "std": CLIP_STD, "rescale_factor": 1 / 255, "hf": hf, "tjs": tjs}


def cmyk_table(rng):
    """Pillow's CMYK -> RGB conversion on random and extreme CMYK values."""
    q = rng.integers(0, 256, (400, 4), dtype=np.uint8)
    q[:16] = [[a, b, c, d] for a in (0, 255) for b in (0, 255) for c in (0, 128) for d in (0, 255)]
    rgb = np.asarray(Image.fromarray(q.reshape(20, 20, 4), "CMYK").convert("RGB")).reshape(400, 3)
    return [[*map(int, a), *map(int, b)] for a, b in zip(q, rgb)]


def check_cli(folder, medbench):
    """Run `medbench tools preprocess` on every image of a golden folder and
    compare its JSON and --resized PNG with Pillow's. Returns an exit code."""
    import subprocess
    import tempfile
    with open(os.path.join(folder, "index.json")) as f:
        index = json.load(f)
    bad = 0
    worst_lossy = 0
    with tempfile.TemporaryDirectory() as tmp:
        out_png = os.path.join(tmp, "resized.png")
        for e in index["images"]:
            cmd = [medbench, "tools", "preprocess", "--image", os.path.join(folder, e["input"]),
                   "--min-pixels", str(e["min_pixels"]), "--max-pixels", str(e["max_pixels"]),
                   "--fetch-min-pixels", str(e["fetch_min_pixels"]), "--fetch-max-pixels", str(e["fetch_max_pixels"]),
                   "--resized", out_png]
            r = subprocess.run(cmd, capture_output=True, text=True)
            if "error" in e:
                if r.returncode != 2 or "aspect ratio" not in r.stderr:
                    print(f"{e['name']}: want exit 2 with the aspect-ratio error, got {r.returncode}: {r.stderr.strip()}")
                    bad += 1
                continue
            if r.returncode != 0:
                print(f"{e['name']}: exit {r.returncode}: {r.stderr.strip()}")
                bad += 1
                continue
            js = json.loads(r.stdout)
            rh, rw = e["resized_height"], e["resized_width"]
            if (js["height"], js["width"], js["grid_thw"], js["image_tokens"]) != (rh, rw, [1, rh // 14, rw // 14], rh * rw // 784):
                print(f"{e['name']}: CLI printed {js}, Pillow path gives {rh}x{rw}")
                bad += 1
                continue
            got = np.asarray(Image.open(out_png).convert("RGB")).astype(int)
            want = np.asarray(Image.open(os.path.join(folder, e["resized"])).convert("RGB")).astype(int)
            d = int(np.abs(got - want).max())
            if e["lossless"] and d != 0:
                print(f"{e['name']} ({e['kind']}): {int((got != want).sum())} samples differ from Pillow, max {d}")
                bad += 1
            elif not e["lossless"]:
                worst_lossy = max(worst_lossy, d)
                if d > 2:
                    print(f"{e['name']} ({e['kind']}): max |diff| {d} > 2")
                    bad += 1
    n = len(index["images"])
    print(f"{n - bad} of {n} images OK (seed {index['seed']}); lossy max |diff| {worst_lossy}")
    return 1 if bad else 0


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--out", help="output folder (created)")
    ap.add_argument("--check", metavar="DIR", help="instead of generating, check DIR with --medbench")
    ap.add_argument("--medbench", default="bin/medbench", help="medbench binary for --check (default bin/medbench)")
    ap.add_argument("--lossless", type=int, default=60, help="number of lossless images (default 60)")
    ap.add_argument("--lossy", type=int, default=10, help="number of JPEG and lossy WebP images (default 10)")
    args = ap.parse_args()
    if args.check:
        sys.exit(check_cli(args.check, args.medbench))
    if not args.out:
        ap.error("--out is required (or --check DIR)")
    rng = np.random.default_rng(args.seed)
    os.makedirs(os.path.join(args.out, "inputs"), exist_ok=True)
    os.makedirs(os.path.join(args.out, "resized"), exist_ok=True)
    entries = []
    for i, (kind, h, w, b) in enumerate(size_plan(rng, args.lossless, args.lossy)):
        data, ext = encode(rng, kind, h, w)
        name = f"{i:03d}-{kind}"
        inp = f"inputs/{name}.{ext}"
        with open(os.path.join(args.out, inp), "wb") as f:
            f.write(data)
        im = Image.open(io.BytesIO(data))
        e = {"name": name, "kind": kind, "input": inp, "format": im.format, "mode": im.mode,
             "width": im.width, "height": im.height, **b, "lossless": kind not in LOSSY_KINDS}
        try:
            # qwen_vl_utils.fetch_image, then Qwen2VLImageProcessor's smart_resize
            # (the same formula; its inputs are already multiples of 28, so
            # the max(28, ...) clamp and its "< factor" error cannot differ).
            h1, w1 = smart_resize(im.height, im.width, min_pixels=b["fetch_min_pixels"], max_pixels=b["fetch_max_pixels"])
            rh, rw = smart_resize(h1, w1, min_pixels=b["min_pixels"], max_pixels=b["max_pixels"])
        except ValueError as err:
            e["error"] = str(err)
            entries.append(e)
            continue
        conv = im.convert("RGB")
        if not e["lossless"]:
            # Pillow's decoded pixels too, to measure the decoder alone.
            os.makedirs(os.path.join(args.out, "decoded"), exist_ok=True)
            e["decoded"] = f"decoded/{name}.png"
            Image.frombytes("RGB", conv.size, conv.tobytes()).save(os.path.join(args.out, e["decoded"]), "PNG", optimize=True)
        # fetch_image: image.resize((w, h)) (Pillow's default filter for RGB is
        # BICUBIC); the processor's resize (PIL, BICUBIC) only if the size changes.
        rgb = conv.resize((w1, h1))
        if (rh, rw) != (h1, w1):
            rgb = rgb.resize((rw, rh), Image.BICUBIC)
            e["fetch_height"], e["fetch_width"] = h1, w1
        out = f"resized/{name}.png"
        Image.frombytes("RGB", rgb.size, rgb.tobytes()).save(os.path.join(args.out, out), "PNG", optimize=True)
        e.update({"resized": out, "resized_height": rh, "resized_width": rw})
        entries.append(e)
    index = {"generator": "scripts/pillow_golden.py", "seed": args.seed, "pillow": PIL.__version__,
             "numpy": np.__version__, "images": entries,
             "normalize": normalize_table(), "cmyk2rgb": cmyk_table(np.random.default_rng(args.seed + 1000))}
    with open(os.path.join(args.out, "index.json"), "w") as f:
        json.dump(index, f, indent=1)
    print(f"wrote {len(entries)} images to {args.out} (Pillow {PIL.__version__})", file=sys.stderr)


if __name__ == "__main__":
    main()
