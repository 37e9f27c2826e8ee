/**
 * Provider clusters. With the upstream filter: one cluster per model whose endpoints are the model's backends
 * (priority = fallback order, load_balancing_weight = weight), each endpoint tagged with its backend name.
 * Router-only: one cluster per backend. Plus the ext_proc and rate-limit gRPC clusters.
 */
import type { RuntimeConfig, ResolvedBackend } from '../config/load.js';
import type { ModelConfig } from '../config/schema.js';
import { grpcCluster } from './address.js';
import { upstreamHttpFilters } from './ext-proc-filter.js';
import { extProcBufferBytes, type EnvoySettings } from './settings.js';
import { ENDPOINT_BACKEND_KEY, ENDPOINT_METADATA_NAMESPACE, EXT_PROC_CLUSTER, RATE_LIMIT_CLUSTER, TRACING_CLUSTER, typeUrl, type JsonObject } from './types.js';

/** Endpoint metadata namespace Envoy matches transport_socket_matches against. */
const TRANSPORT_SOCKET_MATCH = 'envoy.transport_socket_match';

export interface BackendEndpoint {
  host: string;
  port: number;
  tls: boolean;
}

/** Parses a backend's `endpoint` (scheme://host[:port]). */
export function backendEndpoint(backend: ResolvedBackend): BackendEndpoint {
  const url = new URL(backend.endpoint);
  const tls = url.protocol === 'https:';
  const host = url.hostname.replace(/^\[(.*)\]$/, '$1');
  return { host, port: url.port === '' ? (tls ? 443 : 80) : Number(url.port), tls };
}

/** Deterministic, stats-safe cluster names, unique per model. */
export function modelClusterNames(config: RuntimeConfig): Map<string, string> {
  const names = new Map<string, string>();
  const used = new Set<string>();
  for (const model of config.models.keys()) {
    const base = `model_${model.replace(/[^A-Za-z0-9_.-]/g, '_')}`;
    let name = base;
    for (let index = 2; used.has(name); index++) name = `${base}_${index}`;
    used.add(name);
    names.set(model, name);
  }
  return names;
}

export function backendClusterName(backend: string): string {
  return `backend_${backend}`;
}

/** UpstreamTlsContext with SNI, verifying the server certificate for the host name. */
function tlsTransportSocket(host: string, settings: EnvoySettings): JsonObject {
  return {
    name: 'envoy.transport_sockets.tls',
    typed_config: {
      '@type': typeUrl('envoy.extensions.transport_sockets.tls.v3.UpstreamTlsContext'),
      sni: host,
      common_tls_context: {
        alpn_protocols: ['http/1.1'],
        validation_context: {
          trusted_ca: { filename: settings.caFile },
          match_typed_subject_alt_names: [{ san_type: 'DNS', matcher: { exact: host } }],
        },
      },
    },
  };
}

function backendMetadata(backend: string, tls: boolean): JsonObject {
  const filterMetadata: JsonObject = { [ENDPOINT_METADATA_NAMESPACE]: { [ENDPOINT_BACKEND_KEY]: backend } };
  if (tls) filterMetadata[TRANSPORT_SOCKET_MATCH] = { backend };
  return { filter_metadata: filterMetadata };
}

function lbEndpoint(backend: ResolvedBackend, weight: number): JsonObject {
  const endpoint = backendEndpoint(backend);
  return {
    endpoint: {
      address: { socket_address: { address: endpoint.host, port_value: endpoint.port } },
      hostname: endpoint.host,
    },
    load_balancing_weight: weight,
    metadata: backendMetadata(backend.name, endpoint.tls),
  };
}

/** Provider traffic: many concurrent long requests, parallel retries during an outage. */
function providerCircuitBreakers(): JsonObject {
  return {
    thresholds: [{ priority: 'DEFAULT', max_connections: 16384, max_pending_requests: 16384, max_requests: 16384, max_retries: 4096 }],
  };
}

