import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { ResolvedBackend } from '../../src/config/load.js';
import { GatewayError } from '../../src/core/errors.js';
import { LimitExceededError } from '../../src/core/limit-error.js';
import { findShippedTranslator } from '../helpers/components.js';
import { testBackend } from '../helpers/request-context.js';
import type { RequestContext, Translator } from '../../src/translators/types.js';

const encoder = new TextEncoder();
const decoder = new TextDecoder();

function backend(overrides: Partial<ResolvedBackend> = {}): ResolvedBackend {
  return testBackend({ name: 'b', schema: 'OpenAI', endpoint: 'https://example.test', ...overrides });
}

function context(raw: string, overrides: Partial<RequestContext> = {}): RequestContext {
  const body = JSON.parse(raw.replace(/^\uFEFF/, '')) as Record<string, unknown>;
  const model = typeof body.model === 'string' ? body.model : '';
  return {
    clientApi: 'openai',
    operation: 'chat',
    rawBody: encoder.encode(raw),
    body,
    backend: backend(),
    requestModel: model,
    upstreamModel: model,
    stream: body.stream === true,
    forceIncludeUsage: false,
    now: () => 0,
    generateId: () => 'id',
    ...overrides,
  };
}

const translator = findShippedTranslator('openai', 'chat', 'OpenAI') as Translator;
const raw = '{ "model" : "gpt-4o",\n  "messages":[{"role":"user","content":"\\"model\\": \\"x\\" 🎉"}], "n": 1.0, "stream": true }';

describe('OpenAI translator: request', () => {
  it('is registered for chat, completion and embeddings', () => {
    for (const operation of ['chat', 'completion', 'embeddings'] as const) assert.equal(findShippedTranslator('openai', operation, 'OpenAI'), translator);
  });

  it('passes the client bytes through untouched when nothing must change', () => {
    const ctx = context(raw);
    const upstream = translator.request(ctx);
    assert.equal(upstream.body, ctx.rawBody);
    assert.equal(upstream.path, '/v1/chat/completions');
    assert.deepStrictEqual(upstream.setHeaders, { 'content-type': 'application/json' });
  });

  it('replaces only the model bytes on override', () => {
    const upstream = translator.request(context(raw, { upstreamModel: 'gpt-4o-2024-08-06' }));
    assert.equal(decoder.decode(upstream.body), raw.replace('"gpt-4o"', '"gpt-4o-2024-08-06"'));
  });

  it('forces stream_options.include_usage with minimal edits, keeping other fields', () => {
    const forced = { forceIncludeUsage: true, stream: true };
    assert.equal(decoder.decode(translator.request(context(raw, forced)).body), raw.replace(' }', ',"stream_options":{"include_usage":true} }'));
    const withOptions = '{"model":"m","stream":true,"stream_options":{ "include_obfuscation": false, "include_usage": false }}';
    assert.equal(
      decoder.decode(translator.request(context(withOptions, forced)).body),
      '{"model":"m","stream":true,"stream_options":{ "include_obfuscation": false, "include_usage": true }}',
    );
    const already = '{"model":"m","stream":true,"stream_options":{"include_usage":true}}';
    const ctx = context(already, forced);
    assert.equal(translator.request(ctx).body, ctx.rawBody);
    const nullOptions = '{"model":"m","stream":true,"stream_options":null}';
    assert.deepStrictEqual(JSON.parse(decoder.decode(translator.request(context(nullOptions, forced)).body)).stream_options, { include_usage: true });
  });

  it('does not touch stream_options for backends that reject them, or when not forced or not streaming', () => {
    for (const overrides of [
      { forceIncludeUsage: true, stream: true, backend: backend({ streamOptions: false }) },
      { forceIncludeUsage: false, stream: true },
      { forceIncludeUsage: true, stream: false },
    ]) {
      const ctx = context(raw, overrides);
      assert.equal(translator.request(ctx).body, ctx.rawBody);
    }
  });

  it('falls back to re-serialising a body the byte scanner cannot read (leading BOM)', () => {
    const body = translator.request(context('\uFEFF{"model":"a","stream":true}', { upstreamModel: 'b', forceIncludeUsage: true, stream: true })).body;
    assert.deepStrictEqual(JSON.parse(decoder.decode(body)), { model: 'b', stream: true, stream_options: { include_usage: true } });
  });

  it('builds paths from the prefix', () => {
    assert.equal(translator.request(context(raw, { backend: backend({ prefix: '' }) })).path, '/chat/completions');
    assert.equal(translator.request(context(raw, { backend: backend({ prefix: '/openai/v1/' }), operation: 'embeddings' })).path, '/openai/v1/embeddings');
    assert.equal(translator.request(context(raw, { operation: 'completion' })).path, '/v1/completions');
    assert.throws(() => translator.request(context(raw, { operation: 'messages' })), GatewayError);
  });
});

