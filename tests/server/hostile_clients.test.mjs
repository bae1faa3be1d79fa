// Hostile and unlucky clients against a real `gemma4 serve` (loopback only): bodies nested a
// million deep, chunked and compressed bodies over the limit, streams that vanish while queued
// (three times the handler pool) or mid-stream, a sustained slowloris at twice the pool while
// normal clients are served, foreign Host / Origin, wrong Content-Type, SIGTERM under load.
// After each case: /health answers within a second, memory stays bounded, and the normal
// clients running alongside get exactly the answer they get from an idle server.
import assert from 'node:assert/strict';
import net from 'node:net';
import fs from 'node:fs';
import { main, startServer, postJson, readSse, joinChatStream, check } from './harness.mjs';

const PARALLEL = 1;
const MAX_QUEUE = 16;
const POOL = PARALLEL + MAX_QUEUE + 16;  // handler threads of `gemma4 serve` (server.cpp)
const EOS_IDS = [1, 106, 50];
const noEos = Object.fromEntries(EOS_IDS.map((id) => [String(id), -100]));

// HOSTILE_CASES=1,3 runs only those cases (to show, one by one, what an older server does).
const only = process.env.HOSTILE_CASES ? new Set(process.env.HOSTILE_CASES.split(',').map(Number)) : null;
const wanted = (n) => !only || only.has(n);

const stats = { cases: 0, normal_served: 0, normal_lost: 0, hostile_requests: 0 };

function rssKiB(pid) {
  const m = fs.readFileSync(`/proc/${pid}/status`, 'utf8').match(/VmRSS:\s+(\d+)/);
  return m ? Number(m[1]) : 0;
}

// Opens a socket, writes `head` then each of `chunks` (with a pause), stops writing as soon as
// the server answers, and resolves with the status line's code and how the connection ended.
function exchange(port, head, chunks = [], { delayMs = 0, timeoutMs = 15000, readAll = true } = {}) {
  return new Promise((resolve) => {
    const sock = net.connect(port, '127.0.0.1');
    let data = '';
    let done = false;
    const finish = (how) => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      sock.destroy();
      const m = data.match(/^HTTP\/1\.[01] (\d{3})/);
      resolve({ status: m ? Number(m[1]) : 0, data, how });
    };
    const timer = setTimeout(() => finish('timeout'), timeoutMs);
    sock.on('data', (d) => {
      data += d;
      if (!readAll && /\r\n\r\n/.test(data)) finish('answered');
    });
    sock.on('end', () => finish('closed'));
    sock.on('error', () => finish('reset'));
    sock.on('connect', async () => {
      sock.write(head);
      for (const c of chunks) {
        if (done || data.length) return;
        await new Promise((r) => sock.write(c, r));
        if (delayMs) await new Promise((r) => setTimeout(r, delayMs));
      }
    });
  });
}

const jsonHead = (length, extra = '') =>
  `POST /v1/chat/completions HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n` +
  `${length === null ? 'Transfer-Encoding: chunked' : `Content-Length: ${length}`}\r\nConnection: close\r\n${extra}\r\n`;
const chunk = (s) => `${Buffer.byteLength(s).toString(16)}\r\n${s}\r\n`;
const errorOf = (res) => {
  try { return JSON.parse(res.data.slice(res.data.indexOf('\r\n\r\n') + 4)).error; } catch { return null; }
};

