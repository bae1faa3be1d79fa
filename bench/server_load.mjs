// Throughput of `gemma4 serve` at several --parallel settings: a fixed batch of chat requests
// (greedy, fixed max_tokens, distinct prompts so the prefix cache does not flatter the numbers)
// sent by C concurrent clients; prints requests/s and generated tokens/s per setting.
//
//   node bench/server_load.mjs BUILD/gemma4 MODEL_DIR [--parallel 1,2,4] [--requests 64]
//        [--concurrency 8] [--max-tokens 32] [--threads T]
import { spawn } from 'node:child_process';

const [cli, model, ...rest] = process.argv.slice(2);
if (!cli || !model) {
  console.error('usage: node bench/server_load.mjs GEMMA4_CLI MODEL_DIR [--parallel 1,2,4] [--requests N] [--concurrency C] [--max-tokens M] [--threads T]');
  process.exit(2);
}
const opt = { parallel: '1,2,4', requests: '64', concurrency: '8', 'max-tokens': '32', threads: '0' };
for (let i = 0; i < rest.length; i += 2) opt[rest[i].replace(/^--/, '')] = rest[i + 1];

async function start(parallel) {
  const proc = spawn(cli, ['serve', '-m', model, '--port', '0', '--parallel', String(parallel), '-t', opt.threads],
                     { stdio: ['ignore', 'pipe', 'ignore'] });
  const port = await new Promise((resolve, reject) => {
    let out = '';
    proc.stdout.on('data', (d) => { out += d; const m = out.match(/listening on http:\/\/[^\s:]+:(\d+)/); if (m) resolve(Number(m[1])); });
    proc.on('exit', (c) => reject(new Error(`server exited ${c}`)));
  });
  return { proc, base: `http://127.0.0.1:${port}` };
}

async function run(base, n, concurrency, maxTokens) {
  let next = 0;
  let tokens = 0;
  const t0 = performance.now();
  const worker = async () => {
    while (next < n) {
      const i = next++;
      const res = await fetch(`${base}/v1/chat/completions`, {
        method: 'POST', headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ messages: [{ role: 'user', content: `Request ${i}: tell me something about the number ${i * 37}.` }],
                               max_tokens: maxTokens, temperature: 0 }),
      });
      const body = await res.json();
      if (res.status !== 200) throw new Error(`status ${res.status}: ${JSON.stringify(body)}`);
      tokens += body.usage.completion_tokens;
    }
  };
  await Promise.all(Array.from({ length: concurrency }, worker));
  const s = (performance.now() - t0) / 1000;
  return { seconds: s, rps: n / s, tps: tokens / s, tokens };
}

console.log(`| --parallel | requests | concurrency | max_tokens | seconds | requests/s | tokens/s |`);
console.log(`| ---: | ---: | ---: | ---: | ---: | ---: | ---: |`);
for (const p of opt.parallel.split(',').map(Number)) {
  const server = await start(p);
  try {
    await run(server.base, Math.min(8, Number(opt.requests)), Number(opt.concurrency), 4);  // warm-up
    const r = await run(server.base, Number(opt.requests), Number(opt.concurrency), Number(opt['max-tokens']));
    console.log(`| ${p} | ${opt.requests} | ${opt.concurrency} | ${opt['max-tokens']} | ${r.seconds.toFixed(2)} | ${r.rps.toFixed(1)} | ${r.tps.toFixed(0)} |`);
  } finally {
    server.proc.kill('SIGTERM');
    await new Promise((r) => server.proc.on('exit', r));
  }
}
