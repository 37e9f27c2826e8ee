/**
 * The service as it ships, for in-process tests: the config is written to a file on disk and
 * createService (src/service.ts, the function `llm-extproc serve` calls) builds everything from it, with the
 * tables from createComponents. Nothing here assembles the service any other way.
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import type { SpanExporter } from '@opentelemetry/sdk-trace-base';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createComponents, type Components } from '../../src/components.js';
import type { RuntimeConfig } from '../../src/config/load.js';
import { createLogger, type Logger } from '../../src/logging.js';
import type { GatewayMetrics } from '../../src/metrics/metrics.js';
import { parseListenAddress, type ListenAddress } from '../../src/net-address.js';
import type { ExchangeRegistry } from '../../src/server/exchange.js';
import { createService, type Service } from '../../src/service.js';
import type { TlsFiles } from '../../src/server/tls.js';

export interface TestServiceOptions {
  /** The llm-extproc config, as YAML (written to a temporary file). */
  readonly configYaml: string;
  /** Environment for `{env: NAME}` secrets. */
  readonly env?: Record<string, string>;
  /** Default: silent unless LOG_LEVEL is set. */
  readonly logger?: Logger;
  /** gRPC listen address (default 127.0.0.1:0); `unix:/path` works too. */
  readonly listen?: string;
  /** Default: the shipped components. */
  readonly components?: Components;
  /** Follow the config file (default false: tests rewrite it through `configPath` and call reload()). */
  readonly watch?: boolean;
  /** TLS for the gRPC listener. */
  readonly tls?: TlsFiles;
  /** Tracing on, every span exported here as it ends (an InMemorySpanExporter). */
  readonly spanExporter?: SpanExporter;
}

export interface TestService {
  /** The gRPC address (host:port or unix:/path). */
  readonly address: string;
  readonly adminAddress: string;
  readonly registry: ExchangeRegistry;
  readonly metrics: GatewayMetrics;
  /** The config currently served. */
  readonly config: RuntimeConfig;
  readonly configPath: string;
  readonly service: Service;
  /** Drains (bounded by timeoutMs), closes the service and removes its config file. */
  drain(timeoutMs: number): Promise<void>;
}

function listenAddress(text: string): ListenAddress {
  const parsed = parseListenAddress(text);
  if (!parsed.ok) throw new Error(`bad listen address ${text}: ${parsed.error}`);
  return parsed.address;
}

export function testLogger(): Logger {
  const level = process.env.LOG_LEVEL;
  return createLogger({ level: !level || level === 'silent' ? 'silent' : level });
}

export async function startTestService(options: TestServiceOptions): Promise<TestService> {
  const directory = await mkdtemp(join(tmpdir(), 'llm-extproc-test-'));
  const configPath = join(directory, 'config.yaml');
  await writeFile(configPath, options.configYaml);
  let service: Service;
  try {
    service = await createService({
      configPath,
      listen: listenAddress(options.listen ?? '127.0.0.1:0'),
      admin: listenAddress('127.0.0.1:0'),
      env: options.env ?? {},
      logger: options.logger ?? testLogger(),
      components: options.components ?? createComponents(),
      watch: options.watch ?? false,
      ...(options.tls ? { tls: options.tls } : {}),
      spanExporter: options.spanExporter,
    });
  } catch (error) {
    await rm(directory, { recursive: true, force: true });
    throw error;
  }
  const registry = service.registry;
  if (!registry) throw new Error('createService returned no exchange registry');
  let closing: Promise<void> | undefined;
  return {
    address: service.grpcAddress,
    adminAddress: service.adminAddress,
    registry,
    metrics: service.metrics,
    get config() {
      return service.configStore.current;
    },
    configPath,
    service,
    drain(timeoutMs) {
      closing ??= (async () => {
        await service.drain(timeoutMs);
        await service.close();
        await rm(directory, { recursive: true, force: true });
      })();
      return closing;
    },
  };
}
