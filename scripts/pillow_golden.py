#!/usr/bin/env python3
"""Generate Pillow golden data for medbench's model/imageproc.

For a deterministic set of test images (drawn from --seed) this writes each
encoded input, the result of MedVLM-R1's Python preprocessing up to the resize
(qwen_vl_utils.fetch_image: Image.open -> convert("RGB") -> smart_resize ->
resize((w, h)) [BICUBIC]; then Qwen2VLImageProcessor: smart_resize with its own
min/max_pixels and, if that changes the size, a second BICUBIC resize) as an
8-bit RGB PNG, and an index.json describing them. The RGB conversion is
qwen-vl-utils 0.0.8's plain convert("RGB") ("resized"); for images Pillow opens
in mode RGBA, qwen-vl-utils >= 0.0.9's to_rgb (paste on white with alpha as the
mask, vision_process.py) is written too ("resized_white"); for every other mode
(LA, P with tRNS, 16-bit gray, ...) to_rgb is convert("RGB"). "white_blend.png"
is to_rgb on every (colour, alpha) pair. Lossless inputs (PNG, BMP, TIFF, GIF, lossless WebP) must match Pillow
bit for bit; lossy ones (JPEG, lossy WebP) within +-2 per channel (decoders
may differ; for those, Pillow's decoded pixels are written too).

Needs only Pillow from Debian (apt-get install python3-pil); if the running
interpreter lacks it the script re-executes itself with /usr/bin/python3. The
same --seed gives the same images (Python's random.Random drives everything).

Usage:
  scripts/pillow_golden.py --seed 1 --out model/imageproc/testdata/golden   # the committed set
  scripts/pillow_golden.py --seed 7 --out /tmp/g7                             # any other set
Check a folder against the Go code, either way:
  go test ./model/imageproc -run TestGolden -golden /tmp/g7 -v
  scripts/pillow_golden.py --check /tmp/g7 --medbench bin/medbench   # through `medbench tools preprocess`
"""
import argparse
import array
import io
import json
import math
import os
import random
import struct
import sys
import zlib

try:
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


class Rng:
    """The few numpy-like draws the generator needs, on random.Random."""

    def __init__(self, seed):
        self.r = random.Random(seed)

    def integers(self, lo, hi):
        """An int in [lo, hi)."""
        return self.r.randrange(lo, hi)

    def uniform(self, lo, hi):
        return self.r.uniform(lo, hi)

    def random(self):
        return self.r.random()

    def choice(self, seq):
        return seq[self.r.randrange(len(seq))]

    def shuffle(self, seq):
        self.r.shuffle(seq)

    def bytes(self, n):
        return self.r.randbytes(n)


