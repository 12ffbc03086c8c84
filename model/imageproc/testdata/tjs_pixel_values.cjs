// Runs transformers.js's Qwen2VLImageProcessor on raw RGB images and writes
// pixel_values (little-endian float32) and image_grid_thw, for
// runners/imageproc's TestTJSPixelValues.
//
// usage: node tjs_pixel_values.cjs TESTTOOLS_DIR OUT_DIR W H IN.rgb [W H IN.rgb ...]
// writes OUT_DIR/<i>.f32 and prints one JSON line per image: {"grid_thw": [...], "dims": [...]}
const path = require('path');
const fs = require('fs');
const { createRequire } = require('module');
const req = createRequire(path.join(path.resolve(process.argv[2]), 'package.json'));
const { Qwen2VLImageProcessor, RawImage } = req('@huggingface/transformers');

(async () => {
  const outDir = process.argv[3];
  const args = process.argv.slice(4);
  // Qwen2-VL-2B-Instruct's preprocessor_config.json plus the keys whose
  // absence makes transformers.js deviate from Hugging Face (tjs-peer §3.2).
  const proc = new Qwen2VLImageProcessor({
    min_pixels: 3136, max_pixels: 12845056, patch_size: 14, temporal_patch_size: 2, merge_size: 2,
    image_mean: [0.48145466, 0.4578275, 0.40821073], image_std: [0.26862954, 0.26130258, 0.27577711],
    do_normalize: true, do_rescale: true, rescale_factor: 0.00392156862745098, do_resize: true, resample: 3,
    do_convert_rgb: true,
  });
  for (let i = 0; 3 * i < args.length; i++) {
    const w = Number(args[3 * i]), h = Number(args[3 * i + 1]);
    const data = new Uint8ClampedArray(fs.readFileSync(args[3 * i + 2]));
    const out = await proc(new RawImage(data, w, h, 3));
    const pv = out.pixel_values;
    fs.writeFileSync(path.join(outDir, `${i}.f32`), Buffer.from(pv.data.buffer, pv.data.byteOffset, pv.data.byteLength));
    console.log(JSON.stringify({ grid_thw: out.image_grid_thw.tolist()[0].map(Number), dims: pv.dims }));
  }
})().catch((e) => { console.error(e); process.exit(1); });
