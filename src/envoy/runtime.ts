/** Bootstrap-wide pieces: the static runtime layer, admin on loopback, the overload manager. */
import type { EnvoySettings } from './settings.js';
import { GRACEFUL_CLOSE_FLAG, typeUrl, type JsonObject } from './types.js';

/**
 * Why the graceful-close flag: by default Envoy ends each ext_proc stream with END_STREAM followed at once by
 * RST_STREAM. Node's HTTP/2 layer counts those resets as a "rapid reset" attack and, under sustained load, drops
 * the whole gRPC connection, failing every request on it (grpc-node #2872, #2625). With the flag (Envoy >= 1.34)
 * Envoy half-closes and waits for the server to finish the call.
 */
export const GRACEFUL_CLOSE_COMMENT =
  ` ${GRACEFUL_CLOSE_FLAG}: Envoy's default ext_proc close is END_STREAM followed at once by\n` +
  ' RST_STREAM. Node\'s HTTP/2 rapid-reset protection counts those resets and, under sustained load,\n' +
  ' drops the whole gRPC connection, failing every request on it (grpc-node #2872, #2625). With this\n' +
  ' flag (Envoy >= 1.34) Envoy half-closes and lets llm-extproc finish the call.';

export function layeredRuntime(): JsonObject {
  return {
    layers: [
      { name: 'static', static_layer: { [GRACEFUL_CLOSE_FLAG]: true } },
      { name: 'admin', admin_layer: {} },
    ],
  };
}

export function admin(settings: EnvoySettings): JsonObject {
  return { address: { socket_address: { address: '127.0.0.1', port_value: settings.adminPort } } };
}

/** Caps downstream connections (Envoy warns at startup when nothing does). */
export function overloadManager(): JsonObject {
  return {
    resource_monitors: [
      {
        name: 'envoy.resource_monitors.global_downstream_max_connections',
        typed_config: {
          '@type': typeUrl('envoy.extensions.resource_monitors.downstream_connections.v3.DownstreamConnectionsConfig'),
          max_active_downstream_connections: 50000,
        },
      },
    ],
  };
}

const EXT_PROC_FILTER_TYPE = 'envoy.extensions.filters.http.ext_proc.v3.ExternalProcessor';

/** True when some value in the tree is an ext_proc filter's type URL. */
function mentionsExtProc(value: unknown): boolean {
  if (typeof value === 'string') return value.endsWith(EXT_PROC_FILTER_TYPE);
  if (Array.isArray(value)) return value.some(mentionsExtProc);
  if (value !== null && typeof value === 'object') return Object.values(value).some(mentionsExtProc);
  return false;
}

/** The flag's value in one static layer: a dotted key, or nested objects along the dotted path (Envoy reads both). */
function flagIn(layer: unknown): unknown {
  if (layer === null || typeof layer !== 'object') return undefined;
  const record = layer as Record<string, unknown>;
  if (GRACEFUL_CLOSE_FLAG in record) return record[GRACEFUL_CLOSE_FLAG];
  let node: unknown = record;
  for (const part of GRACEFUL_CLOSE_FLAG.split('.')) {
    if (node === null || typeof node !== 'object') return undefined;
    node = (node as Record<string, unknown>)[part];
  }
  return node;
}

/**
 * Whether an Envoy bootstrap (parsed YAML or JSON) that uses ext_proc closes its streams gracefully: the flag set
 * true in a static runtime layer (a later layer overrides an earlier one). `no_ext_proc` when no ext_proc filter is
 * in it. A flag set only at run time (an admin or RTDS layer) is not seen here.
 */
export function gracefulCloseIn(bootstrap: unknown): 'on' | 'off' | 'no_ext_proc' {
  if (!mentionsExtProc(bootstrap)) return 'no_ext_proc';
  const runtime = (bootstrap as { layered_runtime?: { layers?: unknown } } | null)?.layered_runtime;
  const layers = Array.isArray(runtime?.layers) ? runtime.layers : [];
  let on = false;
  for (const layer of layers) {
    const value = flagIn((layer as { static_layer?: unknown } | null)?.static_layer);
    if (value !== undefined) on = value === true || value === 'true';
  }
  return on ? 'on' : 'off';
}

/** What `validate --envoy-config` prints when the flag is missing. */
export function gracefulCloseWarning(path: string): string {
  return (
    `warning: ${path}: Envoy closes ext_proc streams its default way (half-close, then reset at once): set ` +
    `${GRACEFUL_CLOSE_FLAG}: true in a static runtime layer (layered_runtime). Without it, Node's HTTP/2 ` +
    'rapid-reset protection drops the gRPC connection under sustained load and the requests in flight on it fail with 500.'
  );
}
