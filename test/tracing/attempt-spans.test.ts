/**
 * Attempt spans with envoy.attemptResponseHeaders (Envoy >= 1.37): the upstream-level filter sees each attempt's
 * response headers, so a retried attempt's span carries its status and why it was retried (status_503 after a
 * 503, reset_or_timeout after a reset before any response headers), and the answering attempt's span its status.
 * Non-streamed and streamed, end to end through the Envoy stand-in, with an in-memory exporter; the retries are
 * counted by backend and reason. Without the setting the reason stays envoy_retry_on (test/tracing/llm-spans.test.ts).
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { ReadableSpan } from '@opentelemetry/sdk-trace-base';
import { SpanStatusCode } from '@opentelemetry/api';
import { startGateway, type Gateway } from '../helpers/gateway-harness.js';
import { startHttpMock, sseEvent, type HttpMock, type MockReply } from '../mocks/http-mock.js';
import { parentSpanId, SpanCollector } from '../helpers/span-collector.js';

const TIMEOUT = 60_000;
const PARENT_SPAN_ID = '00f067aa0ba902b7';

const COMPLETION = {
  id: 'chatcmpl-attempt-1',
  object: 'chat.completion',
  created: 1,
  model: 'gpt-upstream',
  choices: [{ index: 0, message: { role: 'assistant', content: 'fine' }, finish_reason: 'stop' }],
  usage: { prompt_tokens: 3, completion_tokens: 1, total_tokens: 4 },
};

const chunk = (content: string | undefined, finish: string | null): string =>
  sseEvent({ id: 'chatcmpl-attempt-s', object: 'chat.completion.chunk', created: 1, model: 'gpt-upstream', choices: [{ index: 0, delta: content === undefined ? {} : { content }, finish_reason: finish }] });

const STREAM: MockReply = { kind: 'sse', chunks: [chunk('fi', null), chunk('ne', null), chunk(undefined, 'stop'), 'data: [DONE]\n\n'] };

const CONFIG = `
backends:
  - { name: main, schema: OpenAI, endpoint: https://api.openai.example, auth: { apiKey: { value: sk-attempt-secret } } }
  - { name: busy, schema: OpenAI, endpoint: https://busy.example.com }
  - { name: cut, schema: OpenAI, endpoint: https://cut.example.com }
models:
  - name: after-503
    backends:
      - { backend: busy, priority: 0 }
      - { backend: main, modelNameOverride: gpt-upstream, priority: 1 }
  - name: after-reset
    backends:
      - { backend: cut, priority: 0 }
      - { backend: main, modelNameOverride: gpt-upstream, priority: 1 }
  - { name: only-busy, backends: [{ backend: busy }] }
envoy:
  upstreamFilter: true
  attemptResponseHeaders: true
`;

/** The request span of a trace (the child of the caller's span) and its attempt spans, in attempt order. */
async function spansOf(spans: SpanCollector, traceId: string): Promise<{ request: ReadableSpan; attempts: ReadableSpan[] }> {
  const request = await spans.waitFor((span) => span.spanContext().traceId === traceId && parentSpanId(span) === PARENT_SPAN_ID);
  const attempts = spans
    .trace(traceId)
    .filter((span) => parentSpanId(span) === request.spanContext().spanId)
    .sort((a, b) => Number(a.attributes['llm_extproc.attempt.number']) - Number(b.attributes['llm_extproc.attempt.number']));
  return { request, attempts };
}

