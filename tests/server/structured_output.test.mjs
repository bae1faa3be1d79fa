// Constrained decoding through the official openai client against a real `gemma4 serve` on the
// random-weight test package: for every JSON Schema shape, the reply (greedy and sampled, whole
// and streamed) is validated by an independent validator (ajv); json_object replies parse as
// objects; unsupported schemas and strict-mode violations are 400s naming the pointer; a reply
// cut by max_tokens ends with finish_reason "length"; tool_choice "required" and a named function
// give a parsed tool call whose arguments are valid against the tool's schema; and the CLI's
// --json-schema / --grammar constrain `gemma4 run`.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { createRequire } from 'node:module';
import { spawnSync } from 'node:child_process';
import { main, startServer, postJson, runCli, CLI, MODEL, REFS, check, loadOpenAI } from './harness.mjs';

const require = createRequire(path.join(path.resolve(REFS), 'noop.js'));
const Ajv = require('ajv');
const ajv = new Ajv({ strict: false, allErrors: true });

const SHAPES = {
  object_required_optional: {
    type: 'object',
    properties: {
      name: { type: 'string', maxLength: 8 },
      age: { type: 'integer' },
      ok: { type: 'boolean' },
      nothing: { type: 'null' },
      score: { type: 'number' },
    },
    required: ['name', 'ok'],
    additionalProperties: false,
  },
  arrays_enum_const: {
    type: 'object',
    properties: {
      tags: { type: 'array', items: { type: 'string', enum: ['red', 'green', 'blue'] }, minItems: 1, maxItems: 3 },
      pair: { type: 'array', items: { type: 'integer', minimum: 0, maximum: 9 }, minItems: 2, maxItems: 2 },
      version: { const: 'v1' },
      mode: { enum: [1, 'two', null, true] },
    },
    required: ['tags', 'pair', 'version', 'mode'],
    additionalProperties: false,
  },
  type_arrays_anyof_oneof: {
    type: 'object',
    properties: {
      maybe: { type: ['string', 'null'], maxLength: 4 },
      either: { anyOf: [{ type: 'integer', minimum: 10, maximum: 20 }, { type: 'string', maxLength: 3 }] },
      one: { oneOf: [{ type: 'boolean' }, { type: 'array', maxItems: 1, items: { type: 'null' } }] },
    },
    required: ['maybe', 'either', 'one'],
    additionalProperties: false,
  },
  refs_defs_recursive: {
    $defs: {
      node: {
        type: 'object',
        properties: { label: { $ref: '#/definitions/label' }, kids: { type: 'array', items: { $ref: '#/$defs/node' }, maxItems: 2 } },
        required: ['label', 'kids'],
        additionalProperties: false,
      },
    },
    definitions: { label: { type: 'string', minLength: 1, maxLength: 3 } },
    $ref: '#/$defs/node',
  },
  strings_patterns_ranges: {
    type: 'object',
    properties: {
      code: { type: 'string', pattern: '^[A-Z]{2}-[0-9]{3}$' },
      word: { type: 'string', minLength: 2, maxLength: 5 },
      year: { type: 'integer', minimum: 1900, maximum: 2100 },
      delta: { type: 'integer', exclusiveMinimum: -50, exclusiveMaximum: 50 },
    },
    required: ['code', 'word', 'year', 'delta'],
    additionalProperties: false,
  },
  additional_properties_schema: {
    type: 'object',
    properties: { id: { type: 'integer', minimum: 0, maximum: 99 } },
    required: ['id'],
    additionalProperties: { type: 'boolean' },
  },
  strict_mode: {
    type: 'object',
    properties: { city: { type: 'string', maxLength: 10 }, days: { type: ['integer', 'null'] } },
    required: ['city', 'days'],
    additionalProperties: false,
  },
};

function validate(schema, text, what, server) {
  let value;
  try {
    value = JSON.parse(text);
  } catch (e) {
    check(false, `${what}: not JSON: ${JSON.stringify(text)}`, server);
  }
  const ok = ajv.validate(schema, value);
  check(ok, `${what}: ${JSON.stringify(text)} fails the schema: ${ajv.errorsText()}`, server);
  return value;
}