function providerCluster(name: string, backends: ResolvedBackend[], localities: JsonObject[], settings: EnvoySettings, upstreamFilter: boolean): JsonObject {
  const protocolOptions: JsonObject = {
    '@type': typeUrl('envoy.extensions.upstreams.http.v3.HttpProtocolOptions'),
    explicit_http_config: { http_protocol_options: {} },
  };
  if (upstreamFilter) protocolOptions['http_filters'] = upstreamHttpFilters(settings);
  const cluster: JsonObject = {
    name,
    type: 'STRICT_DNS',
    dns_lookup_family: 'V4_PREFERRED',
    connect_timeout: '10s',
    lb_policy: 'ROUND_ROBIN',
    per_connection_buffer_limit_bytes: settings.maxBodyBytes,
    circuit_breakers: providerCircuitBreakers(),
    load_assignment: { cluster_name: name, endpoints: localities },
    typed_extension_protocol_options: { 'envoy.extensions.upstreams.http.v3.HttpProtocolOptions': protocolOptions },
  };
  const tlsBackends = backends.filter((backend) => backendEndpoint(backend).tls);
  if (tlsBackends.length > 0) {
    cluster['transport_socket_matches'] = tlsBackends.map((backend) => ({
      name: `tls_${backend.name}`,
      match: { backend: backend.name },
      transport_socket: tlsTransportSocket(backendEndpoint(backend).host, settings),
    }));
  }
  if (backends.length === 1 && backends[0]) {
    cluster['metadata'] = { filter_metadata: { [ENDPOINT_METADATA_NAMESPACE]: { [ENDPOINT_BACKEND_KEY]: backends[0].name } } };
  }
  return cluster;
}

/**
 * A model's endpoints grouped by priority. Priorities are renumbered densely (0, 5 -> 0, 1: Envoy's levels
 * are positions), order kept; weight-0 references are dropped (Envoy needs weights >= 1).
 */
function modelLocalities(config: RuntimeConfig, model: ModelConfig): { localities: JsonObject[]; backends: ResolvedBackend[] } {
  const levels = [...new Set(model.backends.filter((ref) => ref.weight > 0).map((ref) => ref.priority))].sort((a, b) => a - b);
  const backends: ResolvedBackend[] = [];
  const localities = levels.map((level, priority) => {
    const endpoints: JsonObject[] = [];
    for (const ref of model.backends) {
      const backend = config.backends.get(ref.backend);
      if (ref.priority !== level || ref.weight === 0 || !backend) continue;
      if (!backends.includes(backend)) backends.push(backend);
      endpoints.push(lbEndpoint(backend, ref.weight));
    }
    const locality: JsonObject = { lb_endpoints: endpoints };
    if (priority > 0) locality['priority'] = priority;
    return locality;
  });
  return { localities, backends };
}

/** The clusters provider traffic goes to, for either mode. */
export function providerClusters(config: RuntimeConfig, settings: EnvoySettings): JsonObject[] {
  if (settings.upstreamFilter) {
    const names = modelClusterNames(config);
    return [...config.models.values()].map((model) => {
      const { localities, backends } = modelLocalities(config, model);
      return providerCluster(names.get(model.name) ?? model.name, backends, localities, settings, true);
    });
  }
  const referenced = new Set([...config.models.values()].flatMap((model) => model.backends.map((ref) => ref.backend)));
  return [...config.backends.values()]
    .filter((backend) => referenced.has(backend.name))
    .map((backend) => providerCluster(backendClusterName(backend.name), [backend], [{ lb_endpoints: [lbEndpoint(backend, 1)] }], settings, false));
}

/** The gRPC clusters: ext_proc (two streams per in-flight call with the upstream filter), rate limit, trace collector. */
export function serviceClusters(settings: EnvoySettings): JsonObject[] {
  const clusters = [
    grpcCluster(EXT_PROC_CLUSTER, settings.extProc, {
      maxRequests: 65536,
      maxPendingRequests: 65536,
      maxConnections: 1024,
      maxConcurrentStreams: 256,
      bufferBytes: extProcBufferBytes(settings),
    }),
  ];
  if (settings.rateLimit) {
    clusters.push(
      grpcCluster(RATE_LIMIT_CLUSTER, settings.rateLimit.address, {
        maxRequests: 65536,
        maxPendingRequests: 65536,
        maxConnections: 256,
        maxConcurrentStreams: 256,
        bufferBytes: 1024 * 1024,
      }),
    );
  }
  if (settings.tracing) {
    clusters.push(
      grpcCluster(TRACING_CLUSTER, settings.tracing.address, {
        maxRequests: 1024,
        maxPendingRequests: 1024,
        maxConnections: 16,
        maxConcurrentStreams: 128,
        bufferBytes: 4 * 1024 * 1024,
      }),
    );
  }
  return clusters;
}
