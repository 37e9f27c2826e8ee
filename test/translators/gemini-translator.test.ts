/** Edge cases of the Gemini translator that the golden fixtures do not pin down. */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { ResolvedBackend } from '../../src/config/load.js';
import { Secret } from '../../src/config/secret.js';
import { GatewayError } from '../../src/core/errors.js';
import '../../src/translators/gemini/index.js';
import { findShippedTranslator } from '../helpers/components.js';
import { decodeToolCallId, encodeToolCallId } from '../../src/translators/gemini/tool-call-id.js';
import { geminiGeneration } from '../../src/translators/gemini/model-generation.js';
import type { RequestContext, Translator } from '../../src/translators/types.js';
import { testBackend, testContext } from '../helpers/request-context.js';

const backend: ResolvedBackend = testBackend({
  name: 'vertex',
  schema: 'GCPVertexAI',
  endpoint: 'https://us-central1-aiplatform.googleapis.com',
  credentials: { gcp: { projectId: 'p', region: 'europe-west4', accessToken: Secret.of('t') } },
});

function context(body: Record<string, unknown>, overrides: Partial<RequestContext> = {}): RequestContext {
  const model = typeof body.model === 'string' ? body.model : 'gemini-2.5-flash';
  return testContext(body, { backend, requestModel: model, upstreamModel: model, ...overrides });
}

const translator = findShippedTranslator('openai', 'chat', 'GCPVertexAI') as Translator;

function upstream(body: Record<string, unknown>, overrides: Partial<RequestContext> = {}): Record<string, unknown> {
  const request = translator.request(context(body, overrides));
  return JSON.parse(new TextDecoder().decode(request.body)) as Record<string, unknown>;
}

function rejects(body: Record<string, unknown>, pattern: RegExp): void {
  assert.throws(
    () => translator.request(context(body)),
    (error: unknown) => GatewayError.isInstance(error) && error.status === 422 && pattern.test(error.message),
  );
}

const user = { role: 'user', content: 'hi' };
const tool = (name: string) => ({ type: 'function', function: { name, parameters: { type: 'object', properties: {} } } });

describe('gemini translator registration', () => {
  it('is registered for both Google schemas', () => {
    assert.equal(findShippedTranslator('openai', 'chat', 'GoogleAI'), translator);
  });
});

describe('gemini request: tools', () => {
  for (const [choice, expected] of [
    ['auto', { mode: 'AUTO' }],
    ['none', { mode: 'NONE' }],
    ['required', { mode: 'ANY' }],
    [{ type: 'function', function: { name: 'b' } }, { mode: 'ANY', allowedFunctionNames: ['b'] }],
  ] as const) {
    it(`maps tool_choice ${JSON.stringify(choice)}`, () => {
      const out = upstream({ messages: [user], tools: [tool('a'), tool('b')], tool_choice: choice });
      assert.deepEqual(out.toolConfig, { functionCallingConfig: expected });
    });
  }

  it('narrows declarations for allowed_tools', () => {
    const out = upstream({
      messages: [user],
      tools: [tool('a'), tool('b'), tool('c')],
      tool_choice: { type: 'allowed_tools', allowed_tools: { mode: 'required', tools: [{ type: 'function', function: { name: 'c' } }] } },
    });
    const declarations = (out.tools as { functionDeclarations: { name: string }[] }[])[0]?.functionDeclarations;
    assert.deepEqual(declarations?.map((entry) => entry.name), ['c']);
    assert.deepEqual(out.toolConfig, { functionCallingConfig: { mode: 'ANY' } });
  });

  it('rejects non-function tools, unknown named tools and bad tool_choice values', () => {
    rejects({ messages: [user], tools: [{ type: 'web_search' }] }, /only function tools/);
    rejects({ messages: [user], tools: [tool('a')], tool_choice: { type: 'function', function: { name: 'zzz' } } }, /not in tools/);
    rejects({ messages: [user], tools: [tool('a')], tool_choice: 'sometimes' }, /tool_choice must be/);
  });

  it('warns about parallel_tool_calls=false instead of dropping it silently', () => {
    const request = translator.request(context({ messages: [user], tools: [tool('a')], parallel_tool_calls: false }));
    assert.ok(request.warnings?.some((warning) => warning.kind === 'unsupported_parameter' && /parallel_tool_calls/.test(warning.detail)));
  });
});

