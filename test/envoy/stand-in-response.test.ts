/**
 * The stand-in's router-level response phase: mode override, STREAMED pipelining, content-length rules,
 * dynamic metadata, late immediate responses and the response buffer limit.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { ProcessingRequest, ProcessingResponse, Struct } from '../../src/server/ext-proc-types.js';
import { answerFor, setHeader, type Script } from './scripted-ext-proc.js';
import { postJson, startHarness } from './test-setup.js';

interface ResponseScript {
  headers?(request: ProcessingRequest): ProcessingResponse;
  body?(request: ProcessingRequest, index: number): ProcessingResponse;
}

/** CONTINUE everywhere except the router-level response messages handled by `handlers`. */
function onResponse(handlers: ResponseScript): Script {
  return async (stream) => {
    let bodyIndex = 0;
    for (let message = await stream.next(); message; message = await stream.next()) {
      if (message.request === 'response_headers' && handlers.headers) stream.send(handlers.headers(message));
      else if (message.request === 'response_body' && handlers.body) stream.send(handlers.body(message, bodyIndex++));
      else stream.send(answerFor(message));
    }
  };
}

const STREAMED = { request_body_mode: 'NONE', response_body_mode: 'STREAMED' } as const;
const text = (request: ProcessingRequest): string => Buffer.from(request.response_body?.body ?? []).toString();
const metadata = (fields: Record<string, Struct | number>): Struct => ({
  fields: Object.fromEntries(
    Object.entries(fields).map(([key, value]) => [key, typeof value === 'number' ? { numberValue: value } : { structValue: value }]),
  ),
});