describe('OpenAI translator: response', () => {
  const ctx = context(raw);
  const headers = new Map<string, string>();
  const respond = (text: string) => translator.response(ctx, encoder.encode(text), headers);

  it('treats null, arrays, strings, empty and invalid JSON as no usage without failing', () => {
    for (const text of ['null', '[]', '"x"', '', '{"usage":null}', '{"usage":"many"}']) {
      const result = respond(text);
      assert.equal(result.usage, undefined, text);
      assert.equal(result.body, undefined, text);
    }
    assert.equal(respond('{not json').warnings?.[0]?.kind, 'invalid_upstream_json');
  });

  it('reads embeddings usage and the response model', () => {
    const result = respond('{"object":"list","data":[],"model":"text-embedding-3-small","usage":{"prompt_tokens":8,"total_tokens":8}}');
    assert.deepStrictEqual(result.usage, { inputTokens: 8, outputTokens: 0, totalTokens: 8, cachedInputTokens: 0, cacheCreationInputTokens: 0, reasoningTokens: 0 });
    assert.equal(result.responseModel, 'text-embedding-3-small');
  });

  it('reports a 2xx body that carries only an error', () => {
    const result = respond('{"error":{"message":"boom","type":"server_error","code":503}}');
    assert.deepStrictEqual(result.error, { status: 503, message: 'boom', type: 'server_error' });
    assert.equal(respond('{"choices":[],"error":null}').error, undefined);
  });
});

describe('OpenAI translator: error', () => {
  const ctx = context(raw);
  const headers = new Map<string, string>();

  it('passes an OpenAI-shaped error through unchanged, status kept', () => {
    const body = encoder.encode('{"error":{"message":"Invalid","type":"invalid_request_error","param":"model","code":null}}');
    const result = translator.error(ctx, 400, body, headers);
    assert.equal(result.body, body);
    assert.equal(result.status, 400);
  });

  it('wraps HTML in an OpenAI error with a short, tag-free excerpt', () => {
    const html = `<html><head><script>var secret = "do-not-show";</script><title>Service Unavailable</title></head><body>${'<p>Please retry later.</p>'.repeat(400)}</body></html>`;
    const result = translator.error(ctx, 503, encoder.encode(html), headers);
    const parsed = JSON.parse(decoder.decode(result.body)) as { error: { message: string; type: string; param: null; code: null } };
    assert.equal(result.status, 503);
    assert.equal(parsed.error.type, 'server_error');
    assert.equal(parsed.error.param, null);
    assert.equal(parsed.error.code, null);
    assert.match(parsed.error.message, /^upstream returned HTTP 503 with an HTML page: Service Unavailable$/);
    assert.ok(parsed.error.message.length < 300, `message too long: ${parsed.error.message.length}`);
    assert.doesNotMatch(parsed.error.message, /<|do-not-show/);
  });

  it('wraps text, empty bodies and JSON without an error object', () => {
    const message = (status: number, text: string) =>
      (JSON.parse(decoder.decode(translator.error(ctx, status, encoder.encode(text), headers).body)) as { error: { message: string; type: string } }).error;
    assert.deepStrictEqual(message(429, 'Too Many Requests'), { message: 'upstream returned HTTP 429 with a non-JSON body: Too Many Requests', type: 'rate_limit_error', param: null, code: null });
    assert.equal(message(500, '').message, 'upstream returned HTTP 500 with an empty body');
    assert.equal(message(422, '{"detail":[{"loc":["body"],"msg":"bad"}]}').message, 'upstream returned HTTP 422 with a JSON body that holds no error message: {"detail":[{"loc":["body"],"msg":"bad"}]}');
    assert.equal(message(401, '{"message":"bad key"}').type, 'authentication_error');
    assert.equal(message(400, 'null').message, 'upstream returned HTTP 400 with a JSON body that holds no error message: null');
  });
});

