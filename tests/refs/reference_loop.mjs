// A port of the model card's Python generation loop (DESIGN.md §6) to onnxruntime-node: the
// reference the C++ runtime is compared against. Greedy only; prompt ids in, generated ids out.
//
//   node reference_loop.mjs --model DIR (--prompt-ids '[2,105,...]' | --prompt-ids-file F | --prompt TEXT)
//        [--dtype q4] [--max-new-tokens 64] [--threads 1] [--bad-positions] [--drop-per-layer]
//        [--no-kv-feedback] [--bad-mask-length] [--timing]
//
// Prints {"output_ids":[...]}: the generated ids, including the EOS id when it stopped on one.
// With --prompt, the text is rendered as one user turn with the package's chat template
// (enable_thinking=false, generation prompt) and tokenized with the HF tokenizers binding, as the
// model card does; the output then also has "prompt_ids" and "text" (special tokens skipped).
// The --bad-* / --drop-* / --no-* flags reproduce classic runtime bugs; the test suite checks that
// each one changes the output (or makes the run fail), which proves the test packages notice them.
// --timing adds "timing": {load_ms, ttft_ms, total_ms, decode_steps, peak_rss_mb} (bench/compare):
// load is session creation, ttft the first step (embed + decoder + argmax) after it.
import fs from 'node:fs';
import path from 'node:path';
import ort from 'onnxruntime-node';
import { Template } from '@huggingface/jinja';
import { Tokenizer } from '@anush008/tokenizers';
import { parseGenerateArgs } from './generate_args.mjs';

function parseArgs(argv) {
  const a = parseGenerateArgs(argv, {
    '--prompt': (o, next) => { o.prompt = next(); },
    '--bad-positions': (o) => { o.badPositions = true; },
    '--drop-per-layer': (o) => { o.dropPerLayer = true; },
    '--no-kv-feedback': (o) => { o.noKvFeedback = true; },
    '--bad-mask-length': (o) => { o.badMaskLength = true; },
  });
  if (!a.model || ((!Array.isArray(a.promptIds) || a.promptIds.length === 0) && a.prompt === undefined)) {
    throw new Error('usage: reference_loop.mjs --model DIR --prompt-ids JSON|--prompt TEXT [--dtype q4] [--max-new-tokens N]');
  }
  return a;
}

const SUFFIX = { fp32: '', fp16: '_fp16', q4: '_q4', q4f16: '_q4f16' };

// float16 <-> float32 conversions for the host-side casts the Python loop does with numpy.
function halfToFloat(h) {
  const s = h & 0x8000 ? -1 : 1;
  const e = (h >> 10) & 0x1f;
  const f = h & 0x3ff;
  if (e === 0) return s * f * 2 ** -24;
  if (e === 31) return f ? NaN : s * Infinity;
  return s * (1 + f / 1024) * 2 ** (e - 15);
}
const f32 = new Float32Array(1);
const u32 = new Uint32Array(f32.buffer);
function floatToHalf(v) {  // round to nearest even
  f32[0] = v;
  const x = u32[0];
  const sign = (x >>> 16) & 0x8000;
  const exp = (x >>> 23) & 0xff;
  let mant = x & 0x7fffff;
  if (exp === 0xff) return sign | 0x7c00 | (mant ? 0x200 : 0);
  let e = exp - 127 + 15;
  if (e >= 31) return sign | 0x7c00;
  if (e <= 0) {
    if (e < -10) return sign;
    mant |= 0x800000;
    const shift = 14 - e;
    let h = mant >> shift;
    const rem = mant & ((1 << shift) - 1);
    const half = 1 << (shift - 1);
    if (rem > half || (rem === half && (h & 1))) h += 1;
    return sign | h;
  }
  let h = (e << 10) | (mant >> 13);
  const rem = mant & 0x1fff;
  if (rem > 0x1000 || (rem === 0x1000 && (h & 1))) h += 1;
  return sign | h;
}

function toFloats(t) {
  if (t.type === 'float32') return t.data;
  if (t.type === 'float16') return Float32Array.from(t.data, halfToFloat);
  throw new Error(`unexpected dtype ${t.type}`);
}

// Cast a float tensor to the dtype the decoder declares for that input.
function castTo(t, type) {
  if (t.type === type) return t;
  const src = toFloats(t);
  if (type === 'float32') return new ort.Tensor('float32', Float32Array.from(src), t.dims);
  if (type === 'float16') return new ort.Tensor('float16', Uint16Array.from(src, floatToHalf), t.dims);
  throw new Error(`cannot cast ${t.type} to ${type}`);
}

function zerosLike(t) {
  const Ctor = t.data.constructor;
  return new ort.Tensor(t.type, new Ctor(t.data.length), t.dims);
}

function emptyTensor(type, shape) {
  const size = shape.reduce((x, y) => x * y, 1);
  const data = type === 'float16' ? new Uint16Array(size) : type === 'float32' ? new Float32Array(size)
    : type === 'int64' ? new BigInt64Array(size) : null;
  if (!data) throw new Error(`unsupported cache dtype ${type}`);
  return new ort.Tensor(type, data, shape);
}

const i64 = (values, dims) => new ort.Tensor('int64', BigInt64Array.from(values, (v) => BigInt(v)), dims);

// Argmax of the last row of logits [B, S, V]; ties go to the lower id (numpy.argmax).
function argmaxLastRow(logits) {
  const v = logits.dims[2];
  const s = logits.dims[1];
  const all = toFloats(logits);
  const row = all.subarray((s - 1) * v, s * v);
  let best = 0;
  for (let i = 1; i < v; ++i) if (row[i] > row[best]) best = i;
  return best;
}

