/**
 * A generic mock upstream on 127.0.0.1:0. It records every request (method, path, headers in order, raw body
 * bytes) and answers from a script: JSON (optionally gzip/deflate/br with matching content-encoding and
 * content-length), SSE chunks written with delays (optionally one gzip stream across chunks), raw
 * status + body, a reset mid-body, a reset before any response, a hang, or custom code.
 *
 *   const mock = await startHttpMock([{ kind: 'json', status: 503, body: {...} }, { kind: 'sse', chunks: [...] }]);
 *   const mock = await startHttpMock((request) => ({ kind: 'json', body: { echo: request.json() } }));
 */
import { once } from 'node:events';
import * as http from 'node:http';
import type { AddressInfo } from 'node:net';
import * as zlib from 'node:zlib';

export type ContentEncoding = 'gzip' | 'deflate' | 'br';
type Bytes = string | Uint8Array;

export type MockReply =
  /** JSON body (a string is sent as is); content-length always set. */
  | { kind: 'json'; status?: number; body: unknown; headers?: Record<string, string>; encoding?: ContentEncoding }
  /** Server-sent events: each chunk written (and flushed) separately, `delayMs` apart; chunked framing. */
  | { kind: 'sse'; status?: number; chunks: Bytes[]; delayMs?: number; headers?: Record<string, string>; encoding?: 'gzip'; contentType?: string }
  /** Any status and body (HTML, empty...); content-length unless `chunked`. */
  | { kind: 'raw'; status: number; body?: Bytes; headers?: Record<string, string>; chunked?: boolean }
  /** Response headers and part of the body, then the connection is destroyed. */
  | { kind: 'reset-mid-body'; status?: number; headers?: Record<string, string>; body: Bytes; declaredLength?: number }
  /** The connection is destroyed before any response byte. */
  | { kind: 'reset' }
  /** Never answers (until the mock closes). */
  | { kind: 'hang' }
  /** Full control over the response. */
  | { kind: 'custom'; handle(response: http.ServerResponse, request: RecordedRequest): void | Promise<void> };

export interface RecordedRequest {
  method: string;
  path: string;
  /** Lower-case names; repeated headers as arrays (node's joining rules). */
  headers: http.IncomingHttpHeaders;
  /** [name (lower-case), value] in wire order. */
  rawHeaders: Array<[string, string]>;
  body: Buffer;
  /** Set when the connection closed before the mock finished its response (client abort or reset). */
  aborted: boolean;
  text(): string;
  /** The body parsed as JSON (throws if it is not JSON: tests only). */
  json(): unknown;
}

export type MockScript = MockReply | MockReply[] | ((request: RecordedRequest, index: number) => MockReply | Promise<MockReply>);

export interface HttpMock {
  readonly url: string;
  readonly port: number;
  readonly requests: RecordedRequest[];
  /** Replaces the script; the request index keeps counting. */
  setScript(script: MockScript): void;
  /** Resolves once `count` requests have been recorded. */
  waitForRequests(count: number): Promise<RecordedRequest[]>;
  close(): Promise<void>;
}

const delay = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));
const toBuffer = (bytes: Bytes): Buffer => (typeof bytes === 'string' ? Buffer.from(bytes) : Buffer.from(bytes));

export function encodeBody(body: Buffer, encoding: ContentEncoding): Buffer {
  if (encoding === 'gzip') return zlib.gzipSync(body);
  if (encoding === 'deflate') return zlib.deflateSync(body);
  return zlib.brotliCompressSync(body);
}

function pickReply(script: MockScript, request: RecordedRequest, index: number): MockReply | Promise<MockReply> {
  if (typeof script === 'function') return script(request, index);
  if (!Array.isArray(script)) return script;
  const reply = script[Math.min(index, script.length - 1)];
  if (!reply) throw new Error('empty mock script');
  return reply;
}

