/** The mock Claude API itself: it must accept what Claude accepts, reject what Claude rejects, and stream real SSE. */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { SseDecoder } from '../../src/core/sse.js';
import { startAnthropicMock, type AnthropicMock } from './anthropic-mock.js';

const HEADERS = { 'content-type': 'application/json', 'x-api-key': 'test-anthropic-key', 'anthropic-version': '2023-06-01' };
const VALID = { model: 'claude-sonnet-4-5', max_tokens: 100, messages: [{ role: 'user', content: 'Hello' }] };

async function post(mock: AnthropicMock, body: unknown, headers: Record<string, string> = HEADERS, path = '/v1/messages'): Promise<{ status: number; json: Record<string, unknown>; text: string }> {
  const response = await fetch(`${mock.url}${path}`, { method: 'POST', headers, body: typeof body === 'string' ? body : JSON.stringify(body) });
  const text = await response.text();
  let json: Record<string, unknown> = {};
  try {
    json = JSON.parse(text) as Record<string, unknown>;
  } catch {
    // SSE
  }
  return { status: response.status, json, text };
}

function errorOf(json: Record<string, unknown>): { type: unknown; message: string } {
  const error = json.error as { type: unknown; message: string };
  return error;
}

function sseEvents(text: string): Record<string, unknown>[] {
  const decoder = new SseDecoder();
  const items = [...decoder.push(new TextEncoder().encode(text)), ...decoder.end()];
  return items.flatMap((item) => (item.type === 'event' ? [JSON.parse(item.data) as Record<string, unknown>] : []));
}

