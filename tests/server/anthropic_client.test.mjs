// The Anthropic Messages API through the official @anthropic-ai/sdk against a real `gemma4 serve`:
// plain and streamed messages, system prompts, multi-turn, stop sequences, tools with tool_use /
// tool_result history, thinking, x-api-key auth and errors in Anthropic's shape. Every greedy
// answer must equal what /v1/chat/completions gives for the same conversation.
import assert from 'node:assert/strict';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { main, startServer, postJson, check, REFS } from './harness.mjs';

const { default: Anthropic } = await import(pathToFileURL(path.join(REFS, '@anthropic-ai', 'sdk', 'index.mjs')).href);
const KEY = 'sekret';

await main('server.anthropic_client', async () => {
  const server = await startServer(['--api-key', KEY, '-t', '1']);
  const client = new Anthropic({ baseURL: server.base, apiKey: KEY, maxRetries: 0 });
  const openai = async (body) => {
    const r = await postJson(server.base, '/v1/chat/completions', { temperature: 0, ...body }, { authorization: `Bearer ${KEY}` });
    check(r.status === 200, `OpenAI twin: ${r.status} ${r.text}`, server);
    return r.json;
  };
  const textOf = (message) => message.content.filter((b) => b.type === 'text').map((b) => b.text).join('');
  try {
    // 1. A plain message, with a system prompt: same greedy answer and token counts as OpenAI.
    const system = 'You answer in one short sentence.';
    const user = 'What is a KV cache?';
    const message = await client.messages.create({ model: 'gemma4', max_tokens: 12, temperature: 0, system,
      messages: [{ role: 'user', content: user }] });
    assert.equal(message.type, 'message');
    assert.equal(message.role, 'assistant');
    assert.match(message.id, /^msg_/);
    assert.ok(['end_turn', 'max_tokens'].includes(message.stop_reason), message.stop_reason);
    const twin = await openai({ max_tokens: 12, messages: [{ role: 'system', content: system }, { role: 'user', content: user }] });
    assert.equal(textOf(message), twin.choices[0].message.content);
    assert.equal(message.usage.input_tokens + message.usage.cache_read_input_tokens, twin.usage.prompt_tokens);
    assert.equal(message.usage.output_tokens, twin.usage.completion_tokens);
    assert.equal(message.stop_reason, twin.choices[0].finish_reason === 'length' ? 'max_tokens' : 'end_turn');

    // 2. Streamed: the SDK's own event handling assembles the same message.
    const events = [];
    const stream = client.messages.stream({ model: 'gemma4', max_tokens: 12, temperature: 0, system,
      messages: [{ role: 'user', content: user }] });
    let streamedText = '';
    stream.on('text', (t) => { streamedText += t; });
    stream.on('streamEvent', (e) => events.push(e.type));
    const final = await stream.finalMessage();
    assert.equal(streamedText, textOf(message));
    assert.equal(textOf(final), textOf(message));
    assert.equal(final.stop_reason, message.stop_reason);
    assert.equal(events[0], 'message_start');
    assert.equal(events.at(-1), 'message_stop');
    assert.ok(events.includes('content_block_start') && events.includes('message_delta'), events.join(','));

    // 3. Multi-turn, content blocks, and a stop sequence taken from the greedy answer itself.
    const turns = [{ role: 'user', content: [{ type: 'text', text: 'Say something.' }] },
      { role: 'assistant', content: 'Something.' }, { role: 'user', content: 'Again, longer.' }];
    const long = await client.messages.create({ model: 'gemma4', max_tokens: 24, temperature: 0, messages: turns });
    const longTwin = await openai({ max_tokens: 24, messages: [{ role: 'user', content: 'Say something.' },
      { role: 'assistant', content: 'Something.' }, { role: 'user', content: 'Again, longer.' }] });
    assert.equal(textOf(long), longTwin.choices[0].message.content);
    const full = textOf(long);
    // A 3-character stop sequence from the second half of the answer, first occurring there.
    let cut = null;
    for (let i = Math.floor(full.length / 2); i + 3 <= full.length && !cut; ++i) {
      const c = full.slice(i, i + 3);
      if (c.trim().length === 3 && full.indexOf(c) === i) cut = c;
    }
    check(cut, `no usable stop sequence in ${JSON.stringify(full)}`, server);
    {
      const stopped = await client.messages.create({ model: 'gemma4', max_tokens: 24, temperature: 0, messages: turns,
        stop_sequences: [cut] });
      assert.equal(stopped.stop_reason, 'stop_sequence');
      assert.equal(stopped.stop_sequence, cut);
      assert.equal(textOf(stopped), full.slice(0, full.indexOf(cut)));
    }

    // 4. Tools: a tool_use in the history and its tool_result render as the OpenAI twin's do.
    const tools = [{ name: 'get_weather', description: 'Weather for a city',
      input_schema: { type: 'object', properties: { city: { type: 'string' } }, required: ['city'] } }];
    const withTools = await client.messages.create({ model: 'gemma4', max_tokens: 10, temperature: 0, tools,
      messages: [{ role: 'user', content: 'Weather in Paris?' },
        { role: 'assistant', content: [{ type: 'tool_use', id: 'toolu_1', name: 'get_weather', input: { city: 'Paris' } }] },
        { role: 'user', content: [{ type: 'tool_result', tool_use_id: 'toolu_1', content: '18 C, sunny' }] }] });
    const toolTwin = await openai({ max_tokens: 10,
      tools: [{ type: 'function', function: { name: 'get_weather', description: 'Weather for a city', parameters: tools[0].input_schema } }],
      messages: [{ role: 'user', content: 'Weather in Paris?' },
        { role: 'assistant', content: '', tool_calls: [{ id: 'toolu_1', type: 'function',
          function: { name: 'get_weather', arguments: JSON.stringify({ city: 'Paris' }) } }] },
        { role: 'tool', tool_call_id: 'toolu_1', content: '18 C, sunny' }] });
    assert.equal(textOf(withTools), toolTwin.choices[0].message.content ?? '');
    assert.equal(withTools.usage.input_tokens + withTools.usage.cache_read_input_tokens, toolTwin.usage.prompt_tokens);

    // 4b. A streamed tool_use (tool_choice "any" forces a valid call from random weights): the block
    // opens with its id, name and empty input, input_json_delta pieces fill it, and the SDK's
    // final message holds the same tool_use as the unstreamed reply.
    {
      const body = { model: 'gemma4', max_tokens: 160, temperature: 0, messages: [{ role: 'user', content: 'Weather in Paris?' }],
        tools: [{ name: 'get_weather', input_schema: { type: 'object', properties: { city: { type: 'string', maxLength: 16 },
          days: { type: 'integer', minimum: 1, maximum: 7 } }, required: ['city', 'days'] } }],
        tool_choice: { type: 'any', disable_parallel_tool_use: true } };
      const toolUses = (m) => m.content.filter((b) => b.type === 'tool_use').map((b) => ({ name: b.name, input: b.input }));
      const whole = await client.messages.create(body);
      assert.equal(whole.stop_reason, 'tool_use');
      assert.equal(toolUses(whole).length, 1);
      const stream = client.messages.stream(body);
      const partials = [];
      let start = null;
      stream.on('streamEvent', (e) => {
        if (e.type === 'content_block_start' && e.content_block.type === 'tool_use') start = e.content_block;
        if (e.type === 'content_block_delta' && e.delta.type === 'input_json_delta') partials.push(e.delta.partial_json);
      });
      const final = await stream.finalMessage();
      assert.deepEqual(toolUses(final), toolUses(whole));
      assert.equal(final.stop_reason, 'tool_use');
      assert.equal(start.name, 'get_weather');
      assert.match(start.id, /^toolu_/);
      assert.deepEqual(start.input, {});
      check(partials.length > 1, `the input came in ${partials.length} pieces`, server);
      assert.deepEqual(JSON.parse(partials.join('')), toolUses(whole)[0].input);
    }

    // 5. Thinking maps onto the template's enable_thinking.
    const thinking = await client.messages.create({ model: 'gemma4', max_tokens: 10, temperature: 0,
      thinking: { type: 'enabled', budget_tokens: 1024 }, messages: [{ role: 'user', content: user }] });
    const thinkingTwin = await openai({ max_tokens: 10, chat_template_kwargs: { enable_thinking: true },
      messages: [{ role: 'user', content: user }] });
    assert.equal(thinking.usage.input_tokens + thinking.usage.cache_read_input_tokens, thinkingTwin.usage.prompt_tokens);
    assert.equal(textOf(thinking), thinkingTwin.choices[0].message.content ?? '');

    // 6. Errors in Anthropic's shape, raised as the SDK's own error classes.
    await assert.rejects(client.messages.create({ model: 'gemma4', messages: [{ role: 'user', content: 'x' }] }),
      (e) => e instanceof Anthropic.BadRequestError && e.error?.type === 'error' &&
        e.error.error.type === 'invalid_request_error' && /max_tokens/.test(e.error.error.message));
    await assert.rejects(client.messages.create({ model: 'gemma4', max_tokens: 4,
      messages: [{ role: 'user', content: [{ type: 'image', source: { type: 'base64', media_type: 'image/png', data: '' } }] }] }),
      (e) => e instanceof Anthropic.BadRequestError && /messages\[0\]\.content\[0\]\.type/.test(e.error.error.message));
    const stranger = new Anthropic({ baseURL: server.base, apiKey: 'wrong', maxRetries: 0 });
    await assert.rejects(stranger.messages.create({ model: 'gemma4', max_tokens: 4, messages: [{ role: 'user', content: 'x' }] }),
      (e) => e instanceof Anthropic.AuthenticationError && e.error?.error?.type === 'authentication_error');
  } catch (e) {
    e.serverLog = server.log();
    throw e;
  } finally {
    await server.stop();
  }
});
