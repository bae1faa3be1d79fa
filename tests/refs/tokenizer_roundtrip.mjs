// Encodes and decodes texts with the Rust HF tokenizers binding (@anush008/tokenizers).
//   node tokenizer_roundtrip.mjs TOKENIZER_JSON TEXTS_JSON_FILE
// Prints [{"ids":[...],"tokens":[...],"decoded":"..."}] per text: encoded with special tokens
// added (the post-processor's <bos>), decoded with special tokens kept.
import fs from 'node:fs';
import { Tokenizer } from '@anush008/tokenizers';

async function main() {
  const [tokPath, textsPath] = process.argv.slice(2);
  if (!tokPath || !textsPath) throw new Error('usage: tokenizer_roundtrip.mjs TOKENIZER_JSON TEXTS_JSON_FILE');
  const tok = Tokenizer.fromFile(tokPath);
  const texts = JSON.parse(fs.readFileSync(textsPath, 'utf8'));
  const out = [];
  for (const text of texts) {
    const enc = await tok.encode(text, null, { addSpecialTokens: true });
    const ids = enc.getIds();
    out.push({ ids, tokens: enc.getTokens(), decoded: await tok.decode(ids, false) });
  }
  process.stdout.write(JSON.stringify(out) + '\n');
}

main().catch((e) => {
  process.stderr.write(`tokenizer_roundtrip: ${e.message ?? e}\n`);
  process.exit(1);
});