describe('attempt spans with envoy.attemptResponseHeaders: status and retry reason of each attempt', { timeout: TIMEOUT }, () => {
  let spans: SpanCollector;
  let main: HttpMock;
  let busy: HttpMock;
  let cut: HttpMock;
  let gateway: Gateway;
  let traces = 0;

  before(async () => {
    spans = new SpanCollector();
    main = await startHttpMock({ kind: 'json', body: COMPLETION });
    busy = await startHttpMock({ kind: 'json', status: 503, body: { error: { message: 'overloaded', type: 'server_error' } } });
    cut = await startHttpMock({ kind: 'reset' });
    gateway = await startGateway({ configYaml: CONFIG, upstreams: { main: main.url, busy: busy.url, cut: cut.url }, spanExporter: spans, envoy: { numRetries: 2 } });
  });
  after(async () => {
    await gateway.close();
    await Promise.all([main.close(), busy.close(), cut.close()]);
    assert.ok(!JSON.stringify(spans.getFinishedSpans().map((span) => span.attributes)).includes('sk-attempt-secret'));
  });

  /** Sends a request in a fresh trace; returns its trace id once the client has the whole answer. */
  async function post(model: string, stream: boolean, expectStatus: number): Promise<string> {
    traces += 1;
    const traceId = `${String(traces).padStart(2, '0')}f92f3577b34da6a3ce929d0e0e4736`;
    const response = await fetch(`${gateway.baseURL}/chat/completions`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', traceparent: `00-${traceId}-${PARENT_SPAN_ID}-01` },
      body: JSON.stringify({ model, stream, messages: [{ role: 'user', content: 'hi' }] }),
    });
    const text = await response.text();
    assert.equal(response.status, expectStatus, text);
    if (stream && expectStatus === 200) assert.match(text, /data: \[DONE\]/);
    return traceId;
  }

  function assertRetried(span: ReadableSpan | undefined, name: string, reason: string, status: number | undefined): void {
    assert.ok(span, `no span ${name}`);
    assert.equal(span.name, name);
    assert.equal(span.attributes['llm_extproc.attempt.outcome'], 'retried');
    assert.equal(span.attributes['llm_extproc.attempt.retry_reason'], reason);
    assert.equal(span.attributes['http.response.status_code'], status);
    assert.equal(span.attributes['error.type'], 'retried');
    assert.equal(span.status.code, SpanStatusCode.ERROR);
    assert.equal(span.status.message, reason);
  }

  function assertAnswered(span: ReadableSpan | undefined, name: string, status: number): void {
    assert.ok(span, `no span ${name}`);
    assert.equal(span.name, name);
    assert.equal(span.attributes['llm_extproc.attempt.outcome'], 'response');
    assert.equal(span.attributes['http.response.status_code'], status);
    assert.equal(span.attributes['llm_extproc.attempt.retry_reason'], undefined);
  }

  for (const stream of [false, true]) {
    const kind = stream ? 'streamed' : 'non-streamed';

    it(`${kind}: a 503 retried to the next priority, status_503 on the failed attempt, 200 on the fallback`, { timeout: TIMEOUT }, async () => {
      main.setScript(stream ? STREAM : { kind: 'json', body: COMPLETION });
      const { request, attempts } = await spansOf(spans, await post('after-503', stream, 200));
      assert.equal(request.attributes['llm_extproc.backend'], 'main');
      assert.equal(request.attributes['llm_extproc.attempts'], 2);
      assert.equal(attempts.length, 2);
      assertRetried(attempts[0], 'attempt 1 busy', 'status_503', 503);
      assertAnswered(attempts[1], 'attempt 2 main', 200);
      // Each attempt's response headers were answered with a plain CONTINUE on that attempt's own stream.
      await gateway.envoy.settled();
      const upstream = (gateway.envoy.requests.at(-1)?.streams ?? []).filter((record) => record.level === 'upstream');
      assert.deepEqual(upstream.map((record) => record.sent.map((message) => (message.request_headers ? 'request_headers' : message.response_headers ? 'response_headers' : 'other'))), [['request_headers', 'response_headers'], ['request_headers', 'response_headers']]);
      for (const record of upstream) assert.deepEqual(record.received.at(-1)?.response_headers, { response: {} });
    });

    it(`${kind}: a reset before response headers, reset_or_timeout on the failed attempt and no status`, { timeout: TIMEOUT }, async () => {
      main.setScript(stream ? STREAM : { kind: 'json', body: COMPLETION });
      const { attempts } = await spansOf(spans, await post('after-reset', stream, 200));
      assert.equal(attempts.length, 2);
      assertRetried(attempts[0], 'attempt 1 cut', 'reset_or_timeout', undefined);
      assertAnswered(attempts[1], 'attempt 2 main', 200);
    });
  }

  it('a 503 retried on the same backend until retries run out: each retried attempt status_503, the last one answered 503', { timeout: TIMEOUT }, async () => {
    const { request, attempts } = await spansOf(spans, await post('only-busy', false, 503));
    assert.equal(request.attributes['llm_extproc.attempts'], 3);
    assert.equal(attempts.length, 3);
    assertRetried(attempts[0], 'attempt 1 busy', 'status_503', 503);
    assertRetried(attempts[1], 'attempt 2 busy', 'status_503', 503);
    const last = attempts[2];
    assert.equal(last?.attributes['llm_extproc.attempt.outcome'], 'response');
    assert.equal(last?.attributes['http.response.status_code'], 503);
  });

  it('counts retried attempts by the failed backend and the reason', { timeout: TIMEOUT }, async () => {
    const text = await gateway.metrics.metrics();
    const count = (labels: string): number => Number(new RegExp(`^llm_extproc_upstream_retried_attempts_total\\{${labels}\\} (\\d+)$`, 'm').exec(text)?.[1] ?? 'NaN');
    // Two after-503 requests and one only-busy request with two retries: four; two after-reset requests.
    assert.equal(count('backend="busy",reason="status_503"'), 4);
    assert.equal(count('backend="cut",reason="reset_or_timeout"'), 2);
    assert.doesNotMatch(text, /reason="envoy_retry_on"/);
  });
});
