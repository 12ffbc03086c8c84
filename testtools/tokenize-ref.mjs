// tokenize-ref.mjs: the reference tokenizer for medbench's conformance tests
// (runners/tokenizer). It runs @huggingface/tokenizers (the JavaScript port
// of Hugging Face tokenizers) on a tokenizer.json and speaks the same line
// protocol as `medbench tools tokenize`:
//
//   node tokenize-ref.mjs TOKENIZER_JSON [--decode] [--skip-special]
//
// Encode (default): each stdin line is a JSON string; each output line is the
// JSON array of its ids (no special tokens added beyond what the file's
// post-processor adds). Decode: each stdin line is a JSON array of ids; each
// output line is the JSON string (clean_up_tokenization_spaces=false).
import { readFileSync } from "node:fs";
import { createInterface } from "node:readline";
import { Tokenizer } from "@huggingface/tokenizers";

const args = process.argv.slice(2);
const files = args.filter((a) => !a.startsWith("--"));
const decode = args.includes("--decode");
const skipSpecial = args.includes("--skip-special");
if (files.length !== 1) {
  process.stderr.write("usage: node tokenize-ref.mjs TOKENIZER_JSON [--decode] [--skip-special]\n");
  process.exit(2);
}
const tok = new Tokenizer(JSON.parse(readFileSync(files[0], "utf8")), {});

const out = [];
let n = 0;
const rl = createInterface({ input: process.stdin, crlfDelay: Infinity });
for await (const line of rl) {
  n++;
  let v;
  try {
    v = JSON.parse(line);
  } catch (e) {
    process.stderr.write(`tokenize-ref: stdin line ${n}: ${e.message}\n`);
    process.exit(2);
  }
  if (decode) {
    if (!Array.isArray(v)) {
      process.stderr.write(`tokenize-ref: stdin line ${n}: want a JSON array of ids\n`);
      process.exit(2);
    }
    const s = v.length === 0 ? "" : tok.decode(v, { skip_special_tokens: skipSpecial, clean_up_tokenization_spaces: false });
    out.push(JSON.stringify(s));
  } else {
    if (typeof v !== "string") {
      process.stderr.write(`tokenize-ref: stdin line ${n}: want a JSON string\n`);
      process.exit(2);
    }
    out.push(JSON.stringify(tok.encode(v).ids));
  }
  if (out.length >= 1024) {
    process.stdout.write(out.join("\n") + "\n");
    out.length = 0;
  }
}
if (out.length > 0) process.stdout.write(out.join("\n") + "\n");
