/**
 * The two ext_proc attachments (README, "How it plugs into Envoy"): the router-level filter in the HCM, and the upstream-level
 * chain in each model cluster (ext_proc -> header_mutation -> upstream_codec).
 */
import type { EnvoySettings } from './settings.js';
import {
  ENDPOINT_BACKEND_KEY,
  ENDPOINT_METADATA_NAMESPACE,
  EXT_PROC_CLUSTER,
  FILTER,
  METADATA_NAMESPACE,
  metadataFormat,
  typeUrl,
  type JsonObject,
} from './types.js';

const EXT_PROC_TYPE = typeUrl('envoy.extensions.filters.http.ext_proc.v3.ExternalProcessor');

/** The CEL attributes that tell the service which backend an upstream attempt goes to. */
export const UPSTREAM_REQUEST_ATTRIBUTES = [
  `xds.upstream_host_metadata.filter_metadata['${ENDPOINT_METADATA_NAMESPACE}']['${ENDPOINT_BACKEND_KEY}']`,
  `xds.cluster_metadata.filter_metadata['${ENDPOINT_METADATA_NAMESPACE}']['${ENDPOINT_BACKEND_KEY}']`,
];

function grpcService(): JsonObject {
  return { envoy_grpc: { cluster_name: EXT_PROC_CLUSTER } };
}

/**
 * Router-level: headers SEND, bodies BUFFERED (the service overrides the response body to STREAMED for
 * streaming 200s), trailers SKIP; fail closed; metadata accepted only in the gateway's namespace.
 */
export function routerExtProcFilter(settings: EnvoySettings): JsonObject {
  return {
    name: FILTER.extProc,
    typed_config: {
      '@type': EXT_PROC_TYPE,
      grpc_service: grpcService(),
      failure_mode_allow: false,
      processing_mode: {
        request_header_mode: 'SEND',
        response_header_mode: 'SEND',
        request_body_mode: 'BUFFERED',
        response_body_mode: 'BUFFERED',
        request_trailer_mode: 'SKIP',
        response_trailer_mode: 'SKIP',
      },
      allow_mode_override: true,
      message_timeout: settings.messageTimeout,
      stat_prefix: 'router',
      metadata_options: { receiving_namespaces: { untyped: [METADATA_NAMESPACE] } },
    },
  };
}

/**
 * Upstream-level: one stream per attempt, request headers only; with envoy.attemptResponseHeaders (Envoy >= 1.37)
 * also the attempt's response headers, answered before Envoy decides whether to retry, so the service sees each
 * attempt's status. The request attributes name the backend Envoy chose; the router stream's metadata (the
 * exchange id) is forwarded so the service finds its state.
 */
export function upstreamExtProcFilter(settings: EnvoySettings): JsonObject {
  return {
    name: FILTER.extProc,
    typed_config: {
      '@type': EXT_PROC_TYPE,
      grpc_service: grpcService(),
      failure_mode_allow: false,
      processing_mode: {
        request_header_mode: 'SEND',
        response_header_mode: settings.attemptResponseHeaders ? 'SEND' : 'SKIP',
        request_body_mode: 'NONE',
        response_body_mode: 'NONE',
        request_trailer_mode: 'SKIP',
        response_trailer_mode: 'SKIP',
      },
      request_attributes: [...UPSTREAM_REQUEST_ATTRIBUTES],
      message_timeout: settings.messageTimeout,
      stat_prefix: 'upstream',
      metadata_options: {
        forwarding_namespaces: { untyped: [METADATA_NAMESPACE] },
        receiving_namespaces: { untyped: [METADATA_NAMESPACE] },
      },
    },
  };
}

/** Envoy drops content-length when ext_proc replaces the body; this puts back the length the service wrote. */
export function contentLengthRestoreFilter(): JsonObject {
  return {
    name: FILTER.headerMutation,
    typed_config: {
      '@type': typeUrl('envoy.extensions.filters.http.header_mutation.v3.HeaderMutation'),
      mutations: {
        request_mutations: [
          {
            append: {
              header: { key: 'content-length', value: metadataFormat('content_length') },
              append_action: 'ADD_IF_ABSENT',
            },
          },
        ],
      },
    },
  };
}

/** The cluster's upstream HTTP filter chain; upstream_codec must come last. */
export function upstreamHttpFilters(settings: EnvoySettings): JsonObject[] {
  return [
    upstreamExtProcFilter(settings),
    contentLengthRestoreFilter(),
    {
      name: FILTER.upstreamCodec,
      typed_config: { '@type': typeUrl('envoy.extensions.filters.http.upstream_codec.v3.UpstreamCodec') },
    },
  ];
}
