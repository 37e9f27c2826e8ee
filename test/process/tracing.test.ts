/**
 * The shipped process with tracing on the standard way: OTEL_EXPORTER_OTLP_ENDPOINT points at a loopback OTLP/HTTP
 * receiver started here (http/json, so the test reads what arrives without a protobuf decoder), OTEL_SERVICE_NAME
 * names the service. Requests through the Envoy stand-in produce spans that arrive at the receiver, in the trace of
 * the client's traceparent, with the GenAI attributes; without the variables the process exports nothing.
 */
import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, it } from 'node:test';
import type { RuntimeConfig } from '../../src/config/load.js';
import { parseConfigForEnvoy } from '../../src/envoy/index.js';
import { startEnvoy, type EnvoyStandIn } from '../envoy/envoy.js';
import { VALIDATORS } from '../helpers/components.js';
import { startHttpMock, type HttpMock } from '../mocks/http-mock.js';
import { startOpenAIMock, type OpenAIMock } from '../mocks/openai-mock.js';
import { startProduct, type Product } from './product.js';

const TIMEOUT = 90_000;
const TRACE_ID = 'aaf92f3577b34da6a3ce929d0e0e4736';
const PARENT = '00f067aa0ba902b7';

const CONFIG = `
backends:
  - { name: openai, schema: OpenAI, endpoint: https://api.openai.com, auth: { apiKey: { env: OPENAI_KEY } } }
  - { name: busy, schema: OpenAI, endpoint: https://busy.example.com }
models:
  - { name: m-openai, backends: [{ backend: openai, modelNameOverride: gpt-4o-mini }] }
  - name: m-fallback
    backends:
      - { backend: busy, priority: 0 }
      - { backend: openai, modelNameOverride: gpt-4o-mini, priority: 1 }
envoy:
  upstreamFilter: true
  attemptResponseHeaders: true
`;

interface OtlpValue {
  stringValue?: string;
  intValue?: string | number;
  boolValue?: boolean;
  doubleValue?: number;
  arrayValue?: { values?: OtlpValue[] };
}
interface OtlpSpan {
  traceId: string;
  spanId: string;
  parentSpanId?: string;
  name: string;
  attributes?: Array<{ key: string; value: OtlpValue }>;
}
interface ReceivedSpan {
  service: string | undefined;
  span: OtlpSpan;
}

/** A loopback OTLP/HTTP (JSON) trace receiver: records every span and tells when one arrives. */
class OtlpReceiver {
  readonly spans: ReceivedSpan[] = [];
  readonly paths: string[] = [];
  private waiters: Array<{ match: (span: ReceivedSpan) => boolean; resolve: (span: ReceivedSpan) => void }> = [];
  private server: Server | undefined;