async function answer(reply: MockReply, response: http.ServerResponse, request: RecordedRequest): Promise<void> {
  switch (reply.kind) {
    case 'json': {
      const text = typeof reply.body === 'string' ? reply.body : JSON.stringify(reply.body);
      let body: Buffer = Buffer.from(text);
      const headers: Record<string, string> = { 'content-type': 'application/json', ...reply.headers };
      if (reply.encoding) {
        body = encodeBody(body, reply.encoding);
        headers['content-encoding'] = reply.encoding;
      }
      response.writeHead(reply.status ?? 200, { ...headers, 'content-length': String(body.length) });
      response.end(body);
      return;
    }
    case 'sse':
      return writeSse(reply, response);
    case 'raw': {
      const body = toBuffer(reply.body ?? '');
      const headers = reply.chunked ? { ...reply.headers } : { ...reply.headers, 'content-length': String(body.length) };
      response.writeHead(reply.status, headers);
      response.end(body);
      return;
    }
    case 'reset-mid-body': {
      const body = toBuffer(reply.body);
      const headers: Record<string, string> = { 'content-type': 'text/event-stream', ...reply.headers };
      if (reply.declaredLength !== undefined) headers['content-length'] = String(reply.declaredLength);
      response.writeHead(reply.status ?? 200, headers);
      // The connection is cut as soon as the bytes are handed to the socket (TCP delivers them before the FIN):
      // an event, not a pause, so the timing between response, body and reset is the same on a busy machine.
      await new Promise<void>((resolve) => {
        response.write(body, () => resolve());
        response.once('close', () => resolve());
      });
      response.socket?.destroy();
      return;
    }
    case 'reset':
      response.socket?.destroy();
      return;
    case 'hang':
      return;
    case 'custom':
      return reply.handle(response, request);
  }
}

async function writeSse(reply: Extract<MockReply, { kind: 'sse' }>, response: http.ServerResponse): Promise<void> {
  const headers: Record<string, string> = { 'content-type': reply.contentType ?? 'text/event-stream', ...reply.headers };
  if (reply.encoding === 'gzip') headers['content-encoding'] = 'gzip';
  response.writeHead(reply.status ?? 200, headers);
  response.flushHeaders();
  const gzip = reply.encoding === 'gzip' ? zlib.createGzip() : undefined;
  gzip?.on('data', (data: Buffer) => response.write(data));
  for (const [index, chunk] of reply.chunks.entries()) {
    if (index > 0 && reply.delayMs) await delay(reply.delayMs);
    if (response.destroyed) return;
    if (!gzip) {
      response.write(toBuffer(chunk));
      continue;
    }
    gzip.write(toBuffer(chunk));
    await new Promise<void>((resolve) => gzip.flush(zlib.constants.Z_SYNC_FLUSH, () => resolve()));
  }
  if (gzip) {
    const ended = once(gzip, 'end');
    gzip.end();
    await ended;
  }
  response.end();
}

export async function startHttpMock(initialScript: MockScript): Promise<HttpMock> {
  let script = initialScript;
  const requests: RecordedRequest[] = [];
  const waiters: Array<{ count: number; resolve(requests: RecordedRequest[]): void }> = [];
  const server = http.createServer((incoming, response) => {
    const chunks: Buffer[] = [];
    incoming.on('data', (chunk: Buffer) => chunks.push(chunk));
    incoming.on('end', () => {
      const body = Buffer.concat(chunks);
      const rawHeaders: Array<[string, string]> = [];
      for (let index = 0; index + 1 < incoming.rawHeaders.length; index += 2) {
        rawHeaders.push([(incoming.rawHeaders[index] ?? '').toLowerCase(), incoming.rawHeaders[index + 1] ?? '']);
      }
      const recorded: RecordedRequest = {
        method: incoming.method ?? 'GET',
        path: incoming.url ?? '/',
        headers: incoming.headers,
        rawHeaders,
        body,
        aborted: false,
        text: () => body.toString('utf8'),
        json: (): unknown => JSON.parse(body.toString('utf8')),
      };
      response.on('close', () => {
        if (!response.writableFinished) recorded.aborted = true;
      });
      const index = requests.length;
      requests.push(recorded);
      for (const waiter of waiters.filter((entry) => requests.length >= entry.count)) {
        waiters.splice(waiters.indexOf(waiter), 1);
        waiter.resolve(requests.slice());
      }
      Promise.resolve()
        .then(() => pickReply(script, recorded, index))
        .then((reply) => answer(reply, response, recorded))
        .catch((error: unknown) => {
          if (!response.headersSent) response.writeHead(500, { 'content-type': 'text/plain' });
          response.end(`mock error: ${String(error)}`);
        });
    });
  });
  server.keepAliveTimeout = 10_000;
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as AddressInfo).port;
  return {
    url: `http://127.0.0.1:${port}`,
    port,
    requests,
    setScript: (next) => {
      script = next;
    },
    waitForRequests: (count) =>
      requests.length >= count
        ? Promise.resolve(requests.slice())
        : new Promise((resolve) => waiters.push({ count, resolve })),
    close: async () => {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

/** SSE helper: `data: <json>\n\n` for objects, `data: [DONE]\n\n` for the string '[DONE]'. */
export function sseEvent(data: unknown, event?: string): string {
  const payload = typeof data === 'string' ? data : JSON.stringify(data);
  return `${event ? `event: ${event}\n` : ''}data: ${payload}\n\n`;
}