function eosIds(dir) {
  const gen = JSON.parse(fs.readFileSync(path.join(dir, 'generation_config.json'), 'utf8'));
  const e = gen.eos_token_id;
  return new Set(Array.isArray(e) ? e : [e]);
}

function chatTemplate(dir) {
  const file = path.join(dir, 'chat_template.jinja');
  if (fs.existsSync(file)) return fs.readFileSync(file, 'utf8');
  const cfg = JSON.parse(fs.readFileSync(path.join(dir, 'tokenizer_config.json'), 'utf8'));
  if (typeof cfg.chat_template !== 'string') throw new Error(`${dir}: no chat template`);
  return cfg.chat_template;
}

async function main() {
  const a = parseArgs(process.argv.slice(2));
  let tokenizer = null;
  if (a.prompt !== undefined) {
    const cfg = JSON.parse(fs.readFileSync(path.join(a.model, 'tokenizer_config.json'), 'utf8'));
    const text = new Template(chatTemplate(a.model)).render({
      messages: [{ role: 'user', content: a.prompt }], add_generation_prompt: true, enable_thinking: false,
      bos_token: cfg.bos_token ?? '<bos>', eos_token: cfg.eos_token ?? '<eos>',
    });
    tokenizer = Tokenizer.fromFile(path.join(a.model, 'tokenizer.json'));
    a.promptIds = (await tokenizer.encode(text, null, { addSpecialTokens: false })).getIds();
  }
  const suffix = SUFFIX[a.dtype];
  if (suffix === undefined) throw new Error(`unknown dtype '${a.dtype}'`);
  // One intra-op thread by default: the test machines are small and shared, and spinning pool
  // threads only slow a tiny model down.
  const opts = { executionProviders: ['cpu'], intraOpNumThreads: a.threads, interOpNumThreads: 1 };
  const tLoad = performance.now();
  const embed = await ort.InferenceSession.create(path.join(a.model, 'onnx', `embed_tokens${suffix}.onnx`), opts);
  const decoder = await ort.InferenceSession.create(
    path.join(a.model, 'onnx', `decoder_model_merged${suffix}.onnx`), opts);

  const inputMeta = new Map(decoder.inputMetadata.map((m) => [m.name, m]));
  const pastNames = decoder.inputNames.filter((n) => n.startsWith('past_key_values')).sort();
  const presentNames = decoder.outputNames.filter((n) => n.startsWith('present.')).sort();
  if (pastNames.length !== presentNames.length) {
    throw new Error(`${pastNames.length} past_key_values inputs but ${presentNames.length} present outputs`);
  }
  const hasKeep = decoder.inputNames.includes('num_logits_to_keep');
  const eos = eosIds(a.model);
  const batch = 1;

  let past = {};
  for (const name of pastNames) {
    const m = inputMeta.get(name);
    const shape = m.shape.map((d, i) => (i === 0 ? batch : i === 2 ? 0 : typeof d === 'number' ? d : 0));
    past[name] = emptyTensor(m.type, shape);
  }
  let prefillPast = null;

  async function step(ids, positions, maskLen) {
    const emb = await embed.run({ input_ids: i64(ids, [batch, ids.length]) });
    const feeds = {
      inputs_embeds: castTo(emb.inputs_embeds, inputMeta.get('inputs_embeds').type),
      per_layer_inputs: castTo(emb.per_layer_inputs, inputMeta.get('per_layer_inputs').type),
      attention_mask: i64(new Array(maskLen).fill(1), [batch, maskLen]),
      position_ids: i64(positions, [batch, positions.length]),
      ...past,
    };
    if (a.dropPerLayer) feeds.per_layer_inputs = zerosLike(feeds.per_layer_inputs);
    if (hasKeep) feeds.num_logits_to_keep = new ort.Tensor('int64', BigInt64Array.from([1n]), []);
    const out = await decoder.run(feeds);
    const next = {};
    pastNames.forEach((n, i) => { next[n] = castTo(out[presentNames[i]], inputMeta.get(n).type); });
    return { token: argmaxLastRow(out.logits), present: next };
  }

  const prompt = a.promptIds;
  const offset = a.badPositions ? 1 : 0;  // the bug: 1-based positions
  const extra = a.badMaskLength ? 1 : 0;  // the bug: one mask element too many
  const output = [];
  const tStart = performance.now();
  let r = await step(prompt, prompt.map((_, i) => i + offset), prompt.length + extra);
  const tFirst = performance.now();
  past = r.present;
  prefillPast = r.present;
  let length = prompt.length;
  for (;;) {
    output.push(r.token);
    length += 1;
    if (eos.has(r.token) || output.length >= a.maxNewTokens) break;
    let maskLen = length + extra;
    if (a.noKvFeedback) {  // the bug: the prefill cache is fed again at every step
      past = prefillPast;
      maskLen = prompt.length + 1 + extra;
    }
    r = await step([r.token], [length - 1 + offset], maskLen);
    past = r.present;
  }
  const tEnd = performance.now();
  const result = { output_ids: output };
  if (a.timing) {
    result.timing = {
      load_ms: tStart - tLoad, ttft_ms: tFirst - tStart, total_ms: tEnd - tStart, decode_steps: output.length - 1,
      peak_rss_mb: process.resourceUsage().maxRSS / 1024,
    };
  }
  if (tokenizer) {
    result.prompt_ids = prompt;
    result.text = await tokenizer.decode(output, true);
  }
  process.stdout.write(JSON.stringify(result) + '\n');
}

main().catch((e) => {
  process.stderr.write(`reference_loop: ${e.message ?? e}\n`);
  process.exit(1);
});
