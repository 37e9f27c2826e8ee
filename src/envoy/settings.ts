/**
 * Everything the generator needs, resolved once from the config and the command-line overrides:
 * addresses parsed, sizes derived. Errors are values.
 */
import type { RuntimeConfig } from '../config/load.js';
import { parseListenAddress, type ListenAddress } from '../net-address.js';

export interface EnvoyGenerateOptions {
  /** ext_proc service address (host:port or unix:/path); default `envoy.extProcAddress`. */
  extProc?: string | undefined;
  /** Rate-limit service address; given, it turns the rate-limit filter on even without `envoy.rateLimit`. */
  rateLimit?: string | undefined;
}

export interface RateLimitSettings {
  domain: string;
  tenantHeader: string;
  failureModeDeny: boolean;
  address: ListenAddress;
  timeout: string;
}

export interface TracingSettings {
  /** The OTLP/gRPC collector. */
  address: ListenAddress;
  serviceName: string;
  samplingPercent: number;
}

export interface EnvoySettings {
  upstreamFilter: boolean;
  /** envoy.attemptResponseHeaders: the upstream-level filter sends each attempt's response headers (Envoy >= 1.37). */
  attemptResponseHeaders: boolean;
  listenAddress: string;
  listenPort: number;
  adminPort: number;
  extProc: ListenAddress;
  messageTimeout: string;
  retryOn: string[];
  retriableStatusCodes: number[];
  numRetries: number;
  perTryTimeout: string;
  requestTimeout: string;
  streamIdleTimeout: string;
  caFile: string;
  /** Largest request body accepted (limits.maxRequestBodyBytes); Envoy's buffers are sized from it. */
  maxBodyBytes: number;
  rateLimit: RateLimitSettings | undefined;
  /** Envoy's own OpenTelemetry tracing (envoy.tracing); undefined: none. */
  tracing: TracingSettings | undefined;
}

export type SettingsResult = { ok: true; settings: EnvoySettings } | { ok: false; errors: string[] };

/** The oldest Envoy the generated config works with, and the one envoy.attemptResponseHeaders needs. */
export const MIN_ENVOY = '1.36';
export const ATTEMPT_RESPONSE_HEADERS_MIN_ENVOY = '1.37';

/** Said by `validate`, `envoy` and the generated file's header when envoy.attemptResponseHeaders is on. */
export const ATTEMPT_RESPONSE_HEADERS_NOTE =
  `envoy.attemptResponseHeaders needs Envoy >= ${ATTEMPT_RESPONSE_HEADERS_MIN_ENVOY}: on ${MIN_ENVOY} an upstream ext_proc filter that ` +
  'processes response headers breaks retries on 5xx';

/** Envoy's UInt32Value byte limits cannot go higher. */
const UINT32_MAX = 0xffffffff;

/** Buffer limit for the ext_proc cluster's connections: a body answer can carry a rewritten body as large as the request. */
export function extProcBufferBytes(settings: EnvoySettings): number {
  return Math.min(settings.maxBodyBytes * 2, UINT32_MAX);
}

export function resolveSettings(config: RuntimeConfig, options: EnvoyGenerateOptions = {}): SettingsResult {
  const envoy = config.file.envoy;
  const errors: string[] = [];
  const address = (text: string, what: string): ListenAddress | undefined => {
    const parsed = parseListenAddress(text);
    if (parsed.ok) return parsed.address;
    errors.push(`${what}: ${parsed.error}`);
    return undefined;
  };
  const extProc = address(options.extProc ?? envoy.extProcAddress, options.extProc ? '--extproc' : 'envoy.extProcAddress');
  let rateLimit: RateLimitSettings | undefined;
  if (envoy.rateLimit || options.rateLimit) {
    const section = envoy.rateLimit;
    const rateLimitAddress = address(
      options.rateLimit ?? section?.address ?? '127.0.0.1:8081',
      options.rateLimit ? '--ratelimit' : 'envoy.rateLimit.address',
    );
    if (rateLimitAddress) {
      rateLimit = {
        domain: section?.domain ?? 'llm-extproc',
        tenantHeader: (section?.tenantHeader ?? 'x-tenant-id').toLowerCase(),
        failureModeDeny: section?.failureModeDeny ?? false,
        address: rateLimitAddress,
        timeout: section?.timeout ?? '0.1s',
      };
    }
  }
  let tracing: TracingSettings | undefined;
  if (envoy.tracing) {
    const collector = address(envoy.tracing.address, 'envoy.tracing.address');
    if (collector) tracing = { address: collector, serviceName: envoy.tracing.serviceName, samplingPercent: envoy.tracing.samplingPercent };
  }
  if (extProc?.kind === 'tcp' && extProc.port === 0) errors.push('ext_proc address: port 0 is not a fixed port');
  if (envoy.listenPort === envoy.adminPort) errors.push('envoy.adminPort: must differ from envoy.listenPort');
  if (!extProc || errors.length > 0) return { ok: false, errors };
  return {
    ok: true,
    settings: {
      upstreamFilter: envoy.upstreamFilter,
      attemptResponseHeaders: envoy.upstreamFilter && envoy.attemptResponseHeaders,
      listenAddress: envoy.listenAddress,
      listenPort: envoy.listenPort,
      adminPort: envoy.adminPort,
      extProc,
      messageTimeout: envoy.messageTimeout,
      retryOn: [...envoy.retryOn],
      retriableStatusCodes: [...envoy.retriableStatusCodes],
      numRetries: envoy.numRetries,
      perTryTimeout: envoy.perTryTimeout,
      requestTimeout: envoy.requestTimeout,
      streamIdleTimeout: envoy.streamIdleTimeout,
      caFile: envoy.caFile,
      maxBodyBytes: Math.min(config.file.limits.maxRequestBodyBytes, UINT32_MAX),
      rateLimit,
      tracing,
    },
  };
}
