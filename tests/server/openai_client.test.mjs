// The official `openai` npm client against `gemma4 serve`: chat (plain and streamed), completions,
// models, a tool-call round trip, thinking, the prefix cache, metrics, and auth/validation errors.
import assert from 'node:assert/strict';
import { main, startServer, loadOpenAI, check } from './harness.mjs';

await main('server.openai_client', async () => {
  const OpenAI = await loadOpenAI();
  const server = await startServer(['--parallel', '2', '--api-key', 'sekret']);
  try {
    const client = new OpenAI({ apiKey: 'sekret', baseURL: `${server.base}/v1`, maxRetries: 0, timeout: 30000 });
    const messages = [{ role: 'system', content: 'You are terse.' }, { role: 'user', content: 'Say hello to the world.' }];

    // Models.
    const models = await client.models.list();
    assert.equal(models.data.length, 1);
    assert.equal(models.data[0].object, 'model');
    const model = models.data[0].id;
    assert.equal(model, 'text-q4');

    // Chat, non-streaming, greedy.
    const chat = await client.chat.completions.create({ model, messages, max_tokens: 12, temperature: 0 });
    assert.equal(chat.object, 'chat.completion');
    assert.match(chat.id, /^chatcmpl-/);
    assert.equal(chat.choices.length, 1);
    assert.equal(chat.choices[0].message.role, 'assistant');
    assert.equal(typeof chat.choices[0].message.content, 'string');
    assert.ok(['stop', 'length'].includes(chat.choices[0].finish_reason));
    assert.ok(chat.usage.prompt_tokens > 5);
    assert.ok(chat.usage.completion_tokens >= 1 && chat.usage.completion_tokens <= 12);
    assert.equal(chat.usage.total_tokens, chat.usage.prompt_tokens + chat.usage.completion_tokens);
    if (chat.choices[0].finish_reason === 'length') assert.equal(chat.usage.completion_tokens, 12);

    // The same request streamed gives the same text, then the usage chunk, then the end.
    const stream = await client.chat.completions.create({
      model, messages, max_tokens: 12, temperature: 0, stream: true, stream_options: { include_usage: true },
    });
    let text = '';
    let finish = null;
    let usage = null;
    let role = null;
    for await (const chunk of stream) {
      assert.equal(chunk.object, 'chat.completion.chunk');
      if (chunk.usage) usage = chunk.usage;
      for (const c of chunk.choices) {
        if (c.delta.role) role = c.delta.role;
        if (c.delta.content) text += c.delta.content;
        if (c.finish_reason) finish = c.finish_reason;
      }
    }
    assert.equal(role, 'assistant');
    assert.equal(text, chat.choices[0].message.content);
    assert.equal(finish, chat.choices[0].finish_reason);
    assert.deepEqual([usage.prompt_tokens, usage.completion_tokens], [chat.usage.prompt_tokens, chat.usage.completion_tokens]);
    // The second identical prompt came from the prefix cache.
    assert.ok(usage.prompt_tokens_details.cached_tokens > 0, `cached_tokens ${JSON.stringify(usage)}`);

    // Completions, plain and streamed.
    const completion = await client.completions.create({ model, prompt: 'Once upon a time', max_tokens: 8, temperature: 0 });
    assert.equal(completion.object, 'text_completion');
    assert.equal(typeof completion.choices[0].text, 'string');
    assert.ok(completion.usage.completion_tokens >= 1);
    const cstream = await client.completions.create({ model, prompt: 'Once upon a time', max_tokens: 8, temperature: 0, stream: true });
    let ctext = '';
    for await (const chunk of cstream) for (const c of chunk.choices) ctext += c.text;
    assert.equal(ctext, completion.choices[0].text);

    // Seeded sampling is reproducible.
    const sampled = async () => (await client.chat.completions.create({
      model, messages, max_tokens: 10, temperature: 1, top_p: 0.9, seed: 1234,
    })).choices[0].message.content;
    assert.equal(await sampled(), await sampled());

    // Stop strings end the answer before the stop text.
    const full = (await client.completions.create({ model, prompt: 'abc', max_tokens: 16, temperature: 0 })).choices[0].text;
    if (full.length > 4) {
      const stopAt = full.slice(2, 4);
      const stopped = await client.completions.create({ model, prompt: 'abc', max_tokens: 16, temperature: 0, stop: [stopAt] });
      assert.equal(stopped.choices[0].text, full.slice(0, full.indexOf(stopAt)));
      assert.equal(stopped.choices[0].finish_reason, 'stop');
    }

    // Tools: declared through the template (the prompt grows), and a full round trip with the
    // assistant's tool call and the tool's result parses on both sides.
    const tools = [{
      type: 'function',
      function: {
        name: 'get_weather', description: 'Current weather in a city',
        parameters: { type: 'object', properties: { city: { type: 'string' } }, required: ['city'] },
      },
    }];
    const withTools = await client.chat.completions.create({ model, messages, tools, max_tokens: 4, temperature: 0 });
    assert.ok(withTools.usage.prompt_tokens > chat.usage.prompt_tokens + 10, 'tools are rendered into the prompt');
    const noneChoice = await client.chat.completions.create({ model, messages, tools, tool_choice: 'none', max_tokens: 4, temperature: 0 });
    assert.equal(noneChoice.usage.prompt_tokens, chat.usage.prompt_tokens);
    const roundTrip = await client.chat.completions.create({
      model, tools, max_tokens: 6, temperature: 0,
      messages: [
        ...messages,
        { role: 'assistant', content: null, tool_calls: [{ id: 'call_1', type: 'function', function: { name: 'get_weather', arguments: '{"city":"Paris"}' } }] },
        { role: 'tool', tool_call_id: 'call_1', content: '{"temperature": 21}' },
      ],
    });
    assert.ok(roundTrip.usage.prompt_tokens > withTools.usage.prompt_tokens);
    assert.ok(['stop', 'length', 'tool_calls'].includes(roundTrip.choices[0].finish_reason));
    for (const call of roundTrip.choices[0].message.tool_calls ?? []) JSON.parse(call.function.arguments);

    // Streamed tool calls (tool_choice "required" makes even random weights write a valid call):
    // a first chunk per call with index, id, type, name and empty arguments, then chunks of
    // arguments; the SDK accumulates exactly the calls of the unstreamed reply.
    {
      const weather = [{ type: 'function', function: { name: 'get_weather', parameters: { type: 'object',
        properties: { city: { type: 'string', maxLength: 16 }, days: { type: 'integer', minimum: 1, maximum: 7 },
          units: { type: 'array', items: { enum: ['c', 'f'] }, maxItems: 2 } },
        required: ['city', 'days', 'units'], additionalProperties: false } } }];
      const shape = (calls) => (calls ?? []).map((c) => ({ type: c.type, name: c.function.name, arguments: c.function.arguments }));
      for (const parallel_tool_calls of [false, true]) {
        const req = { model, messages: [{ role: 'user', content: 'Weather in Paris?' }], tools: weather,
          tool_choice: 'required', parallel_tool_calls, max_tokens: 160, temperature: 0 };
        const whole = await client.chat.completions.create(req);
        const wholeCalls = whole.choices[0].message.tool_calls ?? [];
        check(wholeCalls.length >= 1, `no tool call: ${JSON.stringify(whole.choices[0])}`, server);
        if (!parallel_tool_calls) {
          assert.equal(wholeCalls.length, 1);
          assert.equal(whole.choices[0].finish_reason, 'tool_calls');
        }
        for (const c of wholeCalls) JSON.parse(c.function.arguments);
        const stream = client.beta.chat.completions.stream(req);
        const chunks = [];
        stream.on('chunk', (c) => chunks.push(c));
        const final = await stream.finalChatCompletion();
        assert.deepEqual(shape(final.choices[0].message.tool_calls), shape(wholeCalls));
        assert.equal(final.choices[0].finish_reason, whole.choices[0].finish_reason);
        const deltas = chunks.flatMap((c) => c.choices[0]?.delta?.tool_calls ?? []);
        const heads = deltas.filter((d) => d.id !== undefined);
        assert.equal(heads.length, wholeCalls.length);
        heads.forEach((h, i) => {
          assert.equal(h.index, i);
          assert.equal(h.type, 'function');
          assert.equal(h.function.name, wholeCalls[i].function.name);
          assert.equal(h.function.arguments, '');
        });
        const pieces = deltas.filter((d) => d.id === undefined);
        check(pieces.length > wholeCalls.length, `the arguments came in ${pieces.length} chunks`, server);
        wholeCalls.forEach((c, i) => assert.equal(pieces.filter((p) => p.index === i).map((p) => p.function.arguments).join(''),
          c.function.arguments));
      }
    }

    // Thinking switch reaches the template.
    const thinking = await client.chat.completions.create({
      model, messages, max_tokens: 2, temperature: 0, chat_template_kwargs: { enable_thinking: true },
    });
    assert.ok(thinking.usage.prompt_tokens > chat.usage.prompt_tokens);

    // Errors: wrong key, n > 1, bad field, unknown role, too long for the context.
    const wrong = new OpenAI({ apiKey: 'nope', baseURL: `${server.base}/v1`, maxRetries: 0 });
    await assert.rejects(wrong.models.list(), (e) => e instanceof OpenAI.AuthenticationError && e.status === 401);
    await assert.rejects(wrong.chat.completions.create({ model, messages }), (e) => e.status === 401);
    await assert.rejects(client.chat.completions.create({ model, messages, n: 2 }),
      (e) => e instanceof OpenAI.BadRequestError && e.param === 'n' && /only n=1/.test(e.message));
    await assert.rejects(client.chat.completions.create({ model, messages, temperature: 'hot' }),
      (e) => e.status === 400 && e.param === 'temperature');
    await assert.rejects(client.chat.completions.create({ model, messages: [{ role: 'bot', content: 'x' }] }),
      (e) => e.status === 400 && e.param === 'messages[0].role' && /unknown role 'bot'/.test(e.message));
    await assert.rejects(client.chat.completions.create({ model, messages: [{ role: 'user', content: 'word '.repeat(20000) }] }),
      (e) => e.status === 400 && e.code === 'context_length_exceeded' && e.param === 'messages');

    // Health needs no key; metrics do, and count what happened.
    assert.equal((await fetch(`${server.base}/health`)).status, 200);
    assert.equal((await fetch(`${server.base}/metrics`)).status, 401);
    const metrics = await (await fetch(`${server.base}/metrics`, { headers: { authorization: 'Bearer sekret' } })).text();
    check(/gemma4_requests_total\{endpoint="chat_completions",status="200"\} \d+/.test(metrics), 'metrics: requests', server);
    check(/gemma4_requests_total\{endpoint="chat_completions",status="401"\} 1\n/.test(metrics), 'metrics: 401 counted', server);
    check(/gemma4_time_to_first_token_seconds_bucket\{le="\+Inf"\} \d+/.test(metrics), 'metrics: ttft histogram', server);
    check(/gemma4_decode_tokens_per_second_count \d+/.test(metrics), 'metrics: tokens/s histogram', server);
    check(/gemma4_queue_depth 0\n/.test(metrics), 'metrics: queue depth', server);
    const generated = Number(metrics.match(/gemma4_completion_tokens_total (\d+)/)[1]);
    assert.ok(generated > 50, `completion tokens counted: ${generated}`);
  } catch (e) {
    e.serverLog = server.log();
    throw e;
  } finally {
    const { code } = await server.stop();
    assert.equal(code, 0, 'clean exit on SIGTERM');
  }
});
