/**
 * Shared names and shapes of the Envoy config generator. The generator builds plain JSON in Envoy's
 * proto-JSON form (snake_case field names, enums by name, durations as "30s"), rendered to YAML at the end.
 */

/** A JSON value as Envoy's config loader reads it. */
export type Json = string | number | boolean | null | Json[] | JsonObject;
export interface JsonObject {
  [key: string]: Json;
}

/** Dynamic metadata namespace the service writes (Envoy AI Gateway compatible). */
export const METADATA_NAMESPACE = 'io.envoy.ai_gateway';
/** Endpoint/cluster filter_metadata namespace naming the backend of an endpoint. */
export const ENDPOINT_METADATA_NAMESPACE = 'llm_extproc';
/** Key under ENDPOINT_METADATA_NAMESPACE holding the backend's config name. */
export const ENDPOINT_BACKEND_KEY = 'backend';
/** Routing header the service sets from the body's `model`. */
export const MODEL_HEADER = 'x-ai-eg-model';
/** Metadata key under METADATA_NAMESPACE holding the service's id for the request (its log lines' requestId). */
export const EXCHANGE_ID_METADATA_KEY = 'llm_extproc_exchange_id';
/** Routing header the service sets in router-only mode (upstreamFilter: false). */
export const BACKEND_HEADER = 'x-ai-eg-backend';

/** HTTP filter names; a route's typed_per_filter_config key must equal the filter's name. */
export const FILTER = {
  buffer: 'envoy.filters.http.buffer',
  extProc: 'envoy.filters.http.ext_proc',
  rateLimit: 'envoy.filters.http.ratelimit',
  router: 'envoy.filters.http.router',
  headerMutation: 'envoy.filters.http.header_mutation',
  upstreamCodec: 'envoy.filters.http.upstream_codec',
} as const;

/** Cluster names of the two gRPC services. */
export const EXT_PROC_CLUSTER = 'llm_extproc';
export const RATE_LIMIT_CLUSTER = 'ratelimit';
/** Cluster of the OpenTelemetry collector Envoy sends its spans to (envoy.tracing). */
export const TRACING_CLUSTER = 'opentelemetry_collector';

/** The runtime flag that makes Envoy close ext_proc streams gracefully (Envoy >= 1.34). */
export const GRACEFUL_CLOSE_FLAG = 'envoy.reloadable_features.ext_proc_graceful_grpc_close';

/** Builds a type URL for a typed_config. */
export function typeUrl(messageName: string): string {
  return `type.googleapis.com/${messageName}`;
}

/** `%DYNAMIC_METADATA(io.envoy.ai_gateway:<key>)%` */
export function metadataFormat(key: string): string {
  return `%DYNAMIC_METADATA(${METADATA_NAMESPACE}:${key})%`;
}
