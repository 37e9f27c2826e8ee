/**
 * drain() on the real gRPC server (what SIGTERM triggers): health turns NOT_SERVING, no new stream is accepted,
 * a stream in flight still gets its answers and finishes, and a stream that never finishes is cut at the bound.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import * as grpc from '@grpc/grpc-js';
import { connectExtProc, ExtProcTestStream, headerMap } from '../helpers/ext-proc-client.js';
import { startTestService, type TestService } from '../helpers/service.js';

const CONFIG = `
backends: [{ name: openai, schema: OpenAI, endpoint: https://api.openai.com }]
models: [{ name: gpt-4o-mini, backends: [{ backend: openai }] }]
`;

function start(): Promise<TestService> {
  return startTestService({ configYaml: CONFIG });
}

const REQUEST_HEADERS = {
  request_headers: { headers: headerMap({ ':authority': 'gw', ':path': '/v1/chat/completions', ':method': 'POST', ':scheme': 'http', 'content-type': 'application/json' }) },
};

describe('ext_proc server drain', () => {
  it('refuses new streams, lets the one in flight finish, then resolves', async () => {
    const server = await start();
    const client = connectExtProc(server.address);
    try {
      const inFlight = new ExtProcTestStream(client);
      assert.ok((await inFlight.send(REQUEST_HEADERS)).request_headers);
      assert.equal(server.registry.size, 1);

      let drained = false;
      const draining = server.drain(10_000).then(() => (drained = true));
      await new Promise((resolve) => setTimeout(resolve, 50));
      assert.equal(drained, false, 'drain waits for the stream in flight');

      // A new stream is not served.
      const late = new ExtProcTestStream(client);
      late.close();
      const lateStatus = await late.done;
      assert.notEqual(lateStatus.code, grpc.status.OK);

      // The stream in flight still gets its answer, and Envoy's half-close finishes it with OK.
      const bodyAnswer = await inFlight.send({ request_body: { body: Buffer.from('{"model":"gpt-4o-mini","messages":[]}'), end_of_stream: true } });
      assert.ok(bodyAnswer.request_body);
      inFlight.close();
      assert.equal((await inFlight.done).code, grpc.status.OK);
      await draining;
      assert.equal(drained, true);
      assert.equal(server.registry.size, 0);
    } finally {
      client.close();
      await server.drain(0);
    }
  });

  it('cuts a stream that never finishes once the bound has passed', async () => {
    const server = await start();
    const client = connectExtProc(server.address);
    try {
      const stuck = new ExtProcTestStream(client);
      assert.ok((await stuck.send(REQUEST_HEADERS)).request_headers);
      await server.drain(200);
      assert.notEqual((await stuck.done).code, grpc.status.OK);
      assert.equal(server.registry.size, 0);
    } finally {
      client.close();
    }
  });
});
