/** Request translation edge cases for OpenAI chat -> Anthropic Messages (422s, warnings, envelopes). */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { GatewayError } from '../../src/core/errors.js';
import { anthropicTranslator, buildAnthropicMessagesBody, gcpAnthropicTranslator } from '../../src/translators/anthropic/index.js';
import type { Warning } from '../../src/translators/types.js';
import { anthropicContext, type ContextOptions } from './anthropic-test-context.js';

const user = (content: unknown) => ({ role: 'user', content });
const WEATHER_TOOL = {
  type: 'function',
  function: { name: 'get_weather', parameters: { type: 'object', properties: { city: { type: 'string' } }, required: ['city'] } },
};

function build(body: Record<string, unknown>, options: ContextOptions = {}): { out: Record<string, unknown>; warnings: Warning[] } {
  const warnings: Warning[] = [];
  const out = buildAnthropicMessagesBody(anthropicContext({ model: 'claude-sonnet-4-5', ...body }, options), {
    includeModel: true,
    includeStream: true,
    warnings,
  });
  return { out, warnings };
}

function rejects(body: Record<string, unknown>, pattern: RegExp, options: ContextOptions = {}): void {
  assert.throws(
    () => build(body, options),
    (error: unknown) => GatewayError.isInstance(error) && error.status === 422 && error.code === 'ERR_INVALID_REQUEST' && pattern.test(error.message),
  );
}

function kinds(warnings: Warning[]): string[] {
  return warnings.map((warning) => warning.kind);
}

describe('anthropic request: untranslatable input is a 422', () => {
  const toolTurn = (args: unknown) => ({
    messages: [user('hi'), { role: 'assistant', content: null, tool_calls: [{ id: 't1', type: 'function', function: { name: 'f', arguments: args } }] }],
  });
  it('tool call arguments that are not JSON', () => rejects(toolTurn('{"city": "Par'), /arguments is not valid JSON/));
  it('tool call arguments that are not an object', () => rejects(toolTurn('[1,2]'), /must encode a JSON object/));
  it('tool call without id', () =>
    rejects({ messages: [user('hi'), { role: 'assistant', tool_calls: [{ type: 'function', function: { name: 'f', arguments: '{}' } }] }] }, /\.id is required/));
  it('temperature above 1', () => rejects({ messages: [user('hi')], temperature: 1.5 }, /temperature must be between 0 and 1/));
  it('n > 1', () => rejects({ messages: [user('hi')], n: 2 }, /n must be 1/));
  it('max_tokens 0', () => rejects({ messages: [user('hi')], max_tokens: 0 }, /max_tokens must be a positive integer/));
  it('non-function tools', () => rejects({ messages: [user('hi')], tools: [{ type: 'web_search' }] }, /tools\[0\]\.type "web_search" is not supported/));
  it('an unsupported image type', () =>
    rejects({ messages: [user([{ type: 'image_url', image_url: { url: 'data:image/bmp;base64,Qk0=' } }])] }, /image type "image\/bmp"/));
  it('a data URL that is not base64', () =>
    rejects({ messages: [user([{ type: 'image_url', image_url: { url: 'data:image/png,rawbytes' } }])] }, /must be base64-encoded/));
  it('an image URL with another scheme', () =>
    rejects({ messages: [user([{ type: 'image_url', image_url: { url: 'gs://bucket/cat.png' } }])] }, /data: or http\(s\): URLs/));
  it('a remote image URL on Vertex (URL sources unsupported there)', () =>
    rejects({ messages: [user([{ type: 'image_url', image_url: { url: 'https://example.com/cat.png' } }])] }, /GCPAnthropic backends do not accept image URLs/, {
      schema: 'GCPAnthropic',
    }));
  it('a remote image URL on Bedrock (AWSAnthropic)', () =>
    rejects({ messages: [user([{ type: 'image_url', image_url: { url: 'https://example.com/cat.png' } }])] }, /AWSAnthropic backends do not accept image URLs/, {
      schema: 'AWSAnthropic',
    }));
  it('audio parts', () => rejects({ messages: [user([{ type: 'input_audio', input_audio: { data: 'AAAA', format: 'wav' } }])] }, /"input_audio" is not supported/));
  it('a tool message without tool_call_id', () => rejects({ messages: [user('hi'), { role: 'tool', content: 'x' }] }, /tool_call_id is required/));
  it('only system messages', () => rejects({ messages: [{ role: 'system', content: 'be nice' }] }, /at least one user or assistant message/));
  it('no messages', () => rejects({ messages: [] }, /non-empty array/));
  it('the legacy function role', () => rejects({ messages: [user('hi'), { role: 'function', name: 'f', content: 'x' }] }, /role "function" is not supported/));
  it('an unknown reasoning_effort', () => rejects({ messages: [user('hi')], reasoning_effort: 'extreme' }, /reasoning_effort must be one of/));
  it('a reasoning_effort named like an Object.prototype member', () => rejects({ messages: [user('hi')], reasoning_effort: 'constructor' }, /reasoning_effort must be one of/));
  it('reasoning_effort with max tokens too small for the 1024 minimum', () =>
    rejects({ messages: [user('hi')], reasoning_effort: 'low', max_completion_tokens: 1000 }, /above 1024/));
  it('tool_choice required without tools', () => rejects({ messages: [user('hi')], tool_choice: 'required' }, /tool_choice requires tools/));
  it('an unknown tool_choice', () => rejects({ messages: [user('hi')], tools: [WEATHER_TOOL], tool_choice: 'sometimes' }, /tool_choice must be/));
  it('a stop that is not a string or strings', () => rejects({ messages: [user('hi')], stop: [1] }, /stop must be a string or an array of strings/));
  it('json_schema without a schema', () =>
    rejects({ messages: [user('hi')], response_format: { type: 'json_schema', json_schema: { name: 'x' } } }, /json_schema\.schema is required/));
  it('a thinking block without signature', () =>
    rejects(
      { messages: [user('hi'), { role: 'assistant', content: 'ok', thinking_blocks: [{ type: 'thinking', thinking: 'hmm' }] }] },
      /signature is required/,
    ));
  it('a malformed cache_control', () => rejects({ messages: [user([{ type: 'text', text: 'x', cache_control: 'yes' }])] }, /cache_control must be an object/));
});

