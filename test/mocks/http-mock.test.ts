import assert from 'node:assert/strict';
import * as http from 'node:http';
import { describe, it } from 'node:test';
import * as zlib from 'node:zlib';
import { sseEvent, startHttpMock, type HttpMock, type MockScript } from './http-mock.js';
import { waitUntil } from '../helpers/wait-until.js';

interface RawResponse {
  status: number;
  headers: http.IncomingHttpHeaders;
  /** Body bytes as received (not decoded). */
  body: Buffer;
  /** Arrival time of each data event, ms since the request started. */
  arrivals: number[];
  error?: string;
}

/** A plain node:http request, so content-encoding is not undone and chunk timing is visible. */
function request(mock: HttpMock, path = '/v1/x', body = '{"q":1}'): Promise<RawResponse> {
  return new Promise((resolve) => {
    const started = Date.now();
    const outgoing = http.request(`${mock.url}${path}`, { method: 'POST', headers: { 'content-type': 'application/json', 'x-trace': 'abc' } });
    outgoing.on('response', (response) => {
      const chunks: Buffer[] = [];
      const arrivals: number[] = [];
      response.on('data', (chunk: Buffer) => {
        chunks.push(chunk);
        arrivals.push(Date.now() - started);
      });
      const done = (error?: string): void =>
        resolve({ status: response.statusCode ?? 0, headers: response.headers, body: Buffer.concat(chunks), arrivals, ...(error ? { error } : {}) });
      response.on('end', () => done());
      response.on('error', (error) => done(error.message));
      response.on('aborted', () => done('aborted'));
    });
    outgoing.on('error', (error) => resolve({ status: 0, headers: {}, body: Buffer.alloc(0), arrivals: [], error: error.message }));
    outgoing.end(body);
  });
}

async function withMock(script: MockScript, run: (mock: HttpMock) => Promise<void>): Promise<void> {
  const mock = await startHttpMock(script);
  try {
    await run(mock);
  } finally {
    await mock.close();
  }
}

describe('http mock upstream', () => {
  it('records method, path, ordered headers and raw body bytes', async () => {
    await withMock({ kind: 'json', body: { ok: true } }, async (mock) => {
      const response = await request(mock, '/v1/chat?x=1', '{"model":"m"}');
      assert.equal(response.status, 200);
      assert.deepEqual(JSON.parse(response.body.toString()), { ok: true });
      const [recorded] = mock.requests;
      assert.equal(recorded?.method, 'POST');
      assert.equal(recorded?.path, '/v1/chat?x=1');
      assert.equal(recorded?.headers['x-trace'], 'abc');
      assert.deepEqual(recorded?.rawHeaders.find(([name]) => name === 'content-type'), ['content-type', 'application/json']);
      assert.deepEqual(recorded?.json(), { model: 'm' });
    });
  });

  for (const encoding of ['gzip', 'deflate', 'br'] as const) {
    it(`encodes JSON with ${encoding}, with matching content-encoding and content-length`, async () => {
      await withMock({ kind: 'json', body: { hello: 'world' }, encoding }, async (mock) => {
        const response = await request(mock);
        assert.equal(response.headers['content-encoding'], encoding);
        assert.equal(response.headers['content-length'], String(response.body.length));
        const decoded =
          encoding === 'gzip' ? zlib.gunzipSync(response.body) : encoding === 'deflate' ? zlib.inflateSync(response.body) : zlib.brotliDecompressSync(response.body);
        assert.deepEqual(JSON.parse(decoded.toString()), { hello: 'world' });
      });
    });
  }

  it('writes SSE chunks separately with delays, chunked', async () => {
    const chunks = [sseEvent({ n: 1 }), sseEvent({ n: 2 }), sseEvent('[DONE]')];
    await withMock({ kind: 'sse', chunks, delayMs: 60 }, async (mock) => {
      const started = performance.now();
      const response = await request(mock);
      const elapsed = performance.now() - started;
      assert.equal(response.headers['content-type'], 'text/event-stream');
      assert.equal(response.headers['transfer-encoding'], 'chunked');
      assert.equal(response.body.toString(), chunks.join(''));
      // Load can only lengthen the delays, and may merge chunks into one read: so no count of arrivals, a lower bound.
      assert.ok(response.arrivals.length >= 1);
      assert.ok(elapsed >= 2 * 60 - 5, `the two delays between three chunks took ${elapsed.toFixed(0)} ms`);
    });
  });

  it('gzips an SSE response as one stream across chunks, flushed per chunk', async () => {
    const chunks = ['data: {"a":1}\n\n', 'data: {"b":2}\n\n'];
    await withMock({ kind: 'sse', chunks, delayMs: 40, encoding: 'gzip' }, async (mock) => {
      const response = await request(mock);
      assert.equal(response.headers['content-encoding'], 'gzip');
      assert.equal(zlib.gunzipSync(response.body).toString(), chunks.join(''));
      assert.ok(response.arrivals.length >= 2);
    });
  });

  it('answers raw status and body, and follows an array script with the last entry repeating', async () => {
    await withMock([{ kind: 'raw', status: 502, body: '<html>bad gateway</html>', headers: { 'content-type': 'text/html' } }, { kind: 'raw', status: 204 }], async (mock) => {
      const first = await request(mock);
      assert.equal(first.status, 502);
      assert.equal(first.body.toString(), '<html>bad gateway</html>');
      assert.equal((await request(mock)).status, 204);
      assert.equal((await request(mock)).status, 204);
      assert.equal(mock.requests.length, 3);
    });
  });

  it('resets the connection mid-body, or before any response', async () => {
    await withMock([{ kind: 'reset-mid-body', body: 'data: partial', declaredLength: 1000 }, { kind: 'reset' }], async (mock) => {
      const midBody = await request(mock);
      assert.equal(midBody.status, 200);
      assert.ok(midBody.error);
      assert.equal(midBody.body.toString(), 'data: partial');
      const before = await request(mock);
      assert.equal(before.status, 0);
      assert.ok(before.error);
    });
  });

  it('hangs until the client gives up, and marks the request aborted', async () => {
    await withMock({ kind: 'hang' }, async (mock) => {
      const outgoing = http.request(`${mock.url}/slow`, { method: 'GET' });
      outgoing.on('error', () => undefined);
      outgoing.end();
      await mock.waitForRequests(1);
      outgoing.destroy();
      await waitUntil(() => mock.requests[0]?.aborted === true, 'the mock marks the request aborted');
      assert.equal(mock.requests[0]?.aborted, true);
    });
  });

  it('runs a handler per request, and custom responses', async () => {
    await withMock(
      (recorded, index) =>
        index === 0
          ? { kind: 'json', status: 201, body: { echo: recorded.json(), index } }
          : { kind: 'custom', handle: (response) => void response.writeHead(418, { 'x-custom': 'yes' }).end('teapot') },
      async (mock) => {
        const first = await request(mock, '/a', '{"v":7}');
        assert.equal(first.status, 201);
        assert.deepEqual(JSON.parse(first.body.toString()), { echo: { v: 7 }, index: 0 });
        const second = await request(mock);
        assert.equal(second.status, 418);
        assert.equal(second.headers['x-custom'], 'yes');
      },
    );
  });
});