def pattern(rng, h, w):
    """One smooth 8-bit plane (mode L): a product of two oriented sinusoids.
    Large images are computed on a 4x coarser grid, upscaled and posterised
    (fast, and they stay small as PNGs)."""
    a, b, c = rng.uniform(-1, 1), rng.uniform(-1, 1), rng.uniform(-1, 1)
    f = rng.uniform(0.01, 0.3) * min(1.0, 250.0 / max(h, w))
    big = h * w > 250000
    step = 4 if big else 1
    gh, gw = (max(1, h // step), max(1, w // step))
    buf = bytearray(gh * gw)
    sin, cos = math.sin, math.cos
    for y in range(gh):
        Y = y * step
        for x in range(gw):
            X = x * step
            v = 128 + 90 * sin(f * (a * X + b * Y) + c * 3) * cos(f * 0.7 * (b * X - a * Y))
            buf[y * gw + x] = min(255, max(0, int(v)))
    im = Image.frombytes("L", (gw, gh), bytes(buf))
    if big:
        im = im.resize((w, h), Image.BILINEAR).point(lambda v: v // 16 * 16)
    return im


def content(rng, h, w, mode):
    """Structured test content in mode L, LA, RGB, RGBA or CMYK: sinusoids,
    filled shapes, sparse noise and a few saturated pixels."""
    ch = len(mode)
    planes = [pattern(rng, h, w) for _ in range(ch)]
    img = planes[0] if ch == 1 else Image.merge(mode, planes)
    d = ImageDraw.Draw(img)
    for _ in range(rng.integers(2, 8)):
        x0, x1 = sorted((rng.integers(0, w), rng.integers(0, w)))
        y0, y1 = sorted((rng.integers(0, h), rng.integers(0, h)))
        col = tuple(rng.integers(0, 256) for _ in range(ch)) if ch > 1 else rng.integers(0, 256)
        (d.rectangle if rng.random() < 0.5 else d.ellipse)([x0, y0, x1, y1], fill=col)
    px = bytearray(img.tobytes())
    amp = rng.integers(0, 24)
    if amp and h * w <= 250000:  # keep the large images compressible
        for i in range(0, len(px), ch):
            if rng.random() < 0.3:
                for k in range(ch):
                    px[i + k] = min(255, max(0, px[i + k] + rng.integers(-amp, amp + 1)))
    for _ in range(4):  # saturated pixels hit the clip paths
        i = ch * (rng.integers(0, h) * w + rng.integers(0, w))
        v = 255 if rng.random() < 0.5 else 0
        px[i:i + ch] = bytes([v]) * ch
    return Image.frombytes(mode, (w, h), bytes(px))


def png_chunk(t, d):
    return struct.pack(">I", len(d)) + t + d + struct.pack(">I", zlib.crc32(t + d) & 0xFFFFFFFF)


def raw_png(w, h, rows, ctype, depth, trns=None):
    """Encode a PNG by hand from its packed rows (Pillow cannot write 16-bit
    colour PNGs)."""
    data = b"".join(b"\x00" + r for r in rows)
    out = b"\x89PNG\r\n\x1a\n" + png_chunk(b"IHDR", struct.pack(">IIBBBBB", w, h, depth, ctype, 0, 0, 0))
    if trns is not None:
        out += png_chunk(b"tRNS", trns)
    return out + png_chunk(b"IDAT", zlib.compress(data, 9)) + png_chunk(b"IEND", b"")


def rows8(img):
    """Packed 8-bit rows of an image."""
    raw = img.tobytes()
    n = len(raw) // img.height
    return [raw[y * n:(y + 1) * n] for y in range(img.height)]


def to16(rng, img):
    """16-bit samples (row-major, interleaved) from 8-bit content: some below
    256 (kept by Pillow's I -> RGB clip), some far above (clipped), so both
    behaviours are visible."""
    scale = rng.choice([1, 2, 3, 257])
    noisy = img.width * img.height <= 250000
    return array.array("H", (min(65535, v * scale + (rng.integers(0, 4) if noisy else 0)) for v in img.tobytes()))


def rows16(samples, w, h):
    """Big-endian 16-bit PNG rows from samples (len = h * w * channels)."""
    a = array.array("H", samples)
    if sys.byteorder == "little":
        a.byteswap()
    raw = a.tobytes()
    n = len(raw) // h
    return [raw[y * n:(y + 1) * n] for y in range(h)]


def raw_tiff16(w, h, spp, samples, big_endian):
    """A minimal uncompressed 16-bit TIFF (gray or RGB) written by hand:
    Pillow cannot write 16-bit RGB, nor choose the byte order."""
    e = ">" if big_endian else "<"
    data = struct.pack(e + "%dH" % len(samples), *samples)
    n = 10
    ifd = 8
    bps = ifd + 2 + 12 * n + 4
    start = bps + (2 * spp if spp > 2 else 0)
    tags = [(256, 3, 1, w), (257, 3, 1, h), (258, 3, spp, bps if spp > 2 else 16), (259, 3, 1, 1),
            (262, 3, 1, 2 if spp == 3 else 1), (273, 4, 1, start), (277, 3, 1, spp), (278, 3, 1, h),
            (279, 4, 1, len(data)), (284, 3, 1, 1)]
    out = (b"MM\x00\x2a" if big_endian else b"II\x2a\x00") + struct.pack(e + "I", ifd) + struct.pack(e + "H", n)
    for tag, typ, count, value in tags:
        if typ == 3 and count == 1:
            out += struct.pack(e + "HHIHH", tag, typ, count, value, 0)
        else:
            out += struct.pack(e + "HHII", tag, typ, count, value)
    out += struct.pack(e + "I", 0)
    if spp > 2:
        out += struct.pack(e + "%dH" % spp, *([16] * spp))
    return out + data


def png16(rng, h, w, mode, ctype, trns=None):
    return raw_png(w, h, rows16(to16(rng, content(rng, h, w, mode)), w, h), ctype, 16, trns)


def palette_image(rng, h, w, colors):
    return content(rng, h, w, "RGB").quantize(colors=colors, method=Image.Quantize.MEDIANCUT)


def bilevel(rng, h, w):
    """Mode "1", thresholded at 128 (no dithering)."""
    return content(rng, h, w, "L").convert("1", dither=Image.Dither.NONE)


def encode(rng, kind, h, w):
    """Return (bytes, extension) for one test image kind."""
    buf = io.BytesIO()
    if kind == "png-L":
        content(rng, h, w, "L").save(buf, "PNG")
    elif kind == "png-LA":
        content(rng, h, w, "LA").save(buf, "PNG")
    elif kind == "png-RGB":
        content(rng, h, w, "RGB").save(buf, "PNG")
    elif kind == "png-RGBA":
        content(rng, h, w, "RGBA").save(buf, "PNG")
    elif kind == "png-1":
        bilevel(rng, h, w).save(buf, "PNG")
    elif kind == "png-P":
        palette_image(rng, h, w, int(rng.integers(2, 256))).save(buf, "PNG")
    elif kind == "png-P-trns":
        im = palette_image(rng, h, w, int(rng.integers(4, 200)))
        im.info["transparency"] = int(rng.integers(0, 3))
        im.save(buf, "PNG", transparency=im.info["transparency"])
    elif kind == "png-I16":
        return png16(rng, h, w, "L", 0), "png"
    elif kind == "png-I16-trns":
        return png16(rng, h, w, "L", 0, struct.pack(">H", rng.integers(0, 300))), "png"
    elif kind == "png-RGB48":
        return png16(rng, h, w, "RGB", 2), "png"
    elif kind == "png-RGBA64":
        return png16(rng, h, w, "RGBA", 6), "png"
    elif kind == "png-LA16":
        return png16(rng, h, w, "LA", 4), "png"
    elif kind == "png-RGB-trns":
        return raw_png(w, h, rows8(content(rng, h, w, "RGB")), 2, 8, struct.pack(">HHH", 10, 20, 30)), "png"
    elif kind == "bmp-RGB":
        content(rng, h, w, "RGB").save(buf, "BMP")
        return buf.getvalue(), "bmp"
    elif kind == "bmp-L":
        content(rng, h, w, "L").save(buf, "BMP")
        return buf.getvalue(), "bmp"
    elif kind == "bmp-P":
        palette_image(rng, h, w, int(rng.integers(2, 256))).save(buf, "BMP")
        return buf.getvalue(), "bmp"
    elif kind in ("tiff-I16B-raw", "tiff-RGB16-raw"):
        mode, spp = ("L", 1) if kind == "tiff-I16B-raw" else ("RGB", 3)
        big = kind == "tiff-I16B-raw" or rng.random() < 0.5
        return raw_tiff16(w, h, spp, to16(rng, content(rng, h, w, mode)), big), "tiff"
    elif kind.startswith("tiff-"):
        mode, comp = kind.split("-")[1:]
        comp = {"raw": None, "lzw": "tiff_lzw", "deflate": "tiff_adobe_deflate", "packbits": "packbits"}[comp]
        if mode == "I16":
            a = to16(rng, content(rng, h, w, "L"))
            if sys.byteorder != "little":
                a.byteswap()
            im = Image.frombytes("I;16", (w, h), a.tobytes())
        else:
            im = content(rng, h, w, mode)
        im.save(buf, "TIFF", compression=comp)
        return buf.getvalue(), "tiff"
    elif kind == "gif-P":
        palette_image(rng, h, w, int(rng.integers(2, 256))).save(buf, "GIF")
        return buf.getvalue(), "gif"
    elif kind == "gif-L":
        content(rng, h, w, "L").save(buf, "GIF")
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
        rows = []
        for r in rows8(content(rng, h, w, "L")):
            nib = [v >> 4 for v in r] + [0]
            rows.append(bytes((nib[i] << 4) | nib[i + 1] for i in range(0, w, 2)))
        return raw_png(w, h, rows, 0, 4), "png"
    elif kind == "png-L-trns":
        return raw_png(w, h, rows8(content(rng, h, w, "L")), 0, 8, struct.pack(">H", rng.integers(0, 256))), "png"
    elif kind == "png-P4":
        palette_image(rng, h, w, int(rng.integers(2, 16))).save(buf, "PNG", bits=4)
    elif kind == "bmp-RGBA":
        content(rng, h, w, "RGBA").save(buf, "BMP")
        return buf.getvalue(), "bmp"
    elif kind == "bmp-1":
        bilevel(rng, h, w).save(buf, "BMP")
        return buf.getvalue(), "bmp"
    elif kind == "webp-lossless":
        content(rng, h, w, "RGB").save(buf, "WEBP", lossless=True)
        return buf.getvalue(), "webp"
    elif kind == "webp-lossless-RGBA":
        content(rng, h, w, "RGBA").save(buf, "WEBP", lossless=True)
        return buf.getvalue(), "webp"
    elif kind == "webp-lossy":
        content(rng, h, w, "RGB").save(buf, "WEBP", quality=rng.integers(50, 95))
        return buf.getvalue(), "webp"
    elif kind == "webp-lossy-RGBA":
        content(rng, h, w, "RGBA").save(buf, "WEBP", quality=rng.integers(50, 95))
        return buf.getvalue(), "webp"
    elif kind.startswith("jpeg-"):
        q = int(rng.integers(60, 96))
        if kind == "jpeg-420":
            content(rng, h, w, "RGB").save(buf, "JPEG", quality=q, subsampling=2)
        elif kind == "jpeg-422":
            content(rng, h, w, "RGB").save(buf, "JPEG", quality=q, subsampling=1)
        elif kind == "jpeg-444":
            content(rng, h, w, "RGB").save(buf, "JPEG", quality=q, subsampling=0)
        elif kind == "jpeg-gray":
            content(rng, h, w, "L").save(buf, "JPEG", quality=q)
        elif kind == "jpeg-progressive":
            content(rng, h, w, "RGB").save(buf, "JPEG", quality=q, progressive=True, subsampling=2)
        elif kind == "jpeg-cmyk":
            content(rng, h, w, "CMYK").save(buf, "JPEG", quality=q)
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
    "png-L4", "png-L-trns", "png-P4", "bmp-RGBA", "bmp-1", "tiff-I16B-raw", "tiff-RGB16-raw",
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
            h, w = rng.integers(8, 40), rng.integers(8, 40)
            if rng.random() < 0.5:
                b = bounds(min_pixels=int(rng.integers(5, 20)) * 28 * 28)
        elif r == 1:  # extreme aspect ratio up to ~150:1
            s = int(rng.integers(4, 12))
            l = int(s * rng.uniform(60, 150))
            h, w = (s, l) if rng.random() < 0.5 else (l, s)
        elif r == 2:  # downscale forced by a small fetch_image max_pixels (one resize)
            h, w = rng.integers(100, 340), rng.integers(100, 340)
            b = bounds(fetch_max=int(rng.integers(6, 40)) * 28 * 28)
        elif r == 3:  # mild sizes near multiples of 28 (round half even)
            h = int(rng.integers(1, 12)) * 28 + int(rng.choice([0, 13, 14, 15, 27]))
            w = int(rng.integers(1, 12)) * 28 + int(rng.choice([0, 13, 14, 15, 27]))
        elif r == 4:  # a small processor max_pixels: resized twice
            h, w = rng.integers(100, 340), rng.integers(100, 340)
            b = bounds(max_pixels=int(rng.integers(6, 40)) * 28 * 28)
        else:
            h, w = rng.integers(20, 200), rng.integers(20, 200)
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
        h, w = rng.integers(30, 400), rng.integers(30, 400)
        small = int(rng.integers(20, 120)) * 28 * 28
        b = [bounds(), bounds(fetch_max=small), bounds(), bounds(max_pixels=small)][i % 4]
        plan.append((kind, int(h), int(w), b))
    return plan


CLIP_MEAN = [0.48145466, 0.4578275, 0.40821073]
CLIP_STD = [0.26862954, 0.26130258, 0.27577711]


def smart_resize_table(rng, n=600):
    """qwen_vl_utils.smart_resize on random sizes and bounds, ties (sides of
    28k + 14) and near-200:1 shapes: [h, w, min_pixels, max_pixels, h', w']
    with h' = w' = 0 where it raises."""
    rows = []
    for i in range(n):
        kind = i % 4
        if kind == 0:
            h, w = rng.integers(1, 5000), rng.integers(1, 5000)
        elif kind == 1:  # exact ties for round()
            h, w = 28 * rng.integers(0, 60) + 14, 28 * rng.integers(0, 60) + rng.choice([14, 0, 13, 15])
        elif kind == 2:  # around the 200:1 limit
            s = rng.integers(1, 30)
            h, w = s, s * 200 + rng.integers(-3, 4)
        else:
            h, w = rng.integers(1, 80), rng.integers(1, 80)
        if rng.random() < 0.5:
            h, w = w, h
        h, w = max(h, 1), max(w, 1)
        minp = rng.choice([MIN_PIXELS, 0, 28 * 28, rng.integers(1, 100) * 784])
        maxp = rng.choice([MAX_PIXELS, 401408, 200704, max(minp, rng.integers(1, 2000) * 784)])
        try:
            hh, ww = smart_resize(h, w, min_pixels=minp, max_pixels=maxp)
        except ValueError:
            hh, ww = 0, 0
        rows.append([h, w, minp, maxp, hh, ww])
    return rows


def f32(x):
    """x rounded to IEEE float32 (as a Python float)."""
    return struct.unpack("<f", struct.pack("<f", x))[0]


def f32bits(x):
    return struct.unpack("<I", struct.pack("<f", x))[0]


def normalize_table():
    """Every byte value normalised per channel, as float32 bit patterns:
    "hf" the way transformers' rescale + normalize compute it (rescale in
    float64 cast to float32, then float32 (x - mean) / std), "tjs" the way
    transformers.js does ((x - mean) / std in float64, rounded once).
    float32 arithmetic is emulated exactly: the difference of two float32
    values is exact in float64, and rounding a float64 quotient of float32
    values to float32 equals the float32 quotient (53 >= 2*24 + 2)."""
    hf, tjs = [], []
    for c in range(3):
        m32, s32 = f32(CLIP_MEAN[c]), f32(CLIP_STD[c])
        xs = [f32(v * (1 / 255)) for v in range(256)]
        hf.append([f32bits(f32(x - m32) / s32) for x in xs])
        tjs.append([f32bits((x - CLIP_MEAN[c]) / CLIP_STD[c]) for x in xs])
    return {"mean": CLIP_MEAN, "std": CLIP_STD, "rescale_factor": 1 / 255, "hf": hf, "tjs": tjs}


def cmyk_table(rng):
    """Pillow's CMYK -> RGB conversion on extreme and random CMYK values."""
    q = bytearray(rng.bytes(400 * 4))
    ext = [bytes([a, b, c, d]) for a in (0, 255) for b in (0, 255) for c in (0, 128) for d in (0, 255)]
    q[:64] = b"".join(ext)
    rgb = Image.frombytes("CMYK", (20, 20), bytes(q)).convert("RGB").tobytes()
    return [[*q[4 * i:4 * i + 4], *rgb[3 * i:3 * i + 3]] for i in range(400)]


def to_rgb(im):
    """qwen_vl_utils (>= 0.0.9, vision_process.py) to_rgb."""
    if im.mode == "RGBA":
        white = Image.new("RGB", im.size, (255, 255, 255))
        white.paste(im, mask=im.split()[3])
        return white
    return im.convert("RGB")


def white_blend(out):
    """to_rgb on a 256x256 RGBA image holding every (value, alpha) pair:
    pixel (x, y) is R = x, G = 255 - x, B = x ^ 0x5a, A = y. Writes the RGB
    result as white_blend.png and returns its name."""
    px = bytearray()
    for y in range(256):
        for x in range(256):
            px += bytes([x, 255 - x, x ^ 0x5A, y])
    res = to_rgb(Image.frombytes("RGBA", (256, 256), bytes(px)))
    name = "white_blend.png"
    res.save(os.path.join(out, name), "PNG", optimize=True)
    return name


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
            got = Image.open(out_png).convert("RGB").tobytes()
            # medbench's default RGB conversion is qwen-vl-utils >= 0.0.9's to_rgb
            want = Image.open(os.path.join(folder, e.get("resized_white", e["resized"]))).convert("RGB").tobytes()
            diffs = [abs(a - b) for a, b in zip(got, want) if a != b] if len(got) == len(want) else [255]
            d = max(diffs, default=0)
            if e["lossless"] and d != 0:
                print(f"{e['name']} ({e['kind']}): {len(diffs)} samples differ from Pillow, max {d}")
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
    rng = Rng(args.seed)
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
        def resize(src):
            rgb = src.resize((w1, h1))
            if (rh, rw) != (h1, w1):
                rgb = rgb.resize((rw, rh), Image.BICUBIC)
            return Image.frombytes("RGB", rgb.size, rgb.tobytes())
        if (rh, rw) != (h1, w1):
            e["fetch_height"], e["fetch_width"] = h1, w1
        out = f"resized/{name}.png"
        resize(conv).save(os.path.join(args.out, out), "PNG", optimize=True)
        e.update({"resized": out, "resized_height": rh, "resized_width": rw})
        if im.mode == "RGBA":  # to_rgb differs from convert("RGB") only here
            e["resized_white"] = f"resized/{name}-white.png"
            resize(to_rgb(im)).save(os.path.join(args.out, e["resized_white"]), "PNG", optimize=True)
        entries.append(e)
    index = {"generator": "scripts/pillow_golden.py", "seed": args.seed, "pillow": PIL.__version__,
             "images": entries, "normalize": normalize_table(), "cmyk2rgb": cmyk_table(Rng(args.seed + 1000)),
             "smart_resize": smart_resize_table(Rng(args.seed + 2000)), "white_blend": white_blend(args.out)}
    with open(os.path.join(args.out, "index.json"), "w") as f:
        json.dump(index, f, indent=1)
    print(f"wrote {len(entries)} images to {args.out} (Pillow {PIL.__version__})", file=sys.stderr)


if __name__ == "__main__":
    main()
