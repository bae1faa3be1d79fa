// Shared helpers for the server's black-box tests: start `gemma4 serve` on a free port, talk to it
// over HTTP and raw sockets, parse SSE, and report failures with the server's log attached.
import { spawn, execFile } from 'node:child_process';
import net from 'node:net';
import path from 'node:path';
import { pathToFileURL } from 'node:url';

export const [CLI, MODEL, REFS] = process.argv.slice(2);
if (!CLI || !MODEL || !REFS) {
  console.error('usage: node <test>.mjs GEMMA4_CLI MODEL_DIR REFS_NODE_MODULES');
  process.exit(2);
}

export async function loadOpenAI() {
  const mod = await import(pathToFileURL(path.join(REFS, 'openai', 'index.mjs')).href);
  return mod.default;
}

// Starts `gemma4 serve -m MODEL --port 0 ARGS...`; resolves once it prints where it listens.
export async function startServer(args = []) {
  const proc = spawn(CLI, ['serve', '-m', MODEL, '--port', '0', ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  proc.stderr.on('data', (d) => { stderr += d; });
  const exited = new Promise((resolve) => proc.on('exit', (code, signal) => resolve({ code, signal })));
  const port = await new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`server did not start in 60 s\n${stderr}`)), 60000);
    proc.stdout.on('data', (d) => {
      stdout += d;
      const m = stdout.match(/listening on http:\/\/[^\s:]+:(\d+)/);
      if (m) { clearTimeout(timer); resolve(Number(m[1])); }
    });
    exited.then(({ code }) => { clearTimeout(timer); reject(new Error(`server exited with ${code}\n${stderr}`)); });
  });
  return {
    port,
    base: `http://127.0.0.1:${port}`,
    proc,
    exited,
    log: () => stderr,
    stdout: () => stdout,
    async stop(timeoutMs = 20000) {
      proc.kill('SIGTERM');
      const timer = setTimeout(() => proc.kill('SIGKILL'), timeoutMs);
      const r = await exited;
      clearTimeout(timer);
      return r;
    },
  };
}

// Runs one test body with the server; on failure prints the server's log, exits 1.
export async function main(name, body) {
  const started = Date.now();
  try {
    await body();
    console.log(`${name}: ok (${((Date.now() - started) / 1000).toFixed(1)} s)`);
    process.exit(0);
  } catch (e) {
    console.error(`${name}: FAILED: ${e.stack || e}`);
    if (e.serverLog) console.error(`--- server log ---\n${e.serverLog.slice(-4000)}`);
    process.exit(1);
  }
}

export async function postJson(base, route, body, headers = {}) {
  const res = await fetch(base + route, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...headers },
    body: typeof body === 'string' ? body : JSON.stringify(body),
  });
  const text = await res.text();
  let json = null;
  try { json = JSON.parse(text); } catch { /* not JSON */ }
  return { status: res.status, headers: res.headers, text, json };
}

// Reads an SSE response: returns the parsed `data:` payloads (JSON) and whether [DONE] came.
export async function readSse(res, { abortAfterChunks = Infinity, controller = null } = {}) {
  const decoder = new TextDecoder();
  let buffer = '';
  const events = [];
  let done = false;
  for await (const part of res.body) {
    buffer += decoder.decode(part, { stream: true });
    let cut;
    while ((cut = buffer.indexOf('\n\n')) >= 0) {
      const block = buffer.slice(0, cut);
      buffer = buffer.slice(cut + 2);
      for (const line of block.split('\n')) {
        if (!line.startsWith('data: ')) continue;
        const payload = line.slice(6);
        if (payload === '[DONE]') done = true;
        else events.push(JSON.parse(payload));
      }
    }
    if (events.length >= abortAfterChunks && controller) {
      controller.abort();
      return { events, done, aborted: true };
    }
  }
  return { events, done, aborted: false };
}

// The text, reasoning and finish reason a chat stream adds up to.
export function joinChatStream(events) {
  let content = '';
  let reasoning = '';
  let finish = null;
  let usage = null;
  for (const e of events) {
    if (e.error) throw new Error(`error event in stream: ${JSON.stringify(e.error)}`);
    if (e.usage) usage = e.usage;
    for (const c of e.choices ?? []) {
      if (c.delta?.content) content += c.delta.content;
      if (c.delta?.reasoning_content) reasoning += c.delta.reasoning_content;
      if (c.text) content += c.text;
      if (c.finish_reason) finish = c.finish_reason;
    }
  }
  return { content, reasoning, finish, usage };
}

// Sends raw bytes on a fresh connection; resolves with what came back and how the connection ended.
// endAfter half-closes after sending: the server takes that as the client leaving (it stops the
// request's work), so only tests that mean to vanish use it.
export function rawRequest(port, chunks, { delayMs = 0, timeoutMs = 15000, endAfter = false } = {}) {
  return new Promise((resolve) => {
    const sock = net.connect(port, '127.0.0.1');
    let data = '';
    let settled = false;
    const startedAt = Date.now();
    const finish = (how) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      sock.destroy();
      const m = data.match(/^HTTP\/1\.[01] (\d{3})/);
      resolve({ status: m ? Number(m[1]) : 0, data, how, ms: Date.now() - startedAt });
    };
    const timer = setTimeout(() => finish('timeout'), timeoutMs);
    sock.on('data', (d) => { data += d; });
    sock.on('end', () => finish('closed'));
    sock.on('error', () => finish('reset'));
    sock.on('connect', async () => {
      for (const c of chunks) {
        if (settled) return;
        sock.write(c);
        if (delayMs) await new Promise((r) => setTimeout(r, delayMs));
      }
      if (endAfter && !settled) sock.end();
    });
  });
}

export function runCli(args) {
  return new Promise((resolve, reject) => {
    execFile(CLI, args, { maxBuffer: 16 << 20 }, (err, stdout, stderr) => {
      if (err) reject(new Error(`gemma4 ${args.join(' ')} failed: ${stderr}`));
      else resolve(stdout);
    });
  });
}

export function check(cond, message, server) {
  if (!cond) {
    const e = new Error(message);
    if (server) e.serverLog = server.log();
    throw e;
  }
}