describe('gemini request: tool turns per model generation', () => {
  const history = [
    user,
    { role: 'assistant', tool_calls: [{ id: 'c1', type: 'function', function: { name: 'a', arguments: '{"x":1}' } }] },
    { role: 'tool', tool_call_id: 'c1', content: 'done' },
  ];

  it('omits functionCall/functionResponse ids and adds no placeholder signature for Gemini 2.x', () => {
    const contents = upstream({ model: 'gemini-2.5-flash', messages: history }).contents as { parts: Record<string, unknown>[] }[];
    assert.deepEqual(contents[1]?.parts, [{ functionCall: { name: 'a', args: { x: 1 } } }]);
    assert.deepEqual(contents[2]?.parts, [{ functionResponse: { name: 'a', response: { output: 'done' } } }]);
  });

  it('sends ids and the documented placeholder signature for Gemini 3', () => {
    const contents = upstream({ model: 'gemini-3-pro-preview', messages: history }).contents as { parts: Record<string, unknown>[] }[];
    assert.deepEqual(contents[1]?.parts, [{ functionCall: { name: 'a', args: { x: 1 }, id: 'c1' }, thoughtSignature: 'skip_thought_signature_validator' }]);
    assert.deepEqual(contents[2]?.parts, [{ functionResponse: { name: 'a', id: 'c1', response: { output: 'done' } } }]);
  });

  it('classifies model names', () => {
    for (const legacy of ['gemini-2.5-flash', 'gemini-2.0-flash-001', 'gemini-1.5-pro', 'models/gemini-2.5-pro', 'gemini-2.5-flash-lite']) {
      assert.equal(geminiGeneration(legacy), 'legacy', legacy);
    }
    for (const current of ['gemini-3-pro-preview', 'gemini-3.1-flash', 'gemini-flash-latest', 'my-tuned-model', 'gemini-20-ultra']) {
      assert.equal(geminiGeneration(current), 'current', current);
    }
  });

  it('round-trips any base64 signature through the tool call id, within [A-Za-z0-9_-]', () => {
    for (let length = 1; length < 40; length += 1) {
      const signature = Buffer.from(Array.from({ length }, (_, index) => (index * 97 + length * 31) % 256)).toString('base64');
      const id = encodeToolCallId('call_x', signature);
      assert.match(id, /^[A-Za-z0-9_-]+$/);
      assert.deepEqual(decodeToolCallId(id), { id: 'call_x', signature });
    }
    assert.deepEqual(decodeToolCallId('plain_id'), { id: 'plain_id', signature: undefined });
  });

  it('passes JSON object tool results as the response and wraps anything else', () => {
    const contents = upstream({
      messages: [
        user,
        { role: 'assistant', tool_calls: [
          { id: 'c1', type: 'function', function: { name: 'a', arguments: '{}' } },
          { id: 'c2', type: 'function', function: { name: 'b', arguments: '{}' } },
        ] },
        { role: 'tool', tool_call_id: 'c1', content: '{"ok":true}' },
        { role: 'tool', tool_call_id: 'c2', content: '[1,2]' },
        { role: 'function', name: 'legacy_fn', content: 'old style' },
      ],
    }).contents as { role: string; parts: { functionResponse: { name: string; response: unknown } }[] }[];
    assert.equal(contents.length, 3);
    assert.deepEqual(contents[2]?.parts.map((part) => [part.functionResponse.name, part.functionResponse.response]), [
      ['a', { ok: true }],
      ['b', { output: '[1,2]' }],
      ['legacy_fn', { output: 'old style' }],
    ]);
  });

  it('rejects invalid tool call arguments and unknown roles', () => {
    rejects({ messages: [user, { role: 'assistant', tool_calls: [{ id: 'c', type: 'function', function: { name: 'a', arguments: '{oops' } }] }] }, /JSON object/);
    rejects({ messages: [{ role: 'critic', content: 'x' }] }, /unknown message role/);
    rejects({ messages: [{ role: 'system', content: 'only a system prompt' }] }, /at least one user or assistant/);
  });
});

