// tjs-bench.mjs — transformers.js as the timed peer of `medbench bench`.
//
// usage: node tjs-bench.mjs [options] MODEL_DIR CASES.json
//   MODEL_DIR  a Qwen2-VL directory in the onnx-community layout (made absolute)
//   CASES.json [{"image": "/abs/img.png", "text": "user text after the image"}, ...]
//              ("image" may be omitted for a text-only case)
// options:
//   --max-new-tokens N  tokens to generate at most (default 32)
//   --min-new-tokens N  tokens before EOS is allowed (default 0; = max forces equal lengths)
//   --threads N         ONNX Runtime intra-op threads (0 = ORT default; N > 0 also sets inter-op 1,
//                       as medbench's runner does)
//   --warmup N          untimed passes over all cases before the timed pass (default 1)
//   --device D          cpu (default) or cuda (needs onnxruntime-node's CUDA binaries)
//   --dtype D           dtype or JSON per-session object (default fp32)
// stdout: one line per case of the timed pass:
//   {"ids": [generated ids incl. EOS], "ms": request time, "generate_ms": generate() time,
//    "prompt_tokens": prompt length}
//   "ms" covers what medbench's Runner.Generate covers for a batch of one: image read and
//   decode, chat template, preprocessing, tokenization, generate() and decoding the text;
//   "generate_ms" covers generate() alone. Model load and process start are never timed.
//
// Greedy, num_beams 1, batch 1, no network, no cache: every file comes from MODEL_DIR.
// Hugging Face image-processor defaults are applied for keys missing from
// preprocessor_config.json, as testtools/tjs-peer.mjs does.
import fs from 'node:fs';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { performance } from 'node:perf_hooks';
import { env, AutoProcessor, Qwen2VLForConditionalGeneration, RawImage } from '@huggingface/transformers';

function die(msg) {
    process.stderr.write(`tjs-bench: ${msg}\n`);
    process.exit(2);
}

let parsed;
try {
    parsed = parseArgs({
        allowPositionals: true,
        options: {
            'max-new-tokens': { type: 'string', default: '32' },
            'min-new-tokens': { type: 'string', default: '0' },
            threads: { type: 'string', default: '0' },
            warmup: { type: 'string', default: '1' },
            device: { type: 'string', default: 'cpu' },
            dtype: { type: 'string', default: 'fp32' },
        },
    });
} catch (e) {
    die(e.message);
}
const { values: opt, positionals } = parsed;
if (positionals.length !== 2) die('usage: node tjs-bench.mjs [options] MODEL_DIR CASES.json');
const intOpt = (name, lo) => {
    const v = Number(opt[name]);
    if (!Number.isInteger(v) || v < lo) die(`--${name} must be an integer >= ${lo}, got ${opt[name]}`);
    return v;
};
const maxNew = intOpt('max-new-tokens', 1);
const minNew = intOpt('min-new-tokens', 0);
const threads = intOpt('threads', 0);
const warmup = intOpt('warmup', 0);
if (minNew > maxNew) die(`--min-new-tokens ${minNew} exceeds --max-new-tokens ${maxNew}`);
const modelDir = path.resolve(positionals[0]);
const casesPath = positionals[1];

env.allowRemoteModels = false;
env.allowLocalModels = true;
env.useFSCache = false;
env.useBrowserCache = false;

let dtype = opt.dtype;
if (dtype.startsWith('{')) dtype = JSON.parse(dtype);

let cases;
try {
    cases = JSON.parse(fs.readFileSync(casesPath, 'utf8'));
} catch (e) {
    die(`${casesPath}: ${e.message}`);
}
if (!Array.isArray(cases) || cases.length === 0) die(`${casesPath}: want a non-empty JSON array of cases`);
for (const [i, c] of cases.entries()) {
    if (typeof c.text !== 'string') die(`${casesPath}: case ${i}: "text" must be a string`);
}

const processor = await AutoProcessor.from_pretrained(modelDir);
const ip = processor.image_processor;
const cfg = ip.config ?? {};
const defaults = { do_resize: true, do_rescale: true, do_normalize: true, do_convert_rgb: true, resample: 3 };
for (const [k, v] of Object.entries(defaults)) {
    if (cfg[k] === undefined) {
        ip[k] = v;
        process.stderr.write(`tjs-bench: preprocessor_config.json lacks ${k}; using the Hugging Face default ${v}\n`);
    }
}
const session_options = threads > 0 ? { intraOpNumThreads: threads, interOpNumThreads: 1 } : {};
const model = await Qwen2VLForConditionalGeneration.from_pretrained(modelDir, { dtype, device: opt.device, session_options });
process.stderr.write(`tjs-bench: dtype ${JSON.stringify(dtype)}, device ${opt.device}, threads ${threads || 'ORT default'}, ` +
    `new tokens ${minNew}..${maxNew}, warmup ${warmup}, eos ${JSON.stringify(model.generation_config.eos_token_id)}\n`);

// runCase does what medbench's runner does for one request and times it.
async function runCase(i, c) {
    const t0 = performance.now();
    const content = [];
    let image = null;
    if (c.image) {
        content.push({ type: 'image' });
        try {
            image = await RawImage.read(c.image);
        } catch (e) {
            die(`case ${i}: ${c.image}: ${e.message}`);
        }
    }
    content.push({ type: 'text', text: c.text });
    const prompt = processor.apply_chat_template([{ role: 'user', content }], { add_generation_prompt: true });
    const inputs = await processor(prompt, image);
    const g0 = performance.now();
    const out = await model.generate({
        ...inputs,
        max_new_tokens: maxNew,
        min_new_tokens: minNew,
        do_sample: false,
        num_beams: 1,
    });
    const g1 = performance.now();
    const promptLen = inputs.input_ids.dims.at(-1);
    const ids = Array.from(out.tolist()[0].slice(promptLen), Number);
    processor.batch_decode([ids], { skip_special_tokens: true, clean_up_tokenization_spaces: false });
    const t1 = performance.now();
    return { ids, ms: t1 - t0, generate_ms: g1 - g0, prompt_tokens: promptLen };
}

for (let w = 0; w < warmup; w++) {
    for (const [i, c] of cases.entries()) await runCase(i, c);
}
const lines = [];
for (const [i, c] of cases.entries()) {
    const r = await runCase(i, c);
    lines.push(JSON.stringify({ ids: r.ids, ms: Number(r.ms.toFixed(3)), generate_ms: Number(r.generate_ms.toFixed(3)), prompt_tokens: r.prompt_tokens }));
}
process.stdout.write(lines.join('\n') + '\n');
