/**
 * The composition root: the one function that builds the whole service from a config file on disk. The CLI's
 * `serve`, the tests and `npm run bench` all call createService, so what is tested is what ships.
 *
 *   components (translator table, config validators) -> translator table check -> tracing (only when the
 *   OTEL_* variables turn it on: the SDK is imported then, never otherwise) -> metrics -> config store (first
 *   load, hot reload) -> admin HTTP server -> ext_proc gRPC server
 *
 * Signals and the drain policy stay with the caller (src/cli/serve.ts).
 */
import type { SpanExporter } from '@opentelemetry/sdk-trace-base';
import { resetGcpTokenCaches } from './auth/gcp.js';
import { startAdminServer, type AdminServer } from './admin/admin-server.js';
import type { Components } from './components.js';
import { ConfigError, ConfigStore } from './config/store.js';
import { logSecretsOf, type Logger } from './logging.js';
import { configSecretValues } from './server/scrub-secrets.js';
import { GatewayMetrics } from './metrics/metrics.js';
import { bindProblem, checkListenAddresses, grpcBindTarget, type ListenAddress } from './net-address.js';
import type { ExchangeRegistry } from './server/exchange.js';
import { startExtProcServer, type KeepaliveSettings } from './server/grpc-server.js';
import { createTlsListener, TlsError, type TlsFiles, type TlsListener } from './server/tls.js';
import type { ServerCredentials } from '@grpc/grpc-js';
import { checkTranslatorTable, unservableBackends, type TranslatorTable } from './translators/table.js';
import { spanSettingsFromEnv, tracingFromEnv } from './tracing/env.js';
import type { Tracing } from './tracing/types.js';
import { packageVersion } from './core/package-version.js';

/** Thrown by createService when the service cannot start; `problems` lists every reason. */
export class StartupError extends Error {
  constructor(readonly problems: readonly string[]) {
    super(problems.length === 1 ? `cannot start: ${problems[0]}` : `cannot start:\n  ${problems.join('\n  ')}`);
    this.name = 'StartupError';
  }
}

/** The part of the gRPC server the service drives (src/server/grpc-server.ts provides it). */
export interface ExtProcServerHandle {
  readonly address: string;
  readonly registry?: ExchangeRegistry;
  drain(timeoutMs: number): Promise<void>;
  forceClose(): void;
}

export type StartExtProcServer = (options: {
  listen: string;
  configStore: ConfigStore;
  metrics: GatewayMetrics;
  logger: Logger;
  translators: TranslatorTable;
  credentials?: ServerCredentials;
  tracing?: Tracing | undefined;
}) => Promise<ExtProcServerHandle>;

export interface ServiceOptions {
  /** The config file; read from disk, followed for hot reload when `watch` is set. */
  readonly configPath: string;
  readonly listen: ListenAddress;
  readonly admin: ListenAddress;
  /** Where `{env: NAME}` secrets come from. */
  readonly env: NodeJS.ProcessEnv;
  readonly logger: Logger;
  readonly components: Components;
  /** Follow the config file (default true). */
  readonly watch?: boolean;
  /** TLS for the gRPC listener (certificate and key files, optional client CA for mutual TLS), reloaded on change. */
  readonly tls?: TlsFiles;
  /** Replaces the real gRPC server (unit tests of signal handling only). */
  readonly startServer?: StartExtProcServer;
  /** What sets `listen` and `admin`, for the message when one cannot be bound (default "--listen ADDR", "--admin ADDR"). */
  readonly setBy?: { readonly listen: string; readonly admin: string };
  /** Tests: tracing on whatever the environment says, every span exported to this exporter as it ends. */
  readonly spanExporter?: SpanExporter;
  /** PINGs on Envoy's connections (`serve` sets them; see src/server/grpc-server.ts). */
  readonly keepalive?: KeepaliveSettings | undefined;
  /** V8's heap growing factor while a large request body is in flight (`serve` sets it; src/server/heap-growth.ts). */
  readonly heapGrowingPercent?: number | undefined;
}

