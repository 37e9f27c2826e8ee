/**
 * The stand-in's router-level request phase against scripted ext_proc servers: answers Envoy rejects must
 * give the same local replies as Envoy.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { ProcessingRequest, ProcessingResponse } from '../../src/server/ext-proc-types.js';
import { answerFor, headerOf, isUpstreamLevel, passThrough, setHeader, type Script } from './scripted-ext-proc.js';
import { postJson, startHarness } from './test-setup.js';

/** Answers the router-level reqH with `first(request)`, everything else with a plain CONTINUE. */
function onRequestHeaders(first: (request: ProcessingRequest) => ProcessingResponse): Script {
  return async (stream) => {
    for (let message = await stream.next(); message; message = await stream.next()) {
      const routerHeaders = message.request === 'request_headers' && !isUpstreamLevel(message);
      stream.send(routerHeaders ? first(message) : answerFor(message));
    }
  };
}

/** Answers reqB with `body(request)`, everything else with a plain CONTINUE. */
function onRequestBody(body: (request: ProcessingRequest) => ProcessingResponse): Script {
  return async (stream) => {
    for (let message = await stream.next(); message; message = await stream.next()) {
      stream.send(message.request === 'request_body' ? body(message) : answerFor(message));
    }
  };
}

describe('Envoy stand-in: router-level request phase', () => {
  it('sends reqH with raw_value-only headers, pseudo headers first, metadata_context, protocol_config once', async () => {
    const harness = await startHarness({ script: passThrough });
    try {
      const response = await postJson(harness.envoy, { model: 'm' });
      assert.equal(response.status, 200);
      await harness.envoy.settled();
      const [headers, body] = harness.extProc.streams[0]?.received ?? [];
      assert.ok(headers && body);
      const entries = headers.request_headers?.headers?.headers ?? [];
      assert.deepEqual(entries.slice(0, 4).map((entry) => entry.key), [':authority', ':path', ':method', ':scheme']);
      assert.ok(entries.every((entry) => !entry.value && entry.key === entry.key?.toLowerCase()));
      assert.match(headerOf(headers, 'x-request-id') ?? '', /^[0-9a-f-]{36}$/);
      assert.equal(headers.request_headers?.end_of_stream ?? false, false);
      assert.deepEqual(headers.metadata_context ?? null, {});
      assert.equal(headers.protocol_config?.request_body_mode, 'BUFFERED');
      assert.equal(headers.attributes, undefined);
      assert.equal(body.request, 'request_body');
      assert.equal(Buffer.from(body.request_body?.body ?? []).toString(), '{"model":"m"}');
      assert.equal(body.request_body?.end_of_stream, true);
      assert.deepEqual(body.metadata_context ?? null, {});
      assert.equal(body.protocol_config, undefined);
    } finally {
      await harness.close();
    }
  });

  it('answers 500 "spurious message" for an answer of the wrong oneof case', async () => {
    const harness = await startHarness({ script: onRequestHeaders(() => ({ response_headers: { response: {} } })) });
    try {
      const response = await postJson(harness.envoy, { model: 'm' });
      assert.equal(response.status, 500);
      await harness.envoy.settled();
      const record = harness.envoy.requests[0];
      assert.equal(record?.responseCodeDetails, 'spurious_message');
      assert.equal(record?.counters.spurious_msgs_received, 1);
      assert.equal(harness.upstreams.a?.requests.length, 0);
    } finally {
      await harness.close();
    }
  });

  it('answers 500 "unhandled message" for an answer with no oneof case set', async () => {
    const harness = await startHarness({ script: onRequestHeaders(() => ({})) });
    try {
      assert.equal((await postJson(harness.envoy, { model: 'm' })).status, 500);
      await harness.envoy.settled();
      assert.equal(harness.envoy.requests[0]?.responseCodeDetails, 'unhandled_message');
    } finally {
      await harness.close();
    }
  });

  it('sets an empty header for a value-only mutation, and answers 500 when value and raw_value are both set', async () => {
    const valueOnly = await startHarness({
      script: onRequestHeaders((request) => answerFor(request, { header_mutation: { set_headers: [{ header: { key: 'x-a', value: 'v' } }] } })),
    });
    try {
      assert.equal((await postJson(valueOnly.envoy, { model: 'm' })).status, 200);
      assert.equal(valueOnly.upstreams.a?.requests[0]?.headers['x-a'], '');
    } finally {
      await valueOnly.close();
    }
    const both = await startHarness({
      script: onRequestHeaders((request) =>
        answerFor(request, { header_mutation: { set_headers: [{ header: { key: 'x-a', value: 'v', raw_value: Buffer.from('v') } }] } }),
      ),
    });
    try {
      assert.equal((await postJson(both.envoy, { model: 'm' })).status, 500);
      await both.envoy.settled();
      assert.equal(both.envoy.requests[0]?.responseCodeDetails, 'Only_one_of_value_or_raw_value_in_the_HeaderValue_message_should_be_set.');
    } finally {
      await both.close();
    }
  });

  it('ignores and counts x-envoy-* and routing-header mutations', async () => {
    const harness = await startHarness({
      script: onRequestHeaders((request) =>
        answerFor(request, { header_mutation: { set_headers: [setHeader('x-envoy-retry-on', '5xx'), setHeader(':authority', 'evil'), setHeader('x-kept', '1')] } }),
      ),
    });
    try {
      assert.equal((await postJson(harness.envoy, { model: 'm' })).status, 200);
      await harness.envoy.settled();
      const got = harness.upstreams.a?.requests[0];
      assert.equal(got?.headers['x-envoy-retry-on'], undefined);
      assert.equal(got?.headers['x-kept'], '1');
      assert.equal(got?.headers.host, 'api.a.test');
      assert.equal(harness.envoy.requests[0]?.counters.rejected_header_mutations, 2);
    } finally {
      await harness.close();
    }
  });

  it('answers 500 when a replaced BUFFERED body disagrees with content-length, and passes a consistent one', async () => {
    const mismatch = await startHarness({ script: onRequestBody((request) => answerFor(request, { body_mutation: { body: Buffer.from('{}') } })) });
    try {
      assert.equal((await postJson(mismatch.envoy, { model: 'm' })).status, 500);
      await mismatch.envoy.settled();
      assert.equal(mismatch.envoy.requests[0]?.responseCodeDetails, 'mismatch_between_content_length_and_the_length_of_the_mutated_body');
    } finally {
      await mismatch.close();
    }
    const consistent = await startHarness({
      script: onRequestBody((request) =>
        answerFor(request, { header_mutation: { set_headers: [setHeader('content-length', '2')] }, body_mutation: { body: Buffer.from('{}') } }),
      ),
    });
    try {
      assert.equal((await postJson(consistent.envoy, { model: 'm' })).status, 200);
      assert.equal(consistent.upstreams.a?.requests[0]?.text(), '{}');
      assert.equal(consistent.upstreams.a?.requests[0]?.headers['content-length'], '2');
    } finally {
      await consistent.close();
    }
  });

  it('answers 504 when the server does not answer within the message timeout; an override needs max_message_timeout', async () => {
    const silent: Script = async (stream) => {
      await stream.next();
      stream.send({ override_message_timeout: { seconds: 5 } });
    };
    const harness = await startHarness({ script: silent, envoy: { messageTimeoutMs: 200 } });
    try {
      const started = Date.now();
      const response = await postJson(harness.envoy, { model: 'm' });
      assert.equal(response.status, 504);
      assert.ok(Date.now() - started < 3000);
      await harness.envoy.settled();
      const record = harness.envoy.requests[0];
      assert.equal(record?.responseCodeDetails, 'ext_proc_error_per-message_timeout_exceeded');
      assert.equal(record?.counters.override_message_timeout_ignored, 1);
      assert.equal(record?.counters.message_timeouts, 1);
    } finally {
      await harness.close();
    }
    const extended: Script = async (stream) => {
      const first = await stream.next();
      if (!first) return;
      if (isUpstreamLevel(first)) {
        stream.send(answerFor(first));
        return;
      }
      // Waits twice the base timeout, well inside the override: the margins make this independent of machine load.
      stream.send({ override_message_timeout: { seconds: 30 } });
      await new Promise((resolve) => setTimeout(resolve, 4_000));
      stream.send(answerFor(first));
      await passThrough(stream);
    };
    const honoured = await startHarness({ script: extended, envoy: { messageTimeoutMs: 2_000, maxMessageTimeoutMs: 60_000 } });
    try {
      assert.equal((await postJson(honoured.envoy, { model: 'm' })).status, 200);
      assert.equal(honoured.envoy.requests[0]?.counters.override_message_timeout_received, 1);
    } finally {
      await honoured.close();
    }
  });

  it('passes the request through unmodified once the server closes the stream with OK', async () => {
    const closeAfterHeaders: Script = async (stream) => {
      const first = await stream.next();
      if (first) stream.send(answerFor(first, { header_mutation: { set_headers: [setHeader('x-seen', 'yes')] } }));
      await stream.next();
      stream.end();
    };
    const harness = await startHarness({ script: closeAfterHeaders });
    try {
      const response = await postJson(harness.envoy, { model: 'm' });
      assert.equal(response.status, 200);
      assert.deepEqual(await response.json(), { ok: true });
      await harness.envoy.settled();
      assert.equal(harness.upstreams.a?.requests[0]?.headers['x-seen'], 'yes');
      assert.equal(harness.upstreams.a?.requests[0]?.text(), '{"model":"m"}');
      assert.equal(harness.envoy.requests[0]?.streams[0]?.close, 'server');
    } finally {
      await harness.close();
    }
  });

  it('re-routes only with clear_route_cache and a header_mutation in the same answer', async () => {
    const route = (withMutation: boolean): Script =>
      onRequestBody((request) =>
        answerFor(request, { clear_route_cache: true, ...(withMutation ? { header_mutation: { set_headers: [setHeader('x-ai-eg-model', 'm')] } } : {}) }),
      );
    const withMutation = await startHarness({ script: route(true) });
    try {
      const response = await postJson(withMutation.envoy, { model: 'm' }, { 'x-ai-eg-model': 'unknown' });
      assert.equal(response.status, 200);
      await withMutation.envoy.settled();
      assert.equal(withMutation.envoy.requests[0]?.routeName, 'm');
    } finally {
      await withMutation.close();
    }
    const without = await startHarness({ script: route(false) });
    try {
      const response = await postJson(without.envoy, { model: 'm' }, { 'x-ai-eg-model': 'unknown' });
      assert.equal(response.status, 404);
      const body = (await response.json()) as { error: { code: string; type: string } };
      assert.equal(body.error.code, 'model_not_found');
      assert.equal(body.error.type, 'invalid_request_error');
      assert.equal(response.headers.get('content-type'), 'application/json');
      await without.envoy.settled();
      assert.equal(without.envoy.requests[0]?.counters.clear_route_cache_ignored, 1);
      assert.equal(without.envoy.requests[0]?.responseCodeDetails, 'direct_response');
    } finally {
      await without.close();
    }
  });

  it('sends immediate responses as local replies (status floor 200, text/plain, headers, details)', async () => {
    const immediate = (code: string, details: string): Script =>
      onRequestHeaders(() => ({
        immediate_response: {
          status: { code },
          body: Buffer.from('nope'),
          details,
          headers: { set_headers: [setHeader('x-why', 'policy'), setHeader('x-envoy-no', '1')] },
        },
        dynamic_metadata: { fields: { 'io.envoy.ai_gateway': { structValue: { fields: { cost: { numberValue: 0 } } } } } },
      }));
    const harness = await startHarness({ script: immediate('Forbidden', 'blocked by\tpolicy') });
    try {
      const response = await postJson(harness.envoy, { model: 'm' });
      assert.equal(response.status, 403);
      assert.equal(await response.text(), 'nope');
      assert.equal(response.headers.get('content-type'), 'text/plain');
      assert.equal(response.headers.get('x-why'), 'policy');
      assert.equal(response.headers.get('x-envoy-no'), null);
      await harness.envoy.settled();
      const record = harness.envoy.requests[0];
      assert.equal(record?.responseCodeDetails, 'blocked_by_policy');
      assert.deepEqual(record?.metadata, { 'io.envoy.ai_gateway': { cost: 0 } });
      assert.equal(harness.upstreams.a?.requests.length, 0);
    } finally {
      await harness.close();
    }
    const informational = await startHarness({ script: immediate('Continue', '') });
    try {
      assert.equal((await postJson(informational.envoy, { model: 'm' })).status, 200);
    } finally {
      await informational.close();
    }
  });

  it('answers 500 ext_proc_error_gRPC_error_<code> on a non-OK status or an unreachable server', async () => {
    const failing: Script = async (stream) => {
      await stream.next();
      stream.fail(7, 'denied here');
    };
    const harness = await startHarness({ script: failing });
    try {
      assert.equal((await postJson(harness.envoy, { model: 'm' })).status, 500);
      await harness.envoy.settled();
      assert.equal(harness.envoy.requests[0]?.responseCodeDetails, 'ext_proc_error_gRPC_error_7{denied_here}');
      await harness.extProc.close();
      assert.equal((await postJson(harness.envoy, { model: 'm' })).status, 500);
      await harness.envoy.settled();
      assert.match(harness.envoy.requests[1]?.responseCodeDetails ?? '', /^ext_proc_error_gRPC_error_14\{/);
    } finally {
      await harness.close();
    }
  });

  it('answers 413 request_payload_too_large over the buffer limit', async () => {
    const harness = await startHarness({ script: passThrough, envoy: { bufferLimitBytes: 1024 } });
    try {
      const response = await postJson(harness.envoy, { model: 'm', padding: 'x'.repeat(4096) });
      assert.equal(response.status, 413);
      await harness.envoy.settled();
      assert.equal(harness.envoy.requests[0]?.responseCodeDetails, 'request_payload_too_large');
      assert.equal(harness.upstreams.a?.requests.length, 0);
    } finally {
      await harness.close();
    }
  });

  it('sends a body-less request as one reqH with end_of_stream and no reqB', async () => {
    const harness = await startHarness({ script: passThrough });
    try {
      const response = await fetch(`${harness.envoy.url}/v1/models`, { headers: { 'x-ai-eg-model': 'm' } });
      assert.equal(response.status, 200);
      await harness.envoy.settled();
      const router = harness.extProc.streams[0]?.received ?? [];
      assert.deepEqual(router.map((message) => message.request), ['request_headers', 'response_headers', 'response_body']);
      assert.equal(router[0]?.request_headers?.end_of_stream, true);
      const got = harness.upstreams.a?.requests[0];
      assert.equal(got?.method, 'GET');
      assert.equal(got?.body.length, 0);
      assert.equal(got?.headers['transfer-encoding'], undefined);
    } finally {
      await harness.close();
    }
  });
});
