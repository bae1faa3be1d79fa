// Greedy generation with transformers.js 4.3.2 on a community-layout package: the independent
// generation reference. Prompt ids in, generated ids out (same JSON as reference_loop.mjs).
//
//   node tjs_generate.mjs --model DIR --prompt-ids '[2,105,...]' [--prompt-ids-file F]
//        [--dtype q4|q4f16|fp16|fp32] [--max-new-tokens 64] [--threads 1] [--timing]
//
// --timing adds "timing": {load_ms, ttft_ms, total_ms, decode_steps, peak_rss_mb} (bench/compare):
// load is from_pretrained, ttft the time until the streamer receives the first new token.
//
// transformers.js loads only the community layout (config.json with model_type "gemma4" and a
// nested text_config); Gemma4ForCausalLM then opens embed_tokens + decoder_model_merged alone.
import path from 'node:path';
import { env, Gemma4ForCausalLM, Tensor } from '@huggingface/transformers';
import { parseGenerateArgs } from './generate_args.mjs';

function parseArgs(argv) {
  const a = parseGenerateArgs(argv);
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
  const tLoad = performance.now();
  const model = await Gemma4ForCausalLM.from_pretrained(path.basename(dir), {
    dtype: a.dtype, device: 'cpu', local_files_only: true,
    session_options: { intraOpNumThreads: a.threads, interOpNumThreads: 1 },
  });
  const ids = a.promptIds;
  const input_ids = new Tensor('int64', BigInt64Array.from(ids, (v) => BigInt(v)), [1, ids.length]);
  const attention_mask = new Tensor('int64', new BigInt64Array(ids.length).fill(1n), [1, ids.length]);
  // generate() hands the streamer the prompt first, then each new token as it is chosen.
  let puts = 0;
  let tFirst = 0;
  const streamer = { put() { if (++puts === 2) tFirst = performance.now(); }, end() {} };
  const tStart = performance.now();
  const out = await model.generate({
    input_ids, attention_mask, max_new_tokens: a.maxNewTokens, do_sample: false,
    ...(a.timing ? { streamer } : {}),
  });
  const tEnd = performance.now();
  const all = Array.from(out.data, (v) => Number(v));
  const result = { output_ids: all.slice(ids.length) };
  if (a.timing) {
    result.timing = {
      load_ms: tStart - tLoad, ttft_ms: (tFirst || tEnd) - tStart, total_ms: tEnd - tStart,
      decode_steps: result.output_ids.length - 1, peak_rss_mb: process.resourceUsage().maxRSS / 1024,
    };
  }
  process.stdout.write(JSON.stringify(result) + '\n');
  await model.dispose();
}

main().catch((e) => {
  process.stderr.write(`tjs_generate: ${e.stack ?? e}\n`);
  process.exit(1);
});
