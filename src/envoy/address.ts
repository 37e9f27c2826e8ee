/** Envoy addresses and the clusters of the two gRPC services (ext_proc, rate limit). */
import { isIP } from 'node:net';
import type { ListenAddress } from '../net-address.js';
import { typeUrl, type JsonObject } from './types.js';

/** config.core.v3.Address for a TCP host/port or a Unix socket (pipe). */
export function envoyAddress(address: ListenAddress): JsonObject {
  if (address.kind === 'unix') return { pipe: { path: address.path } };
  return { socket_address: { address: address.host, port_value: address.port } };
}

/** STATIC for IP literals and Unix sockets, STRICT_DNS for host names. */
export function discoveryType(address: ListenAddress): 'STATIC' | 'STRICT_DNS' {
  return address.kind === 'unix' || isIP(address.host) !== 0 ? 'STATIC' : 'STRICT_DNS';
}

export interface GrpcClusterLimits {
  /** Streams in flight (each in-flight LLM call holds one or two for its whole duration). */
  maxRequests: number;
  /** Streams waiting for a connection. */
  maxPendingRequests: number;
  /** HTTP/2 connections. */
  maxConnections: number;
  /** Streams per HTTP/2 connection; more streams open more connections, spreading the load. */
  maxConcurrentStreams: number;
  /** per_connection_buffer_limit_bytes */
  bufferBytes: number;
}

/** A cluster speaking gRPC (HTTP/2) to one address, with limits sized for many long-lived streams. */
export function grpcCluster(name: string, address: ListenAddress, limits: GrpcClusterLimits): JsonObject {
  const cluster: JsonObject = {
    name,
    type: discoveryType(address),
    connect_timeout: '5s',
    per_connection_buffer_limit_bytes: limits.bufferBytes,
    load_assignment: {
      cluster_name: name,
      endpoints: [{ lb_endpoints: [{ endpoint: { address: envoyAddress(address) } }] }],
    },
    circuit_breakers: {
      thresholds: [
        {
          priority: 'DEFAULT',
          max_connections: limits.maxConnections,
          max_pending_requests: limits.maxPendingRequests,
          max_requests: limits.maxRequests,
          max_retries: 16,
        },
      ],
    },
    typed_extension_protocol_options: {
      'envoy.extensions.upstreams.http.v3.HttpProtocolOptions': {
        '@type': typeUrl('envoy.extensions.upstreams.http.v3.HttpProtocolOptions'),
        explicit_http_config: {
          http2_protocol_options: {
            max_concurrent_streams: limits.maxConcurrentStreams,
            connection_keepalive: { interval: '30s', timeout: '10s' },
          },
        },
      },
    },
  };
  if (cluster['type'] === 'STRICT_DNS') cluster['dns_lookup_family'] = 'V4_PREFERRED';
  return cluster;
}
