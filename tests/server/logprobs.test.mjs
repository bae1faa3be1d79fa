// logprobs / top_logprobs through the official openai client: one entry per generated token (the
// EOS id excluded), the chosen tokens are `gemma4 run`'s at temperature 0 and the most likely
// ones, probabilities sum to at most 1, streamed entries equal the whole answer's, completions
// get the legacy shape, and bad values are 400s naming the field.
import assert from 'node:assert/strict';
import { main, startServer, postJson, runCli, MODEL, check, loadOpenAI } from './harness.mjs';

await main('server.logprobs', async () => {
  const server = await startServer(['-t', '1']);
  const OpenAI = await loadOpenAI();
  const client = new OpenAI({ baseURL: `${server.base}/v1`, apiKey: 'none', maxRetries: 0 });
  try {
    const prompt = 'List three colours:';
    const want = JSON.parse(await runCli(['run', '-m', MODEL, '-p', prompt, '--temp', '0', '-n', '12', '--json']));
    const res = await client.chat.completions.create({ model: 'gemma4', messages: [{ role: 'user', content: prompt }],
      max_tokens: 12, temperature: 0, logprobs: true, top_logprobs: 5 });
    const entries = res.choices[0].logprobs.content;
    const eos = want.stop_reason === 'eos' ? 1 : 0;
    assert.equal(entries.length, want.output_ids.length - eos);
    assert.equal(entries.map((e) => e.token).join(''), res.choices[0].message.content);
    assert.equal(res.choices[0].message.content, want.text);
    for (const e of entries) {
      assert.equal(e.top_logprobs.length, 5);
      assert.ok(e.logprob <= 0);
      // Greedy: the chosen token is the most likely one.
      assert.equal(e.top_logprobs[0].token, e.token);
      assert.equal(e.top_logprobs[0].logprob, e.logprob);
      const mass = e.top_logprobs.reduce((s, t) => s + Math.exp(t.logprob), 0);
      assert.ok(mass <= 1 + 1e-6, `top probabilities sum to ${mass}`);
      for (let i = 1; i < 5; ++i) assert.ok(e.top_logprobs[i - 1].logprob >= e.top_logprobs[i].logprob);
      assert.deepEqual(e.bytes, [...Buffer.from(e.token, 'utf8')]);
    }

    // Streamed: the chunks' entries, joined, are the whole answer's.
    const stream = await client.chat.completions.create({ model: 'gemma4', messages: [{ role: 'user', content: prompt }],
      max_tokens: 12, temperature: 0, logprobs: true, top_logprobs: 5, stream: true });
    const streamed = [];
    for await (const chunk of stream) streamed.push(...(chunk.choices[0]?.logprobs?.content ?? []));
    assert.deepEqual(streamed, entries);

    // Sampling: still one entry per token, the chosen one no more likely than the best.
    const sampled = await client.chat.completions.create({ model: 'gemma4', messages: [{ role: 'user', content: prompt }],
      max_tokens: 12, temperature: 0.9, seed: 11, logprobs: true, top_logprobs: 3 });
    for (const e of sampled.choices[0].logprobs.content) assert.ok(e.logprob <= e.top_logprobs[0].logprob + 1e-6);

    // Without logprobs: null, as OpenAI answers.
    const plain = await client.chat.completions.create({ model: 'gemma4', messages: [{ role: 'user', content: prompt }],
      max_tokens: 4, temperature: 0 });
    assert.equal(plain.choices[0].logprobs, null);

    // Completions: the legacy parallel arrays.
    const comp = await postJson(server.base, '/v1/completions', { prompt: 'The quick brown fox', max_tokens: 6, temperature: 0, logprobs: 3 });
    check(comp.status === 200, `completions: ${comp.status} ${comp.text}`, server);
    const lp = comp.json.choices[0].logprobs;
    assert.equal(lp.tokens.length, lp.token_logprobs.length);
    assert.equal(lp.tokens.length, lp.top_logprobs.length);
    assert.equal(lp.tokens.join(''), comp.json.choices[0].text);
    for (const top of lp.top_logprobs) assert.equal(Object.keys(top).length <= 3, true);

    // Bad values name the field.
    for (const [body, param] of [[{ top_logprobs: 3 }, 'top_logprobs'], [{ logprobs: true, top_logprobs: 21 }, 'top_logprobs'],
      [{ logprobs: 'yes' }, 'logprobs']]) {
      const r = await postJson(server.base, '/v1/chat/completions', { messages: [{ role: 'user', content: 'x' }], ...body });
      check(r.status === 400 && r.json.error.param === param, `${JSON.stringify(body)}: ${r.status} ${r.text}`, server);
    }
  } catch (e) {
    e.serverLog = server.log();
    throw e;
  } finally {
    await server.stop();
  }
});
