/**
 * The span of a Responses API request, end to end through the Envoy stand-in with an in-memory exporter: named
 * `chat <model>` (gen_ai.operation.name chat), with the usage, the response id and the terminal status as the
 * finish reason, for a buffered response on the passthrough and a stream through the chat pivot.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { startGateway, type Gateway } from '../helpers/gateway-harness.js';
import { parentSpanId, SpanCollector } from '../helpers/span-collector.js';
import { startAnthropicMock, type AnthropicMock } from '../mocks/anthropic-mock.js';
import { startOpenAIMock, type OpenAIMock } from '../mocks/openai-mock.js';

const TIMEOUT = 60_000;
const PARENT_SPAN_ID = '00f067aa0ba902b7';
const traceparent = (traceId: string) => `00-${traceId}-${PARENT_SPAN_ID}-01`;

describe('Responses API request spans', { timeout: TIMEOUT }, () => {
  let spans: SpanCollector;
  let openai: OpenAIMock;
  let anthropic: AnthropicMock;
  let gateway: Gateway;

  before(async () => {
    spans = new SpanCollector();
    [openai, anthropic] = await Promise.all([startOpenAIMock(), startAnthropicMock()]);
    gateway = await startGateway({
      configYaml: `
backends:
  - { name: openai, schema: OpenAI, endpoint: https://api.openai.com, auth: { apiKey: { value: sk-span-openai } } }
  - { name: claude, schema: Anthropic, endpoint: https://api.anthropic.com, auth: { anthropicApiKey: { value: test-anthropic-key } } }
models:
  - { name: r-openai, backends: [{ backend: openai, modelNameOverride: gpt-5-mini }] }
  - { name: r-claude, backends: [{ backend: claude, modelNameOverride: claude-sonnet-4-5-20250929 }] }
observability:
  tracing: { conventions: genai }
`,
      upstreams: { openai: openai.url, claude: anthropic.url },
      spanExporter: spans,
    });
  });
  after(async () => {
    await gateway.close();
    await Promise.all([openai.close(), anthropic.close()]);
    for (const span of spans.getFinishedSpans()) assert.ok(!JSON.stringify(span.attributes).includes('sk-span-openai'));
  });

  const post = (traceId: string, body: Record<string, unknown>) =>
    fetch(`${gateway.baseURL}/responses`, { method: 'POST', headers: { 'content-type': 'application/json', traceparent: traceparent(traceId) }, body: JSON.stringify(body) });
  const requestSpan = (traceId: string) => spans.waitFor((span) => span.spanContext().traceId === traceId && parentSpanId(span) === PARENT_SPAN_ID);

  it('passthrough, buffered: usage, response id and status', { timeout: TIMEOUT }, async () => {
    const traceId = '4bf92f3577b34da6a3ce929d0e0e4701';
    const answer = await post(traceId, { model: 'r-openai', input: 'Say hello' });
    assert.equal(answer.status, 200);
    await answer.text();
    const span = await requestSpan(traceId);
    assert.equal(span.name, 'chat r-openai');
    assert.equal(span.attributes['gen_ai.operation.name'], 'chat');
    assert.equal(span.attributes['gen_ai.usage.input_tokens'], 40);
    assert.equal(span.attributes['gen_ai.usage.output_tokens'], 10);
    assert.equal(span.attributes['gen_ai.response.id'], 'resp_mock');
    assert.deepEqual(span.attributes['gen_ai.response.finish_reasons'], ['completed']);
  });

  it('chat pivot, streamed: usage, response id and status from the terminal event', { timeout: TIMEOUT }, async () => {
    const traceId = '4bf92f3577b34da6a3ce929d0e0e4702';
    const answer = await post(traceId, { model: 'r-claude', input: 'Hello', stream: true, max_output_tokens: 64 });
    assert.equal(answer.status, 200);
    const text = await answer.text();
    const id = /"response":\{"id":"([^"]+)"/.exec(text)?.[1];
    const span = await requestSpan(traceId);
    assert.equal(span.name, 'chat r-claude');
    assert.ok(Number(span.attributes['gen_ai.usage.output_tokens']) > 0);
    assert.ok(Number(span.attributes['gen_ai.usage.input_tokens']) > 0);
    assert.equal(span.attributes['gen_ai.response.id'], id);
    assert.deepEqual(span.attributes['gen_ai.response.finish_reasons'], ['completed']);
  });
});