describe('gemini request: parameters and path', () => {
  it('maps sampling and output settings', () => {
    const out = upstream({ messages: [user], stop: ['a', 'b'], n: 3, presence_penalty: 0.5, frequency_penalty: -0.5, max_tokens: 9 });
    assert.deepEqual(out.generationConfig, { stopSequences: ['a', 'b'], maxOutputTokens: 9, candidateCount: 3, presencePenalty: 0.5, frequencyPenalty: -0.5 });
  });

  it('maps every reasoning_effort for both generations and rejects unknown values', () => {
    const efforts = ['none', 'minimal', 'low', 'medium', 'high'];
    const legacy = efforts.map((effort) => (upstream({ model: 'gemini-2.5-flash', messages: [user], reasoning_effort: effort }).generationConfig as Record<string, unknown>).thinkingConfig);
    assert.deepEqual(legacy, [
      { thinkingBudget: 0, includeThoughts: false },
      { thinkingBudget: 512, includeThoughts: true },
      { thinkingBudget: 1024, includeThoughts: true },
      { thinkingBudget: 8192, includeThoughts: true },
      { thinkingBudget: 24576, includeThoughts: true },
    ]);
    const current = efforts.map((effort) => (upstream({ model: 'gemini-3-pro', messages: [user], reasoning_effort: effort }).generationConfig as Record<string, unknown>).thinkingConfig);
    assert.deepEqual(current.map((config) => (config as Record<string, unknown>).thinkingLevel), ['minimal', 'minimal', 'low', 'medium', 'high']);
    rejects({ messages: [user], reasoning_effort: 'extreme' }, /reasoning_effort must be one of/);
    rejects({ messages: [user], reasoning_effort: 'constructor' }, /reasoning_effort must be one of/);
  });

  it('lets the thinking vendor field win over reasoning_effort', () => {
    const out = upstream({ messages: [user], reasoning_effort: 'high', thinking: { type: 'disabled' } });
    assert.deepEqual((out.generationConfig as Record<string, unknown>).thinkingConfig, { thinkingBudget: 0, includeThoughts: false });
    const native = upstream({ messages: [user], thinking: { thinkingLevel: 'high', includeThoughts: false, junk: 1 } });
    assert.deepEqual((native.generationConfig as Record<string, unknown>).thinkingConfig, { thinkingLevel: 'high', includeThoughts: false });
  });

  it('rejects mistyped parameters with the parameter named', () => {
    assert.throws(() => translator.request(context({ messages: [user], temperature: 'hot' })), (error: unknown) => GatewayError.isInstance(error) && error.param === 'temperature');
    rejects({ messages: [user], stop: [1] }, /"stop"/);
    rejects({ messages: [user], safetySettings: 'strict' }, /safetySettings/);
    rejects({ messages: [user], response_format: { type: 'json_schema', json_schema: { name: 'x' } } }, /schema is required/);
  });

  it('rejects media Gemini cannot take', () => {
    const image = (url: string) => ({ messages: [{ role: 'user', content: [{ type: 'image_url', image_url: { url } }] }] });
    rejects(image('ftp://example.com/a.png'), /scheme "ftp:"/);
    rejects(image('data:image/png,rawbytes'), /base64/);
    rejects(image('not a url'), /data URL or an http/);
    rejects({ messages: [{ role: 'user', content: [{ type: 'file', file: { file_id: 'file-1' } }] }] }, /file ids are not supported/);
    rejects({ messages: [{ role: 'user', content: [{ type: 'video', video: {} }] }] }, /"video" is not supported/);
  });

  it('builds Vertex and Gemini API paths, streaming included, with the model escaped', () => {
    const vertex = translator.request(context({ messages: [user], stream: true }, { upstreamModel: 'models/gemini 2.5' }));
    assert.equal(vertex.path, '/v1/projects/p/locations/europe-west4/publishers/google/models/gemini%202.5:streamGenerateContent?alt=sse');
    const google = translator.request(context({ messages: [user] }, { backend: { ...backend, schema: 'GoogleAI', credentials: { googleApiKey: Secret.of('k') } } }));
    assert.equal(google.path, '/v1beta/models/gemini-2.5-flash:generateContent');
  });
});

describe('gemini response and stream edge cases', () => {
  const bytes = (value: unknown) => new TextEncoder().encode(typeof value === 'string' ? value : JSON.stringify(value));

  it('turns a 200 carrying an error object or garbage into an error, never a success', () => {
    const ctx = context({ messages: [user] });
    const errored = translator.response(ctx, bytes({ error: { code: 429, message: 'quota', status: 'RESOURCE_EXHAUSTED' } }), new Map());
    assert.deepEqual(errored.error, { status: 429, message: 'quota', type: 'RESOURCE_EXHAUSTED', code: '429' });
    const garbage = translator.response(ctx, bytes('<html>'), new Map());
    assert.equal(garbage.error?.status, 502);
    const empty = translator.response(ctx, bytes({ candidates: [] }), new Map());
    assert.equal(empty.error?.status, 502);
  });

  it('keeps candidate indexes apart in a stream and finishes each one', () => {
    const ctx = context({ messages: [user], stream: true, n: 2 });
    const stream = translator.stream(ctx, new Map());
    const event = (value: unknown) => bytes(`data: ${JSON.stringify(value)}\n\n`);
    let text = new TextDecoder().decode(stream.push(event({ candidates: [{ index: 0, content: { parts: [{ text: 'A' }] } }, { index: 1, content: { parts: [{ text: 'B' }] } }] })).body);
    text += new TextDecoder().decode(stream.push(event({ candidates: [{ index: 1, finishReason: 'STOP' }, { index: 0, finishReason: 'MAX_TOKENS' }] })).body);
    const end = stream.end();
    assert.equal(end.error, undefined);
    text += new TextDecoder().decode(end.body);
    const chunks = text.split('\n\n').filter((line) => line.startsWith('data: {')).map((line) => JSON.parse(line.slice(6)) as { choices: { index: number; delta: Record<string, unknown>; finish_reason: string | null }[] });
    const choices = chunks.flatMap((chunk) => chunk.choices);
    assert.deepEqual(choices.map((choice) => [choice.index, choice.delta.role ?? null, choice.delta.content ?? null, choice.finish_reason]), [
      [0, 'assistant', 'A', null],
      [1, 'assistant', 'B', null],
      [1, null, null, 'stop'],
      [0, null, null, 'length'],
    ]);
    assert.ok(text.endsWith('data: [DONE]\n\n'));
    assert.equal(stream.end().body.length, 0);
  });

  it('reports an empty 200 stream as an error', () => {
    const stream = translator.stream(context({ messages: [user], stream: true }), new Map());
    assert.equal(stream.push(new Uint8Array(0)).body.length, 0);
    const end = stream.end();
    assert.equal(end.error?.status, 502);
    assert.match(new TextDecoder().decode(end.body), /^data: \{"error"/);
  });
});
