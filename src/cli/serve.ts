/**
 * `llm-extproc serve`: builds the service with createService (src/service.ts) and runs it until SIGTERM/SIGINT.
 * On the first signal /readyz turns 503, the gRPC server stops taking new streams and lets open ones finish
 * (bounded by LLM_EXTPROC_DRAIN_TIMEOUT_MS, default 30 s), then the process exits 0. A second signal closes
 * everything at once. SIGHUP reloads the config (and its secret files) and never stops the process: its
 * handler is in place before anything starts, since Node's default for SIGHUP is to exit.
 */
import type { Components } from '../components.js';
import { ConfigError } from '../config/store.js';
import { createLogger, type Logger } from '../logging.js';
import { parseListenAddress, type ListenAddress } from '../net-address.js';
import { createService, StartupError, type Service, type StartExtProcServer } from '../service.js';
import type { KeepaliveSettings } from '../server/grpc-server.js';
import type { TlsFiles } from '../server/tls.js';
import { COMMANDS, type CommandRun, type CommandIo } from './commands.js';
import { DEFAULT_ADMIN, DEFAULT_LISTEN, configPath, parseFlags, stringFlag } from './options.js';

export const DEFAULT_DRAIN_TIMEOUT_MS = 30_000;

export const runServe: CommandRun = async (args, io, components) => {
  const flags = parseFlags(args, {
    config: { type: 'string', short: 'c' },
    listen: { type: 'string' },
    admin: { type: 'string' },
    'tls-cert': { type: 'string' },
    'tls-key': { type: 'string' },
    'tls-client-ca': { type: 'string' },
  });
  if (!flags.ok) return usageError(io, flags.error);
  const certFile = stringFlag(flags.values, 'tls-cert');
  const keyFile = stringFlag(flags.values, 'tls-key');
  const clientCaFile = stringFlag(flags.values, 'tls-client-ca');
  if ((certFile === undefined) !== (keyFile === undefined)) return usageError(io, '--tls-cert and --tls-key go together');
  if (clientCaFile !== undefined && certFile === undefined) return usageError(io, '--tls-client-ca needs --tls-cert and --tls-key');
  const listen = parseListenAddress(stringFlag(flags.values, 'listen') ?? DEFAULT_LISTEN);
  if (!listen.ok) return usageError(io, `--listen ${listen.error}`);
  const admin = parseListenAddress(stringFlag(flags.values, 'admin') ?? DEFAULT_ADMIN);
  if (!admin.ok) return usageError(io, `--admin ${admin.error}`);
  const heapGrowth = heapGrowingPercent(io.env);
  if (!heapGrowth.ok) return usageError(io, heapGrowth.error);
  const keepalive = keepaliveSettings(io.env);
  if (!keepalive.ok) return usageError(io, keepalive.error);
  const drain = drainTimeout(io.env);
  if (!drain.ok) return usageError(io, drain.error);
  return serve({
    configPath: configPath(stringFlag(flags.values, 'config'), io.env),
    listen: listen.address,
    admin: admin.address,
    drainTimeoutMs: drain.ms,
    heapGrowingPercent: heapGrowth.percent,
    keepalive: keepalive.keepalive,
    io,
    components,
    ...(certFile && keyFile ? { tls: { certFile, keyFile, ...(clientCaFile ? { clientCaFile } : {}) } } : {}),
  });
};

function usageError(io: CommandIo, message: string): number {
  io.stderr(`llm-extproc serve: ${message}\nusage: ${COMMANDS.serve.usage}\n`);
  return 2;
}

/**
 * LLM_EXTPROC_DRAIN_TIMEOUT_MS (an integer from 0 to an hour), else 30 s. Anything else is a usage error: a typo must
 * not quietly leave a drain longer than the pod's termination grace period.
 */
export function drainTimeout(env: NodeJS.ProcessEnv): { ok: true; ms: number } | { ok: false; error: string } {
  const ms = integerFromEnv(env, 'LLM_EXTPROC_DRAIN_TIMEOUT_MS', DEFAULT_DRAIN_TIMEOUT_MS, 0, 3_600_000);
  return ms.ok ? { ok: true, ms: ms.value } : ms;
}

/** Where signals come from (the process, or a test's emitter). */
export interface SignalSource {
  on(event: 'SIGTERM' | 'SIGINT' | 'SIGHUP', listener: (signal: NodeJS.Signals) => void): unknown;
  off(event: 'SIGTERM' | 'SIGINT' | 'SIGHUP', listener: (signal: NodeJS.Signals) => void): unknown;
}

export interface ServeOptions {
  configPath: string;
  listen: ListenAddress;
  admin: ListenAddress;
  drainTimeoutMs: number;
  /** V8's --heap-growing-percent while a large request body is in flight (0: V8's own factor always). */
  heapGrowingPercent?: number;
  /** PINGs on Envoy's connections (grpc-js's server keepalive); absent: grpc-js's default (none). */
  keepalive?: KeepaliveSettings;
  io: CommandIo;
  components: Components;
  /** Replaces the real gRPC server (unit tests of the signal handling). */
  startServer?: StartExtProcServer;
  signals?: SignalSource;
  logger?: Logger;
  /** Called once both servers listen. */
  onServing?: (service: Service) => void;
  /** Follow the config file (default true; tests of SIGHUP turn it off). */
  watch?: boolean;
  /** TLS for the gRPC listener. */
  tls?: TlsFiles;
}

