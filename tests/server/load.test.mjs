// Load: 200 requests from 16 concurrent clients, streamed and not, some clients vanishing
// mid-stream. Every completed answer must equal the same request answered alone (greedy), there
// must be no 5xx, and the server must still be healthy afterwards. Ends with a SIGTERM while a
// request is in flight: it must finish, and the process exit cleanly.
import assert from 'node:assert/strict';
import { main, startServer, postJson, readSse, joinChatStream, check } from './harness.mjs';

const TOTAL = 200;
const CLIENTS = 16;

// A few conversations; several share a system prompt so the prefix cache is exercised.
const SYSTEM = 'You are a helpful assistant who answers in one short sentence.';
const PROMPTS = [
  [{ role: 'system', content: SYSTEM }, { role: 'user', content: 'What is the capital of France?' }],
  [{ role: 'system', content: SYSTEM }, { role: 'user', content: 'Name a prime number.' }],
  [{ role: 'system', content: SYSTEM }, { role: 'user', content: 'Why is the sky blue?' }],
  [{ role: 'user', content: 'Count to five.' }],
  [{ role: 'user', content: 'Bonjour, explique en une phrase ce que tu es.' }],
  [{ role: 'user', content: 'Write a haiku about rain.' },
    { role: 'assistant', content: 'Rain taps the window.' }, { role: 'user', content: 'Another one.' }],
];
const MAX_TOKENS = [3, 6, 9, 12];

function requestFor(i) {
  return {
    messages: PROMPTS[i % PROMPTS.length],
    max_tokens: MAX_TOKENS[(i * 7) % MAX_TOKENS.length],
    temperature: 0,
  };
}
const keyOf = (r) => JSON.stringify([r.messages, r.max_tokens]);

await main('server.load', async () => {
  const server = await startServer(['--parallel', '4', '--max-queue', '64']);
  try {
    // The reference: each distinct request answered alone, before any load.
    const expected = new Map();
    for (let i = 0; i < PROMPTS.length * MAX_TOKENS.length; ++i) {
      const r = requestFor(i);
      if (expected.has(keyOf(r))) continue;
      const res = await postJson(server.base, '/v1/chat/completions', r);
      check(res.status === 200, `reference request: ${res.status} ${res.text}`, server);
      expected.set(keyOf(r), { content: res.json.choices[0].message.content, usage: res.json.usage });
    }

    let next = 0;
    const stats = { ok: 0, streamed: 0, aborted: 0, status: {} };
    const failures = [];
    async function client(id) {
      while (next < TOTAL) {
        const i = next++;
        const r = requestFor(i);
        const want = expected.get(keyOf(r));
        const mode = i % 5;  // 0,1: plain; 2,3: streamed; 4: streamed and abandoned after the first chunks
        if (mode <= 1) {
          const res = await postJson(server.base, '/v1/chat/completions', r);
          stats.status[res.status] = (stats.status[res.status] ?? 0) + 1;
          if (res.status !== 200) { failures.push(`#${i}: status ${res.status} ${res.text}`); continue; }
          const got = res.json.choices[0].message.content;
          if (got !== want.content) failures.push(`#${i} (client ${id}): ${JSON.stringify(got)} != ${JSON.stringify(want.content)}`);
          if (res.json.usage.completion_tokens !== want.usage.completion_tokens) failures.push(`#${i}: usage differs`);
          stats.ok++;
        } else {
          const controller = new AbortController();
          let res;
          try {
            res = await fetch(`${server.base}/v1/chat/completions`, {
              method: 'POST', headers: { 'content-type': 'application/json' },
              body: JSON.stringify({ ...r, stream: true, stream_options: { include_usage: true } }),
              signal: controller.signal,
            });
          } catch (e) { failures.push(`#${i}: fetch failed ${e}`); continue; }
          stats.status[res.status] = (stats.status[res.status] ?? 0) + 1;
          if (res.status !== 200) { failures.push(`#${i}: status ${res.status} ${await res.text()}`); continue; }
          if (mode === 4) {
            try { await readSse(res, { abortAfterChunks: 2, controller }); } catch { /* aborted */ }
            stats.aborted++;
            continue;
          }
          const { events, done } = await readSse(res);
          const got = joinChatStream(events);
          if (!done) failures.push(`#${i}: stream without [DONE]`);
          if (got.content !== want.content) failures.push(`#${i} (stream, client ${id}): ${JSON.stringify(got.content)} != ${JSON.stringify(want.content)}`);
          if (!got.usage || got.usage.completion_tokens !== want.usage.completion_tokens) failures.push(`#${i}: stream usage differs`);
          const ids = new Set(events.map((e) => e.id));
          if (ids.size !== 1) failures.push(`#${i}: chunks of ${ids.size} different responses mixed`);
          stats.streamed++;
        }
      }
    }
    const t0 = Date.now();
    await Promise.all(Array.from({ length: CLIENTS }, (_, id) => client(id)));
    const seconds = (Date.now() - t0) / 1000;
    console.log(`load: ${TOTAL} requests in ${seconds.toFixed(1)} s; ${JSON.stringify(stats)}`);
    const fiveXX = Object.entries(stats.status).filter(([s]) => Number(s) >= 500);
    check(fiveXX.length === 0, `5xx answers: ${JSON.stringify(stats.status)}`, server);
    check(failures.length === 0, `${failures.length} mismatches:\n${failures.slice(0, 10).join('\n')}`, server);
    assert.equal(stats.ok + stats.streamed + stats.aborted, TOTAL);

    // Still healthy, nothing left running, and still right.
    await new Promise((r) => setTimeout(r, 200));
    const health = await (await fetch(`${server.base}/health`)).json();
    assert.equal(health.status, 'ok');
    assert.equal(health.queue_depth, 0);
    assert.equal(health.slots_busy, 0, 'abandoned streams stopped generating');
    const metrics = await (await fetch(`${server.base}/metrics`)).text();
    const cached = Number(metrics.match(/gemma4_prompt_tokens_cached_total (\d+)/)[1]);
    check(cached > 0, 'the prefix cache served tokens across requests', server);
    const cancelled = Number(metrics.match(/gemma4_requests_cancelled_total (\d+)/)[1]);
    console.log(`load: ${cached} prompt tokens from the prefix cache, ${cancelled} generations cancelled`);
    const again = await postJson(server.base, '/v1/chat/completions', requestFor(0));
    assert.equal(again.json.choices[0].message.content, expected.get(keyOf(requestFor(0))).content);

    // Graceful shutdown: a request in flight when SIGTERM arrives still gets its whole answer.
    const inflight = postJson(server.base, '/v1/chat/completions', { ...requestFor(1), max_tokens: 48 });
    await new Promise((r) => setTimeout(r, 30));
    const stopping = server.stop();
    const last = await inflight;
    assert.equal(last.status, 200, `in-flight request during shutdown: ${last.status} ${last.text}`);
    const { code } = await stopping;
    assert.equal(code, 0);
    await assert.rejects(fetch(`${server.base}/health`), 'no longer accepting');
  } catch (e) {
    e.serverLog = server.log();
    server.proc.kill('SIGKILL');
    throw e;
  }
});
