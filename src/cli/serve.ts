/**
 * `llm-extproc serve`: config store (hot reload), the ext_proc gRPC server, the admin
 * HTTP server, and graceful shutdown. On SIGTERM/SIGINT /readyz turns 503, the gRPC
 * server stops taking new streams and lets open ones finish (bounded by
 * LLM_EXTPROC_DRAIN_TIMEOUT_MS, default 30 s), then the process exits 0. A second
 * signal closes everything at once.
 */
import { resetGcpTokenCaches } from '../auth/gcp.js';
import { startAdminServer, type AdminServer } from '../admin/admin-server.js';
import { ConfigError, ConfigStore } from '../config/store.js';
import { createLogger, type Logger } from '../logging.js';
import { GatewayMetrics } from '../metrics/metrics.js';
import { grpcBindTarget, parseListenAddress, type ListenAddress } from '../net-address.js';
import type { Command, CommandIo } from './commands.js';
import { DEFAULT_ADMIN, DEFAULT_LISTEN, configPath, parseFlags, stringFlag } from './options.js';

export const DEFAULT_DRAIN_TIMEOUT_MS = 30_000;
const USAGE = 'llm-extproc serve [--config FILE] [--listen ADDR] [--admin ADDR]   (ADDR: host:port | unix:/path)';

export const serveCommand: Command = {
  summary: 'run the ext_proc gRPC service and the admin HTTP server',
  usage: USAGE,
  async run(args, io) {
    const flags = parseFlags(args, {
      config: { type: 'string', short: 'c' },
      listen: { type: 'string' },
      admin: { type: 'string' },
    });
    if (!flags.ok) return usageError(io, flags.error);
    const listen = parseListenAddress(stringFlag(flags.values, 'listen') ?? DEFAULT_LISTEN);
    if (!listen.ok) return usageError(io, `--listen ${listen.error}`);
    const admin = parseListenAddress(stringFlag(flags.values, 'admin') ?? DEFAULT_ADMIN);
    if (!admin.ok) return usageError(io, `--admin ${admin.error}`);
    return serve({
      configPath: configPath(stringFlag(flags.values, 'config'), io.env),
      listen: listen.address,
      admin: admin.address,
      drainTimeoutMs: drainTimeout(io.env),
      io,
    });
  },
};

function usageError(io: CommandIo, message: string): number {
  io.stderr(`llm-extproc serve: ${message}\nusage: ${USAGE}\n`);
  return 2;
}

function drainTimeout(env: NodeJS.ProcessEnv): number {
  const value = Number(env['LLM_EXTPROC_DRAIN_TIMEOUT_MS']);
  return Number.isFinite(value) && value >= 0 && env['LLM_EXTPROC_DRAIN_TIMEOUT_MS'] !== '' ? value : DEFAULT_DRAIN_TIMEOUT_MS;
}

/** The part of the gRPC server serve() drives (src/server/grpc-server.ts provides it). */
export interface ExtProcServerHandle {
  address: string;
  drain(timeoutMs: number): Promise<void>;
  forceClose(): void;
}

export type StartExtProcServer = (options: {
  listen: string;
  configStore: ConfigStore;
  metrics: GatewayMetrics;
  logger: Logger;
}) => Promise<ExtProcServerHandle>;

/** Where shutdown signals come from (the process, or a test's emitter). */
export interface SignalSource {
  on(event: 'SIGTERM' | 'SIGINT', listener: (signal: NodeJS.Signals) => void): unknown;
  off(event: 'SIGTERM' | 'SIGINT', listener: (signal: NodeJS.Signals) => void): unknown;
}

export interface ServeOptions {
  configPath: string;
  listen: ListenAddress;
  admin: ListenAddress;
  drainTimeoutMs: number;
  io: CommandIo;
  /** Defaults to startExtProcServer from src/server/grpc-server.ts. */
  startServer?: StartExtProcServer;
  signals?: SignalSource;
  logger?: Logger;
  /** Called once both servers listen. */
  onServing?: (addresses: { grpc: string; admin: string }) => void;
}

