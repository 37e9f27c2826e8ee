/**
 * The admin HTTP server: GET /metrics (Prometheus text), /healthz (process is up),
 * /readyz (gRPC server serving and a config loaded). Everything else is 404.
 *
 * GET /debug/memory exists only when Node runs with --expose-gc (never in the shipped image): it runs a full
 * garbage collection, then answers the process's memory figures, open file descriptors and live per-request
 * objects as JSON. `npm run soak` reads it from the child it drives.
 */
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { readdirSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { formatListenAddress, parseListenAddress, removeStaleSocket, restrictSocket, type ListenAddress } from '../net-address.js';

export interface MetricsSource {
  metrics(): Promise<string>;
  readonly contentType: string;
}

export interface AdminServerOptions {
  /** "host:port", "[v6]:port" or "unix:/path" (port 0 picks a free port). */
  listen: string | ListenAddress;
  metrics: MetricsSource;
  isReady: () => boolean;
  /** Called if producing the metrics text fails. */
  onError?: (error: unknown) => void;
  /** Live per-request objects by kind, for /debug/memory. */
  liveObjects?: () => Record<string, number>;
}

export interface AdminServer {
  /** Where it listens, with the real port: "127.0.0.1:41234" or "unix:/path". */
  readonly address: string;
  close(): Promise<void>;
}

export async function startAdminServer(options: AdminServerOptions): Promise<AdminServer> {
  const listen = typeof options.listen === 'string' ? parseOrThrow(options.listen) : options.listen;
  const server = createServer((request, response) => {
    void handle(request, response, options);
  });
  if (listen.kind === 'unix') await removeStaleSocket(listen.path);
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    const done = () => {
      server.off('error', reject);
      resolve();
    };
    if (listen.kind === 'unix') server.listen(listen.path, done);
    else server.listen(listen.port, listen.host, done);
  });
  if (listen.kind === 'unix') await restrictSocket(listen.path);
  const bound = server.address();
  const address =
    listen.kind === 'unix' || bound === null || typeof bound === 'string'
      ? formatListenAddress(listen)
      : formatListenAddress({ kind: 'tcp', host: listen.host, port: (bound as AddressInfo).port });
  return {
    address,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}

async function handle(request: IncomingMessage, response: ServerResponse, options: AdminServerOptions): Promise<void> {
  const path = (request.url ?? '/').split('?')[0];
  const method = request.method ?? 'GET';
  if (method !== 'GET' && method !== 'HEAD') return send(response, 404, 'text/plain; charset=utf-8', 'not found\n');
  switch (path) {
    case '/metrics':
      try {
        return send(response, 200, options.metrics.contentType, await options.metrics.metrics());
      } catch (error) {
        options.onError?.(error);
        return send(response, 500, 'text/plain; charset=utf-8', 'metrics unavailable\n');
      }
    case '/healthz':
      return send(response, 200, 'text/plain; charset=utf-8', 'ok');
    case '/debug/memory': {
      const gc = (globalThis as { gc?: () => void }).gc;
      if (typeof gc !== 'function') return send(response, 404, 'text/plain; charset=utf-8', 'not found\n');
      return send(response, 200, 'application/json', JSON.stringify(await memoryAfterGc(gc, options.liveObjects)));
    }
    case '/readyz':
      return options.isReady()
        ? send(response, 200, 'text/plain; charset=utf-8', 'ok')
        : send(response, 503, 'text/plain; charset=utf-8', 'not ready');
    default:
      return send(response, 404, 'text/plain; charset=utf-8', 'not found\n');
  }
}

/** The figures after a full collection; finalizers (the live-object counts) run on a later turn, hence the turns between. */
async function memoryAfterGc(gc: () => void, liveObjects: (() => Record<string, number>) | undefined): Promise<Record<string, unknown>> {
  for (let round = 0; round < 3; round += 1) {
    gc();
    await new Promise((resolve) => setImmediate(resolve));
  }
  const memory = process.memoryUsage();
  let fds: number | undefined;
  try {
    fds = readdirSync('/proc/self/fd').length;
  } catch {
    fds = undefined;
  }
  return { ...memory, fds, live: liveObjects?.() ?? {} };
}

function send(response: ServerResponse, status: number, contentType: string, body: string): void {
  response.writeHead(status, { 'content-type': contentType, 'content-length': Buffer.byteLength(body) });
  response.end(response.req.method === 'HEAD' ? undefined : body);
}

function parseOrThrow(text: string): ListenAddress {
  const parsed = parseListenAddress(text);
  if (!parsed.ok) throw new Error(`admin address ${parsed.error}`);
  return parsed.address;
}
