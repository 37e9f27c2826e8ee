/**
 * The span of each LLM request, end to end through the Envoy stand-in, with an in-memory exporter: in both
 * upstreamFilter modes and both attribute vocabularies (GenAI conventions, OpenInference), for non-streamed,
 * streamed, failed, fallen-back, client-aborted and upstream-cut requests. The span joins the trace of the
 * request's traceparent, the provider receives the trace context (the attempt's span with the upstream filter,
 * the request's span without), and no credential reaches any attribute.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { ReadableSpan } from '@opentelemetry/sdk-trace-base';
import { SpanStatusCode } from '@opentelemetry/api';
import { startGateway, type Gateway } from '../helpers/gateway-harness.js';
import { startHttpMock, sseEvent, type HttpMock, type MockReply, type RecordedRequest } from '../mocks/http-mock.js';
import { parentSpanId, SpanCollector } from '../helpers/span-collector.js';

const TIMEOUT = 60_000;
const BACKEND_KEY = 'sk-backend-secret-4711';
const CLIENT_KEY = 'sk-client-secret-0815';
const TRACE_ID = '4bf92f3577b34da6a3ce929d0e0e4736';
const PARENT_SPAN_ID = '00f067aa0ba902b7';
const TRACEPARENT = `00-${TRACE_ID}-${PARENT_SPAN_ID}-01`;

const COMPLETION = {
  id: 'chatcmpl-span-1',
  object: 'chat.completion',
  created: 1,
  model: 'gpt-upstream-2025',
  choices: [{ index: 0, message: { role: 'assistant', content: 'The answer is 42.' }, finish_reason: 'stop' }],
  usage: { prompt_tokens: 11, completion_tokens: 5, total_tokens: 16, prompt_tokens_details: { cached_tokens: 4 }, completion_tokens_details: { reasoning_tokens: 2 } },
};

function chunk(content: string | undefined, finish: string | null, usage?: unknown): string {
  return sseEvent({
    id: 'chatcmpl-stream-1',
    object: 'chat.completion.chunk',
    created: 1,
    model: 'gpt-upstream-2025',
    choices: usage ? [] : [{ index: 0, delta: content === undefined ? {} : { content }, finish_reason: finish }],
    ...(usage ? { usage } : {}),
  });
}

const STREAM: MockReply = {
  kind: 'sse',
  chunks: [chunk('Hello', null), chunk(' world', null), chunk(undefined, 'length'), chunk(undefined, null, { prompt_tokens: 9, completion_tokens: 2, total_tokens: 11 }), 'data: [DONE]\n\n'],
};

function config(upstreamFilter: boolean, conventions: string, captureContent: boolean, maxContentChars = 64): string {
  return `
backends:
  - { name: main, schema: OpenAI, endpoint: https://api.openai.example:8443, auth: { apiKey: { value: ${BACKEND_KEY} } } }
  - { name: broken, schema: OpenAI, endpoint: https://broken.example.com, auth: { apiKey: { value: ${BACKEND_KEY} } } }
models:
  - { name: gpt-test, backends: [{ backend: main, modelNameOverride: gpt-upstream }] }
  - name: smart
    backends:
      - { backend: broken, priority: 0 }
      - { backend: main, modelNameOverride: gpt-upstream, priority: 1 }
costs:
  - { metadataKey: llm_total_token, type: TotalToken }
envoy:
  upstreamFilter: ${upstreamFilter}
observability:
  tracing: { conventions: ${conventions}, captureContent: ${captureContent}, maxContentChars: ${maxContentChars} }
  requestHeaders:
    - { header: x-tenant-id, name: tenant }
`;
}

/** Attribute names per vocabulary, for the checks both share. */
const NAMES = {
  genai: { requestModel: 'gen_ai.request.model', responseModel: 'gen_ai.response.model', input: 'gen_ai.usage.input_tokens', output: 'gen_ai.usage.output_tokens', inputContent: 'gen_ai.input.messages', outputContent: 'gen_ai.output.messages' },
  openinference: { requestModel: 'llm.request.model_name', responseModel: 'llm.response.model_name', input: 'llm.token_count.prompt', output: 'llm.token_count.completion', inputContent: 'input.value', outputContent: 'output.value' },
} as const;

