/**
 * How the stand-in ends ext_proc streams (contract §1.6): by default half-close then reset at once (a grpc-js
 * server sees the call cancelled); with ext_proc_graceful_grpc_close, half-close and wait for the server's
 * status. Also a client disconnect in the middle of a streamed response.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { answerFor, passThrough, type Script } from './scripted-ext-proc.js';
import { postJson, startHarness } from './test-setup.js';
import { waitUntil } from '../helpers/wait-until.js';

const stayOpen: Script = async (stream) => {
  stream.autoEndOnHalfClose = false;
  await passThrough(stream);
};

describe('Envoy stand-in: closing ext_proc streams', () => {
  it('default close: half-close then reset, so the server sees every stream cancelled', async () => {
    const harness = await startHarness({ script: stayOpen });
    try {
      assert.equal((await postJson(harness.envoy, { model: 'm' })).status, 200);
      await harness.envoy.settled();
      await Promise.all(harness.extProc.streams.map((stream) => stream.finished));
      assert.equal(harness.extProc.streams.length, 2);
      for (const stream of harness.extProc.streams) assert.ok(stream.events.includes('cancelled'), stream.events.join(','));
      assert.deepEqual(harness.envoy.requests[0]?.streams.map((stream) => stream.close), ['reset', 'reset']);
    } finally {
      await harness.close();
    }
  });

  it('graceful close: half-close, the server ends the call with OK', async () => {
    const harness = await startHarness({ script: passThrough, envoy: { gracefulClose: true } });
    try {
      assert.equal((await postJson(harness.envoy, { model: 'm' })).status, 200);
      await harness.envoy.settled();
      await Promise.all(harness.extProc.streams.map((stream) => stream.finished));
      for (const stream of harness.extProc.streams) {
        assert.deepEqual(stream.events.slice(0, 2), ['end', 'ended-ok']);
        assert.ok(!stream.events.includes('cancelled'));
      }
      const records = harness.envoy.requests[0]?.streams ?? [];
      await waitUntil(() => records.every((record) => record.grpcStatus !== undefined), 'every stream has its gRPC status');
      assert.deepEqual(records.map((record) => [record.close, record.grpcStatus?.code]), [['graceful', 0], ['graceful', 0]]);
    } finally {
      await harness.close();
    }
  });

  it('graceful close: resets after the remote close timeout when the server never ends the call', async () => {
    const harness = await startHarness({ script: stayOpen, envoy: { gracefulClose: true, remoteCloseTimeoutMs: 100 } });
    try {
      assert.equal((await postJson(harness.envoy, { model: 'm' })).status, 200);
      await Promise.all(harness.extProc.streams.map((stream) => stream.finished));
      for (const stream of harness.extProc.streams) assert.deepEqual(stream.events, ['end', 'cancelled']);
      assert.deepEqual(harness.envoy.requests[0]?.streams.map((stream) => stream.close), ['graceful-timeout', 'graceful-timeout']);
    } finally {
      await harness.close();
    }
  });

  it('client disconnect mid-stream: upstream aborted, streams closed, request recorded as reset with metadata so far', async () => {
    const script: Script = async (stream) => {
      stream.autoEndOnHalfClose = false;
      for (let message = await stream.next(); message; message = await stream.next()) {
        const answer = answerFor(message);
        if (message.request === 'response_headers') answer.mode_override = { request_body_mode: 'NONE', response_body_mode: 'STREAMED' };
        if (message.request === 'response_body') {
          answer.dynamic_metadata = { fields: { 'io.envoy.ai_gateway': { structValue: { fields: { seen: { boolValue: true } } } } } };
        }
        stream.send(answer);
      }
    };
    const harness = await startHarness({
      script,
      upstreams: { a: { kind: 'sse', chunks: ['data: 1\n\n', 'data: 2\n\n', 'data: 3\n\n'], delayMs: 300 } },
    });
    try {
      const response = await postJson(harness.envoy, { model: 'm', stream: true }, {});
      const reader = response.body?.getReader();
      const first = await reader?.read();
      assert.equal(Buffer.from(first?.value ?? []).toString(), 'data: 1\n\n');
      await reader?.cancel();
      await harness.envoy.settled();
      const record = harness.envoy.requests[0];
      assert.equal(record?.reset, true);
      assert.equal(record?.responseCodeDetails, 'downstream_remote_disconnect');
      assert.deepEqual(record?.metadata, { 'io.envoy.ai_gateway': { seen: true } });
      await harness.extProc.streams[0]?.finished;
      assert.ok(harness.extProc.streams[0]?.events.includes('cancelled'));
      assert.equal(record?.streams[0]?.close, 'reset');
      assert.equal(harness.upstreams.a?.requests.length, 1);
      await waitUntil(() => harness.upstreams.a?.requests[0]?.aborted === true, 'the upstream request is marked aborted');
    } finally {
      await harness.close();
    }
  });
});
