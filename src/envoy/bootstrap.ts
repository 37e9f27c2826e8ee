/** Assembles the complete Envoy bootstrap (envoy.config.bootstrap.v3.Bootstrap, proto JSON form). */
import type { RuntimeConfig } from '../config/load.js';
import { providerClusters, serviceClusters } from './clusters.js';
import { listener } from './listener.js';
import { admin, layeredRuntime, overloadManager } from './runtime.js';
import { resolveSettings, type EnvoyGenerateOptions, type EnvoySettings } from './settings.js';
import type { JsonObject } from './types.js';

export type BootstrapResult = { ok: true; bootstrap: JsonObject; settings: EnvoySettings } | { ok: false; errors: string[] };

export function buildBootstrap(config: RuntimeConfig, settings: EnvoySettings): JsonObject {
  return {
    node: { id: 'llm-extproc-envoy', cluster: 'llm-extproc' },
    admin: admin(settings),
    static_resources: {
      listeners: [listener(config, settings)],
      clusters: [...serviceClusters(settings), ...providerClusters(config, settings)],
    },
    layered_runtime: layeredRuntime(),
    overload_manager: overloadManager(),
  };
}

/** The bootstrap for a config, or the errors in the command-line overrides. */
export function generateBootstrap(config: RuntimeConfig, options: EnvoyGenerateOptions = {}): BootstrapResult {
  const resolved = resolveSettings(config, options);
  if (!resolved.ok) return resolved;
  return { ok: true, bootstrap: buildBootstrap(config, resolved.settings), settings: resolved.settings };
}
