/**
 * Where a request's span takes its parent from (the request's traceparent first, else the trace context Envoy
 * puts on the ext_proc gRPC call), when tracing is on and off by the OTEL_* variables, and that nothing but the
 * dynamically imported src/tracing/sdk.ts loads the OpenTelemetry SDK.
 */
import assert from 'node:assert/strict';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import * as grpc from '@grpc/grpc-js';
import { spanSettingsFromEnv, tracingFromEnv } from '../../src/tracing/env.js';
import { connectExtProc, ExtProcTestStream, headerMap } from '../helpers/ext-proc-client.js';
import { startTestService, type TestService } from '../helpers/service.js';
import { parentSpanId, SpanCollector } from '../helpers/span-collector.js';

const CONFIG = `
backends:
  - { name: main, schema: OpenAI, endpoint: https://api.openai.com, auth: { apiKey: { value: sk-test } } }
models:
  - { name: gpt-test, backends: [{ backend: main }] }
`;
const CALL_TRACE = '11111111111111111111111111111111';
const CALL_SPAN = '2222222222222222';
const HEADER_TRACE = '33333333333333333333333333333333';
const HEADER_SPAN = '4444444444444444';

describe('trace context of the ext_proc call', { timeout: 30_000 }, () => {
  let spans: SpanCollector;
  let service: TestService;
  let client: grpc.Client;

  before(async () => {
    spans = new SpanCollector();
    service = await startTestService({ configYaml: CONFIG, spanExporter: spans });
    client = connectExtProc(service.address);
  });
  after(async () => {
    client.close();
    await service.drain(2000);
  });

  /** One router-level exchange the service answers itself (unknown model), with optional headers and call metadata. */
  async function exchange(headers: Record<string, string>, metadata?: grpc.Metadata): Promise<void> {
    const stream = new ExtProcTestStream(client, metadata);
    await stream.send({ request_headers: { headers: headerMap({ ':method': 'POST', ':path': '/v1/chat/completions', 'content-type': 'application/json', ...headers }) } });
    const answer = await stream.send({ request_body: { body: Buffer.from(JSON.stringify({ model: 'unknown', messages: [] })), end_of_stream: true } });
    assert.ok(answer.immediate_response, 'the service answers itself (unknown model)');
    stream.close();
    await stream.done;
  }

  it("takes the call's traceparent when the request carries none", { timeout: 10_000 }, async () => {
    const metadata = new grpc.Metadata();
    metadata.set('traceparent', `00-${CALL_TRACE}-${CALL_SPAN}-01`);
    await exchange({}, metadata);
    const span = await spans.waitFor((candidate) => candidate.spanContext().traceId === CALL_TRACE);
    assert.equal(parentSpanId(span), CALL_SPAN);
  });

  it("prefers the request's own traceparent", { timeout: 10_000 }, async () => {
    const metadata = new grpc.Metadata();
    metadata.set('traceparent', `00-${CALL_TRACE}-${CALL_SPAN}-01`);
    await exchange({ traceparent: `00-${HEADER_TRACE}-${HEADER_SPAN}-01` }, metadata);
    const span = await spans.waitFor((candidate) => candidate.spanContext().traceId === HEADER_TRACE);
    assert.equal(parentSpanId(span), HEADER_SPAN);
  });

  it('an unsampled caller: the span is not recorded, and nothing is exported for it', { timeout: 10_000 }, async () => {
    const before = spans.getFinishedSpans().length;
    await exchange({ traceparent: `00-${'5'.repeat(32)}-${HEADER_SPAN}-00` });
    await exchange({ traceparent: `00-${'6'.repeat(32)}-${HEADER_SPAN}-01` });
    await spans.waitFor((candidate) => candidate.spanContext().traceId === '6'.repeat(32));
    assert.equal(spans.getFinishedSpans().length, before + 1);
  });
});

