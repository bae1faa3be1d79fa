// Speculative decoding in the server (--draft-max): greedy answers equal `gemma4 run --json`
// without drafts, token for token; drafts are reported in usage (accepted / rejected prediction
// tokens) and /metrics; sampled requests are not drafted.
import assert from 'node:assert/strict';
import { main, startServer, postJson, runCli, MODEL, check } from './harness.mjs';

// Repetitive prompts, so prompt lookup has n-grams to propose.
const CASES = [
  'one two three four one two three four one two three four one two',
  'The cat sat on the mat. The cat sat on the mat. The cat sat on the',
  'Hello there, how are you?',
];

await main('server.speculative', async () => {
  const server = await startServer(['--draft-max', '4', '-t', '1']);
  try {
    let drafted = 0;
    let accepted = 0;
    for (const prompt of CASES) {
      const want = JSON.parse(await runCli(['run', '-m', MODEL, '-p', prompt, '--temp', '0', '-n', '32', '--json']));
      const res = await postJson(server.base, '/v1/chat/completions',
        { messages: [{ role: 'user', content: prompt }], max_tokens: 32, temperature: 0 });
      check(res.status === 200, `status ${res.status} ${res.text}`, server);
      assert.equal(res.json.choices[0].message.content, want.text, `drafted answer differs for ${prompt}`);
      assert.equal(res.json.usage.completion_tokens, want.output_ids.length);
      const details = res.json.usage.completion_tokens_details;
      if (details) {
        drafted += details.accepted_prediction_tokens + details.rejected_prediction_tokens;
        accepted += details.accepted_prediction_tokens;
      }
    }
    check(drafted > 0, 'no request was drafted: --draft-max had no effect', server);
    const metrics = await (await fetch(`${server.base}/metrics`)).text();
    const counter = (name) => Number(metrics.match(new RegExp(`^${name} (\\S+)$`, 'm'))?.[1]);
    assert.equal(counter('gemma4_draft_tokens_total'), drafted);
    assert.equal(counter('gemma4_draft_accepted_tokens_total'), accepted);

    // Sampling turns drafting off (it is exact only for greedy decoding).
    const sampled = await postJson(server.base, '/v1/chat/completions',
      { messages: [{ role: 'user', content: CASES[0] }], max_tokens: 16, temperature: 0.8, seed: 7 });
    check(sampled.status === 200 && !sampled.json.usage.completion_tokens_details, `sampled: ${sampled.text}`, server);
  } catch (e) {
    e.serverLog = server.log();
    throw e;
  } finally {
    await server.stop();
  }
});
