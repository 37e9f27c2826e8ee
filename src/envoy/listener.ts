/**
 * The listener: one HCM whose filters run buffer -> router-level ext_proc -> rate limit -> router, with a
 * JSON access log carrying the usage metadata the service writes.
 */
import type { RuntimeConfig } from '../config/load.js';
import { routerExtProcFilter } from './ext-proc-filter.js';
import { localReplyConfig } from './local-reply.js';
import { rateLimitFilter, RESERVE_SUFFIX } from './ratelimit.js';
import { routes } from './routes.js';
import type { EnvoySettings } from './settings.js';
import { EXCHANGE_ID_METADATA_KEY, FILTER, metadataFormat, MODEL_HEADER, TRACING_CLUSTER, typeUrl, type JsonObject } from './types.js';

/** Metadata keys the service writes besides the cost keys. */
export const USAGE_METADATA_KEYS = ['backend_name', 'model_name_override', 'response_model'] as const;

/** Access log fields: the request line without its query (it may hold credentials), outcome, usage. */
export function accessLogFormat(config: RuntimeConfig, settings: EnvoySettings): JsonObject {
  const format: JsonObject = {
    start_time: '%START_TIME%',
    method: '%REQ(:METHOD)%',
    path: '%REQ_WITHOUT_QUERY(X-ENVOY-ORIGINAL-PATH?:PATH)%',
    protocol: '%PROTOCOL%',
    status: '%RESPONSE_CODE%',
    response_flags: '%RESPONSE_FLAGS%',
    response_code_details: '%RESPONSE_CODE_DETAILS%',
    duration_ms: '%DURATION%',
    bytes_received: '%BYTES_RECEIVED%',
    bytes_sent: '%BYTES_SENT%',
    upstream_host: '%UPSTREAM_HOST%',
    upstream_cluster: '%UPSTREAM_CLUSTER%',
    attempts: '%UPSTREAM_REQUEST_ATTEMPT_COUNT%',
    request_id: '%REQ(X-REQUEST-ID)%',
    model: `%REQ(${MODEL_HEADER.toUpperCase()})%`,
    // The requestId of llm-extproc's own log lines for this request.
    exchange_id: metadataFormat(EXCHANGE_ID_METADATA_KEY),
  };
  if (settings.rateLimit) format['tenant'] = `%REQ(${settings.rateLimit.tenantHeader.toUpperCase()})%`;
  for (const key of USAGE_METADATA_KEYS) format[key] = metadataFormat(key);
  for (const cost of config.costs) {
    format[cost.metadataKey] = metadataFormat(cost.metadataKey);
    if (cost.reserve) format[`${cost.metadataKey}${RESERVE_SUFFIX}`] = metadataFormat(`${cost.metadataKey}${RESERVE_SUFFIX}`);
  }
  return format;
}

/** The HTTP filter chain. The buffer filter comes first so its limit applies before ext_proc buffers. */
export function httpFilters(settings: EnvoySettings): JsonObject[] {
  const filters: JsonObject[] = [
    {
      name: FILTER.buffer,
      typed_config: { '@type': typeUrl('envoy.extensions.filters.http.buffer.v3.Buffer'), max_request_bytes: settings.maxBodyBytes },
    },
    routerExtProcFilter(settings),
  ];
  if (settings.rateLimit) filters.push(rateLimitFilter(settings.rateLimit));
  filters.push({ name: FILTER.router, typed_config: { '@type': typeUrl('envoy.extensions.filters.http.router.v3.Router') } });
  return filters;
}

export function httpConnectionManager(config: RuntimeConfig, settings: EnvoySettings): JsonObject {
  const hcm: JsonObject = {
    '@type': typeUrl('envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager'),
    stat_prefix: 'llm',
    codec_type: 'AUTO',
    use_remote_address: true,
    scheme_header_transformation: { match_upstream: true },
    route_config: {
      name: 'llm',
      virtual_hosts: [{ name: 'llm', domains: ['*'], routes: routes(config, settings) }],
    },
    http_filters: httpFilters(settings),
    access_log: [
      {
        name: 'envoy.access_loggers.stdout',
        typed_config: {
          '@type': typeUrl('envoy.extensions.access_loggers.stream.v3.StdoutAccessLog'),
          log_format: { json_format: accessLogFormat(config, settings) },
        },
      },
    ],
  };
  hcm['local_reply_config'] = localReplyConfig(Boolean(settings.rateLimit));
  if (settings.tracing) hcm['tracing'] = tracing(settings.tracing);
  return hcm;
}

/**
 * Envoy's OpenTelemetry tracer: Envoy starts (or continues) the trace, and its span of the ext_proc call carries
 * the context to llm-extproc, whose request and attempt spans join the same trace.
 */
export function tracing(settings: NonNullable<EnvoySettings['tracing']>): JsonObject {
  return {
    random_sampling: { value: settings.samplingPercent },
    provider: {
      name: 'envoy.tracers.opentelemetry',
      typed_config: {
        '@type': typeUrl('envoy.config.trace.v3.OpenTelemetryConfig'),
        grpc_service: { envoy_grpc: { cluster_name: TRACING_CLUSTER }, timeout: '1s' },
        service_name: settings.serviceName,
      },
    },
  };
}

export function listener(config: RuntimeConfig, settings: EnvoySettings): JsonObject {
  return {
    name: 'llm',
    address: { socket_address: { address: settings.listenAddress, port_value: settings.listenPort } },
    per_connection_buffer_limit_bytes: settings.maxBodyBytes,
    filter_chains: [
      {
        filters: [{ name: 'envoy.filters.network.http_connection_manager', typed_config: httpConnectionManager(config, settings) }],
      },
    ],
  };
}