describe('OpenAI translator: stream', () => {
  const event = (value: unknown) => `data: ${JSON.stringify(value)}\n\n`;

  it('returns the very input chunk when nothing is hidden, and empty bytes at the end', () => {
    const stream = translator.stream(context(raw), new Map());
    const chunk = encoder.encode(event({ model: 'm', choices: [{ index: 0, delta: { content: 'Hi' } }] }));
    const step = stream.push(chunk);
    assert.equal(step.body, chunk);
    assert.equal(step.deliveredText, 'Hi');
    assert.equal(step.responseModel, 'm');
    const done = encoder.encode('data: [DONE]\n\n');
    assert.equal(stream.push(done).body, done);
    assert.equal(stream.end().body.length, 0);
  });

  it('ends a stream cut off before any finish_reason or [DONE] with an error event', () => {
    const stream = translator.stream(context(raw), new Map());
    stream.push(encoder.encode(event({ model: 'm', choices: [{ index: 0, delta: { content: 'Hi' } }] })));
    const last = stream.end();
    assert.equal(last.error?.status, 502);
    assert.match(decoder.decode(last.body), /^data: \{"error":\{"message":"upstream stream ended before the response was complete"/);
    const finished = translator.stream(context(raw), new Map());
    finished.push(encoder.encode(event({ model: 'm', choices: [{ index: 0, delta: {}, finish_reason: 'stop' }] })));
    assert.equal(finished.end().body.length, 0, 'a finish_reason without [DONE] is a complete answer');
  });

  it('holds back a partial event while hiding usage, then emits it whole', () => {
    const stream = translator.stream(context(raw, { forceIncludeUsage: true }), new Map());
    const text = event({ choices: [{ index: 0, delta: { content: 'Hi' } }], usage: null });
    const first = stream.push(encoder.encode(text.slice(0, 20)));
    assert.equal(first.body.length, 0);
    const second = stream.push(encoder.encode(text.slice(20)));
    assert.equal(decoder.decode(second.body), event({ choices: [{ index: 0, delta: { content: 'Hi' } }] }));
    const usage = stream.push(encoder.encode(event({ choices: [], usage: { prompt_tokens: 3, completion_tokens: 1, total_tokens: 4 } })));
    assert.equal(usage.body.length, 0);
    assert.equal(usage.usage?.totalTokens, 4);
    assert.equal(decoder.decode(stream.push(encoder.encode('data: [DONE]\n\n')).body), 'data: [DONE]\n\n');
  });

  it('forwards whole events only, without hiding too: a partial event waits, the chunk object is kept when whole', () => {
    const stream = translator.stream(context(raw), new Map());
    const text = event({ model: 'm', choices: [{ index: 0, delta: { content: 'Hi' } }] });
    assert.equal(stream.push(encoder.encode(text.slice(0, 25))).body.length, 0);
    assert.equal(decoder.decode(stream.push(encoder.encode(text.slice(25) + text.slice(0, 10))).body), text);
    const cut = stream.end();
    assert.equal(cut.error?.status, 502);
    assert.match(decoder.decode(cut.body), /^data: \{"error"/, 'only the error event: the cut event is never forwarded');
  });

  it('forwards a last event whose CR-only terminator is only certain at the end of the stream', () => {
    const stream = translator.stream(context(raw), new Map());
    const text = 'data: {"model":"m","choices":[{"index":0,"delta":{},"finish_reason":"stop"}]}\r\rdata: [DONE]\r\r';
    const first = decoder.decode(stream.push(encoder.encode(text)).body);
    const last = stream.end();
    assert.equal(first + decoder.decode(last.body), text);
    assert.equal(last.error, undefined);
  });

  it('refuses an event over ctx.maxStreamEventBytes (LimitExceededError) before forwarding any of it', () => {
    const stream = translator.stream(context(raw, { maxStreamEventBytes: 1000 }), new Map());
    const big = event({ model: 'm', choices: [{ index: 0, delta: { content: 'x'.repeat(2000) } }] });
    assert.equal(stream.push(encoder.encode(big.slice(0, 900))).body.length, 0);
    assert.throws(() => stream.push(encoder.encode(big.slice(900))), (error: unknown) => error instanceof LimitExceededError && error.reason === 'upstream_event_too_large');
  });

  it('keeps the usage chunk when the client asked for usage itself', () => {
    const stream = translator.stream(context(raw), new Map());
    const chunk = encoder.encode(event({ choices: [], usage: { prompt_tokens: 3, completion_tokens: 1, total_tokens: 4 } }));
    assert.equal(stream.push(chunk).body, chunk);
  });

  it('reports an error event inside a 200 stream', () => {
    const stream = translator.stream(context(raw), new Map());
    const step = stream.push(encoder.encode(event({ error: { message: 'overloaded', type: 'server_error', code: 503 } })));
    assert.deepStrictEqual(step.error, { status: 503, message: 'overloaded', type: 'server_error' });
  });

  it('keeps the latest usage and ignores empty models (Azure filter chunk)', () => {
    const stream = translator.stream(context(raw), new Map());
    stream.push(encoder.encode(event({ model: 'real', choices: [], usage: { prompt_tokens: 1, completion_tokens: 1, total_tokens: 2 } })));
    const step = stream.push(encoder.encode(event({ model: '', id: '', choices: [], prompt_filter_results: [] })));
    assert.equal(step.responseModel, 'real');
    assert.equal(step.usage?.totalTokens, 2);
  });
});
