/**
 * The stand-in's upstream filter with response_header_mode SEND (envoy.attemptResponseHeaders, Envoy 1.37+):
 * each attempt's response headers go on that attempt's own stream, a 503 about to be retried included; the
 * answer is awaited (the message timeout applies) before the retry decision; the stream closes once answered,
 * or when the attempt is torn down without response headers.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { ProcessingRequest, ProcessingResponse } from '../../src/server/ext-proc-types.js';
import { resolveSettings } from '../../src/envoy/settings.js';
import { upstreamExtProcFilter } from '../../src/envoy/ext-proc-filter.js';
import { upstreamProcessingMode } from './processing-mode.js';
import { answerFor, headerOf, isUpstreamLevel, passThrough, setHeader, type Script, type ScriptedStream } from './scripted-ext-proc.js';
import { loadConfig, postJson, startHarness, TWO_BACKENDS_YAML } from './test-setup.js';
import { BACKEND_ATTRIBUTES } from './upstream-attempt.js';

const TIMEOUT = { timeout: 30_000 };

const backendOf = (request: ProcessingRequest): string =>
  request.attributes?.['envoy.filters.http.ext_proc']?.fields?.[BACKEND_ATTRIBUTES[0] ?? '']?.stringValue ?? '';

/** The router-level stream passes through; each upstream-level stream answers with `answer` ('hold': never). */
function upstreamScript(answer: (message: ProcessingRequest, backend: string) => ProcessingResponse | 'hold'): Script {
  return async (stream) => {
    const first = await stream.next();
    if (!first) return;
    if (!isUpstreamLevel(first)) {
      stream.send(answerFor(first));
      await passThrough(stream);
      return;
    }
    const backend = backendOf(first);
    for (let message: ProcessingRequest | undefined = first; message; message = await stream.next()) {
      const reply = answer(message, backend);
      if (reply !== 'hold') stream.send(reply);
    }
  };
}

const upstreamStreams = (streams: readonly ScriptedStream[]): ScriptedStream[] =>
  streams.filter((stream) => stream.received[0] !== undefined && isUpstreamLevel(stream.received[0]));

const kinds = (stream: ScriptedStream | undefined): unknown[] => (stream?.received ?? []).map((message) => message.request);

