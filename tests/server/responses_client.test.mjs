// The OpenAI Responses API through the official openai client (client.responses): text input,
// message items, instructions, streaming events, function tools with function_call and
// function_call_output items, max_output_tokens -> incomplete, and clear 400s for what needs
// stored responses. Greedy answers equal /v1/chat/completions for the same conversation.
import assert from 'node:assert/strict';
import { main, startServer, postJson, check, loadOpenAI } from './harness.mjs';

await main('server.responses_client', async () => {
  const server = await startServer(['-t', '1']);
  const OpenAI = await loadOpenAI();
  const client = new OpenAI({ baseURL: `${server.base}/v1`, apiKey: 'none', maxRetries: 0 });
  const chat = async (body) => {
    const r = await postJson(server.base, '/v1/chat/completions', { temperature: 0, ...body });
    check(r.status === 200, `chat twin: ${r.status} ${r.text}`, server);
    return r.json;
  };
  try {
    // 1. Text input with instructions.
    const r1 = await client.responses.create({ model: 'gemma4', instructions: 'Be brief.', input: 'What is a KV cache?',
      max_output_tokens: 12, temperature: 0, store: false });
    const t1 = await chat({ max_tokens: 12, messages: [{ role: 'system', content: 'Be brief.' }, { role: 'user', content: 'What is a KV cache?' }] });
    assert.equal(r1.object, 'response');
    assert.match(r1.id, /^resp_/);
    assert.equal(r1.output_text, t1.choices[0].message.content);
    assert.equal(r1.usage.input_tokens, t1.usage.prompt_tokens);
    assert.equal(r1.usage.output_tokens, t1.usage.completion_tokens);
    assert.equal(r1.status, t1.choices[0].finish_reason === 'length' ? 'incomplete' : 'completed');
    if (r1.status === 'incomplete') assert.equal(r1.incomplete_details.reason, 'max_output_tokens');
    const message = r1.output.find((o) => o.type === 'message');
    assert.equal(message.role, 'assistant');
    assert.equal(message.content[0].type, 'output_text');

    // 2. Streamed: the SDK assembles the same response from the events.
    const types = [];
    const stream = client.responses.stream({ model: 'gemma4', instructions: 'Be brief.', input: 'What is a KV cache?',
      max_output_tokens: 12, temperature: 0 });
    let deltas = '';
    stream.on('response.output_text.delta', (e) => { deltas += e.delta; });
    stream.on('event', (e) => types.push(e.type));
    const final = await stream.finalResponse();
    assert.equal(deltas, r1.output_text);
    const finalText = final.output.filter((o) => o.type === 'message').flatMap((o) => o.content)
      .filter((c) => c.type === 'output_text').map((c) => c.text).join('');
    assert.equal(finalText, r1.output_text);
    assert.equal(types[0], 'response.created');
    assert.ok(['response.completed', 'response.incomplete'].includes(types.at(-1)), types.at(-1));
    const seq = [];
    for (const t of ['response.output_item.added', 'response.content_part.added', 'response.output_text.done', 'response.output_item.done']) {
      seq.push(types.indexOf(t));
    }
    assert.ok(seq.every((v, i) => v >= 0 && (i === 0 || v > seq[i - 1])), `event order: ${types.join(',')}`);

    // 3. Message items, function tools, a function_call and its output in the history.
    const tools = [{ type: 'function', name: 'get_weather', description: 'Weather for a city',
      parameters: { type: 'object', properties: { city: { type: 'string' } }, required: ['city'] } }];
    const r3 = await client.responses.create({ model: 'gemma4', temperature: 0, max_output_tokens: 10, tools,
      input: [{ role: 'user', content: [{ type: 'input_text', text: 'Weather in Paris?' }] },
        { type: 'function_call', call_id: 'call_1', name: 'get_weather', arguments: '{"city":"Paris"}' },
        { type: 'function_call_output', call_id: 'call_1', output: '18 C, sunny' }] });
    const t3 = await chat({ max_tokens: 10,
      tools: [{ type: 'function', function: { name: 'get_weather', description: 'Weather for a city', parameters: tools[0].parameters } }],
      messages: [{ role: 'user', content: 'Weather in Paris?' },
        { role: 'assistant', content: '', tool_calls: [{ id: 'call_1', type: 'function', function: { name: 'get_weather', arguments: '{"city":"Paris"}' } }] },
        { role: 'tool', tool_call_id: 'call_1', content: '18 C, sunny' }] });
    assert.equal(r3.output_text, t3.choices[0].message.content ?? '');
    assert.equal(r3.usage.input_tokens, t3.usage.prompt_tokens);

    // 3b. A streamed function call (tool_choice "required" forces a valid one from random weights):
    // the item is added with its name and empty arguments, argument deltas follow, and the SDK's
    // final response holds the same call as the unstreamed one.
    {
      const body = { model: 'gemma4', temperature: 0, max_output_tokens: 160, input: 'Weather in Paris?',
        tools: [{ type: 'function', name: 'get_weather', parameters: { type: 'object', properties: {
          city: { type: 'string', maxLength: 16 }, days: { type: 'integer', minimum: 1, maximum: 7 } }, required: ['city', 'days'] } }],
        tool_choice: 'required', parallel_tool_calls: false };
      const calls = (r) => r.output.filter((o) => o.type === 'function_call').map((o) => ({ name: o.name, arguments: o.arguments }));
      const whole = await client.responses.create(body);
      assert.equal(calls(whole).length, 1);
      const stream = client.responses.stream(body);
      const deltas = [];
      let added = null;
      let done = null;
      stream.on('response.output_item.added', (e) => { if (e.item.type === 'function_call') added = { ...e.item }; });  // the SDK fills its own
      stream.on('response.function_call_arguments.delta', (e) => deltas.push(e.delta));
      stream.on('response.function_call_arguments.done', (e) => { done = e.arguments; });
      const final = await stream.finalResponse();
      assert.deepEqual(calls(final), calls(whole));
      assert.equal(added.name, 'get_weather');
      assert.equal(added.arguments, '');
      check(deltas.length > 1, `the arguments came in ${deltas.length} deltas`, server);
      assert.equal(deltas.join(''), calls(whole)[0].arguments);
      assert.equal(done, calls(whole)[0].arguments);
      JSON.parse(done);
    }

    // 4. What needs stored responses is refused, naming the field.
    await assert.rejects(client.responses.create({ model: 'gemma4', input: 'x', previous_response_id: 'resp_1' }),
      (e) => e.status === 400 && e.param === 'previous_response_id' && /stateless/.test(e.message));
    await assert.rejects(client.responses.create({ model: 'gemma4', input: [{ type: 'item_reference', id: 'msg_1' }] }),
      (e) => e.status === 400 && e.param === 'input[0].type');
    await assert.rejects(client.responses.create({ model: 'gemma4', input: [{ type: 'function_call', name: 'f', arguments: '{}' }] }),
      (e) => e.status === 400 && e.param === 'input[0].call_id');
  } catch (e) {
    e.serverLog = server.log();
    throw e;
  } finally {
    await server.stop();
  }
});