export interface Service {
  /** host:port with the real port, or unix:/path. */
  readonly grpcAddress: string;
  readonly adminAddress: string;
  readonly configStore: ConfigStore;
  readonly metrics: GatewayMetrics;
  /** Exchanges in flight (undefined only with an injected server). */
  readonly registry: ExchangeRegistry | undefined;
  /** Present when tracing is on. */
  readonly tracing: Tracing | undefined;
  /** /readyz turns 503, gRPC health NOT_SERVING, no new streams; resolves when open ones finished or the timeout passed. */
  drain(timeoutMs: number): Promise<void>;
  /** Closes every stream at once. */
  forceClose(): void;
  /** Stops following the config, closes the admin server and flushes the spans. Call after drain or forceClose. */
  close(): Promise<void>;
  /** The gRPC listener's TLS, when configured. */
  readonly tls?: TlsListener;
}

/**
 * A bind that failed although the address was free a moment before (another process took it): one line, as the
 * check before binding gives. Other errors are returned unchanged.
 */
function bindError(error: unknown, address: ListenAddress, setBy: string): unknown {
  const message = error instanceof Error ? error.message : String(error);
  // grpc-js reports a failed bind in its message only ("... errors: [listen EADDRINUSE: ...]").
  const code = (error as NodeJS.ErrnoException).code ?? /\b(EADDRINUSE|EACCES|EADDRNOTAVAIL)\b/.exec(message)?.[1];
  if (typeof code !== 'string' || !/^E[A-Z]+$/.test(code)) return error;
  return new StartupError([`cannot listen on ${grpcBindTarget(address)}: ${bindProblem(Object.assign(new Error(message), { code }))}; change it with ${setBy}`]);
}

/** Builds and starts the whole service. Throws StartupError (or ConfigError) with every problem when it cannot. */
export async function createService(options: ServiceOptions): Promise<Service> {
  const { logger, components } = options;
  const tableProblems = checkTranslatorTable(components.translators);
  if (tableProblems.length > 0) throw new StartupError(tableProblems);

  const version = await packageVersion();
  const metrics = new GatewayMetrics();
  metrics.collectProcessMetrics();
  metrics.setBuildInfo(version);
  const configStore = await ConfigStore.open(options.configPath, {
    logger,
    metrics,
    watch: options.watch ?? true,
    env: options.env,
    validators: components.configValidators,
    accept: (config) => unservableBackends(config, components.translators),
  });
  // Nothing binds until the config and both addresses are known to be good.
  const setBy = options.setBy ?? { listen: '--listen ADDR', admin: '--admin ADDR' };
  const addressProblems = await checkListenAddresses([
    { address: options.listen, setBy: setBy.listen },
    { address: options.admin, setBy: setBy.admin },
  ]);
  if (addressProblems.length > 0) {
    configStore.close();
    throw new StartupError(addressProblems);
  }
  // A reloaded config may name other GCP credentials: fetch tokens afresh.
  configStore.onChange(() => resetGcpTokenCaches());
  // The log scrubs every backend credential of the config it serves, whatever line it turns up in.
  const logSecrets = logSecretsOf(logger);
  logSecrets?.setConfigured(configSecretValues(configStore.current));
  configStore.onChange((config) => logSecrets?.setConfigured(configSecretValues(config)));
  // Started last before the try below, whose failure path shuts it down again.
  const tracing = await startTracing(options, version);

  let serving = false;
  let draining = false;
  let adminServer: AdminServer | undefined;
  let tls: TlsListener | undefined;
  try {
    if (options.tls) {
      tls = await createTlsListener(options.tls, logger).catch((error: unknown) => {
        throw error instanceof TlsError ? new StartupError([error.message]) : error;
      });
    }
    adminServer = await startAdminServer({
      listen: options.admin,
      metrics,
      isReady: () => serving && !draining,
      onError: (error) => logger.error({ err: error }, 'metrics exposition failed'),
      liveObjects: () => metrics.liveObjectCounts(),
    }).catch((error: unknown) => {
      throw bindError(error, options.admin, setBy.admin);
    });
    logger.info({ address: adminServer.address }, 'admin server listening');
    const startServer = options.startServer ?? startExtProcServer;
    const server = await startServer({
      listen: grpcBindTarget(options.listen),
      configStore,
      metrics,
      logger,
      translators: components.translators,
      tracing,
      ...(tls ? { credentials: tls.credentials } : {}),
      ...(options.keepalive ? { keepalive: options.keepalive } : {}),
      ...(options.heapGrowingPercent ? { heapGrowingPercent: options.heapGrowingPercent } : {}),
    }).catch((error: unknown) => {
      throw bindError(error, options.listen, setBy.listen);
    });
    serving = true;
    const config = configStore.current;
    logger.info(
      { address: server.address, config: configStore.path, backends: config.backends.size, models: config.models.size },
      'ext_proc server serving',
    );
    if (config.models.size === 0) {
      logger.warn({ config: configStore.path }, 'the config has no models: every request will be answered 404 until one is added');
    }
    const admin = adminServer;
    return {
      grpcAddress: server.address,
      adminAddress: admin.address,
      configStore,
      metrics,
      registry: server.registry,
      tracing,
      drain(timeoutMs) {
        draining = true;
        return server.drain(timeoutMs);
      },
      forceClose() {
        draining = true;
        server.forceClose();
      },
      async close() {
        serving = false;
        configStore.close();
        tls?.close();
        await admin.close();
        await shutdownTracing(tracing, logger);
      },
      ...(tls ? { tls } : {}),
    };
  } catch (error) {
    configStore.close();
    tls?.close();
    await adminServer?.close();
    await shutdownTracing(tracing, logger);
    throw error;
  }
}