await main('server.hostile_clients', async () => {
  const server = await startServer(['--parallel', String(PARALLEL), '--max-queue', String(MAX_QUEUE),
    '--read-timeout', '3', '--max-body', '4096', '--shutdown-timeout', '2', '-t', '1']);
  const pid = server.proc.pid;
  const normal = { messages: [{ role: 'user', content: 'Name three colours.' }], max_tokens: 8, temperature: 0 };
  let reference = null;

  async function normalClient(what) {
    const res = await postJson(server.base, '/v1/chat/completions', normal);
    if (res.status !== 200 || res.json.choices[0].message.content !== reference) {
      stats.normal_lost++;
      check(false, `${what}: a normal client got ${res.status} ${res.text.slice(0, 300)}`, server);
    }
    stats.normal_served++;
  }
  async function healthy(what) {
    const t0 = Date.now();
    const res = await fetch(`${server.base}/health`, { signal: AbortSignal.timeout(1000) }).catch((e) => ({ status: 0, e }));
    check(res.status === 200, `${what}: /health did not answer within a second (${res.status} ${res.e ?? ''})`, server);
    check(Date.now() - t0 < 1000, `${what}: /health took ${Date.now() - t0} ms`, server);
    return res.json();
  }
  async function settle(what, { idle = true } = {}) {
    stats.cases++;
    const h = await healthy(what);
    if (idle) {
      // Everything the case started has left the queue and the slots (hang check, generous bound).
      const until = Date.now() + 10000;
      let last = h;
      while ((last.slots_busy || last.queue_depth) && Date.now() < until) {
        await new Promise((r) => setTimeout(r, 100));
        last = await healthy(what);
      }
      check(!last.slots_busy && !last.queue_depth, `${what}: still busy afterwards ${JSON.stringify(last)}`, server);
    }
    await normalClient(`after ${what}`);
  }
  // A streaming request that holds the slot: EOS is forbidden, so it runs until cancelled.
  function hog() {
    const controller = new AbortController();
    const done = fetch(`${server.base}/v1/chat/completions`, {
      method: 'POST', headers: { 'content-type': 'application/json' }, signal: controller.signal,
      body: JSON.stringify({ messages: [{ role: 'user', content: 'Go on.' }], max_tokens: 4000, temperature: 0,
        logit_bias: noEos, stream: true }),
    }).then((r) => readSse(r)).catch(() => null);
    return { stop: () => controller.abort(), done };
  }

  try {
    const first = await postJson(server.base, '/v1/chat/completions', normal);
    check(first.status === 200, `reference: ${first.status} ${first.text}`, server);
    reference = first.json.choices[0].message.content;
    await normalClient('warm-up');
    const baseline = rssKiB(pid);

    if (wanted(1)) {
      // 1. Deep nesting, in every field that takes arrays or objects, in both framings. A million
      //    levels in chat_template_kwargs, chunked, is the request that used to kill the server.
      const million = '['.repeat(1000000) + ']'.repeat(1000000);
      const deepBody = JSON.stringify({ messages: [{ role: 'user', content: 'x' }] }).slice(0, -1) +
        `,"chat_template_kwargs":{"x":${million}}}`;
      const pieces = [];
      for (let i = 0; i < deepBody.length; i += 65536) pieces.push(chunk(deepBody.slice(i, i + 65536)));
      pieces.push('0\r\n\r\n');
      const deep = await exchange(server.port, jsonHead(null), pieces);
      stats.hostile_requests++;
      check(deep.status === 400, `million-deep chunked body: ${deep.status} ${deep.how} ${deep.data.slice(0, 200)}`, server);
      assert.equal(errorOf(deep).param, 'chat_template_kwargs');
      assert.match(errorOf(deep).message, /deeper than 128 levels/);
      for (const field of ['messages', 'tools', 'tool_choice', 'chat_template_kwargs', 'stop', 'logit_bias',
        'stream_options', 'response_format']) {
        const nested = '{"a":'.repeat(3000) + '1' + '}'.repeat(3000);
        const body = `{"messages":[{"role":"user","content":"x"}],"${field}":${field === 'messages' ? `[${nested}]` : nested}}`
          .replace('{"messages":[{"role":"user","content":"x"}],"messages":', '{"messages":');
        const res = await exchange(server.port, jsonHead(Buffer.byteLength(body)) + body);
        stats.hostile_requests++;
        check(res.status === 400 && errorOf(res)?.param === field, `deep ${field}: ${res.status} ${res.data.slice(0, 300)}`, server);
      }
      await settle('deep nesting');

    }
    if (wanted(2)) {
      // 2. Bodies over --max-body: announced, chunked (in small chunks, so no single one is too
      //    big), and compressed. 413 / 415 before the body is read; nothing is tokenized.
      const over = 'x'.repeat(64 * 1024);
      const announced = await exchange(server.port, jsonHead(5 << 20), [over], { delayMs: 10 });
      check(announced.status === 413, `announced oversize: ${announced.status} ${announced.how}`, server);
      const chunks = Array.from({ length: 100 }, () => chunk(over));
      const chunked = await exchange(server.port, jsonHead(null), chunks, { delayMs: 2 });
      check(chunked.status === 413, `chunked oversize: ${chunked.status} ${chunked.how}`, server);
      assert.match(errorOf(chunked).message, /larger than the limit of 4194304 bytes/);
      for (const coding of ['Content-Encoding: gzip', 'Content-Encoding: deflate', 'Transfer-Encoding: gzip, chunked']) {
        const head = `POST /v1/chat/completions HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n${coding}\r\n` +
          `${coding.startsWith('Transfer') ? '' : 'Content-Length: 1000000\r\n'}\r\n`;
        const res = await exchange(server.port, head, [Buffer.alloc(1000, 0x1f)]);
        check(res.status === 415, `${coding}: ${res.status} ${res.how}`, server);
      }
      stats.hostile_requests += 5;
      await settle('oversized bodies');

    }
    if (wanted(3)) {
      // 3. Streams that vanish while queued, three times the handler pool: the ones beyond the
      //    queue are refused at once (503), the queued ones leave the queue as soon as they go.
      const h = hog();
      await new Promise((r) => setTimeout(r, 300));
      const vanishing = await Promise.all(Array.from({ length: 3 * POOL }, () => {
        const body = JSON.stringify({ messages: [{ role: 'user', content: 'queued' }], max_tokens: 4, temperature: 0, stream: true });
        return exchange(server.port, jsonHead(Buffer.byteLength(body)) + body, [], { readAll: false, timeoutMs: 5000 });
      }));
      stats.hostile_requests += vanishing.length;
      const statuses = vanishing.map((r) => r.status);
      check(statuses.every((s) => s === 200 || s === 503), `queued-then-vanished: statuses ${[...new Set(statuses)]}`, server);
      check(statuses.filter((s) => s === 200).length <= MAX_QUEUE + PARALLEL,
        `more streams admitted than slots + queue: ${statuses.filter((s) => s === 200).length}`, server);
      const during = await healthy('queued streams vanished');
      await new Promise((r) => setTimeout(r, 1000));
      const after = await healthy('queued streams vanished (1 s later)');
      check(after.queue_depth === 0, `vanished streams still queued: ${JSON.stringify(during)} -> ${JSON.stringify(after)}`, server);
      h.stop();
      await h.done;
      await settle('queued-then-vanished streams');

    }
    if (wanted(4)) {
      // 4. Mid-stream disconnects: the slot is free again at once.
      for (let i = 0; i < 6; ++i) {
        const controller = new AbortController();
        const res = await fetch(`${server.base}/v1/chat/completions`, {
          method: 'POST', headers: { 'content-type': 'application/json' }, signal: controller.signal,
          body: JSON.stringify({ messages: [{ role: 'user', content: 'Go on.' }], max_tokens: 4000, logit_bias: noEos,
            temperature: 0, stream: true }),
        });
        await readSse(res, { abortAfterChunks: 3, controller }).catch(() => null);
        stats.hostile_requests++;
      }
      await settle('mid-stream disconnects');

    }
    if (wanted(5)) {
      // 5. A sustained slowloris at twice the pool, while normal clients are served correctly.
      let slowOpen = true;
      const slowRounds = [];
      const slowClient = async () => {
        while (slowOpen) {
          const r = await exchange(server.port, 'GET /health HTTP/1.1\r\n',
            Array.from({ length: 40 }, (_, i) => `X-Slow-${i}: 1\r\n`), { delayMs: 400, timeoutMs: 15000 });
          slowRounds.push(r);
        }
      };
      const loris = Array.from({ length: 2 * POOL }, slowClient);
      await new Promise((r) => setTimeout(r, 500));
      const t0 = Date.now();
      for (let i = 0; i < 10; ++i) await normalClient(`during slowloris (${i})`);
      await new Promise((r) => setTimeout(r, 3500));  // past the 3 s request deadline: a new round began
      for (let i = 0; i < 5; ++i) await normalClient(`during slowloris, second wave (${i})`);
      check(Date.now() - t0 < 30000, 'normal clients were held up by the slowloris (hang check)', server);
      slowOpen = false;
      await Promise.all(loris);
      stats.hostile_requests += slowRounds.length;
      check(slowRounds.every((r) => r.how !== 'timeout' && (r.status === 408 || r.status === 0)),
        `slow clients not cut at the request deadline: ${[...new Set(slowRounds.map((r) => `${r.status}/${r.how}`))]}`, server);
      await settle('slowloris');

    }
    if (wanted(6)) {
      // 6. Browser safety: foreign Host (DNS rebinding), foreign Origin, form content types.
      const rebind = await exchange(server.port, 'GET /v1/models HTTP/1.1\r\nHost: evil.example:8080\r\nConnection: close\r\n\r\n');
      check(rebind.status === 403 && errorOf(rebind).code === 'host_not_allowed', `rebinding Host: ${rebind.status}`, server);
      const body = JSON.stringify(normal);
      const foreign = await exchange(server.port, jsonHead(Buffer.byteLength(body), 'Origin: https://evil.example\r\n') + body);
      check(foreign.status === 403 && errorOf(foreign).code === 'origin_not_allowed', `foreign Origin: ${foreign.status}`, server);
      const form = await exchange(server.port, jsonHead(Buffer.byteLength(body)).replace('application/json', 'text/plain') + body);
      check(form.status === 415, `text/plain POST: ${form.status}`, server);
      const noType = await exchange(server.port, jsonHead(Buffer.byteLength(body)).replace('Content-Type: application/json\r\n', '') + body);
      check(noType.status === 415, `POST without Content-Type: ${noType.status}`, server);
      const preflight = await exchange(server.port, 'OPTIONS /v1/chat/completions HTTP/1.1\r\nHost: 127.0.0.1\r\n' +
        'Origin: https://evil.example\r\nAccess-Control-Request-Method: POST\r\nConnection: close\r\n\r\n');
      check(preflight.status === 403 && !/access-control-allow-origin/i.test(preflight.data), `foreign preflight: ${preflight.status}`, server);
      // A page served by this server itself: the browser sends Host with the port, and the same
      // scheme://host:port as Origin.
      const sameOrigin = await exchange(server.port,
        jsonHead(Buffer.byteLength(body), `Origin: http://127.0.0.1:${server.port}\r\n`)
          .replace('Host: 127.0.0.1\r\n', `Host: 127.0.0.1:${server.port}\r\n`) + body);
      check(sameOrigin.status === 200, `same-origin POST: ${sameOrigin.status} ${sameOrigin.data.slice(0, 200)}`, server);
      stats.hostile_requests += 6;
      await settle('foreign Host / Origin / Content-Type');
    }

    // Memory stays bounded over all of the above (a million-deep body once took the stack; a
    // leaked request would show here).
    const grown = rssKiB(pid) - baseline;
    check(grown < 300 * 1024, `resident memory grew by ${grown} KiB over the hostile cases`, server);
    console.log(`server.hostile_clients: rss growth ${(grown / 1024).toFixed(1)} MiB`);

    if (wanted(7)) {
      // 7. SIGTERM under load: streams running and queued, slow sockets open. The process exits
      //    within --shutdown-timeout (2 s here) plus slack for the slot to notice.
      const h = hog();
      const queued = Array.from({ length: 4 }, () => postJson(server.base, '/v1/chat/completions',
        { ...normal, max_tokens: 4000, logit_bias: noEos }).catch(() => null));
      const lorisAtExit = Array.from({ length: POOL }, () => exchange(server.port, 'GET /health HTTP/1.1\r\n',
        ['X-Slow: 1\r\n'], { delayMs: 5000, timeoutMs: 20000 }));
      await new Promise((r) => setTimeout(r, 500));
      const killedAt = Date.now();
      server.proc.kill('SIGTERM');
      const timer = setTimeout(() => server.proc.kill('SIGKILL'), 20000);
      const { code, signal } = await server.exited;
      clearTimeout(timer);
      const took = Date.now() - killedAt;
      check(code === 0 && !signal, `SIGTERM under load: exit ${code} ${signal}`, server);
      check(took < 6000, `SIGTERM under load took ${took} ms (--shutdown-timeout 2)`, server);
      h.stop();
      await Promise.all([h.done, ...queued, ...lorisAtExit]);
      stats.cases++;
    }
  } catch (e) {
    e.serverLog = server.log();
    server.proc.kill('SIGKILL');
    throw e;
  }
  if (!wanted(7)) {
    const { code } = await server.stop();
    assert.equal(code, 0);
  }

  if (wanted(8)) {
    // 8. With an API key and an allowed origin: /health tells strangers only that it is up, the
    //    allowed origin gets CORS headers and its preflight, others still 403; '*' needs a key.
    const keyed = await startServer(['--api-key', 'sekret', '--cors-origin', 'http://localhost:3000', '-t', '1']);
    try {
      const anon = await (await fetch(`${keyed.base}/health`)).json();
      assert.deepEqual(anon, { status: 'ok' });
      const full = await (await fetch(`${keyed.base}/health`, { headers: { authorization: 'Bearer sekret' } })).json();
      check(full.slots_total === 1 && 'queue_depth' in full, `authorized /health: ${JSON.stringify(full)}`, keyed);
      const allowed = await postJson(keyed.base, '/v1/chat/completions', normal,
        { origin: 'http://localhost:3000', authorization: 'Bearer sekret' });
      check(allowed.status === 200 && allowed.headers.get('access-control-allow-origin') === 'http://localhost:3000',
        `allowed origin: ${allowed.status} ${allowed.headers.get('access-control-allow-origin')}`, keyed);
      const pre = await fetch(`${keyed.base}/v1/chat/completions`, { method: 'OPTIONS', headers: {
        origin: 'http://localhost:3000', 'access-control-request-method': 'POST',
        'access-control-request-headers': 'authorization, content-type' } });
      check(pre.status === 204 && pre.headers.get('access-control-allow-origin') === 'http://localhost:3000' &&
        /authorization/i.test(pre.headers.get('access-control-allow-headers')), `allowed preflight: ${pre.status}`, keyed);
      const other = await postJson(keyed.base, '/v1/chat/completions', normal,
        { origin: 'http://localhost:3001', authorization: 'Bearer sekret' });
      check(other.status === 403, `other origin: ${other.status}`, keyed);
      const nokey = await postJson(keyed.base, '/v1/chat/completions', normal, { 'x-api-key': 'wrong' });
      check(nokey.status === 401, `wrong x-api-key: ${nokey.status}`, keyed);
      stats.cases++;
    } finally {
      await keyed.stop();
    }
    const open = await startServer(['--cors-origin', '*']).then(() => null, (e) => e);
    check(open && /--cors-origin '\*'.*needs --api-key/.test(String(open.message)), `--cors-origin '*' without a key: ${open}`);
  }
  assert.equal(stats.normal_lost, 0);
  console.log(`server.hostile_clients: ${JSON.stringify(stats)}`);
});
