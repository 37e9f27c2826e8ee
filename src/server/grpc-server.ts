/**
 * The gRPC server: ExternalProcessor plus grpc.health.v1.Health. Message size limits follow the configured
 * body limit so bodies up to it pass end to end. drain() stops accepting streams and lets in-flight ones finish.
 */
import * as grpc from '@grpc/grpc-js';
import { constants as http2Constants, type Http2Server, type ServerHttp2Session, type ServerHttp2Stream } from 'node:http2';
import { modelNameOverrides } from '../config/load.js';
import type { ConfigStore } from '../config/store.js';
import type { Logger } from '../logging.js';
import type { GatewayMetrics } from '../metrics/metrics.js';
import type { TranslatorTable } from '../translators/table.js';
import type { Tracing } from '../tracing/types.js';
import { grpcBindTarget, parseListenAddress, removeStaleSocket, restrictSocket } from '../net-address.js';
import { preloadEncoders } from '../costs/index.js';
import { createProcessHandler, type ProcessCall } from './ext-proc-service.js';
import { ExchangeRegistry } from './exchange.js';
import { EXT_PROC_SERVICE_NAME, leanExtProcService } from './ext-proc-codec.js';
import { HealthService } from './health.js';
import { LargeBodyHeapGrowth } from './heap-growth.js';

export interface ExtProcServerOptions {
  listen: string;
  configStore: Pick<ConfigStore, 'current'>;
  metrics: GatewayMetrics;
  logger: Logger;
  /** From the composition root (src/components.ts). */
  translators: TranslatorTable;
  /** TLS (src/server/tls.ts); plaintext when absent. */
  credentials?: grpc.ServerCredentials;
  /** Present when tracing is on. */
  tracing?: Tracing | undefined;
  /** PINGs on every connection; none when absent or `timeMs` is 0. */
  keepalive?: KeepaliveSettings;
  /** V8's heap growing factor while a large request body is in flight (0 or absent: V8's own, always). */
  heapGrowingPercent?: number;
}

/** How often the server PINGs each connection, and how long it waits for the answer before dropping it. */
export interface KeepaliveSettings {
  readonly timeMs: number;
  readonly timeoutMs: number;
}

/**
 * grpc-js's server keepalive: a connection that does not answer a PING in time is destroyed. Besides a peer that has
 * gone away without closing, this catches an HTTP/2 session that no longer reads its socket but never closed (seen
 * after the reset storm that trips Node's rapid-reset protection; docs/reliability.md): Envoy's FIN is then never
 * read and the socket would sit in CLOSE-WAIT for good, a file descriptor lost per such connection.
 */
function keepaliveOptions(keepalive: KeepaliveSettings | undefined): grpc.ChannelOptions {
  if (!keepalive || keepalive.timeMs === 0) return {};
  return { 'grpc.keepalive_time_ms': keepalive.timeMs, 'grpc.keepalive_timeout_ms': keepalive.timeoutMs };
}

export interface ExtProcServer {
  /** The bound address (host:port with the real port, or unix:/path). */
  readonly address: string;
  readonly registry: ExchangeRegistry;
  /** Stops accepting new streams; resolves when in-flight ones finished or the timeout passed (then forces). */
  drain(timeoutMs: number): Promise<void>;
  forceClose(): void;
}

/** Room for headers, metadata and framing around the largest body. */
const MESSAGE_OVERHEAD_BYTES = 1024 * 1024;