describe('anthropic request: mapping rules', () => {
  it('keeps a tool schema byte-for-byte (key order, $defs, anyOf) and carries strict', () => {
    const parameters = { $defs: { u: { enum: ['c', 'f'], type: 'string' } }, type: 'object', properties: { z: { anyOf: [{ $ref: '#/$defs/u' }, { type: 'null' }] }, a: { type: 'string' } } };
    const { out } = build({ messages: [user('hi')], tools: [{ type: 'function', function: { name: 'f', parameters, strict: true } }] });
    const text = JSON.stringify(out);
    assert.ok(text.includes(`"input_schema":${JSON.stringify(parameters)}`), text);
    assert.deepStrictEqual((out.tools as Record<string, unknown>[])[0]?.strict, true);
  });

  it('gives a schema without a top-level type "type":"object" first, and no parameters an empty object schema', () => {
    const { out } = build({
      messages: [user('hi')],
      tools: [
        { type: 'function', function: { name: 'a', parameters: { properties: { x: { type: 'string' } } } } },
        { type: 'function', function: { name: 'b' } },
      ],
    });
    const tools = out.tools as Record<string, unknown>[];
    assert.equal(JSON.stringify(tools[0]?.input_schema), '{"type":"object","properties":{"x":{"type":"string"}}}');
    assert.deepStrictEqual(tools[1]?.input_schema, { type: 'object', properties: {} });
  });

  it('maps tool_choice and parallel_tool_calls', () => {
    const base = { messages: [user('hi')], tools: [WEATHER_TOOL] };
    assert.deepStrictEqual(build({ ...base, tool_choice: 'required' }).out.tool_choice, { type: 'any' });
    assert.deepStrictEqual(build({ ...base, tool_choice: 'none' }).out.tool_choice, { type: 'none' });
    assert.deepStrictEqual(build({ ...base, tool_choice: 'none', parallel_tool_calls: false }).out.tool_choice, { type: 'none' });
    assert.deepStrictEqual(build({ ...base, parallel_tool_calls: false }).out.tool_choice, { type: 'auto', disable_parallel_tool_use: true });
    assert.deepStrictEqual(build({ ...base, parallel_tool_calls: true }).out.tool_choice, undefined);
    assert.deepStrictEqual(build({ ...base, tool_choice: { type: 'function', function: { name: 'get_weather' } }, parallel_tool_calls: false }).out.tool_choice, {
      type: 'tool',
      name: 'get_weather',
      disable_parallel_tool_use: true,
    });
    assert.equal(build({ messages: [user('hi')], tool_choice: 'none' }).out.tool_choice, undefined);
  });

  it('sends temperature, not top_p, when both are given, with a warning', () => {
    const { out, warnings } = build({ messages: [user('hi')], temperature: 0.3, top_p: 0.8 });
    assert.equal(out.temperature, 0.3);
    assert.equal('top_p' in out, false);
    assert.deepStrictEqual(kinds(warnings), ['unsupported_parameter']);
    assert.equal(build({ messages: [user('hi')], top_p: 0.8 }).out.top_p, 0.8);
  });

  it('maps reasoning_effort to a thinking budget that fits max_tokens and drops sampling settings Claude rejects with it', () => {
    const high = build({ messages: [user('hi')], reasoning_effort: 'high' });
    assert.deepStrictEqual(high.out.thinking, { type: 'enabled', budget_tokens: 16384 });
    assert.equal(high.out.max_tokens, 16384 + 4096);
    const clamped = build({ messages: [user('hi')], reasoning_effort: 'high', max_completion_tokens: 3000, temperature: 0.2, top_k: 5 });
    assert.deepStrictEqual(clamped.out.thinking, { type: 'enabled', budget_tokens: 2999 });
    assert.equal(clamped.out.max_tokens, 3000);
    assert.equal('temperature' in clamped.out, false);
    assert.equal('top_k' in clamped.out, false);
    assert.deepStrictEqual(kinds(clamped.warnings), ['unsupported_parameter', 'unsupported_parameter']);
    assert.equal('thinking' in build({ messages: [user('hi')], reasoning_effort: 'none' }).out, false);
  });

  it('passes a vendor thinking object through and makes room for its budget', () => {
    const { out } = build({ messages: [user('hi')], thinking: { type: 'enabled', budget_tokens: 10000 }, reasoning_effort: 'low' });
    assert.deepStrictEqual(out.thinking, { type: 'enabled', budget_tokens: 10000 });
    assert.equal(out.max_tokens, 10000 + 4096);
    assert.deepStrictEqual(build({ messages: [user('hi')], thinking: { type: 'adaptive' } }).out.thinking, { type: 'adaptive' });
  });

  it('uses max_completion_tokens over max_tokens, and 4096 by default', () => {
    assert.equal(build({ messages: [user('hi')], max_tokens: 10, max_completion_tokens: 20 }).out.max_tokens, 20);
    assert.equal(build({ messages: [user('hi')], max_tokens: 10 }).out.max_tokens, 10);
    assert.equal(build({ messages: [user('hi')] }).out.max_tokens, 4096);
  });

  it('merges a vendor output_config with the json_schema format', () => {
    const schema = { type: 'object', properties: {}, additionalProperties: false };
    const { out } = build({ messages: [user('hi')], output_config: { effort: 'low' }, response_format: { type: 'json_schema', json_schema: { name: 'x', schema } } });
    assert.deepStrictEqual(out.output_config, { effort: 'low', format: { type: 'json_schema', schema } });
  });

  it('warns for json_object (emulated), names, unsupported parameters and reasoning without a signature', () => {
    const { warnings } = build({
      messages: [{ role: 'user', name: 'bob', content: 'hi' }, { role: 'assistant', content: 'ok', reasoning_content: 'thought' }, user('more')],
      response_format: { type: 'json_object' },
      seed: 1,
      presence_penalty: 0.5,
      logprobs: false,
    });
    assert.deepStrictEqual(kinds(warnings).sort(), ['emulated_parameter', 'unsupported_parameter', 'unsupported_parameter', 'unsupported_parameter', 'unsupported_parameter']);
  });

  it('fills a single thinking block sent without its text from reasoning_content (the streamed form)', () => {
    const { out } = build({
      messages: [user('hi'), { role: 'assistant', content: 'ok', reasoning_content: 'full text', thinking_blocks: [{ type: 'thinking', thinking: '', signature: 'sig' }] }, user('next')],
    });
    const assistant = (out.messages as { content: unknown[] }[])[1];
    assert.deepStrictEqual(assistant?.content[0], { type: 'thinking', thinking: 'full text', signature: 'sig' });
  });

  it('puts tool results first in a user turn and merges what follows', () => {
    const { out } = build({
      messages: [
        user('q'),
        { role: 'assistant', content: '', tool_calls: [{ id: 't1', type: 'function', function: { name: 'f', arguments: '' } }] },
        user('interjection'),
        { role: 'tool', tool_call_id: 't1', content: '' },
        { role: 'assistant', content: '' },
        user('again'),
      ],
    });
    assert.deepStrictEqual(out.messages, [
      { role: 'user', content: [{ type: 'text', text: 'q' }] },
      { role: 'assistant', content: [{ type: 'tool_use', id: 't1', name: 'f', input: {} }] },
      { role: 'user', content: [{ type: 'tool_result', tool_use_id: 't1' }, { type: 'text', text: 'interjection' }, { type: 'text', text: 'again' }] },
    ]);
  });

  it('maps a PDF file part to a document block', () => {
    const { out } = build({ messages: [user([{ type: 'file', file: { filename: 'a.pdf', file_data: 'data:application/pdf;base64,JVBERi0=' } }])] });
    assert.deepStrictEqual((out.messages as { content: unknown[] }[])[0]?.content, [
      { type: 'document', source: { type: 'base64', media_type: 'application/pdf', data: 'JVBERi0=' }, title: 'a.pdf' },
    ]);
  });

  it('never mutates the client body', () => {
    const body = {
      messages: [
        { role: 'system', content: [{ type: 'text', text: 's' }], cache_control: { type: 'ephemeral' } },
        { role: 'user', content: [{ type: 'text', text: 'u', cache_control: { type: 'ephemeral' } }], cache_control: { type: 'ephemeral' } },
      ],
      tools: [{ ...WEATHER_TOOL, cache_control: { type: 'ephemeral' } }],
      response_format: { type: 'json_object' },
    };
    const before = structuredClone(body);
    build(body);
    assert.deepStrictEqual(body, before);
  });

  it('builds the Bedrock envelope on request (no model, no stream, anthropic_version)', () => {
    const ctx = anthropicContext({ model: 'm', stream: true, messages: [user('hi')] }, { schema: 'AWSAnthropic' });
    const out = buildAnthropicMessagesBody(ctx, { includeModel: false, includeStream: false, anthropicVersion: 'bedrock-2023-05-31' });
    assert.deepStrictEqual(Object.keys(out), ['anthropic_version', 'max_tokens', 'messages']);
    assert.equal(out.anthropic_version, 'bedrock-2023-05-31');
  });
});

