/** Edge cases of the OpenAI -> Bedrock Converse translator that golden fixtures cannot express. */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { ResolvedBackend } from '../../src/config/load.js';
import { GatewayError } from '../../src/core/errors.js';
import { bedrockConverseTranslator } from '../../src/translators/bedrock/index.js';
import { compactBlockDelta } from '../../src/translators/bedrock/stream-mapper.js';
import type { RequestContext } from '../../src/translators/types.js';
import { encodeEventStream, encodeFrame } from '../helpers/aws-eventstream.js';
import { testBackend, testContext } from '../helpers/request-context.js';

const backend: ResolvedBackend = testBackend({ name: 'bedrock', schema: 'AWSBedrock', endpoint: 'https://bedrock-runtime.us-east-1.amazonaws.com' });

function deepFreeze<T>(value: T): T {
  if (typeof value === 'object' && value !== null) {
    for (const entry of Object.values(value)) deepFreeze(entry);
    Object.freeze(value);
  }
  return value;
}

function context(body: Record<string, unknown>, stream = false): RequestContext {
  return testContext(deepFreeze(body), { backend, requestModel: 'claude', upstreamModel: 'anthropic.claude-3-5-sonnet-20240620-v1:0', stream });
}

const event = (type: string, body: unknown) => ({ headers: { ':event-type': type, ':message-type': 'event', ':content-type': 'application/json' }, body });
const text = (bytes: Uint8Array) => new TextDecoder().decode(bytes);

