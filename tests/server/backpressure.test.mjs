// Backpressure and deadlines: with one slot and a queue of one, extra requests get 503 with
// Retry-After at once (never a hang), a request that outlives --timeout ends with finish_reason
// "length"-or-error rather than running forever, and the server stays healthy for the next client.
import { main, startServer, postJson } from './harness.mjs';

function assert(cond, message) {
  if (!cond) throw new Error(message);
}

await main('server.backpressure', async () => {
  const server = await startServer(['--parallel', '1', '--max-queue', '1', '-t', '1']);
  try {
    const long = { model: 'gemma4', messages: [{ role: 'user', content: 'Write a very long story.' }],
                   max_tokens: 1500, temperature: 0 };
    // Fill the slot and the queue, then overflow.
    const first = postJson(server.base, '/v1/chat/completions', long);
    await new Promise((r) => setTimeout(r, 300));
    const second = postJson(server.base, '/v1/chat/completions', long);
    await new Promise((r) => setTimeout(r, 300));
    const started = Date.now();
    const overflow = await Promise.all([1, 2, 3].map(() => postJson(server.base, '/v1/chat/completions', long)));
    const rejected = overflow.filter((r) => r.status === 503);
    assert(rejected.length >= 2, `expected 503s when the queue is full, got ${overflow.map((r) => r.status)}`);
    for (const r of rejected) {
      assert(r.headers.get('retry-after'), '503 without Retry-After');
      assert(r.json && r.json.error && r.json.error.message, `503 body is not an OpenAI error: ${r.text}`);
    }
    assert(Date.now() - started < 10000, 'rejections must not wait for a slot (hang check, not a speed test)');
    const [a, b] = await Promise.all([first, second]);
    assert(a.status === 200 && b.status === 200, `queued requests must complete: ${a.status} ${b.status}`);
    const metrics = await (await fetch(server.base + '/metrics')).text();
    assert(/gemma4_requests_rejected_total\s+[1-9]/.test(metrics), 'rejections are counted in /metrics');
    const health = await (await fetch(server.base + '/health')).json();
    assert(health.status === 'ok' || health.status === 'healthy' || health.ok !== false, `unhealthy after overflow: ${JSON.stringify(health)}`);
  } catch (e) {
    e.serverLog = server.log();
    throw e;
  } finally {
    await server.stop();
  }

  // A per-request timeout bounds how long a generation may run.
  const timed = await startServer(['--parallel', '1', '--timeout', '1', '-t', '1']);
  try {
    const t0 = Date.now();
    const r = await postJson(timed.base, '/v1/chat/completions',
      { model: 'gemma4', messages: [{ role: 'user', content: 'Go on forever.' }], max_tokens: 100000, temperature: 0 });
    const elapsed = Date.now() - t0;
    assert(elapsed < 15000, `a 1 s timeout let the request run ${elapsed} ms`);
    assert(r.status === 200 || r.status === 503 || r.status === 504 || r.status === 408, `unexpected status ${r.status}: ${r.text}`);
    const ok = await postJson(timed.base, '/v1/chat/completions',
      { model: 'gemma4', messages: [{ role: 'user', content: 'Hi' }], max_tokens: 4, temperature: 0 });
    assert(ok.status === 200, `server not serving after a timeout: ${ok.status} ${ok.text}`);
  } catch (e) {
    e.serverLog = timed.log();
    throw e;
  } finally {
    await timed.stop();
  }
});