describe('anthropic mock (first-party flavor)', () => {
  let mock: AnthropicMock;
  before(async () => {
    mock = await startAnthropicMock();
  });
  after(async () => mock.close());

  it('answers a valid request with a Message object', async () => {
    const { status, json } = await post(mock, VALID);
    assert.equal(status, 200);
    assert.equal(json.type, 'message');
    assert.equal(json.stop_reason, 'end_turn');
    assert.deepStrictEqual((json.content as unknown[])[0], { type: 'text', text: 'Hello from mock Claude. You said: Hello.' });
    assert.equal(typeof (json.usage as Record<string, unknown>).input_tokens, 'number');
  });

  const rejected: [string, unknown, RegExp][] = [
    ['missing max_tokens', { model: 'm', messages: VALID.messages }, /max_tokens: Field required/],
    ['an unknown field', { ...VALID, n: 1 }, /n: Extra inputs are not permitted/],
    ['a first message from the assistant', { ...VALID, messages: [{ role: 'assistant', content: 'hi' }] }, /first message must use the "user" role/],
    ['two user turns in a row', { ...VALID, messages: [{ role: 'user', content: 'a' }, { role: 'user', content: 'b' }] }, /roles must alternate/],
    ['empty content', { ...VALID, messages: [{ role: 'user', content: [] }] }, /non-empty content/],
    ['an empty text block', { ...VALID, messages: [{ role: 'user', content: [{ type: 'text', text: '' }] }] }, /text content blocks must be non-empty/],
    ['temperature above 1', { ...VALID, temperature: 1.2 }, /less than or equal to 1/],
    ['temperature with top_p', { ...VALID, temperature: 0.5, top_p: 0.5 }, /cannot both be specified/],
    ['a thinking budget below 1024', { ...VALID, thinking: { type: 'enabled', budget_tokens: 500 } }, /greater than or equal to 1024/],
    [
      'a tool result with no tool_use before it',
      { ...VALID, messages: [{ role: 'user', content: [{ type: 'tool_result', tool_use_id: 'nope', content: 'x' }] }] },
      /unexpected `tool_use_id`/,
    ],
  ];
  for (const [what, body, pattern] of rejected) {
    it(`rejects ${what} with 400 invalid_request_error`, async () => {
      const { status, json } = await post(mock, body);
      assert.equal(status, 400);
      assert.equal(json.type, 'error');
      assert.equal(errorOf(json).type, 'invalid_request_error');
      assert.match(errorOf(json).message, pattern);
    });
  }

  it('requires x-api-key (401) and anthropic-version (400)', async () => {
    const noKey = await post(mock, VALID, { 'content-type': 'application/json', 'anthropic-version': '2023-06-01' });
    assert.equal(noKey.status, 401);
    assert.equal(errorOf(noKey.json).type, 'authentication_error');
    const noVersion = await post(mock, VALID, { 'content-type': 'application/json', 'x-api-key': 'test-anthropic-key' });
    assert.equal(noVersion.status, 400);
    assert.match(errorOf(noVersion.json).message, /anthropic-version/);
  });

  it('calls a tool named in the prompt with schema-shaped input, then answers the tool result', async () => {
    const tools = [{ name: 'get_weather', input_schema: { type: 'object', properties: { city: { type: 'string' } }, required: ['city'] } }];
    const first = await post(mock, { ...VALID, tools, messages: [{ role: 'user', content: 'Use get_weather for Paris' }] });
    assert.equal(first.json.stop_reason, 'tool_use');
    const call = (first.json.content as Record<string, unknown>[])[0] as { id: string; input: unknown };
    assert.deepStrictEqual(call.input, { city: 'Paris' });
    const second = await post(mock, {
      ...VALID,
      tools,
      messages: [
        { role: 'user', content: 'Use get_weather for Paris' },
        { role: 'assistant', content: first.json.content },
        { role: 'user', content: [{ type: 'tool_result', tool_use_id: call.id, content: '18C' }] },
      ],
    });
    assert.equal(second.status, 200);
    assert.deepStrictEqual(second.json.content, [{ type: 'text', text: 'Tool results: 18C' }]);
  });

  it('streams real Anthropic SSE whose tool input deltas concatenate to the input', async () => {
    const tools = [{ name: 'lookup', input_schema: { type: 'object', properties: { query: { type: 'string' }, limit: { type: 'integer' } } } }];
    const { status, text } = await post(mock, { ...VALID, stream: true, tools, tool_choice: { type: 'any' }, thinking: { type: 'enabled', budget_tokens: 1024 }, max_tokens: 2000 });
    assert.equal(status, 200);
    const events = sseEvents(text);
    const types = events.map((event) => event.type);
    assert.equal(types[0], 'message_start');
    assert.equal(types[1], 'ping');
    assert.deepStrictEqual(types.slice(-2), ['message_delta', 'message_stop']);
    const deltas = events.filter((event) => event.type === 'content_block_delta').map((event) => event.delta as Record<string, unknown>);
    assert.ok(deltas.some((delta) => delta.type === 'signature_delta'));
    const json = deltas.filter((delta) => delta.type === 'input_json_delta').map((delta) => String(delta.partial_json)).join('');
    assert.deepStrictEqual(JSON.parse(json), { query: 'sample query', limit: 42 });
    assert.match(text, /^event: message_start\ndata: \{/);
  });

  it('reports a cache write for a new cache_control prefix and a cache read when it comes again', async () => {
    const body = { ...VALID, system: [{ type: 'text', text: 'long handbook', cache_control: { type: 'ephemeral' } }] };
    const first = (await post(mock, body)).json.usage as Record<string, number>;
    const second = (await post(mock, body)).json.usage as Record<string, number>;
    assert.ok((first.cache_creation_input_tokens ?? 0) > 0 && first.cache_read_input_tokens === 0);
    assert.ok((second.cache_read_input_tokens ?? 0) > 0 && second.cache_creation_input_tokens === 0);
  });

  it('returns a scripted reply verbatim', async () => {
    mock.enqueue({ status: 529, body: '{"type":"error","error":{"type":"overloaded_error","message":"Overloaded"}}' });
    const { status, json } = await post(mock, VALID);
    assert.equal(status, 529);
    assert.equal(errorOf(json).type, 'overloaded_error');
    assert.equal((await post(mock, VALID)).status, 200);
  });
});

describe('anthropic mock (Vertex flavor)', () => {
  let mock: AnthropicMock;
  const path = '/v1/projects/p/locations/us-east5/publishers/anthropic/models/claude-sonnet-4-5@20250929:rawPredict';
  const headers = { 'content-type': 'application/json', authorization: 'Bearer test-gcp-token' };
  const body = { anthropic_version: 'vertex-2023-10-16', max_tokens: 50, messages: [{ role: 'user', content: 'hi' }] };
  before(async () => {
    mock = await startAnthropicMock({ flavor: 'vertex' });
  });
  after(async () => mock.close());

  it('accepts the Vertex envelope', async () => {
    const { status, json } = await post(mock, body, headers, path);
    assert.equal(status, 200);
    assert.equal(json.type, 'message');
  });

  it('rejects a model in the body, a missing anthropic_version, URL images, a stream/method mismatch and a missing token', async () => {
    assert.match(errorOf((await post(mock, { ...body, model: 'x' }, headers, path)).json).message, /model: Extra inputs/);
    assert.match(errorOf((await post(mock, { ...body, anthropic_version: undefined }, headers, path)).json).message, /anthropic_version/);
    const image = { role: 'user', content: [{ type: 'image', source: { type: 'url', url: 'https://example.com/a.png' } }] };
    assert.match(errorOf((await post(mock, { ...body, messages: [image] }, headers, path)).json).message, /URL sources are not supported/);
    assert.equal((await post(mock, { ...body, stream: true }, headers, path)).status, 400);
    const unauthenticated = await post(mock, body, { 'content-type': 'application/json' }, path);
    assert.equal(unauthenticated.status, 401);
    assert.equal((unauthenticated.json.error as Record<string, unknown>).status, 'UNAUTHENTICATED');
  });
});