function assertNoCredentials(spans: readonly ReadableSpan[]): void {
  for (const span of spans) {
    const text = JSON.stringify({ name: span.name, attributes: span.attributes, events: span.events });
    assert.ok(!text.includes(BACKEND_KEY), `the backend key is in span ${span.name}`);
    assert.ok(!text.includes(CLIENT_KEY), `the client key is in span ${span.name}`);
  }
}

/** The traceparent header an upstream request carried: [trace id, parent span id]. */
function upstreamTraceparent(request: RecordedRequest | undefined): [string, string] {
  const header = request?.headers['traceparent'];
  assert.equal(typeof header, 'string', 'the upstream request carries a traceparent');
  const parts = String(header).split('-');
  return [parts[1] ?? '', parts[2] ?? ''];
}

for (const upstreamFilter of [true, false]) {
  for (const conventions of ['genai', 'openinference'] as const) {
    const names = NAMES[conventions];
    const captureContent = conventions === 'openinference';
    describe(`LLM request spans (upstreamFilter: ${upstreamFilter}, ${conventions})`, { timeout: TIMEOUT }, () => {
      let spans: SpanCollector;
      let main: HttpMock;
      let broken: HttpMock;
      let gateway: Gateway;

      before(async () => {
        spans = new SpanCollector();
        main = await startHttpMock({ kind: 'json', body: COMPLETION });
        broken = await startHttpMock({ kind: 'json', status: 503, body: { error: { message: 'overloaded', type: 'server_error' } } });
        gateway = await startGateway({
          configYaml: config(upstreamFilter, conventions, captureContent),
          upstreams: { main: main.url, broken: broken.url },
          spanExporter: spans,
          envoy: { numRetries: 2 },
        });
      });
      after(async () => {
        await gateway.close();
        await Promise.all([main.close(), broken.close()]);
        assertNoCredentials(spans.getFinishedSpans());
      });

      async function post(body: Record<string, unknown>, headers: Record<string, string> = {}): Promise<Response> {
        return fetch(`${gateway.baseURL}/chat/completions`, {
          method: 'POST',
          headers: { 'content-type': 'application/json', authorization: `Bearer ${CLIENT_KEY}`, ...headers },
          body: JSON.stringify(body),
        });
      }

      const requestSpan = (traceId: string) => spans.waitFor((span) => span.spanContext().traceId === traceId && parentSpanId(span) === PARENT_SPAN_ID);

      it('a non-streamed request: one span in the caller\'s trace, named and attributed, its context sent upstream', { timeout: TIMEOUT }, async () => {
        main.setScript({ kind: 'json', body: COMPLETION });
        const response = await post(
          { model: 'gpt-test', max_tokens: 100, temperature: 0.3, top_p: 0.9, messages: [{ role: 'user', content: `What is six times seven? ${'x'.repeat(200)}` }] },
          { traceparent: TRACEPARENT, tracestate: 'vendor=abc', 'x-tenant-id': 'acme' },
        );
        assert.equal(response.status, 200);
        await response.text();
        const span = await requestSpan(TRACE_ID);
        assert.equal(span.name, 'chat gpt-test');
        const attributes = span.attributes;
        assert.equal(attributes[names.requestModel], 'gpt-test');
        assert.equal(attributes[names.responseModel], 'gpt-upstream-2025');
        assert.equal(attributes[names.input], 11);
        assert.equal(attributes[names.output], 5);
        assert.equal(attributes['tenant'], 'acme');
        assert.equal(attributes['server.address'], 'api.openai.example');
        assert.equal(attributes['server.port'], 8443);
        assert.equal(attributes['http.response.status_code'], 200);
        assert.equal(attributes['error.type'], undefined);
        assert.notEqual(span.status.code, SpanStatusCode.ERROR);
        if (conventions === 'genai') {
          assert.equal(attributes['gen_ai.operation.name'], 'chat');
          assert.equal(attributes['gen_ai.provider.name'], 'openai');
          assert.equal(attributes['gen_ai.response.id'], 'chatcmpl-span-1');
          assert.deepEqual(attributes['gen_ai.response.finish_reasons'], ['stop']);
          assert.equal(attributes['gen_ai.request.max_tokens'], 100);
          assert.equal(attributes['gen_ai.request.temperature'], 0.3);
          assert.equal(attributes['gen_ai.request.top_p'], 0.9);
          assert.equal(attributes['gen_ai.request.stream'], false);
          assert.equal(attributes['gen_ai.usage.cache_read.input_tokens'], 4);
          assert.equal(attributes['gen_ai.usage.reasoning.output_tokens'], 2);
          assert.equal(attributes[names.inputContent], undefined, 'no prompt without capture');
          assert.equal(attributes[names.outputContent], undefined, 'no completion without capture');
        } else {
          assert.equal(attributes['openinference.span.kind'], 'LLM');
          assert.equal(attributes['llm.provider'], 'openai');
          assert.equal(attributes['llm.system'], 'openai');
          assert.equal(attributes['llm.model_name'], 'gpt-upstream-2025');
          assert.equal(attributes['llm.token_count.total'], 16);
          assert.equal(attributes['llm.finish_reason'], 'stop');
          assert.deepEqual(JSON.parse(String(attributes['llm.invocation_parameters'])), { stream: false, max_tokens: 100, temperature: 0.3, top_p: 0.9 });
          const input = String(attributes[names.inputContent]);
          assert.ok(input.startsWith('[{"role":"user"') && input.endsWith('…[truncated]'), `the prompt is recorded, capped: ${input}`);
          assert.equal(input.length, 64);
          const message = String(attributes['llm.input_messages.0.message.content']);
          assert.ok(message.startsWith('What is six times seven?') && message.length === 64, message);
          assert.equal(attributes['llm.input_messages.0.message.role'], 'user');
          assert.equal(attributes[names.outputContent], 'The answer is 42.');
        }
        // The provider continues the same trace, from the attempt's span (upstream filter) or the request's.
        const [traceId, parent] = upstreamTraceparent(main.requests.at(-1));
        assert.equal(traceId, TRACE_ID);
        const children = spans.trace(TRACE_ID).filter((child) => parentSpanId(child) === span.spanContext().spanId);
        if (upstreamFilter) {
          assert.equal(children.length, 1, 'one attempt span');
          const attempt = children[0] as ReadableSpan;
          assert.equal(parent, attempt.spanContext().spanId);
          assert.equal(attempt.name, 'attempt 1 main');
          assert.equal(attempt.attributes['llm_extproc.backend'], 'main');
          assert.equal(attempt.attributes['llm_extproc.attempt.outcome'], 'response');
          assert.equal(attempt.attributes['http.response.status_code'], 200);
        } else {
          assert.equal(children.length, 0);
          assert.equal(parent, span.spanContext().spanId);
        }
        assert.equal(main.requests.at(-1)?.headers['tracestate'], 'vendor=abc', 'tracestate carried on');
      });

      it('a streamed request: first-chunk event and time, finish reasons and usage from the stream', { timeout: TIMEOUT }, async () => {
        main.setScript(STREAM);
        const traceId = '5bf92f3577b34da6a3ce929d0e0e4736';
        const response = await post(
          { model: 'gpt-test', stream: true, stream_options: { include_usage: true }, messages: [{ role: 'user', content: 'Say hello' }] },
          { traceparent: `00-${traceId}-${PARENT_SPAN_ID}-01` },
        );
        assert.equal(response.status, 200);
        assert.ok((await response.text()).includes('world'));
        const span = await requestSpan(traceId);
        assert.equal(span.name, 'chat gpt-test');
        assert.equal(span.attributes[names.input], 9);
        assert.equal(span.attributes[names.output], 2);
        const ttft = span.attributes['gen_ai.response.time_to_first_chunk'];
        assert.equal(typeof ttft, 'number');
        const event = span.events.find((candidate) => candidate.name === 'gen_ai.first_chunk');
        assert.ok(event, 'a first-chunk event');
        if (conventions === 'genai') {
          assert.equal(span.attributes['gen_ai.request.stream'], true);
          assert.equal(span.attributes['gen_ai.response.id'], 'chatcmpl-stream-1');
          assert.deepEqual(span.attributes['gen_ai.response.finish_reasons'], ['length']);
        } else {
          assert.equal(span.attributes['llm.finish_reason'], 'length');
          assert.equal(span.attributes[names.outputContent], 'Hello world');
        }
      });

      it('an upstream error: the span is an error with the status as error.type', { timeout: TIMEOUT }, async () => {
        main.setScript({ kind: 'json', status: 400, body: { error: { message: 'bad request', type: 'invalid_request_error' } } });
        const traceId = '6bf92f3577b34da6a3ce929d0e0e4736';
        const response = await post({ model: 'gpt-test', messages: [{ role: 'user', content: 'hi' }] }, { traceparent: `00-${traceId}-${PARENT_SPAN_ID}-01` });
        assert.equal(response.status, 400);
        await response.text();
        const span = await requestSpan(traceId);
        assert.equal(span.status.code, SpanStatusCode.ERROR);
        assert.equal(span.attributes['error.type'], '400');
        assert.equal(span.attributes['http.response.status_code'], 400);
      });

      it("the service's own error (unknown model): an error span named after the operation", { timeout: TIMEOUT }, async () => {
        const traceId = '7bf92f3577b34da6a3ce929d0e0e4736';
        const response = await post({ model: 'no-such-model', messages: [{ role: 'user', content: 'hi' }] }, { traceparent: `00-${traceId}-${PARENT_SPAN_ID}-01` });
        assert.equal(response.status, 404);
        await response.text();
        const span = await requestSpan(traceId);
        assert.equal(span.name, 'chat');
        assert.equal(span.attributes['error.type'], '404');
        assert.equal(span.status.code, SpanStatusCode.ERROR);
      });

      it('a client that goes away mid-stream: the span ends as client_disconnect', { timeout: TIMEOUT }, async () => {
        main.setScript({ kind: 'sse', chunks: Array.from({ length: 100 }, (_, index) => chunk(`word${index} `, null)), delayMs: 20 });
        const traceId = '8bf92f3577b34da6a3ce929d0e0e4736';
        const controller = new AbortController();
        const response = await fetch(`${gateway.baseURL}/chat/completions`, {
          method: 'POST',
          headers: { 'content-type': 'application/json', traceparent: `00-${traceId}-${PARENT_SPAN_ID}-01` },
          body: JSON.stringify({ model: 'gpt-test', stream: true, messages: [{ role: 'user', content: 'a long story' }] }),
          signal: controller.signal,
        });
        const reader = response.body?.getReader();
        assert.ok(reader);
        await reader.read();
        controller.abort();
        await reader.read().catch(() => undefined);
        const span = await requestSpan(traceId);
        assert.equal(span.attributes['error.type'], 'client_disconnect');
        assert.equal(span.status.code, SpanStatusCode.ERROR);
        assert.ok(Number(span.attributes[names.output]) > 0, 'what was delivered is counted');
      });

      it('an upstream that cuts the stream: the span ends with an error, usage still recorded', { timeout: TIMEOUT }, async () => {
        main.setScript({ kind: 'reset-mid-body', headers: { 'content-type': 'text/event-stream' }, body: chunk('partial answer', null) });
        const traceId = '9bf92f3577b34da6a3ce929d0e0e4736';
        const response = await post({ model: 'gpt-test', stream: true, messages: [{ role: 'user', content: 'hi' }] }, { traceparent: `00-${traceId}-${PARENT_SPAN_ID}-01` });
        await response.text().catch(() => '');
        const span = await requestSpan(traceId);
        assert.equal(span.status.code, SpanStatusCode.ERROR);
        assert.ok(span.attributes['error.type'] !== undefined);
        // Whether the partial body reached the service before the reset depends on timing; the count is a number.
        assert.equal(typeof span.attributes[names.output], 'number');
      });

      if (upstreamFilter) {
        it('a fallback: one attempt span per upstream attempt, the failed one marked retried', { timeout: TIMEOUT }, async () => {
          main.setScript({ kind: 'json', body: COMPLETION });
          const traceId = 'abf92f3577b34da6a3ce929d0e0e4736';
          const response = await post({ model: 'smart', messages: [{ role: 'user', content: 'hi' }] }, { traceparent: `00-${traceId}-${PARENT_SPAN_ID}-01` });
          assert.equal(response.status, 200);
          await response.text();
          const span = await requestSpan(traceId);
          assert.equal(span.name, 'chat smart');
          assert.equal(span.attributes['llm_extproc.backend'], 'main');
          assert.equal(span.attributes['llm_extproc.attempts'], 2);
          const attempts = spans
            .trace(traceId)
            .filter((child) => parentSpanId(child) === span.spanContext().spanId)
            .sort((a, b) => Number(a.attributes['llm_extproc.attempt.number']) - Number(b.attributes['llm_extproc.attempt.number']));
          assert.deepEqual(attempts.map((attempt) => attempt.name), ['attempt 1 broken', 'attempt 2 main']);
          const [first, second] = attempts as [ReadableSpan, ReadableSpan];
          assert.equal(first.attributes['llm_extproc.attempt.outcome'], 'retried');
          assert.equal(first.attributes['llm_extproc.attempt.retry_reason'], 'envoy_retry_on');
          assert.equal(first.status.code, SpanStatusCode.ERROR);
          assert.equal(second.attributes['llm_extproc.attempt.outcome'], 'response');
          assert.equal(second.attributes['http.response.status_code'], 200);
          assert.notEqual(second.status.code, SpanStatusCode.ERROR);
          // Each provider saw its own attempt's context.
          assert.equal(upstreamTraceparent(broken.requests.at(-1))[1], first.spanContext().spanId);
          assert.equal(upstreamTraceparent(main.requests.at(-1))[1], second.spanContext().spanId);
        });
      }
    });
  }
}