/** Runs until SIGTERM/SIGINT, then drains; resolves with the exit code. */
export async function serve(options: ServeOptions): Promise<number> {
  const logger = options.logger ?? createLogger();
  const metrics = new GatewayMetrics();
  let configStore: ConfigStore;
  try {
    configStore = await ConfigStore.open(options.configPath, { logger, metrics, watch: true });
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error;
    for (const problem of error.errors) logger.error({ path: error.source, error: problem }, 'invalid config');
    options.io.stderr(`${error.message}\n`);
    return 1;
  }
  // A reloaded config may name other GCP credentials: fetch tokens afresh.
  configStore.onChange(() => resetGcpTokenCaches());

  let serving = false;
  let draining = false;
  let adminServer: AdminServer | undefined;
  let onSecondSignal = (): void => undefined;
  const shutdownSignal = listenForSignals(options.signals ?? process, logger, () => onSecondSignal());
  try {
    adminServer = await startAdminServer({
      listen: options.admin,
      metrics,
      isReady: () => serving && !draining,
      onError: (error) => logger.error({ err: error }, 'metrics exposition failed'),
    });
    logger.info({ address: adminServer.address }, 'admin server listening');
    const startServer = options.startServer ?? (await import('../server/grpc-server.js')).startExtProcServer;
    const server = await startServer({ listen: grpcBindTarget(options.listen), configStore, metrics, logger });
    serving = true;
    logger.info({ address: server.address, config: configStore.path }, 'ext_proc server serving');
    options.onServing?.({ grpc: server.address, admin: adminServer.address });

    const signal = await shutdownSignal.promise;
    onSecondSignal = () => {
      logger.warn('second signal: closing all streams now');
      server.forceClose();
    };
    draining = true;
    logger.info({ signal, timeoutMs: options.drainTimeoutMs }, 'draining: no new streams, waiting for open ones');
    const drained = await drainWithin(server, options.drainTimeoutMs);
    if (!drained) {
      logger.warn({ timeoutMs: options.drainTimeoutMs }, 'drain timed out; closing the remaining streams');
      server.forceClose();
    }
    logger.info('stopped');
    return 0;
  } catch (error) {
    logger.fatal({ err: error }, 'startup failed');
    options.io.stderr(`llm-extproc serve: ${error instanceof Error ? error.message : String(error)}\n`);
    return 1;
  } finally {
    serving = false;
    shutdownSignal.remove();
    configStore.close();
    await adminServer?.close();
    logger.flush();
  }
}

/** Resolves on the first SIGTERM/SIGINT; later ones call onSecondSignal. */
function listenForSignals(
  source: SignalSource,
  logger: Logger,
  onSecondSignal: () => void,
): { promise: Promise<NodeJS.Signals>; remove(): void } {
  let received = false;
  let resolveSignal: (signal: NodeJS.Signals) => void = () => undefined;
  const promise = new Promise<NodeJS.Signals>((resolve) => (resolveSignal = resolve));
  const handler = (signal: NodeJS.Signals) => {
    if (received) return onSecondSignal();
    received = true;
    logger.info({ signal }, 'shutdown requested');
    resolveSignal(signal);
  };
  source.on('SIGTERM', handler);
  source.on('SIGINT', handler);
  return {
    promise,
    remove: () => {
      source.off('SIGTERM', handler);
      source.off('SIGINT', handler);
    },
  };
}

async function drainWithin(
  server: { drain(timeoutMs: number): Promise<void> },
  timeoutMs: number,
): Promise<boolean> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<false>((resolve) => {
    timer = setTimeout(() => resolve(false), timeoutMs + 1_000);
  });
  try {
    return await Promise.race([server.drain(timeoutMs).then(() => true as const, () => false as const), timeout]);
  } finally {
    clearTimeout(timer);
  }
}
