/** Envoy config generation: `llm-extproc envoy --config FILE [--extproc ADDR] [--ratelimit ADDR]`. */
import type { RuntimeConfig } from '../config/load.js';
import { generateBootstrap } from './bootstrap.js';
import { renderBootstrapYaml, type RenderOptions } from './render.js';
import type { EnvoyGenerateOptions } from './settings.js';

export { buildBootstrap, generateBootstrap } from './bootstrap.js';
export { loadConfigForEnvoy, parseConfigForEnvoy } from './load.js';
export { costKeysForModel, rateLimitPolicies, DESCRIPTOR_KEYS, RESERVE_SUFFIX } from './ratelimit.js';
export { ATTEMPT_RESPONSE_HEADERS_NOTE, resolveSettings, type EnvoyGenerateOptions, type EnvoySettings } from './settings.js';
export { modelClusterNames, backendClusterName, backendEndpoint } from './clusters.js';
export { NOT_FOUND_BODY } from './routes.js';
export * from './types.js';

export type RenderResult = { ok: true; yaml: string } | { ok: false; errors: string[] };

/** The Envoy bootstrap for a config, as commented YAML. */
export function renderEnvoyConfig(config: RuntimeConfig, options: EnvoyGenerateOptions, render: RenderOptions): RenderResult {
  const result = generateBootstrap(config, options);
  if (!result.ok) return result;
  return { ok: true, yaml: renderBootstrapYaml(result.bootstrap, result.settings, render) };
}