/** The tracing SDK, imported only when tracing is on; undefined (and nothing loaded) otherwise. */
async function startTracing(options: ServiceOptions, version: string): Promise<Tracing | undefined> {
  const overrides = spanSettingsFromEnv(options.env);
  if (options.spanExporter) {
    const { startTracingSdk } = await import('./tracing/sdk.js');
    return startTracingSdk({ choice: { exporter: 'given', spanExporter: options.spanExporter }, serviceVersion: version, overrides });
  }
  const decision = tracingFromEnv(options.env);
  if (!decision.on) {
    if (decision.problem) options.logger.warn({ problem: decision.problem }, 'tracing is off');
    return undefined;
  }
  const { startTracingSdk } = await import('./tracing/sdk.js');
  const tracing = await startTracingSdk({ choice: decision, serviceVersion: version, overrides });
  options.logger.info({ exporter: decision.exporter, protocol: decision.exporter === 'otlp' ? decision.protocol : undefined }, 'tracing on');
  return tracing;
}

/** Spans still buffered get this long to reach the collector at shutdown; an unreachable one never delays exit more. */
export const TRACING_SHUTDOWN_TIMEOUT_MS = 5_000;

async function shutdownTracing(tracing: Tracing | undefined, logger: Logger): Promise<void> {
  if (!tracing) return;
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<'timeout'>((resolve) => {
    timer = setTimeout(() => resolve('timeout'), TRACING_SHUTDOWN_TIMEOUT_MS);
    timer.unref();
  });
  try {
    const result = await Promise.race([tracing.shutdown().then(() => 'done' as const), timeout]);
    if (result === 'timeout') logger.warn({ timeoutMs: TRACING_SHUTDOWN_TIMEOUT_MS }, 'flushing spans timed out; the rest are dropped');
  } catch (error) {
    logger.warn({ err: error instanceof Error ? error.message : String(error) }, 'flushing spans failed');
  } finally {
    clearTimeout(timer);
  }
}

export { ConfigError };
