// Greedy generation with transformers.js 4.3.2 on a community-layout package: the independent
// generation reference. Prompt ids in, generated ids out (same JSON as reference_loop.mjs).
//
//   node tjs_generate.mjs --model DIR --prompt-ids '[2,105,...]' [--prompt-ids-file F]
//        [--dtype q4|q4f16|fp16|fp32] [--max-new-tokens 64] [--threads 1]
//
// transformers.js loads only the community layout (config.json with model_type "gemma4" and a
// nested text_config); Gemma4ForCausalLM then opens embed_tokens + decoder_model_merged alone.
import fs from 'node:fs';
import path from 'node:path';
import { env, Gemma4ForCausalLM, Tensor } from '@huggingface/transformers';

function parseArgs(argv) {
  const a = { dtype: 'q4', maxNewTokens: 64, promptIds: null, threads: 1 };
  for (let i = 0; i < argv.length; ++i) {
    const k = argv[i];
    const next = () => {
      if (i + 1 >= argv.length) throw new Error(`${k} needs a value`);
      return argv[++i];
    };
    switch (k) {
      case '--model': a.model = next(); break;
      case '--dtype': a.dtype = next(); break;
      case '--prompt-ids': a.promptIds = JSON.parse(next()); break;
      case '--prompt-ids-file': a.promptIds = JSON.parse(fs.readFileSync(next(), 'utf8')); break;
      case '--max-new-tokens': a.maxNewTokens = Number(next()); break;
      case '--threads': a.threads = Number(next()); break;
      default: throw new Error(`unknown argument '${k}'`);
    }
  }
  if (!a.model || !Array.isArray(a.promptIds) || a.promptIds.length === 0) {
    throw new Error('usage: tjs_generate.mjs --model DIR --prompt-ids JSON [--dtype q4] [--max-new-tokens N]');
  }
  return a;
}

async function main() {
  const a = parseArgs(process.argv.slice(2));
  const dir = path.resolve(a.model);
  // Local files only: the package directory is addressed as <localModelPath>/<name>.
  env.allowRemoteModels = false;
  env.allowLocalModels = true;
  env.localModelPath = path.dirname(dir) + path.sep;
  const model = await Gemma4ForCausalLM.from_pretrained(path.basename(dir), {
    dtype: a.dtype, device: 'cpu', local_files_only: true,
    session_options: { intraOpNumThreads: a.threads, interOpNumThreads: 1 },
  });
  const ids = a.promptIds;
  const input_ids = new Tensor('int64', BigInt64Array.from(ids, (v) => BigInt(v)), [1, ids.length]);
  const attention_mask = new Tensor('int64', new BigInt64Array(ids.length).fill(1n), [1, ids.length]);
  const out = await model.generate({
    input_ids, attention_mask, max_new_tokens: a.maxNewTokens, do_sample: false,
  });
  const all = Array.from(out.data, (v) => Number(v));
  process.stdout.write(JSON.stringify({ output_ids: all.slice(ids.length) }) + '\n');
  await model.dispose();
}

main().catch((e) => {
  process.stderr.write(`tjs_generate: ${e.stack ?? e}\n`);
  process.exit(1);
});
