// tjs-peer.mjs — transformers.js as an independent Qwen2-VL implementation
// for medbench's token-for-token conformance test (runners/qwen2vl).
//
// usage: node tjs-peer.mjs MODEL_DIR CASES.json [MAX_NEW_TOKENS]
//   MODEL_DIR  a Qwen2-VL directory in the onnx-community layout (made absolute)
//   CASES.json [{"image": "/abs/img.png", "text": "user text after the image"}, ...]
//              ("image" may be omitted for a text-only case)
// env: TJS_DTYPE    dtype or JSON per-session object (default "fp32")
//      TJS_GEN_JSON JSON object merged into the generate() options
// stdout: one line {"ids": [generated ids incl. EOS], "text": decoded} per case.
//
// Greedy, num_beams 1, no network, no cache: every file comes from MODEL_DIR.
// Hugging Face image-processor defaults are applied for keys missing from
// preprocessor_config.json (transformers.js would otherwise skip
// normalisation); see docs/reference/transformers-js.md#preprocessing-differences.
import fs from 'node:fs';
import path from 'node:path';
import { env, AutoProcessor, Qwen2VLForConditionalGeneration, RawImage } from '@huggingface/transformers';

function die(msg) {
    process.stderr.write(`tjs-peer: ${msg}\n`);
    process.exit(2);
}

const [dirArg, casesArg, maxArg] = process.argv.slice(2);
if (!dirArg || !casesArg) die('usage: node tjs-peer.mjs MODEL_DIR CASES.json [MAX_NEW_TOKENS]');
const modelDir = path.resolve(dirArg);
const maxNew = maxArg === undefined ? 32 : Number(maxArg);
if (!Number.isInteger(maxNew) || maxNew <= 0) die(`MAX_NEW_TOKENS must be a positive integer, got ${maxArg}`);

env.allowRemoteModels = false;
env.allowLocalModels = true;
env.useFSCache = false;
env.useBrowserCache = false;

let dtype = process.env.TJS_DTYPE || 'fp32';
if (dtype.startsWith('{')) dtype = JSON.parse(dtype);
const extra = process.env.TJS_GEN_JSON ? JSON.parse(process.env.TJS_GEN_JSON) : {};

let cases;
try {
    cases = JSON.parse(fs.readFileSync(casesArg, 'utf8'));
} catch (e) {
    die(`${casesArg}: ${e.message}`);
}
if (!Array.isArray(cases)) die(`${casesArg}: want a JSON array of cases`);

const processor = await AutoProcessor.from_pretrained(modelDir);
const ip = processor.image_processor;
const cfg = ip.config ?? {};
const defaults = { do_resize: true, do_rescale: true, do_normalize: true, do_convert_rgb: true, resample: 3 };
for (const [k, v] of Object.entries(defaults)) {
    if (cfg[k] === undefined) {
        ip[k] = v;
        process.stderr.write(`tjs-peer: preprocessor_config.json lacks ${k}; using the Hugging Face default ${v}\n`);
    }
}
const model = await Qwen2VLForConditionalGeneration.from_pretrained(modelDir, { dtype, device: 'cpu' });
process.stderr.write(`tjs-peer: dtype ${JSON.stringify(dtype)}, eos ${JSON.stringify(model.generation_config.eos_token_id)}, ` +
    `repetition_penalty ${model.generation_config.repetition_penalty ?? 1}\n`);

for (const [i, c] of cases.entries()) {
    if (typeof c.text !== 'string') die(`case ${i}: "text" must be a string`);
    const content = [];
    let image = null;
    if (c.image) {
        content.push({ type: 'image' });
        image = await RawImage.read(c.image);
    }
    content.push({ type: 'text', text: c.text });
    const prompt = processor.apply_chat_template([{ role: 'user', content }], { add_generation_prompt: true });
    const inputs = await processor(prompt, image);
    const out = await model.generate({
        ...inputs,
        max_new_tokens: maxNew,
        do_sample: false,
        num_beams: 1,
        ...extra,
    });
    const promptLen = inputs.input_ids.dims.at(-1);
    const ids = Array.from(out.tolist()[0].slice(promptLen), Number);
    const text = processor.batch_decode([ids], { skip_special_tokens: true, clean_up_tokenization_spaces: false })[0];
    process.stdout.write(JSON.stringify({ ids, text }) + '\n');
}