/** Runs until SIGTERM/SIGINT, then drains; resolves with the exit code. */
export async function serve(options: ServeOptions): Promise<number> {
  const logger = options.logger ?? createLogger();
  const signals = options.signals ?? process;
  let reloadTarget: Service | undefined;
  const onHangup = (): void => {
    if (!reloadTarget) {
      logger.info({ signal: 'SIGHUP' }, 'SIGHUP before the service started: ignored');
      return;
    }
    logger.info({ signal: 'SIGHUP' }, 'SIGHUP: reloading the config');
    reloadTarget.configStore.reload().catch((error: unknown) => logger.error({ err: error }, 'config reload on SIGHUP failed'));
  };
  signals.on('SIGHUP', onHangup);
  try {
    return await serveUntilSignal(options, logger, signals, (service) => (reloadTarget = service));
  } finally {
    signals.off('SIGHUP', onHangup);
  }
}

/** V8's heap growing factor while a large request body is in flight (src/server/heap-growth.ts), unless LLM_EXTPROC_HEAP_GROWING_PERCENT says otherwise. */
export const DEFAULT_HEAP_GROWING_PERCENT = 300;

type EnvInteger = { ok: true; value: number } | { ok: false; error: string };

/** An integer setting from the environment: `fallback` when unset or empty, a usage error when out of [min, max]. */
function integerFromEnv(env: NodeJS.ProcessEnv, name: string, fallback: number, min: number, max: number): EnvInteger {
  const text = env[name];
  if (text === undefined || text === '') return { ok: true, value: fallback };
  const value = Number(text);
  if (!/^\d+$/.test(text) || value < min || value > max) return { ok: false, error: `${name} must be an integer from ${min} to ${max}, got "${text.slice(0, 40)}"` };
  return { ok: true, value };
}

/**
 * LLM_EXTPROC_HEAP_GROWING_PERCENT (an integer 0-1000), else DEFAULT_HEAP_GROWING_PERCENT; 0 leaves V8's own
 * factor. Anything else is a usage error.
 */
export function heapGrowingPercent(env: NodeJS.ProcessEnv): { ok: true; percent: number } | { ok: false; error: string } {
  const percent = integerFromEnv(env, 'LLM_EXTPROC_HEAP_GROWING_PERCENT', DEFAULT_HEAP_GROWING_PERCENT, 0, 1000);
  return percent.ok ? { ok: true, percent: percent.value } : percent;
}

/** The service PINGs every Envoy connection this often, and drops one that has not answered within the timeout. */
export const DEFAULT_KEEPALIVE: KeepaliveSettings = { timeMs: 30_000, timeoutMs: 10_000 };

/**
 * LLM_EXTPROC_KEEPALIVE_TIME_MS (0 turns the PINGs off) and LLM_EXTPROC_KEEPALIVE_TIMEOUT_MS, else
 * DEFAULT_KEEPALIVE. Anything but integers in range is a usage error.
 */
export function keepaliveSettings(env: NodeJS.ProcessEnv): { ok: true; keepalive: KeepaliveSettings } | { ok: false; error: string } {
  const timeMs = integerFromEnv(env, 'LLM_EXTPROC_KEEPALIVE_TIME_MS', DEFAULT_KEEPALIVE.timeMs, 0, 86_400_000);
  if (!timeMs.ok) return timeMs;
  const timeoutMs = integerFromEnv(env, 'LLM_EXTPROC_KEEPALIVE_TIMEOUT_MS', DEFAULT_KEEPALIVE.timeoutMs, 1, 3_600_000);
  if (!timeoutMs.ok) return timeoutMs;
  return { ok: true, keepalive: { timeMs: timeMs.value, timeoutMs: timeoutMs.value } };
}

async function serveUntilSignal(options: ServeOptions, logger: Logger, signals: SignalSource, started: (service: Service) => void): Promise<number> {
  let service: Service;
  try {
    service = await createService({
      configPath: options.configPath,
      listen: options.listen,
      admin: options.admin,
      env: options.io.env,
      logger,
      components: options.components,
      startServer: options.startServer,
      watch: options.watch,
      tls: options.tls,
      keepalive: options.keepalive,
      heapGrowingPercent: options.heapGrowingPercent,
    });
  } catch (error) {
    if (error instanceof ConfigError || error instanceof StartupError) {
      const where = error instanceof ConfigError ? error.source : 'startup';
      const problems = error instanceof ConfigError ? error.errors : error.problems;
      for (const problem of problems) logger.error({ path: where, error: problem }, error instanceof ConfigError ? 'invalid config' : 'cannot start');
      options.io.stderr(`${error.message}\n`);
    } else {
      logger.fatal({ err: error }, 'startup failed');
      options.io.stderr(`llm-extproc serve: ${error instanceof Error ? error.message : String(error)}\n`);
    }
    logger.flush();
    return 1;
  }

  started(service);
  let onSecondSignal = (): void => undefined;
  const shutdownSignal = listenForSignals(signals, logger, () => onSecondSignal());
  try {
    options.onServing?.(service);
    const signal = await shutdownSignal.promise;
    onSecondSignal = () => {
      logger.warn('second signal: closing all streams now');
      service.forceClose();
    };
    logger.info({ signal, timeoutMs: options.drainTimeoutMs }, 'draining: no new streams, waiting for open ones');
    const drained = await drainWithin(service, options.drainTimeoutMs);
    if (!drained) {
      logger.warn({ timeoutMs: options.drainTimeoutMs }, 'drain timed out; closing the remaining streams');
      service.forceClose();
    }
    logger.info('stopped');
    return 0;
  } finally {
    shutdownSignal.remove();
    await service.close();
    logger.flush();
  }
}

/** Resolves on the first SIGTERM/SIGINT; later ones call onSecondSignal. */
export function listenForSignals(
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

/** Drains the service; false when the drain outlasted its bound (plus a second). */
export async function drainWithin(server: { drain(timeoutMs: number): Promise<void> }, timeoutMs: number): Promise<boolean> {
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