describe('tracing switched by the OTEL_* variables', () => {
  it('is off with nothing set, with OTEL_SDK_DISABLED=true and with the none exporter', () => {
    assert.deepEqual(tracingFromEnv({}), { on: false });
    assert.deepEqual(tracingFromEnv({ OTEL_EXPORTER_OTLP_ENDPOINT: 'http://127.0.0.1:4318', OTEL_SDK_DISABLED: 'true' }), { on: false });
    assert.deepEqual(tracingFromEnv({ OTEL_EXPORTER_OTLP_ENDPOINT: 'http://127.0.0.1:4318', OTEL_TRACES_EXPORTER: 'none' }), { on: false });
    assert.deepEqual(tracingFromEnv({ OTEL_SERVICE_NAME: 'x' }), { on: false });
  });

  it('is on with an endpoint or an exporter, http/protobuf unless told http/json', () => {
    assert.deepEqual(tracingFromEnv({ OTEL_EXPORTER_OTLP_ENDPOINT: 'http://127.0.0.1:4318' }), { on: true, exporter: 'otlp', protocol: 'http/protobuf' });
    assert.deepEqual(tracingFromEnv({ OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: 'http://127.0.0.1:4318/v1/traces', OTEL_EXPORTER_OTLP_PROTOCOL: 'http/json' }), { on: true, exporter: 'otlp', protocol: 'http/json' });
    assert.deepEqual(tracingFromEnv({ OTEL_TRACES_EXPORTER: 'console' }), { on: true, exporter: 'console' });
  });

  it('refuses what it cannot do, saying so, rather than guessing', () => {
    const grpcProtocol = tracingFromEnv({ OTEL_EXPORTER_OTLP_ENDPOINT: 'http://127.0.0.1:4317', OTEL_EXPORTER_OTLP_PROTOCOL: 'grpc' });
    assert.equal(grpcProtocol.on, false);
    assert.match(!grpcProtocol.on ? (grpcProtocol.problem ?? '') : '', /grpc is not supported/);
    assert.equal(tracingFromEnv({ OTEL_TRACES_EXPORTER: 'zipkin' }).on, false);
  });

  it('reads content capture and the conventions override', () => {
    assert.deepEqual(spanSettingsFromEnv({ OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT: 'true', LLM_EXTPROC_TRACE_CONVENTIONS: 'openinference' }), {
      captureContent: true,
      conventions: 'openinference',
    });
    assert.deepEqual(spanSettingsFromEnv({ OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT: 'false', LLM_EXTPROC_TRACE_CONVENTIONS: 'other' }), {});
  });

  it('a service started without them has no tracing', { timeout: 20_000 }, async () => {
    const service = await startTestService({ configYaml: CONFIG });
    try {
      assert.equal(service.service.tracing, undefined);
    } finally {
      await service.drain(1000);
    }
  });
});

describe('the SDK is loaded only when tracing is on', () => {
  const SDK_PACKAGES = /from '@opentelemetry\/(sdk-|exporter-|resources|core)|from '@arizeai\//;
  const TRACING_IMPLEMENTATION = /'\.\.?\/(tracing\/)?(sdk|request-span|vocabulary|content|response-facts)\.js'/;

  function sources(directory: string): string[] {
    return readdirSync(directory).flatMap((name) => {
      const path = join(directory, name);
      return statSync(path).isDirectory() ? sources(path) : path.endsWith('.ts') ? [path] : [];
    });
  }

  it('only src/tracing/ imports the SDK, and nothing imports src/tracing/sdk.ts statically', () => {
    for (const file of sources('src')) {
      if (file.startsWith(join('src', 'tracing'))) continue;
      // Value imports only: `import type` is erased by the compiler.
      const imports = readFileSync(file, 'utf8').split('\n').filter((line) => /^import (?!type )/.test(line) || /^} from /.test(line));
      for (const line of imports) {
        assert.doesNotMatch(line, SDK_PACKAGES, `${file} imports the OpenTelemetry SDK: ${line}`);
        assert.doesNotMatch(line, TRACING_IMPLEMENTATION, `${file} imports the tracing implementation statically: ${line}`);
      }
    }
    const service = readFileSync(join('src', 'service.ts'), 'utf8');
    assert.match(service, /await import\('\.\/tracing\/sdk\.js'\)/);
  });
});
