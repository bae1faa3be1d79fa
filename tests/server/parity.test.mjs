// Greedy answers through the server equal `gemma4 run --json` for the same messages.
import assert from 'node:assert/strict';
import { main, startServer, postJson, runCli, MODEL, check } from './harness.mjs';

const CASES = [
  { prompt: 'Hello there, how are you?' },
  { prompt: 'Explain gravity in one sentence.', system: 'You are a physicist.' },
  { prompt: 'Bonjour, explique en une phrase ce que tu es.' },
  { prompt: 'List three colours:\n1.' },
];

await main('server.parity', async () => {
  const server = await startServer();
  try {
    for (const c of CASES) {
      for (const n of [16]) {
        const args = ['run', '-m', MODEL, '-p', c.prompt, '--temp', '0', '-n', String(n), '--json'];
        if (c.system) args.push('--system', c.system);
        const want = JSON.parse(await runCli(args));
        const messages = [...(c.system ? [{ role: 'system', content: c.system }] : []), { role: 'user', content: c.prompt }];
        const res = await postJson(server.base, '/v1/chat/completions', { messages, max_tokens: n, temperature: 0 });
        check(res.status === 200, `status ${res.status} ${res.text}`, server);
        const got = res.json;
        assert.equal(got.choices[0].message.content, want.text, `text for ${JSON.stringify(c)} n=${n}`);
        assert.equal(got.usage.prompt_tokens, want.prompt_ids.length);
        assert.equal(got.usage.completion_tokens, want.output_ids.length);
        const reason = { eos: 'stop', length: 'length', stop: 'stop' }[want.stop_reason];
        assert.equal(got.choices[0].finish_reason, reason);
      }
    }
    // The raw endpoint matches `run --raw`.
    const want = JSON.parse(await runCli(['run', '-m', MODEL, '-p', 'The quick brown fox', '--raw', '--temp', '0', '-n', '12', '--json']));
    const res = await postJson(server.base, '/v1/completions', { prompt: 'The quick brown fox', max_tokens: 12, temperature: 0 });
    assert.equal(res.json.choices[0].text, want.text);
    assert.equal(res.json.usage.prompt_tokens, want.prompt_ids.length);
  } catch (e) {
    e.serverLog = server.log();
    throw e;
  } finally {
    await server.stop();
  }
});