describe('LLM request spans: content capture from the environment, and a request without trace context', { timeout: TIMEOUT }, () => {
  let spans: SpanCollector;
  let main: HttpMock;
  let gateway: Gateway;

  before(async () => {
    spans = new SpanCollector();
    main = await startHttpMock({ kind: 'json', body: COMPLETION });
    gateway = await startGateway({
      configYaml: config(true, 'genai', false, 4096),
      upstreams: { main: main.url, broken: main.url },
      spanExporter: spans,
      env: { OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT: 'true' },
    });
  });
  after(async () => {
    await gateway.close();
    await main.close();
    assertNoCredentials(spans.getFinishedSpans());
  });

  it('records prompts and completions (capped), never the credential headers, and starts a new trace', { timeout: TIMEOUT }, async () => {
    const response = await fetch(`${gateway.baseURL}/chat/completions`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${CLIENT_KEY}` },
      body: JSON.stringify({ model: 'gpt-test', messages: [{ role: 'system', content: 'Be brief.' }, { role: 'user', content: `My key is Bearer ${CLIENT_KEY}` }] }),
    });
    assert.equal(response.status, 200);
    await response.text();
    const span = await spans.waitFor((candidate) => candidate.name === 'chat gpt-test');
    assert.equal(parentSpanId(span), undefined, 'a root span');
    const input = JSON.parse(String(span.attributes['gen_ai.input.messages'])) as unknown;
    assert.deepEqual(input, [
      { role: 'system', parts: [{ type: 'text', content: 'Be brief.' }] },
      { role: 'user', parts: [{ type: 'text', content: 'My key is Bearer [REDACTED]' }] },
    ]);
    assert.ok(String(span.attributes['gen_ai.output.messages']).includes('The answer is 42.'));
  });

  it('a backend key an upstream echoes across two stream events is not in the captured completion', { timeout: TIMEOUT }, async () => {
    const half = Math.floor(BACKEND_KEY.length / 2);
    main.setScript({
      kind: 'sse',
      chunks: [
        chunk('Your key is ', null),
        chunk(BACKEND_KEY.slice(0, half), null),
        chunk(`${BACKEND_KEY.slice(half)}, done.`, null),
        chunk(undefined, 'stop'),
        chunk(undefined, null, { prompt_tokens: 3, completion_tokens: 4, total_tokens: 7 }),
        'data: [DONE]\n\n',
      ],
    });
    const traceId = '6bf92f3577b34da6a3ce929d0e0e4736';
    const response = await fetch(`${gateway.baseURL}/chat/completions`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', traceparent: `00-${traceId}-${PARENT_SPAN_ID}-01` },
      body: JSON.stringify({ model: 'gpt-test', stream: true, messages: [{ role: 'user', content: 'echo' }] }),
    });
    assert.equal(response.status, 200);
    assert.ok(!(await response.text()).includes(BACKEND_KEY.slice(half)), 'the client stream is scrubbed');
    const span = await spans.waitFor((candidate) => candidate.spanContext().traceId === traceId && candidate.name === 'chat gpt-test');
    const output = String(span.attributes['gen_ai.output.messages']);
    assert.ok(output.includes('Your key is [REDACTED], done.'), output);
    assert.ok(!output.includes(BACKEND_KEY.slice(0, half)) && !output.includes(BACKEND_KEY.slice(half)), output);
  });
});
