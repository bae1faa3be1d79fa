// Produces the expected ids and decodes for the parity test from the reference implementation,
// the Rust Hugging Face `tokenizers` library (npm binding @anush008/tokenizers).
//
//   node make_expected.js <tokenizer.json> <corpus dir> <out.json>
//
// Output: {"encode": [{"text", "ids", "ids_plain", "decoded", "decoded_skip"}],
//          "decode": [{"ids", "text", "text_skip"}]}
// "ids" are with special tokens (post-processor applied), "ids_plain" without.
'use strict';
const fs = require('fs');
const path = require('path');
const refs = path.join(__dirname, '..', 'refs', 'node_modules');
const { Tokenizer } = require(path.join(refs, '@anush008', 'tokenizers'));

const [tokenizerPath, corpusDir, outPath] = process.argv.slice(2);
if (!outPath) {
  console.error('usage: node make_expected.js <tokenizer.json> <corpus dir> <out.json>');
  process.exit(2);
}

// Deterministic PRNG (mulberry32) so the generated cases are the same on every run.
function rng(seed) {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function corpus() {
  const texts = JSON.parse(fs.readFileSync(path.join(corpusDir, 'texts.json'), 'utf8'));
  const docs = fs.readdirSync(corpusDir).filter((f) => f.endsWith('.txt')).sort()
    .map((f) => fs.readFileSync(path.join(corpusDir, f), 'utf8'));
  texts.push(...docs);
  // Long documents (~50 KB): shuffled mixtures of every text, so that runs of spaces, newlines,
  // code and scripts meet at arbitrary boundaries.
  const rand = rng(1234);
  for (let d = 0; d < 3; ++d) {
    let doc = '';
    while (Buffer.byteLength(doc) < 50000) {
      const t = texts[Math.floor(rand() * texts.length)];
      const sep = [' ', '\n', '\n\n', '  ', '\t', ''][Math.floor(rand() * 6)];
      doc += t + sep;
    }
    texts.push(doc);
  }
  // Randomized strings of arbitrary code points (valid UTF-16 -> valid UTF-8).
  const pools = [
    [0x20, 0x7e], [0x00, 0x20], [0xa0, 0x2ff], [0x370, 0x52f], [0x590, 0x6ff], [0x900, 0x97f],
    [0x3040, 0x30ff], [0x4e00, 0x9fff], [0xac00, 0xd7a3], [0x1f300, 0x1faff], [0x10000, 0x10ffff], [0x2000, 0x206f],
  ];
  for (let k = 0; k < 60; ++k) {
    let s = '';
    const n = 1 + Math.floor(rand() * 40);
    for (let i = 0; i < n; ++i) {
      const [lo, hi] = pools[Math.floor(rand() * pools.length)];
      let cp = lo + Math.floor(rand() * (hi - lo + 1));
      if (cp >= 0xd800 && cp <= 0xdfff) cp = 0x41;
      s += String.fromCodePoint(cp);
    }
    texts.push(s);
  }
  return texts;
}

async function main() {
  const tok = Tokenizer.fromFile(tokenizerPath);
  const vocab = tok.getVocab(true);
  const vocabSize = Object.values(vocab).reduce((m, id) => Math.max(m, id), 0) + 1;
  const out = { encode: [], decode: [] };
  for (const text of corpus()) {
    const withSpecial = await tok.encode(text, null, { addSpecialTokens: true });
    const plain = await tok.encode(text, null, { addSpecialTokens: false });
    const ids = withSpecial.getIds();
    out.encode.push({
      text,
      ids,
      ids_plain: plain.getIds(),
      decoded: await tok.decode(ids, false),
      decoded_skip: await tok.decode(ids, true),
    });
  }

  // Decode-only sequences: cut-off and stray byte tokens, lone specials, random ids.
  const byteIds = [];
  for (let b = 0; b < 256; ++b) {
    const id = tok.tokenToId('<0x' + b.toString(16).toUpperCase().padStart(2, '0') + '>');
    if (id !== null && id !== undefined) byteIds.push(id);
  }
  const specialIds = Object.entries(vocab).filter(([t]) => /^<.*>$|^\[.*\]$/.test(t)).map(([, id]) => id).slice(0, 64);
  const byName = (names) => names.map((n) => tok.tokenToId(n)).filter((id) => id !== null && id !== undefined);
  const cases = [];
  const enc = async (t) => (await tok.encode(t, null, { addSpecialTokens: false })).getIds();
  const cjk = await enc('中文😀 👩‍💻');
  for (let cut = 1; cut <= cjk.length; ++cut) cases.push(cjk.slice(0, cut));
  for (let cut = 0; cut < cjk.length; ++cut) cases.push(cjk.slice(cut));
  if (byteIds.length === 256) {
    const b = (x) => byteIds[x];
    cases.push([b(0xe4)], [b(0xe4), b(0xb8)], [b(0xe4), b(0xb8), b(0xad)], [b(0xe4), b(0xb8), b(0xad), b(0xe4)]);
    cases.push([b(0xff)], [b(0x80), b(0x41)], [b(0xf0), b(0x9f), b(0x98)], [b(0xf0), b(0x9f), b(0x98), b(0x80)]);
    cases.push([b(0x41), b(0x42), b(0x43)], [b(0xc3)], [b(0xc3), b(0xa9)], [b(0xed), b(0xa0), b(0x80)]);
  }
  cases.push(byName(['<bos>']), byName(['<eos>']), byName(['<|im_start|>']), byName(['<|begin_of_text|>']));
  cases.push([]);
  const rand = rng(99);
  for (let k = 0; k < 300; ++k) {
    const n = 1 + Math.floor(rand() * 24);
    const ids = [];
    for (let i = 0; i < n; ++i) {
      const r = rand();
      if (r < 0.35 && byteIds.length) ids.push(byteIds[Math.floor(rand() * byteIds.length)]);
      else if (r < 0.45 && specialIds.length) ids.push(specialIds[Math.floor(rand() * specialIds.length)]);
      else ids.push(Math.floor(rand() * vocabSize));
    }
    cases.push(ids);
  }
  for (const ids of cases) {
    if (!ids.every((id) => tok.idToToken(id) !== null && tok.idToToken(id) !== undefined)) continue;
    out.decode.push({ ids, text: await tok.decode(ids, false), text_skip: await tok.decode(ids, true) });
  }
  fs.writeFileSync(outPath, JSON.stringify(out));
  console.log(`${path.basename(path.dirname(path.dirname(tokenizerPath)))}: ${out.encode.length} encode cases, ${out.decode.length} decode cases -> ${outPath}`);
}

main().catch((e) => { console.error(e); process.exit(1); });
