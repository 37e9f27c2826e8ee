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
