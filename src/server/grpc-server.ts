/**
 * The gRPC server: ExternalProcessor plus grpc.health.v1.Health. Message size limits follow the configured
 * body limit so bodies up to it pass end to end. drain() stops accepting streams and lets in-flight ones finish.
 */
import * as grpc from '@grpc/grpc-js';
import { HealthImplementation } from 'grpc-health-check';
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
import { EXT_PROC_SERVICE_NAME, extProcServiceDefinition } from './proto.js';

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
  });
  // Before the first request: loading a tokenizer on demand would cost that request ~200 ms, Envoy's default
  // message timeout. Only the encodings the configured models need are loaded.
  const config = options.configStore.current;
  preloadEncoders([...config.models.keys(), ...modelNameOverrides(config)]);
  const registry = new ExchangeRegistry();
  const calls = new Set<ProcessCall>();
  const handler = createProcessHandler(
    { configStore: options.configStore, registry, metrics: options.metrics, logger: options.logger, translators: options.translators, tracing: options.tracing },
    { add: (call) => calls.add(call), delete: (call) => calls.delete(call) },
  );
  server.addService(extProcServiceDefinition.service(), { Process: handler });
  const health = new HealthImplementation({ '': 'SERVING', [EXT_PROC_SERVICE_NAME]: 'SERVING' });
  health.addToServer(server);

  if (parsed.address.kind === 'unix') await removeStaleSocket(parsed.address.path);
  const target = grpcBindTarget(parsed.address);
  const port = await new Promise<number>((resolve, reject) => {
    server.bindAsync(target, options.credentials ?? grpc.ServerCredentials.createInsecure(), (error, boundPort) => (error ? reject(error) : resolve(boundPort)));
  });
  if (parsed.address.kind === 'unix') await restrictSocket(parsed.address.path);
  const address = parsed.address.kind === 'unix' ? `unix:${parsed.address.path}` : `${parsed.address.host}:${port}`;
  options.logger.info({ address, tls: options.credentials !== undefined }, 'ext_proc gRPC server listening');

  let draining: Promise<void> | undefined;
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