describe('bedrock converse translator', () => {
  it('builds the request from a frozen body without mutating it', () => {
    const body = {
      model: 'claude',
      messages: [
        { role: 'system', content: [{ type: 'text', text: 'sys', cache_control: { type: 'ephemeral' } }] },
        { role: 'user', content: 'hi' },
      ],
      tools: [{ type: 'function', function: { name: 'f', parameters: { type: 'object', properties: { a: { type: 'string' } } } } }],
    };
    const before = JSON.stringify(body);
    const upstream = bedrockConverseTranslator.request(context(body));
    assert.equal(JSON.stringify(body), before);
    assert.equal(upstream.path, '/model/anthropic.claude-3-5-sonnet-20240620-v1%3A0/converse');
    const sent = JSON.parse(text(upstream.body)) as { toolConfig: { tools: { toolSpec: { inputSchema: { json: unknown } } }[] } };
    assert.deepEqual(sent.toolConfig.tools[0]?.toolSpec.inputSchema.json, body.tools[0]?.function.parameters);
  });

  it('uses /converse-stream for streaming clients', () => {
    const upstream = bedrockConverseTranslator.request(context({ model: 'claude', stream: true, messages: [{ role: 'user', content: 'hi' }] }, true));
    assert.equal(upstream.path, '/model/anthropic.claude-3-5-sonnet-20240620-v1%3A0/converse-stream');
    assert.equal(upstream.setHeaders['accept'], 'application/vnd.amazon.eventstream');
  });

  it('rejects input Bedrock cannot take with a 422 GatewayError', () => {
    const cases: Record<string, unknown>[] = [
      { messages: [{ role: 'system', content: 'only a system prompt' }] },
      { messages: [{ role: 'user', content: 'x' }], n: 2 },
      { messages: [{ role: 'user', content: 'x' }], tool_choice: 'required' },
      { messages: [{ role: 'assistant', content: null, tool_calls: [{ id: 'a', type: 'function', function: { name: 'f', arguments: '{oops' } }] }] },
      { messages: [{ role: 'user', content: [{ type: 'input_audio', input_audio: { data: 'AAAA', format: 'wav' } }] }] },
    ];
    for (const body of cases) {
      assert.throws(
        () => bedrockConverseTranslator.request(context({ model: 'claude', ...body })),
        (error: unknown) => GatewayError.isInstance(error) && error.status === 422,
        JSON.stringify(body),
      );
    }
  });

  it('reports a non-JSON 200 body as an error, not an empty success', () => {
    const result = bedrockConverseTranslator.response(context({ model: 'claude', messages: [] }), new TextEncoder().encode('<html>oops</html>'), new Map());
    assert.equal(result.error?.status, 502);
    assert.match(text(result.body ?? new Uint8Array()), /"error"/);
  });

  it('turns a corrupt frame into an error chunk and stops', () => {
    const stream = bedrockConverseTranslator.stream(context({ model: 'claude', stream: true, messages: [] }, true), new Map());
    const good = encodeEventStream([event('messageStart', { role: 'assistant' }), event('contentBlockDelta', { contentBlockIndex: 0, delta: { text: 'ok' } })]);
    const bad = encodeFrame(event('contentBlockDelta', { contentBlockIndex: 0, delta: { text: 'lost' } }));
    bad[bad.length - 1] = (bad[bad.length - 1] as number) ^ 0xff;
    const first = stream.push(good);
    assert.match(text(first.body), /"content":"ok"/);
    const second = stream.push(bad);
    assert.equal(second.error?.status, 502);
    assert.match(text(second.body), /^data: \{"error":\{"message":"Bedrock sent a corrupt event-stream frame/);
    const rest = stream.push(encodeFrame(event('messageStop', { stopReason: 'end_turn' })));
    assert.equal(rest.body.length, 0);
    const end = stream.end();
    assert.equal(text(end.body), '', 'no [DONE] after an error');
  });

  it('reports a stream cut inside a frame as an error at the end', () => {
    const stream = bedrockConverseTranslator.stream(context({ model: 'claude', stream: true, messages: [] }, true), new Map());
    const bytes = encodeEventStream([event('messageStart', { role: 'assistant' }), event('contentBlockDelta', { contentBlockIndex: 0, delta: { text: 'partial' } })]);
    stream.push(bytes.subarray(0, bytes.length - 5));
    const end = stream.end();
    assert.equal(end.error?.status, 502);
    assert.match(text(end.body), /cut off/);
    assert.doesNotMatch(text(end.body), /\[DONE\]/);
  });

  it('maps a generic event-stream error frame', () => {
    const stream = bedrockConverseTranslator.stream(context({ model: 'claude', stream: true, messages: [] }, true), new Map());
    const step = stream.push(encodeFrame({ headers: { ':message-type': 'error', ':error-code': 'InternalServerException', ':error-message': 'oops' }, body: '' }));
    assert.deepEqual(step.error, { status: 500, message: 'oops', type: 'InternalServerException' });
  });

  it('answers a keep-alive-free upstream with empty steps until frames complete', () => {
    const stream = bedrockConverseTranslator.stream(context({ model: 'claude', stream: true, messages: [] }, true), new Map());
    const frame = encodeFrame(event('messageStart', { role: 'assistant' }));
    const partial = stream.push(frame.subarray(0, 10));
    assert.equal(partial.body.length, 0);
    assert.equal(partial.usage, undefined);
    const complete = stream.push(frame.subarray(10));
    assert.match(text(complete.body), /"role":"assistant"/);
  });
});

describe('compactBlockDelta (Bedrock text deltas read without JSON.parse)', () => {
  const delta = (index: string, text: string, rest = '}') => `{"contentBlockIndex":${index},"delta":{"text":"${text}"}${rest}`;

  it('gives what JSON.parse gives for compact text deltas, with or without padding', () => {
    for (const data of [delta('0', 'Hello'), delta('2', ''), delta('0', 'ça ☃ 😀 \u2028', ',"p":"abcdefghijklmnop"}'), delta('12', 'x', ',"p":""}')]) {
      assert.deepStrictEqual(compactBlockDelta(data), JSON.parse(data), data);
    }
  });

  it('leaves everything else to the parser', () => {
    for (const data of [
      delta('0', 'say \\"hi\\"'),
      delta('0', 'a\\nb'),
      delta('01', 'x'),
      delta('0', 'x', ',"p":"a\\"b"}'),
      delta('0', 'x', ',"p":"ab","q":1}'),
      delta('0', 'x', ', "p":"ab"}'),
      delta('0', 'x', '}\n'),
      '{"contentBlockIndex":0,"delta":{"toolUse":{"input":"{}"}}}',
      '{"contentBlockIndex":0,"delta":{"reasoningContent":{"text":"hm"}}}',
      '{"delta":{"text":"x"},"contentBlockIndex":0}',
    ]) {
      assert.equal(compactBlockDelta(data), undefined, data);
    }
  });

  it('translates a stream the same with text deltas read either way', () => {
    const frames = (spaced: boolean) => {
      const body = (value: object) => (spaced ? JSON.stringify(value, null, 1) : JSON.stringify(value));
      return encodeEventStream([
        { headers: { ':event-type': 'messageStart', ':message-type': 'event' }, body: body({ role: 'assistant', p: 'ab' }) },
        { headers: { ':event-type': 'contentBlockDelta', ':message-type': 'event' }, body: body({ contentBlockIndex: 0, delta: { text: 'Hel' }, p: 'abcd' }) },
        { headers: { ':event-type': 'contentBlockDelta', ':message-type': 'event' }, body: body({ contentBlockIndex: 0, delta: { text: 'lo ☃' } }) },
        { headers: { ':event-type': 'contentBlockStop', ':message-type': 'event' }, body: body({ contentBlockIndex: 0 }) },
        { headers: { ':event-type': 'messageStop', ':message-type': 'event' }, body: body({ stopReason: 'end_turn' }) },
        { headers: { ':event-type': 'metadata', ':message-type': 'event' }, body: body({ usage: { inputTokens: 5, outputTokens: 3, totalTokens: 8 } }) },
      ]);
    };
    const run = (bytes: Uint8Array) => {
      const stream = bedrockConverseTranslator.stream(context({ model: 'claude', stream: true, messages: [] }, true), new Map());
      const first = stream.push(bytes);
      const last = stream.end();
      return { text: new TextDecoder().decode(Buffer.concat([first.body, last.body])), delivered: `${first.deliveredText ?? ''}${last.deliveredText ?? ''}`, usage: last.usage ?? first.usage };
    };
    const compact = run(frames(false));
    assert.deepStrictEqual(compact, run(frames(true)));
    assert.equal(compact.delivered, 'Hello ☃');
  });
});