describe('Envoy stand-in: upstream filter with response_header_mode SEND (envoy.attemptResponseHeaders)', TIMEOUT, () => {
  it('uses the processing mode the generator writes, with and without the setting', TIMEOUT, async () => {
    for (const on of [false, true]) {
      const config = await loadConfig(TWO_BACKENDS_YAML, true, on);
      const settings = resolveSettings(config);
      assert.ok(settings.ok);
      const generated = (upstreamExtProcFilter(settings.settings)['typed_config'] as Record<string, unknown>)['processing_mode'];
      assert.deepEqual(upstreamProcessingMode(config), generated);
      assert.equal(upstreamProcessingMode(config).response_header_mode, on ? 'SEND' : 'SKIP');
    }
  });

  it("sends each attempt's respH on its own stream, the retried 503 included, applies the answer, then closes the stream", TIMEOUT, async () => {
    const harness = await startHarness({
      attemptResponseHeaders: true,
      script: upstreamScript((message, backend) =>
        message.request === 'response_headers'
          ? answerFor(message, { header_mutation: { set_headers: [setHeader('x-attempt-seen', backend)] } })
          : answerFor(message),
      ),
      upstreams: { a: { kind: 'json', status: 503, body: { error: 'busy' } }, b: { kind: 'json', body: { from: 'b' } } },
    });
    try {
      const response = await postJson(harness.envoy, { model: 'm' });
      assert.equal(response.status, 200);
      assert.equal(response.headers.get('x-attempt-seen'), 'b', "the answer's mutation applies to the response that goes on");
      assert.deepEqual(await response.json(), { from: 'b' });
      await harness.envoy.settled();
      const record = harness.envoy.requests[0];
      assert.deepEqual(record?.attempts.map((attempt) => [attempt.backend, attempt.status]), [['a', 503], ['b', 200]]);
      const streams = upstreamStreams(harness.extProc.streams);
      assert.equal(streams.length, 2);
      assert.deepEqual(streams.map(kinds), [['request_headers', 'response_headers'], ['request_headers', 'response_headers']]);
      assert.equal(headerOf(streams[0]?.received[1] ?? {}, ':status'), '503');
      assert.equal(headerOf(streams[1]?.received[1] ?? {}, ':status'), '200');
      assert.equal(streams[0]?.received[1]?.response_headers?.end_of_stream, false);
      // Attributes go only with the first request-direction message.
      assert.equal(streams[0]?.received[1]?.attributes, undefined);
      // Both streams were closed by the stand-in once answered.
      await Promise.all(streams.map((stream) => stream.finished));
      for (const stream of streams) assert.ok(stream.events.includes('end') || stream.events.includes('cancelled'), stream.events.join(','));
      // The router-level stream saw the retried attempt's answer, not the 503.
      const routerRespH = harness.extProc.streams[0]?.received.find((message) => message.request === 'response_headers');
      assert.equal(headerOf(routerRespH ?? {}, ':status'), '200');
      assert.equal(headerOf(routerRespH ?? {}, 'x-attempt-seen'), 'b');
      assert.equal(record?.counters.spurious_msgs_received, 0);
    } finally {
      await harness.close();
    }
  });

  it('sends no respH for an attempt reset before response headers; its stream closes when the attempt is torn down', TIMEOUT, async () => {
    const harness = await startHarness({
      attemptResponseHeaders: true,
      script: upstreamScript((message) => answerFor(message)),
      upstreams: { a: { kind: 'reset' }, b: { kind: 'json', body: { from: 'b' } } },
    });
    try {
      const response = await postJson(harness.envoy, { model: 'm' });
      assert.deepEqual(await response.json(), { from: 'b' });
      await harness.envoy.settled();
      assert.deepEqual(harness.envoy.requests[0]?.attempts.map((attempt) => attempt.failure ?? attempt.status), ['reset', 200]);
      const streams = upstreamStreams(harness.extProc.streams);
      assert.deepEqual(streams.map(kinds), [['request_headers'], ['request_headers', 'response_headers']]);
      await Promise.all(streams.map((stream) => stream.finished));
    } finally {
      await harness.close();
    }
  });

  it("waits for the respH answer before deciding on a retry: an unanswered 503 runs into the message timeout (504), no retry", TIMEOUT, async () => {
    const harness = await startHarness({
      attemptResponseHeaders: true,
      script: upstreamScript((message) => (message.request === 'response_headers' ? 'hold' : answerFor(message))),
      upstreams: { a: { kind: 'json', status: 503, body: { error: 'busy' } }, b: { kind: 'json', body: { from: 'b' } } },
      envoy: { messageTimeoutMs: 300 },
    });
    try {
      const response = await postJson(harness.envoy, { model: 'm' });
      assert.equal(response.status, 504);
      await response.text();
      await harness.envoy.settled();
      const record = harness.envoy.requests[0];
      assert.equal(record?.responseCodeDetails, 'ext_proc_error_per-message_timeout_exceeded');
      assert.equal(record?.counters.message_timeouts, 1);
      assert.equal(record?.attempts.length, 1);
      assert.equal(harness.upstreams.b?.requests.length, 0);
      assert.deepEqual(upstreamStreams(harness.extProc.streams).map(kinds), [['request_headers', 'response_headers']]);
    } finally {
      await harness.close();
    }
  });

  it('sends an immediate response in answer to respH downstream, without retrying', TIMEOUT, async () => {
    const harness = await startHarness({
      attemptResponseHeaders: true,
      script: upstreamScript((message) =>
        message.request === 'response_headers'
          ? { immediate_response: { status: { code: 'TooManyRequests' }, body: Buffer.from('slow down') } }
          : answerFor(message),
      ),
      upstreams: { a: { kind: 'json', status: 503, body: { error: 'busy' } }, b: { kind: 'json', body: { from: 'b' } } },
    });
    try {
      const response = await postJson(harness.envoy, { model: 'm' });
      assert.equal(response.status, 429);
      assert.equal(await response.text(), 'slow down');
      await harness.envoy.settled();
      assert.equal(harness.envoy.requests[0]?.attempts.length, 1);
      assert.equal(harness.upstreams.b?.requests.length, 0);
    } finally {
      await harness.close();
    }
  });

  it('without the setting, upstream-level streams see request headers only', TIMEOUT, async () => {
    const harness = await startHarness({
      script: upstreamScript((message) => answerFor(message)),
      upstreams: { a: { kind: 'json', status: 503, body: { error: 'busy' } }, b: { kind: 'json', body: { from: 'b' } } },
    });
    try {
      assert.equal((await postJson(harness.envoy, { model: 'm' })).status, 200);
      await harness.envoy.settled();
      assert.deepEqual(upstreamStreams(harness.extProc.streams).map(kinds), [['request_headers'], ['request_headers']]);
    } finally {
      await harness.close();
    }
  });
});
