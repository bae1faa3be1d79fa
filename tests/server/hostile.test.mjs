// Hostile input over raw sockets: malformed JSON, wrong types, missing fields, oversized bodies,
// truncated bodies, garbage request lines, huge headers, slowloris clients. Each must get the
// right 4xx (with an OpenAI-shaped error) or be dropped, and the server must keep serving.
import assert from 'node:assert/strict';
import { main, startServer, rawRequest, postJson, check } from './harness.mjs';

const post = (body, extra = '') =>
  `POST /v1/chat/completions HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nContent-Length: ${Buffer.byteLength(body, 'latin1')}\r\nConnection: close\r\n${extra}\r\n${body}`;

function errorBody(res) {
  const body = res.data.slice(res.data.indexOf('\r\n\r\n') + 4);
  try { return JSON.parse(body).error; } catch { return null; }
}

await main('server.hostile', async () => {
  const server = await startServer(['--max-body', '64', '--read-timeout', '2', '--max-queue', '8']);
  const ok = { messages: [{ role: 'user', content: 'hi' }], max_tokens: 2, temperature: 0 };
  async function stillServing(what) {
    const res = await postJson(server.base, '/v1/chat/completions', ok);
    check(res.status === 200, `after ${what}: status ${res.status} ${res.text}`, server);
  }
  try {
    // Malformed JSON, wrong types, missing fields: 400 naming the problem.
    const cases = [
      ['{"messages": [', 400, null, /not valid JSON/],
      ['{"messages": [{"role": "user", "content": "x"}], }', 400, null, /not valid JSON/],
      ['"just a string"', 400, null, /must be a JSON object/],
      ['{"messages": [{"role": "user", "content": "\xff\xfe"}]}', 400, null, /not valid JSON/],
      ['{"messages": {"role": "user"}}', 400, 'messages', /expected an array/],
      ['{"messages": [{"content": "x"}]}', 400, 'messages[0].role', /missing/],
      ['{"messages": [{"role": 7, "content": "x"}]}', 400, 'messages[0].role', /expected a string/],
      ['{"messages": [{"role": "user", "content": "x"}], "max_tokens": -1}', 400, 'max_tokens', /must be in/],
      ['{"messages": [{"role": "user", "content": "x"}], "max_tokens": "10"}', 400, 'max_tokens', /expected an integer/],
      ['{"messages": [{"role": "user", "content": "x"}], "stream": 1}', 400, 'stream', /expected a boolean/],
      ['{"messages": [{"role": "user", "content": "x"}], "stop": 5}', 400, 'stop', /expected a string or an array/],
      ['{"messages": [{"role": "user", "content": "x"}], "top_p": null, "seed": "x"}', 400, 'seed', /expected an integer/],
      ['{}', 400, 'messages', /missing/],
      ['', 400, null, /empty/],
      ['[' .repeat(30000) + ']'.repeat(30000), 400, null, /nests arrays and objects deeper than 128 levels/],
    ];
    for (const [body, status, param, message] of cases) {
      const res = await rawRequest(server.port, [Buffer.from(post(body), 'latin1')]);
      check(res.status === status, `${body.slice(0, 60)}: status ${res.status} (${res.how}) ${res.data.slice(0, 300)}`, server);
      const err = errorBody(res);
      check(err && message.test(err.message), `${body.slice(0, 60)}: error ${JSON.stringify(err)}`, server);
      assert.equal(err.type, 'invalid_request_error');
      assert.equal(err.param, param);
    }
    await stillServing('bad JSON');

    // Oversized body: 413 without reading it all (or the connection is dropped).
    // (The body's bytes are sent as latin1 throughout, so Content-Length counts them exactly.)
    const big = JSON.stringify({ messages: [{ role: 'user', content: 'x'.repeat(200 * 1024) }] });
    const huge = await rawRequest(server.port, [post(big)]);
    check(huge.status === 413 || (huge.status === 0 && huge.how !== 'timeout'), `oversized: ${huge.status} ${huge.how}`, server);
    if (huge.status === 413) assert.match(errorBody(huge).message, /larger than the limit of 65536 bytes/);
    await stillServing('oversized body');

    // Truncated body: Content-Length promises more than arrives, then the client goes quiet or leaves.
    const half = post(JSON.stringify(ok)).slice(0, -10);
    const truncatedClose = await rawRequest(server.port, [half], { endAfter: true });
    check(truncatedClose.how !== 'timeout' && (truncatedClose.status === 0 || (truncatedClose.status >= 400 && truncatedClose.status < 500)),
      `truncated+close: ${truncatedClose.status} ${truncatedClose.how}`, server);
    const truncatedQuiet = await rawRequest(server.port, [half], { timeoutMs: 8000 });
    check(truncatedQuiet.how !== 'timeout', `truncated body, quiet client: not dropped (${truncatedQuiet.how})`, server);
    await stillServing('truncated bodies');

    // Garbage and oversized request lines and headers.
    const garbage = await rawRequest(server.port, ['\x00\x01\x02 nonsense \r\n\r\n']);
    check(garbage.how !== 'timeout' && (garbage.status === 0 || garbage.status === 400), `garbage: ${garbage.status} ${garbage.how}`, server);
    const longUri = await rawRequest(server.port, [`GET /${'a'.repeat(20000)} HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n`]);
    check(longUri.how !== 'timeout' && (longUri.status === 0 || (longUri.status >= 400 && longUri.status < 500)), `long URI: ${longUri.status}`, server);
    const bigHeader = await rawRequest(server.port, [`GET /health HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Big: ${'b'.repeat(100000)}\r\n\r\n`]);
    check(bigHeader.how !== 'timeout' && (bigHeader.status === 0 || (bigHeader.status >= 400 && bigHeader.status < 500)),
      `huge header: ${bigHeader.status} ${bigHeader.how}`, server);
    const manyHeaders = await rawRequest(server.port, [`GET /health HTTP/1.1\r\nHost: 127.0.0.1\r\n${'X-A: 1\r\n'.repeat(5000)}\r\n`]);
    check(manyHeaders.how !== 'timeout', `many headers: ${manyHeaders.how}`, server);
    await stillServing('huge headers');

    // Unknown endpoints and methods: JSON 404.
    const missing = await rawRequest(server.port, ['GET /v1/nothing HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n']);
    assert.equal(missing.status, 404);
    assert.equal(errorBody(missing).type, 'not_found_error');

    // Slowloris: many connections dribbling a request byte by byte. They are dropped after the
    // read timeout, and the server answers others meanwhile.
    const slow = Array.from({ length: 16 }, () =>
      rawRequest(server.port, ['GET /health HTTP/1.1\r\n', 'X-Slow: 1\r\n', 'X-Slow: 2\r\n', 'X-Slow: 3\r\n'],
        { delayMs: 1500, timeoutMs: 15000 }));
    await new Promise((r) => setTimeout(r, 500));
    const t0 = Date.now();
    await stillServing('slowloris (during)');
    check(Date.now() - t0 < 10000, 'a normal request is not held up by slow clients (hang check, not a speed test)', server);
    const slowResults = await Promise.all(slow);
    for (const r of slowResults) check(r.how !== 'timeout', `slow client never dropped (${r.how}, ${r.ms} ms)`, server);

    // A client that sends a request and never reads the stream does not hold a slot forever.
    await stillServing('everything');
    const health = await (await fetch(`${server.base}/health`)).json();
    assert.equal(health.status, 'ok');
  } catch (e) {
    e.serverLog = server.log();
    server.proc.kill('SIGKILL');
    throw e;
  }
  const { code } = await server.stop();
  assert.equal(code, 0);
});