describe('anthropic request: paths and headers', () => {
  const body = { model: 'claude', messages: [user('hi')] };
  it('first-party: {prefix}/messages, anthropic-version from apiVersion or 2023-06-01, model in the body', () => {
    const plain = anthropicTranslator.request(anthropicContext(body));
    assert.equal(plain.path, '/v1/messages');
    assert.deepStrictEqual(plain.setHeaders, { 'content-type': 'application/json', 'anthropic-version': '2023-06-01' });
    const custom = anthropicTranslator.request(anthropicContext(body, { backend: { prefix: '/anthropic/v1/', apiVersion: '2024-01-01' }, upstreamModel: 'claude-opus-4-1' }));
    assert.equal(custom.path, '/anthropic/v1/messages');
    assert.equal(custom.setHeaders['anthropic-version'], '2024-01-01');
    assert.equal(JSON.parse(new TextDecoder().decode(custom.body)).model, 'claude-opus-4-1');
    assert.equal(anthropicTranslator.request(anthropicContext(body, { backend: { prefix: '' } })).path, '/messages');
  });

  it('Vertex: project/region path, escaped model keeping @, rawPredict vs streamRawPredict, anthropic_version override', () => {
    const ctx = anthropicContext({ ...body, stream: true }, { schema: 'GCPAnthropic', upstreamModel: 'claude-sonnet-4-5@20250929', backend: { apiVersion: 'vertex-2099-01-01' } });
    const streamed = gcpAnthropicTranslator.request(ctx);
    assert.equal(streamed.path, '/v1/projects/proj/locations/us-east5/publishers/anthropic/models/claude-sonnet-4-5@20250929:streamRawPredict');
    const sent = JSON.parse(new TextDecoder().decode(streamed.body)) as Record<string, unknown>;
    assert.equal(sent.anthropic_version, 'vertex-2099-01-01');
    assert.equal(sent.stream, true);
    assert.equal('model' in sent, false);
    const odd = gcpAnthropicTranslator.request(anthropicContext(body, { schema: 'GCPAnthropic', upstreamModel: 'a/b:c' }));
    assert.equal(odd.path, '/v1/projects/proj/locations/us-east5/publishers/anthropic/models/a%2Fb%3Ac:rawPredict');
  });

  it('Vertex without gcp project/region is a configuration error, not a crash', () => {
    assert.throws(
      () => gcpAnthropicTranslator.request(anthropicContext(body, { schema: 'GCPAnthropic', backend: { credentials: undefined } })),
      (error: unknown) => GatewayError.isInstance(error) && error.status === 500 && /auth\.gcp/.test(error.message),
    );
  });

  it('returns warnings with the upstream request', () => {
    const request = anthropicTranslator.request(anthropicContext({ ...body, model: 'claude-sonnet-4-5', temperature: 0.1, top_p: 0.1 }));
    assert.deepStrictEqual(request.warnings?.map((warning) => warning.kind), ['unsupported_parameter']);
  });
});
