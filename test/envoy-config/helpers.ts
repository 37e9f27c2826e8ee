/** Shared helpers for the Envoy config tests: configs from YAML text, generated bootstraps, JSON walking. */
import assert from 'node:assert/strict';
import type { RuntimeConfig } from '../../src/config/load.js';
import { generateBootstrap, parseConfigForEnvoy, type EnvoyGenerateOptions } from '../../src/envoy/index.js';
import { VALIDATORS } from '../helpers/components.js';

export type JsonMap = Record<string, unknown>;

export async function configFrom(yaml: string): Promise<RuntimeConfig> {
  const loaded = await parseConfigForEnvoy(yaml, 'test.yaml', VALIDATORS);
  assert.ok(loaded.ok, loaded.ok ? '' : loaded.errors.join('\n'));
  return loaded.config;
}

export async function bootstrapFor(yaml: string, options: EnvoyGenerateOptions = {}): Promise<JsonMap> {
  const result = generateBootstrap(await configFrom(yaml), options);
  assert.ok(result.ok, result.ok ? '' : result.errors.join('\n'));
  return result.bootstrap as JsonMap;
}

/** Follows a path of keys and indexes; fails the test when a step is missing. */
export function dig(value: unknown, ...path: (string | number)[]): unknown {
  let current = value;
  for (const step of path) {
    assert.ok(current !== null && typeof current === 'object', `no ${String(step)} in ${JSON.stringify(current)?.slice(0, 200)}`);
    current = (current as Record<string | number, unknown>)[step];
  }
  return current;
}

export function asList(value: unknown): JsonMap[] {
  assert.ok(Array.isArray(value), `expected a list, got ${JSON.stringify(value)?.slice(0, 200)}`);
  return value as JsonMap[];
}

export function hcm(bootstrap: JsonMap): JsonMap {
  return dig(bootstrap, 'static_resources', 'listeners', 0, 'filter_chains', 0, 'filters', 0, 'typed_config') as JsonMap;
}

export function httpFilters(bootstrap: JsonMap): JsonMap[] {
  return asList(hcm(bootstrap)['http_filters']);
}

export function routes(bootstrap: JsonMap): JsonMap[] {
  return asList(dig(hcm(bootstrap), 'route_config', 'virtual_hosts', 0, 'routes'));
}

export function cluster(bootstrap: JsonMap, name: string): JsonMap {
  const found = asList(dig(bootstrap, 'static_resources', 'clusters')).find((item) => item['name'] === name);
  assert.ok(found, `no cluster ${name}`);
  return found;
}

export function clusterNames(bootstrap: JsonMap): string[] {
  return asList(dig(bootstrap, 'static_resources', 'clusters')).map((item) => String(item['name']));
}

/** A config with two priorities, an https and an http backend, reserve and plain costs. */
export const TWO_BACKENDS = `
backends:
  - name: openai
    schema: OpenAI
    endpoint: https://api.openai.com
    auth: { apiKey: { env: OPENAI_API_KEY } }
  - name: local
    schema: OpenAI
    endpoint: http://vllm.internal:8000
  - name: spare
    schema: OpenAI
    endpoint: https://spare.example.com:8443
models:
  - name: gpt-4o-mini
    backends:
      - { backend: openai, priority: 0, weight: 3 }
      - { backend: spare, priority: 0, weight: 1 }
      - { backend: local, priority: 5, weight: 2, modelNameOverride: llama }
      - { backend: spare, priority: 7, weight: 0 }
  - name: llama/3.1:8b
    backends:
      - { backend: local }
costs:
  - { metadataKey: llm_total_token, type: TotalToken, reserve: true }
  - { metadataKey: llm_input_token, type: InputToken }
  - { metadataKey: llm_output_token, type: OutputToken, models: [gpt-4o-mini] }
`;