describe('Envoy stand-in: router-level response phase', () => {
  it('keeps content-length after an override to STREAMED and skips set_headers for it', async () => {
    const harness = await startHarness({
      script: onResponse({
        headers: (request) => ({ ...answerFor(request, { header_mutation: { set_headers: [setHeader('content-length', '5')] } }), mode_override: STREAMED }),
      }),
      upstreams: { a: { kind: 'raw', status: 200, body: 'hello world', headers: { 'content-type': 'text/plain' } } },
    });
    try {
      const response = await postJson(harness.envoy, { model: 'm' });
      assert.equal(response.headers.get('content-length'), '11');
      assert.equal(await response.text(), 'hello world');
      await harness.envoy.settled();
      const bodies = harness.extProc.streams[0]?.received.filter((message) => message.request === 'response_body') ?? [];
      assert.equal(bodies.length, 1);
      assert.equal(text(bodies[0] ?? {}), 'hello world');
      assert.equal(bodies[0]?.response_body?.end_of_stream, true);
    } finally {
      await harness.close();
    }
  });

  it('STREAMED: one pipelined message per chunk, per-chunk mutations, empty end_of_stream last, chunked downstream', async () => {
    const harness = await startHarness({
      script: onResponse({
        headers: (request) => ({ ...answerFor(request, { header_mutation: { remove_headers: ['content-length'] } }), mode_override: STREAMED }),
        body: (request) =>
          answerFor(request, {
            header_mutation: { set_headers: [setHeader('x-late', '1')] },
            body_mutation: { body: Buffer.from(text(request).toUpperCase()) },
          }),
      }),
      upstreams: { a: { kind: 'sse', chunks: ['data: one\n\n', 'data: two\n\n', 'data: three\n\n'], delayMs: 30 } },
    });
    try {
      const response = await postJson(harness.envoy, { model: 'm', stream: true });
      assert.equal(response.headers.get('transfer-encoding'), 'chunked');
      assert.equal(response.headers.get('x-late'), null);
      assert.equal(await response.text(), 'DATA: ONE\n\nDATA: TWO\n\nDATA: THREE\n\n');
      await harness.envoy.settled();
      const bodies = harness.extProc.streams[0]?.received.filter((message) => message.request === 'response_body') ?? [];
      assert.equal(bodies.map(text).join(''), 'data: one\n\ndata: two\n\ndata: three\n\n');
      const last = bodies[bodies.length - 1];
      assert.equal(text(last ?? {}), '');
      assert.equal(last?.response_body?.end_of_stream, true);
      assert.ok(bodies.slice(0, -1).every((message) => !message.response_body?.end_of_stream));
      assert.ok(bodies.length >= 3);
    } finally {
      await harness.close();
    }
  });

  it('takes unset body modes in an override as NONE: the response body is not sent', async () => {
    const harness = await startHarness({
      script: onResponse({ headers: (request) => ({ ...answerFor(request), mode_override: { request_body_mode: 'BUFFERED' } }) }),
    });
    try {
      const response = await postJson(harness.envoy, { model: 'm' });
      assert.deepEqual(await response.json(), { ok: true });
      await harness.envoy.settled();
      const kinds = harness.extProc.streams[0]?.received.map((message) => message.request);
      assert.deepEqual(kinds, ['request_headers', 'request_body', 'response_headers']);
    } finally {
      await harness.close();
    }
  });

  it('keeps dynamic metadata for receiving namespaces only, merging keys; a non-struct value is an empty merge', async () => {
    const harness = await startHarness({
      script: async (stream) => {
        for (let message = await stream.next(); message; message = await stream.next()) {
          const answer = answerFor(message);
          if (message.request === 'request_body') answer.dynamic_metadata = metadata({ 'io.envoy.ai_gateway': { fields: { a: { numberValue: 0 }, keep: { stringValue: 'x' } } } });
          if (message.request === 'response_body') {
            answer.dynamic_metadata = metadata({ 'io.envoy.ai_gateway': { fields: { a: { numberValue: 7 } } }, 'not.listed': { fields: { b: { numberValue: 1 } } }, 'scalar.ns': 5 });
          }
          stream.send(answer);
        }
      },
      envoy: { receivingNamespaces: ['io.envoy.ai_gateway', 'scalar.ns'] },
    });
    try {
      await (await postJson(harness.envoy, { model: 'm' })).text();
      await harness.envoy.settled();
      assert.deepEqual(harness.envoy.requests[0]?.metadata, { 'io.envoy.ai_gateway': { a: 7, keep: 'x' }, 'scalar.ns': {} });
    } finally {
      await harness.close();
    }
  });

  it('resets the downstream stream for an immediate response after the response headers went out', async () => {
    const harness = await startHarness({
      script: onResponse({
        headers: (request) => ({ ...answerFor(request), mode_override: STREAMED }),
        body: () => ({ immediate_response: { status: { code: 'BadGateway' }, body: Buffer.from('late') } }),
      }),
      upstreams: { a: { kind: 'sse', chunks: ['data: one\n\n', 'data: two\n\n'], delayMs: 50 } },
    });
    try {
      const response = await postJson(harness.envoy, { model: 'm', stream: true });
      assert.equal(response.status, 200);
      await assert.rejects(response.text());
      await harness.envoy.settled();
      assert.equal(harness.envoy.requests[0]?.reset, true);
    } finally {
      await harness.close();
    }
  });

  it('sends an immediate response during a BUFFERED response body as a normal local reply', async () => {
    const harness = await startHarness({
      script: onResponse({ body: () => ({ immediate_response: { status: { code: 'BadGateway' }, body: Buffer.from('replaced'), details: 'late' } }) }),
    });
    try {
      const response = await postJson(harness.envoy, { model: 'm' });
      assert.equal(response.status, 502);
      assert.equal(await response.text(), 'replaced');
    } finally {
      await harness.close();
    }
  });

  it('answers 500 for a BUFFERED response body mismatching content-length, and replaces a consistent one', async () => {
    const replace = (setLength: boolean): Script =>
      onResponse({
        body: (request) =>
          answerFor(request, {
            body_mutation: { body: Buffer.from('{"x":1}') },
            ...(setLength ? { header_mutation: { set_headers: [setHeader('content-length', '7')] } } : {}),
          }),
      });
    const mismatch = await startHarness({ script: replace(false) });
    try {
      const response = await postJson(mismatch.envoy, { model: 'm' });
      assert.equal(response.status, 500);
      await mismatch.envoy.settled();
      assert.equal(mismatch.envoy.requests[0]?.responseCodeDetails, 'mismatch_between_content_length_and_the_length_of_the_mutated_body');
    } finally {
      await mismatch.close();
    }
    const consistent = await startHarness({ script: replace(true) });
    try {
      const response = await postJson(consistent.envoy, { model: 'm' });
      assert.equal(response.headers.get('content-length'), '7');
      assert.deepEqual(await response.json(), { x: 1 });
    } finally {
      await consistent.close();
    }
  });

  it('CONTINUE_AND_REPLACE with a body in the respH answer replaces the body, drops content-length, sends no respB', async () => {
    const harness = await startHarness({
      script: onResponse({
        headers: (request) => answerFor(request, { status: 'CONTINUE_AND_REPLACE', body_mutation: { body: Buffer.from('swapped') } }),
      }),
    });
    try {
      const response = await postJson(harness.envoy, { model: 'm' });
      assert.equal(response.headers.get('content-length'), null);
      assert.equal(await response.text(), 'swapped');
      await harness.envoy.settled();
      assert.ok(!harness.extProc.streams[0]?.received.some((message) => message.request === 'response_body'));
    } finally {
      await harness.close();
    }
  });

  it('answers 500 response_payload_too_large when a BUFFERED response exceeds the buffer limit', async () => {
    const harness = await startHarness({
      script: onResponse({}),
      envoy: { bufferLimitBytes: 1024 },
      upstreams: { a: { kind: 'raw', status: 200, body: 'y'.repeat(8192) } },
    });
    try {
      const response = await postJson(harness.envoy, { model: 'm' });
      assert.equal(response.status, 500);
      await harness.envoy.settled();
      assert.equal(harness.envoy.requests[0]?.responseCodeDetails, 'response_payload_too_large');
    } finally {
      await harness.close();
    }
  });
});