const responseFormat = (name, schema, strict = false) => ({ type: 'json_schema', json_schema: { name, schema, strict } });

await main('server.structured_output', async () => {
  const server = await startServer(['-t', '1', '--draft-max', '4']);
  const OpenAI = await loadOpenAI();
  const client = new OpenAI({ baseURL: `${server.base}/v1`, apiKey: 'none', maxRetries: 0 });
  const messages = [{ role: 'user', content: 'Describe a person as JSON.' }];
  try {
    // Every shape, greedy and sampled: a finished reply that ajv accepts.
    for (const [name, schema] of Object.entries(SHAPES)) {
      const strict = name === 'strict_mode';
      for (const sampling of [{ temperature: 0 }, { temperature: 1, seed: 7 }, { temperature: 1.5, seed: 99, top_k: 0 }]) {
        const res = await client.chat.completions.create({ model: 'gemma4', messages, max_tokens: 600, ...sampling,
          response_format: responseFormat(name, schema, strict) });
        const choice = res.choices[0];
        check(choice.finish_reason === 'stop', `${name} ${JSON.stringify(sampling)}: finish_reason ${choice.finish_reason}: ${choice.message.content}`, server);
        validate(schema, choice.message.content, `${name} ${JSON.stringify(sampling)}`, server);
      }
    }

    // Streamed: the deltas join into a valid reply.
    {
      const schema = SHAPES.arrays_enum_const;
      const stream = await client.chat.completions.create({ model: 'gemma4', messages, max_tokens: 400, temperature: 0.8, seed: 3,
        stream: true, response_format: responseFormat('s', schema) });
      let text = '';
      let finish = null;
      for await (const chunk of stream) {
        text += chunk.choices[0]?.delta?.content ?? '';
        finish = chunk.choices[0]?.finish_reason ?? finish;
      }
      assert.equal(finish, 'stop');
      validate(schema, text, 'streamed', server);
    }

    // json_object: a JSON object (the grammar has no length bounds, so it may run out of tokens).
    for (const seed of [1, 2, 3]) {
      const res = await client.chat.completions.create({ model: 'gemma4', messages, max_tokens: 300, temperature: 1, seed,
        response_format: { type: 'json_object' } });
      const { content } = res.choices[0].message;
      assert.ok(content.startsWith('{'), content);
      if (res.choices[0].finish_reason === 'stop') {
        const v = JSON.parse(content);
        assert.equal(typeof v, 'object');
        assert.ok(v !== null && !Array.isArray(v));
      } else {
        assert.equal(res.choices[0].finish_reason, 'length');
      }
    }

    // Too few tokens for the reply: finish_reason length, as OpenAI's.
    {
      const res = await client.chat.completions.create({ model: 'gemma4', messages, max_tokens: 3, temperature: 0,
        response_format: responseFormat('short', { type: 'object', properties: { s: { type: 'string' } }, required: ['s'] }) });
      assert.equal(res.choices[0].finish_reason, 'length');
      assert.ok(res.choices[0].message.content.startsWith('{"s":'), res.choices[0].message.content);
    }

    // Completions take response_format too.
    {
      const schema = SHAPES.strings_patterns_ranges;
      const res = await postJson(server.base, '/v1/completions', { prompt: 'JSON:', max_tokens: 200, temperature: 0,
        response_format: responseFormat('c', schema) });
      check(res.status === 200, `completions: ${res.status} ${res.text}`, server);
      assert.equal(res.json.choices[0].finish_reason, 'stop');
      validate(schema, res.json.choices[0].text, 'completions', server);
    }

    // Logprobs come from the masked distribution: every alternative is a token the grammar allows.
    {
      const res = await client.chat.completions.create({ model: 'gemma4', messages, max_tokens: 60, temperature: 0,
        logprobs: true, top_logprobs: 3, response_format: responseFormat('lp', SHAPES.arrays_enum_const) });
      const entries = res.choices[0].logprobs.content;
      assert.ok(entries.length > 0);
      // The reply opens with '{': a token that does not start with it has probability 0 (the
      // server writes log(0) as -9999, OpenAI's floor).
      const finite = (t) => typeof t.logprob === 'number' && t.logprob > -9999;
      for (const t of entries[0].top_logprobs) {
        if (finite(t)) assert.ok(t.token.startsWith('{'), JSON.stringify(entries[0].top_logprobs));
      }
      for (const e of entries) {
        const mass = e.top_logprobs.filter(finite).reduce((s, t) => s + Math.exp(t.logprob), 0);
        assert.ok(mass <= 1 + 1e-6, `top probabilities sum to ${mass}`);
      }
    }

    // Errors: 400s naming the field and the JSON pointer.
    const bad = async (response_format, pattern, param = 'response_format.json_schema.schema') => {
      const res = await postJson(server.base, '/v1/chat/completions', { messages, max_tokens: 4, response_format });
      check(res.status === 400, `expected 400 for ${JSON.stringify(response_format)}: ${res.status} ${res.text}`, server);
      assert.equal(res.json.error.param, param);
      assert.match(res.json.error.message, pattern);
    };
    await bad(responseFormat('u', { type: 'object', properties: { tags: { type: 'array', uniqueItems: true } } }),
      /\/properties\/tags\/uniqueItems: unsupported keyword/);
    await bad(responseFormat('u', { type: 'string', format: 'email' }), /\/format: unsupported keyword/);
    await bad(responseFormat('u', { type: 'object', properties: { a: { type: 'string' } } }, true),
      /strict mode requires additionalProperties: false/);
    await bad(responseFormat('u', { type: 'object', properties: { a: { type: 'string' }, b: { type: 'integer' } }, required: ['a'],
      additionalProperties: false }, true), /every property to be required; 'b' is missing/);
    await bad({ type: 'json_schema', json_schema: { name: 'bad name!', schema: {} } }, /name: must be 1 to 64/, 'response_format.json_schema.name');
    await bad({ type: 'xml' }, /expected 'text', 'json_object' or 'json_schema'/, 'response_format.type');
    try {
      await client.chat.completions.create({ model: 'gemma4', messages, max_tokens: 4,
        response_format: responseFormat('u', { $ref: '#/$defs/nope' }) });
      assert.fail('a dangling $ref was accepted');
    } catch (e) {
      assert.equal(e.status, 400);
      assert.match(e.message, /\/\$ref: '#\/\$defs\/nope' names nothing/);
    }

    // Tool calls: "required" and a named function give a parsed call with valid arguments.
    const tools = [
      { type: 'function', function: { name: 'get_weather', description: 'Weather for a city',
        parameters: { type: 'object', properties: { city: { type: 'string', maxLength: 12 }, unit: { enum: ['c', 'f'] },
          days: { type: 'integer', minimum: 1, maximum: 7 } }, required: ['city', 'unit'], additionalProperties: false } } },
      { type: 'function', function: { name: 'search.web', parameters: { type: 'object',
        properties: { q: { type: 'string', maxLength: 6 }, top: { type: 'array', items: { type: 'boolean' }, maxItems: 2 } },
        required: ['q'] } } },
    ];
    const schemaOf = (name) => tools.find((t) => t.function.name === name).function.parameters;
    for (const [tool_choice, seed] of [['required', 1], ['required', 5], [{ type: 'function', function: { name: 'search.web' } }, 2],
      [{ type: 'function', function: { name: 'get_weather' } }, 4]]) {
      const res = await client.chat.completions.create({ model: 'gemma4', messages: [{ role: 'user', content: 'Weather in Paris?' }],
        tools, tool_choice, max_tokens: 200, temperature: 1, seed });
      const choice = res.choices[0];
      check(choice.finish_reason === 'tool_calls', `tool_choice ${JSON.stringify(tool_choice)}: ${choice.finish_reason} ${JSON.stringify(choice.message)}`, server);
      assert.ok(choice.message.tool_calls.length >= 1);  // parallel_tool_calls is on by default
      for (const { function: call } of choice.message.tool_calls) {
        if (typeof tool_choice === 'object') assert.equal(call.name, tool_choice.function.name);
        else assert.ok(['get_weather', 'search.web'].includes(call.name), call.name);
        validate(schemaOf(call.name), call.arguments, `tool ${call.name}`, server);
      }
    }

    // parallel_tool_calls under "required": pushed towards another <|tool_call> after each call
    // (logit_bias), the reply holds several valid calls; with parallel_tool_calls false the grammar
    // allows exactly one, and the reply ends there.
    const callOpen = JSON.parse(await runCli(['tokenize', '-m', MODEL, '-p', '<|tool_call>', '--no-special', '--json'])).ids;
    assert.equal(callOpen.length, 1);
    for (const parallel_tool_calls of [true, false]) {
      const res = await client.chat.completions.create({ model: 'gemma4', messages: [{ role: 'user', content: 'Weather in Paris?' }],
        tools, tool_choice: 'required', parallel_tool_calls, logit_bias: { [callOpen[0]]: 100 }, max_tokens: 160,
        temperature: 1, seed: 3 });
      const choice = res.choices[0];
      const calls = choice.message.tool_calls ?? [];
      for (const { function: call } of calls) validate(schemaOf(call.name), call.arguments, `parallel tool ${call.name}`, server);
      if (parallel_tool_calls) {
        check(calls.length >= 2, `parallel: ${calls.length} calls: ${JSON.stringify(choice)}`, server);
      } else {
        check(calls.length === 1 && choice.finish_reason === 'tool_calls', `not parallel: ${JSON.stringify(choice)}`, server);
      }
    }

    // The CLI: --json-schema and --grammar.
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'gemma4-grammar-'));
    try {
      const schemaFile = path.join(dir, 'schema.json');
      fs.writeFileSync(schemaFile, JSON.stringify(SHAPES.object_required_optional));
      const out = JSON.parse(await runCli(['run', '-m', MODEL, '-p', 'JSON please', '--temp', '0', '-n', '300',
        '--json-schema', schemaFile, '--json']));
      assert.equal(out.stop_reason, 'eos');
      validate(SHAPES.object_required_optional, out.text, 'gemma4 run --json-schema', server);
      const grammarFile = path.join(dir, 'answer.gbnf');
      fs.writeFileSync(grammarFile, 'root ::= ("yes" | "no") ", " [0-9]{1,3} " " word\nword ::= [a-z]{2,6}\n');
      const text = (await runCli(['run', '-m', MODEL, '-p', 'Answer', '--temp', '1', '--seed', '3', '-n', '100',
        '--grammar', grammarFile])).replace(/\n$/, '');
      assert.match(text, /^(yes|no), [0-9]{1,3} [a-z]{2,6}$/);
      // `gemma4 chat` takes the same flags: every answer of the conversation follows the schema.
      const chat = spawnSync(CLI, ['chat', '-m', MODEL, '--json-schema', schemaFile, '--temp', '0', '-n', '300'],
        { input: 'hello\nagain\n', encoding: 'utf8', timeout: 120000 });
      assert.equal(chat.status, 0, chat.stderr);
      const answers = chat.stdout.split('\n').map((l) => l.replace(/^> /, '').trim()).filter((l) => l.startsWith('{'));
      assert.equal(answers.length, 2, chat.stdout);
      for (const a of answers) validate(SHAPES.object_required_optional, a, 'gemma4 chat --json-schema', server);
      fs.writeFileSync(grammarFile, 'root ::= "a" b\n');
      await assert.rejects(runCli(['run', '-m', MODEL, '-p', 'x', '--grammar', grammarFile]), /answer\.gbnf:1:14: undefined rule 'b'/);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  } finally {
    await server.stop();
  }
});