export async function startExtProcServer(options: ExtProcServerOptions): Promise<ExtProcServer> {
  const parsed = parseListenAddress(options.listen);
  if (!parsed.ok) throw new Error(`invalid listen address ${options.listen}: ${parsed.error}`);
  const maxMessage = options.configStore.current.file.limits.maxRequestBodyBytes + MESSAGE_OVERHEAD_BYTES;
  const server = new grpc.Server({
    'grpc.max_receive_message_length': maxMessage,
    // Answers are ours: a translated or held-back stream event can outgrow the chunk it answers (one huge SSE event).
    'grpc.max_send_message_length': -1,
    // Envoy keeps long-lived HTTP/2 connections with many concurrent streams.
    'grpc.max_concurrent_streams': 100_000,
    'grpc.keepalive_permit_without_calls': 1,
    'grpc-node.max_session_memory': 256,
    // Channelz stays on although it is not served: grpc-js (1.14) registers sessions for forceShutdown only in its
    // channelz session handler, so with 'grpc.enable_channelz': 0 a drain's deadline cuts no stream
    // (test/server/drain.test.ts hangs).
    ...keepaliveOptions(options.keepalive),
  });
  // Before the first request: loading a tokenizer on demand would cost that request ~200 ms, Envoy's default
  // message timeout. Only the encodings the configured models need are loaded; fully optimised only when a reserve
  // cost counts tokens on every request.
  const config = options.configStore.current;
  preloadEncoders([...config.models.keys(), ...modelNameOverrides(config)], config.costs.some((cost) => cost.reserve));
  const registry = new ExchangeRegistry();
  const calls = new Set<ProcessCall>();
  const handler = createProcessHandler(
    {
      configStore: options.configStore,
      registry,
      metrics: options.metrics,
      logger: options.logger,
      translators: options.translators,
      tracing: options.tracing,
      heapGrowth: options.heapGrowingPercent ? new LargeBodyHeapGrowth(options.heapGrowingPercent) : undefined,
    },
    { add: (call) => calls.add(call), delete: (call) => calls.delete(call) },
  );
  server.addService(leanExtProcService(), { Process: handler });
  const health = new HealthService({ '': 'SERVING', [EXT_PROC_SERVICE_NAME]: 'SERVING' });
  health.addToServer(server);

  if (parsed.address.kind === 'unix') await removeStaleSocket(parsed.address.path);
  const target = grpcBindTarget(parsed.address);
  const port = await new Promise<number>((resolve, reject) => {
    server.bindAsync(target, options.credentials ?? grpc.ServerCredentials.createInsecure(), (error, boundPort) => (error ? reject(error) : resolve(boundPort)));
  });
  if (parsed.address.kind === 'unix') await restrictSocket(parsed.address.path);
  let draining: Promise<void> | undefined;
  watchConnections(server, options.metrics, options.logger, () => draining !== undefined);
  const address = parsed.address.kind === 'unix' ? `unix:${parsed.address.path}` : `${parsed.address.host}:${port}`;
  options.logger.info({ address, tls: options.credentials !== undefined }, 'ext_proc gRPC server listening');

  return {
    address,
    registry,
    drain(timeoutMs) {
      draining ??= new Promise<void>((resolve) => {
        health.setStatus('', 'NOT_SERVING');
        health.setStatus(EXT_PROC_SERVICE_NAME, 'NOT_SERVING');
        const timer = setTimeout(() => {
          options.logger.warn({ inFlight: calls.size }, 'drain timeout: closing remaining streams');
          server.forceShutdown();
          resolve();
        }, timeoutMs);
        timer.unref();
        server.tryShutdown(() => {
          clearTimeout(timer);
          resolve();
        });
      });
      return draining;
    },
    forceClose() {
      server.forceShutdown();
    },
  };
}

/** Resets after Envoy's half-close before the warning: one in a while can be a timeout; Envoy's default close resets every stream. */
export const DEFAULT_CLOSE_WARN_AFTER = 100;

/**
 * Logs once, at warn, that Envoy closes ext_proc streams its default way (half-close, then reset at once): Node's
 * HTTP/2 rapid-reset protection (nghttp2's limit of a burst of 1,000 resets, then 33 a second, per connection;
 * Node 20 has no setting for it, and grpc-js passes none) then drops the whole connection under load, failing the
 * requests in flight on it. The fix is on Envoy's side.
 */
function defaultCloseDetector(logger: Logger): () => void {
  let count = 0;
  return () => {
    count += 1;
    if (count !== DEFAULT_CLOSE_WARN_AFTER) return;
    logger.warn(
      { resets: count, runtimeFlag: 'envoy.reloadable_features.ext_proc_graceful_grpc_close' },
      "Envoy resets every ext_proc stream after its half-close (its default close): under load, Node's HTTP/2 rapid-reset protection drops the connection and fails the requests in flight. Set the runtime flag envoy.reloadable_features.ext_proc_graceful_grpc_close: true in Envoy (the configs `llm-extproc envoy` writes do). See llm_extproc_stream_resets_total{when=\"after_half_close\"}.",
    );
  };
}

/**
 * Counts what happens to Envoy's HTTP/2 streams and connections: streams Envoy reset (RST_STREAM received; after its
 * half-close, that is Envoy's default close), GOAWAYs received, and connections ended while serving. grpc-js has
 * no public hook for its sessions (and reports every stream's end, reset or not, as a cancellation), so its HTTP/2
 * servers are reached through its `http2Servers` map; if a grpc-js release renames it, nothing is counted and
 * nothing else changes (test/server/connections.test.ts notices). The GOAWAY Node's own rapid-reset protection
 * sends cannot be seen from JavaScript; its effect can: Envoy's side ends the connection.
 */
function watchConnections(server: grpc.Server, metrics: GatewayMetrics, logger: Logger, isDraining: () => boolean): void {
  const servers = (server as unknown as { http2Servers?: unknown }).http2Servers;
  if (!(servers instanceof Map)) return;
  const defaultCloseSeen = defaultCloseDetector(logger);
  for (const http2Server of servers.keys() as IterableIterator<Http2Server>) {
    http2Server.on('session', (session: ServerHttp2Session) => {
      let counted = false;
      const closed = (by: 'peer' | 'error') => {
        if (counted || isDraining()) return;
        counted = true;
        metrics.recordConnectionClosed(by);
      };
      session.on('goaway', (code: number) => metrics.recordGoaway(code));
      session.once('error', () => closed('error'));
      session.once('close', () => closed('peer'));
      session.on('stream', (stream: ServerHttp2Stream) => {
        let halfClosed = false;
        stream.once('end', () => {
          halfClosed = true;
        });
        stream.once('close', () => {
          if (stream.rstCode === undefined || stream.rstCode === http2Constants.NGHTTP2_NO_ERROR) return;
          metrics.recordStreamReset(halfClosed);
          if (halfClosed) defaultCloseSeen();
        });
      });
    });
  }
}
