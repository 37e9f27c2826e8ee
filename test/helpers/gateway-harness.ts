/**
 * End-to-end harness: the real llm-extproc gRPC server plus the Envoy stand-in in front of it, with each
 * backend's traffic sent to a mock upstream. What a test gets is what a client of a real deployment gets.
 */
import { parseConfig, type RuntimeConfig } from '../../src/config/load.js';
import '../../src/costs/index.js';
import { createLogger, type Logger } from '../../src/logging.js';
import { GatewayMetrics } from '../../src/metrics/metrics.js';
import { startExtProcServer, type ExtProcServer } from '../../src/server/grpc-server.js';
import '../../src/translators/index.js';
import { startEnvoy } from '../envoy/envoy.js';
import type { EnvoyOptions, EnvoyStandIn } from '../envoy/types.js';
import type { RateLimitFilterHook } from '../envoy/hooks.js';

export interface GatewayOptions {
  /** The llm-extproc config, as YAML. */
  configYaml: string;
  /** Backend name -> mock upstream base URL (http://127.0.0.1:PORT). */
  upstreams: Record<string, string>;
  /** Environment for secret resolution ({env: NAME} secrets). */
  env?: Record<string, string>;
  rateLimit?: RateLimitFilterHook;
  /** The service's logger (default: silent unless LOG_LEVEL is set); tests pass one writing to a capture stream. */
  logger?: Logger;
  /** Further stand-in options (message timeout, graceful close, retries ...). */
  envoy?: Partial<Omit<EnvoyOptions, 'config' | 'extProc' | 'upstreams'>>;
}

export interface Gateway {
  /** Base URL for the official openai client: http://127.0.0.1:PORT/v1 */
  readonly baseURL: string;
  /** The stand-in's root URL: http://127.0.0.1:PORT */
  readonly url: string;
  readonly envoy: EnvoyStandIn;
  readonly server: ExtProcServer;
  readonly metrics: GatewayMetrics;
  readonly config: RuntimeConfig;
  close(): Promise<void>;
}

export async function loadTestConfig(configYaml: string, env: Record<string, string> = {}): Promise<RuntimeConfig> {
  const loaded = await parseConfig(configYaml, 'test-config.yaml', env);
  if (!loaded.ok) throw new Error(`invalid test config:\n${loaded.errors.join('\n')}`);
  return loaded.config;
}

export async function startGateway(options: GatewayOptions): Promise<Gateway> {
  const config = await loadTestConfig(options.configYaml, options.env);
  const metrics = new GatewayMetrics();
  metrics.setKnownModelsFromConfig(config);
  const server = await startExtProcServer({
    listen: '127.0.0.1:0',
    configStore: { current: config },
    metrics,
    logger: options.logger ?? createLogger({ level: process.env.LOG_LEVEL === 'silent' || !process.env.LOG_LEVEL ? 'silent' : process.env.LOG_LEVEL }),
  });
  const envoy = await startEnvoy({
    ...options.envoy,
    config,
    extProc: server.address,
    upstreams: options.upstreams,
    rateLimit: options.rateLimit,
  });
  return {
    baseURL: `${envoy.url}/v1`,
    url: envoy.url,
    envoy,
    server,
    metrics,
    config,
    async close() {
      await envoy.close();
      await server.drain(2000);
    },
  };
}