  async start(): Promise<string> {
    this.server = createServer((request, response) => {
      const chunks: Buffer[] = [];
      request.on('data', (chunk: Buffer) => chunks.push(chunk));
      request.on('end', () => {
        this.paths.push(`${request.method} ${request.url} ${request.headers['content-type']}`);
        this.accept(JSON.parse(Buffer.concat(chunks).toString('utf8')) as { resourceSpans?: unknown[] });
        response.writeHead(200, { 'content-type': 'application/json' });
        response.end('{}');
      });
    });
    await new Promise<void>((resolve) => this.server?.listen(0, '127.0.0.1', resolve));
    return `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
  }

  private accept(body: { resourceSpans?: unknown[] }): void {
    for (const resourceSpans of (body.resourceSpans ?? []) as Array<{ resource?: { attributes?: OtlpSpan['attributes'] }; scopeSpans?: Array<{ spans?: OtlpSpan[] }> }>) {
      const service = resourceSpans.resource?.attributes?.find((attribute) => attribute.key === 'service.name')?.value.stringValue;
      for (const scope of resourceSpans.scopeSpans ?? []) {
        for (const span of scope.spans ?? []) {
          const received = { service, span };
          this.spans.push(received);
          for (const waiter of [...this.waiters]) {
            if (!waiter.match(received)) continue;
            this.waiters.splice(this.waiters.indexOf(waiter), 1);
            waiter.resolve(received);
          }
        }
      }
    }
  }

  waitFor(match: (span: ReceivedSpan) => boolean): Promise<ReceivedSpan> {
    const seen = this.spans.find(match);
    if (seen) return Promise.resolve(seen);
    return new Promise((resolve) => this.waiters.push({ match, resolve }));
  }

  close(): Promise<void> {
    return new Promise((resolve) => {
      this.server?.closeAllConnections();
      this.server?.close(() => resolve());
    });
  }
}

/** OTLP JSON ids are hex (the JS exporter's JSON encoding). */
const hex = (id: string | undefined) => (id ?? '').toLowerCase();

function attribute(span: OtlpSpan, key: string): unknown {
  const value = span.attributes?.find((candidate) => candidate.key === key)?.value;
  if (!value) return undefined;
  if (value.stringValue !== undefined) return value.stringValue;
  if (value.intValue !== undefined) return Number(value.intValue);
  if (value.boolValue !== undefined) return value.boolValue;
  if (value.doubleValue !== undefined) return value.doubleValue;
  return value.arrayValue?.values?.map((item) => item.stringValue);
}

async function envoyView(text: string): Promise<RuntimeConfig> {
  const loaded = await parseConfigForEnvoy(text, 'config.yaml', VALIDATORS);
  if (!loaded.ok) throw new Error(loaded.errors.join('\n'));
  return loaded.config;
}

describe('the shipped process exports spans over OTLP/HTTP when OTEL_EXPORTER_OTLP_ENDPOINT is set', { timeout: TIMEOUT }, () => {
  let receiver: OtlpReceiver;
  let openai: OpenAIMock;
  let product: Product;
  let envoy: EnvoyStandIn;
  let busy: HttpMock;

  before(async () => {
    receiver = new OtlpReceiver();
    const endpoint = await receiver.start();
    openai = await startOpenAIMock({ reply: 'traced hello' });
    busy = await startHttpMock({ kind: 'json', status: 503, body: { error: { message: 'overloaded', type: 'server_error' } } });
    product = await startProduct({
      configYaml: CONFIG,
      env: {
        OPENAI_KEY: 'sk-process-trace',
        OTEL_EXPORTER_OTLP_ENDPOINT: endpoint,
        OTEL_EXPORTER_OTLP_PROTOCOL: 'http/json',
        OTEL_SERVICE_NAME: 'gateway-under-test',
        OTEL_BSP_SCHEDULE_DELAY: '50',
      },
    });
    envoy = await startEnvoy({ config: await envoyView(product.configText), extProc: product.grpcAddress, upstreams: { openai: openai.url, busy: busy.url }, gracefulClose: true });
  });
  after(async () => {
    await envoy.close();
    const code = await product.stop('SIGTERM');
    await Promise.all([openai.close(), busy.close(), receiver.close()]);
    assert.equal(code, 0);
  });

  it('logs that tracing is on, and the request and attempt spans arrive in the caller\'s trace', { timeout: TIMEOUT }, async () => {
    await product.waitForLog((line) => line.msg === 'tracing on');
    const response = await fetch(`${envoy.url}/v1/chat/completions`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', traceparent: `00-${TRACE_ID}-${PARENT}-01` },
      body: JSON.stringify({ model: 'm-openai', messages: [{ role: 'user', content: 'hi' }] }),
    });
    assert.equal(response.status, 200);
    assert.ok((await response.text()).includes('traced hello'));
    const request = await receiver.waitFor(({ span }) => hex(span.traceId) === TRACE_ID && span.name === 'chat m-openai');
    assert.equal(request.service, 'gateway-under-test');
    assert.equal(hex(request.span.parentSpanId), PARENT);
    assert.equal(attribute(request.span, 'gen_ai.operation.name'), 'chat');
    assert.equal(attribute(request.span, 'gen_ai.provider.name'), 'openai');
    assert.equal(attribute(request.span, 'gen_ai.request.model'), 'm-openai');
    assert.equal(typeof attribute(request.span, 'gen_ai.usage.input_tokens'), 'number');
    const attempt = await receiver.waitFor(({ span }) => hex(span.traceId) === TRACE_ID && span.name === 'attempt 1 openai');
    assert.equal(hex(attempt.span.parentSpanId), hex(request.span.spanId));
    // The provider saw the attempt's span as its parent.
    const upstreamHeader = String(openai.requests.at(-1)?.headers['traceparent'] ?? '');
    assert.equal(upstreamHeader.split('-')[2], hex(attempt.span.spanId));
    assert.ok(receiver.paths.every((path) => path.startsWith('POST /v1/traces application/json')), receiver.paths.join('\n'));
    assert.ok(!JSON.stringify(receiver.spans).includes('sk-process-trace'), 'no credential in any span');
  });

  it('with envoy.attemptResponseHeaders, a fallback after a 503 shows the failed attempt\'s status and retry reason', { timeout: TIMEOUT }, async () => {
    const traceId = 'bbf92f3577b34da6a3ce929d0e0e4736';
    const response = await fetch(`${envoy.url}/v1/chat/completions`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', traceparent: `00-${traceId}-${PARENT}-01` },
      body: JSON.stringify({ model: 'm-fallback', messages: [{ role: 'user', content: 'hi' }] }),
    });
    assert.equal(response.status, 200);
    assert.ok((await response.text()).includes('traced hello'));
    const failed = await receiver.waitFor(({ span }) => hex(span.traceId) === traceId && span.name === 'attempt 1 busy');
    assert.equal(attribute(failed.span, 'llm_extproc.attempt.outcome'), 'retried');
    assert.equal(attribute(failed.span, 'llm_extproc.attempt.retry_reason'), 'status_503');
    assert.equal(attribute(failed.span, 'http.response.status_code'), 503);
    const answered = await receiver.waitFor(({ span }) => hex(span.traceId) === traceId && span.name === 'attempt 2 openai');
    assert.equal(attribute(answered.span, 'llm_extproc.attempt.outcome'), 'response');
    assert.equal(attribute(answered.span, 'http.response.status_code'), 200);
    assert.equal(hex(answered.span.parentSpanId), hex(failed.span.parentSpanId));
  });
});

describe('the shipped process without OTEL_* variables', { timeout: TIMEOUT }, () => {
  it('does not trace: no span is sent, no trace context is added upstream', { timeout: TIMEOUT }, async () => {
    const openai = await startOpenAIMock({ reply: 'untraced' });
    const product = await startProduct({ configYaml: CONFIG, env: { OPENAI_KEY: 'sk-process-trace' } });
    const envoy = await startEnvoy({ config: await envoyView(product.configText), extProc: product.grpcAddress, upstreams: { openai: openai.url }, gracefulClose: true });
    try {
      const response = await fetch(`${envoy.url}/v1/chat/completions`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ model: 'm-openai', messages: [{ role: 'user', content: 'hi' }] }),
      });
      assert.equal(response.status, 200);
      await response.text();
      assert.equal(openai.requests.at(-1)?.headers['traceparent'], undefined);
      assert.ok(!product.logs.some((line) => line.msg === 'tracing on'));
    } finally {
      await envoy.close();
      assert.equal(await product.stop('SIGTERM'), 0);
      await openai.close();
    }
  });
});
