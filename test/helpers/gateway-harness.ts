/**
 * In-process end-to-end harness: the service built by createService (the function `llm-extproc serve` calls)
 * from a config file on disk, plus the Envoy stand-in in front of it, with each backend's traffic sent to a mock
 * upstream. test/process/ runs the shipped entry as a child process instead; this harness is for the many tests
 * that need the service's metrics or exchange registry in hand.
 */
import type { SpanExporter } from '@opentelemetry/sdk-trace-base';
import { parseConfig, type RuntimeConfig } from '../../src/config/load.js';
import type { Logger } from '../../src/logging.js';
import type { GatewayMetrics } from '../../src/metrics/metrics.js';
import { startEnvoy } from '../envoy/envoy.js';
import type { EnvoyOptions, EnvoyStandIn } from '../envoy/types.js';
import type { RateLimitFilterHook } from '../envoy/hooks.js';
import { startTestService, type TestService } from './service.js';
import { VALIDATORS } from './components.js';
import { localReplyConfig } from '../../src/envoy/local-reply.js';

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
  /** Tracing on, every span exported here as it ends (an InMemorySpanExporter). */
  spanExporter?: SpanExporter;
  /** Further stand-in options (message timeout, graceful close, retries ...). */
  envoy?: Partial<Omit<EnvoyOptions, 'config' | 'extProc' | 'upstreams'>>;
}

export interface Gateway {
  /** Base URL for the official openai client: http://127.0.0.1:PORT/v1 */
  readonly baseURL: string;
  /** The stand-in's root URL: http://127.0.0.1:PORT */
  readonly url: string;
  readonly envoy: EnvoyStandIn;
  readonly server: TestService;
  readonly metrics: GatewayMetrics;
  readonly config: RuntimeConfig;
  close(): Promise<void>;
}

export async function loadTestConfig(configYaml: string, env: Record<string, string> = {}): Promise<RuntimeConfig> {
  const loaded = await parseConfig(configYaml, 'test-config.yaml', env, VALIDATORS);
  if (!loaded.ok) throw new Error(`invalid test config:\n${loaded.errors.join('\n')}`);
  return loaded.config;
}

export async function startGateway(options: GatewayOptions): Promise<Gateway> {
  const server = await startTestService({ configYaml: options.configYaml, env: options.env, logger: options.logger, spanExporter: options.spanExporter });
  const config = server.config;
  const metrics = server.metrics;
  const envoy = await startEnvoy({
    ...options.envoy,
    config,
    extProc: server.address,
    upstreams: options.upstreams,
    rateLimit: options.rateLimit,
    // Envoy's own error replies formatted as the generated config formats them (client's error shape, JSON).
    localReplyConfig: localReplyConfig(Boolean(options.rateLimit)),
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
