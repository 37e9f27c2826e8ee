/**
 * Token-budget wiring on the Envoy side (docs/token-budgets.md): the per-route RateLimitPerRoute policies, and the
 * envoyproxy/ratelimit config shipped for the compose stack matching the descriptors Envoy sends.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { parse } from 'yaml';
import { costKeysForModel, rateLimitPolicies } from '../../src/envoy/index.js';
import { REPO_ROOT } from '../../scripts/envoy-generate.js';
import { bootstrapFor, configFrom, dig, routes, TWO_BACKENDS, type JsonMap } from './helpers.js';

const CONFIG = `${TWO_BACKENDS}
envoy:
  rateLimit: { tenantHeader: X-Team }
`;

function actions(cost: string, model: string, tenantHeader = 'x-team'): JsonMap[] {
  return [
    { generic_key: { descriptor_key: 'cost', descriptor_value: cost } },
    { request_headers: { header_name: tenantHeader, descriptor_key: 'tenant', skip_if_absent: true } },
    { generic_key: { descriptor_key: 'model', descriptor_value: model } },
  ];
}

describe('rate-limit policies', () => {
  it('reserve keys reserve in the request phase; others check only; both charge when the stream is done', async () => {
    const policy = rateLimitPolicies(await configFrom(CONFIG), 'gpt-4o-mini');
    assert.deepEqual(policy, {
      '@type': 'type.googleapis.com/envoy.extensions.filters.http.ratelimit.v3.RateLimitPerRoute',
      rate_limits: [
        { actions: actions('llm_total_token', 'gpt-4o-mini'), hits_addend: { format: '%DYNAMIC_METADATA(io.envoy.ai_gateway:llm_total_token_reserve)%' } },
        { actions: actions('llm_total_token', 'gpt-4o-mini'), hits_addend: { format: '%DYNAMIC_METADATA(io.envoy.ai_gateway:llm_total_token)%' }, apply_on_stream_done: true },
        { actions: actions('llm_input_token', 'gpt-4o-mini'), hits_addend: { number: 0 } },
        { actions: actions('llm_input_token', 'gpt-4o-mini'), hits_addend: { format: '%DYNAMIC_METADATA(io.envoy.ai_gateway:llm_input_token)%' }, apply_on_stream_done: true },
        { actions: actions('llm_output_token', 'gpt-4o-mini'), hits_addend: { number: 0 } },
        { actions: actions('llm_output_token', 'gpt-4o-mini'), hits_addend: { format: '%DYNAMIC_METADATA(io.envoy.ai_gateway:llm_output_token)%' }, apply_on_stream_done: true },
      ],
    });
  });

  it('follows each cost entry scope (models, backends) and merges entries sharing a key', async () => {
    const config = await configFrom(`${TWO_BACKENDS.replace(/costs:[\s\S]*$/, '')}
costs:
  - { metadataKey: spend, type: TotalToken, backends: [openai] }
  - { metadataKey: spend, type: InputToken, models: [llama/3.1:8b], reserve: true }
  - { metadataKey: only_spare, type: OutputToken, backends: [spare] }
`);
    assert.deepEqual(costKeysForModel(config, 'gpt-4o-mini'), [
      { key: 'spend', reserve: false },
      { key: 'only_spare', reserve: false },
    ]);
    assert.deepEqual(costKeysForModel(config, 'llama/3.1:8b'), [{ key: 'spend', reserve: true }]);
    assert.deepEqual(costKeysForModel(config, 'unknown'), []);
  });

  it('puts exactly these policies on each model route, under the rate-limit filter name', async () => {
    const config = await configFrom(CONFIG);
    for (const yaml of [CONFIG, `${CONFIG}  upstreamFilter: false\n`]) {
      const table = routes(await bootstrapFor(yaml)).slice(0, -1);
      assert.ok(table.length >= 2);
      for (const route of table) {
        const model = String(dig(route, 'match', 'headers', 0, 'string_match', 'exact'));
        assert.deepEqual(dig(route, 'typed_per_filter_config'), { 'envoy.filters.http.ratelimit': rateLimitPolicies(config, model) });
      }
      assert.equal(routes(await bootstrapFor(yaml)).at(-1)?.['typed_per_filter_config'], undefined, 'the 404 route charges nothing');
    }
  });
});

interface RlsDescriptor {
  key: string;
  value?: string;
  rate_limit?: { unit: string; requests_per_unit: number };
  descriptors?: RlsDescriptor[];
}

/** envoyproxy/ratelimit's lookup: per entry, the key_value node, else the key-only node; the limit of the last. */
function limitFor(tree: RlsDescriptor[], entries: [string, string][]): RlsDescriptor['rate_limit'] {
  let level: RlsDescriptor[] | undefined = tree;
  let node: RlsDescriptor | undefined;
  for (const [key, value] of entries) {
    node = level?.find((item) => item.key === key && item.value === value) ?? level?.find((item) => item.key === key && item.value === undefined);
    if (!node) return undefined;
    level = node.descriptors;
  }
  return node?.rate_limit;
}

describe('envoy/ratelimit/config.yaml (compose stack)', () => {
  const file = parse(readFileSync(join(REPO_ROOT, 'envoy/ratelimit/config.yaml'), 'utf8')) as { domain: string; descriptors: RlsDescriptor[] };

  it('uses the domain and descriptor keys Envoy sends', async () => {
    const config = await configFrom(readFileSync(join(REPO_ROOT, 'config/compose.yaml'), 'utf8'));
    assert.equal(file.domain, config.file.envoy.rateLimit?.domain);
    const costKeys = new Set(config.costs.map((cost) => cost.metadataKey));
    // Envoy sends (cost, tenant, model), or (cost, model) without the tenant header.
    const next: Record<string, string[]> = { root: ['cost'], cost: ['tenant', 'model'], tenant: ['model'], model: [] };
    const walk = (level: RlsDescriptor[], parent: string): void => {
      for (const item of level) {
        assert.ok(next[parent]?.includes(item.key), `"${item.key}" may not follow "${parent}"`);
        if (item.key === 'cost') assert.ok(costKeys.has(String(item.value)), `cost ${item.value} is configured`);
        if (item.key === 'model' && item.value !== undefined) assert.ok(config.models.has(item.value), `model ${item.value} is configured`);
        if (item.rate_limit) assert.ok(item.rate_limit.requests_per_unit > 0 && ['second', 'minute', 'hour', 'day'].includes(item.rate_limit.unit));
        walk(item.descriptors ?? [], item.key);
      }
    };
    walk(file.descriptors, 'root');
  });

  it('budgets total tokens for every model, with and without a tenant, matching the generated descriptors', async () => {
    const config = await configFrom(readFileSync(join(REPO_ROOT, 'config/compose.yaml'), 'utf8'));
    for (const model of config.models.keys()) {
      const policy = rateLimitPolicies(config, model);
      const reserve = (policy['rate_limits'] as JsonMap[]).find(
        (entry) => dig(entry, 'actions', 0, 'generic_key', 'descriptor_value') === 'llm_total_token' && entry['apply_on_stream_done'] === undefined,
      );
      assert.deepEqual(reserve?.['hits_addend'], { format: '%DYNAMIC_METADATA(io.envoy.ai_gateway:llm_total_token_reserve)%' });
      assert.ok(limitFor(file.descriptors, [['cost', 'llm_total_token'], ['tenant', 'some-team'], ['model', model]]), `tenant budget for ${model}`);
      assert.ok(limitFor(file.descriptors, [['cost', 'llm_total_token'], ['model', model]]), `shared budget for ${model}`);
    }
    assert.deepEqual(limitFor(file.descriptors, [['cost', 'llm_total_token'], ['tenant', 'team-a'], ['model', 'mock-gpt']]), { unit: 'hour', requests_per_unit: 2000000 });
    assert.deepEqual(limitFor(file.descriptors, [['cost', 'llm_total_token'], ['tenant', 'x'], ['model', 'mock-gpt']]), { unit: 'minute', requests_per_unit: 2000 });
    assert.equal(limitFor(file.descriptors, [['cost', 'llm_input_token'], ['tenant', 'x'], ['model', 'mock-gpt']]), undefined);
  });

  it('has a default bucket: every cost budgeted per tenant is budgeted for requests without a tenant too', async () => {
    const config = await configFrom(readFileSync(join(REPO_ROOT, 'config/compose.yaml'), 'utf8'));
    const budgeted = file.descriptors.filter((item) => item.key === 'cost').map((item) => String(item.value));
    assert.ok(budgeted.length >= 2, budgeted.join(', '));
    for (const cost of budgeted) {
      for (const model of config.models.keys()) {
        if (!limitFor(file.descriptors, [['cost', cost], ['tenant', 'some-team'], ['model', model]])) continue;
        assert.ok(limitFor(file.descriptors, [['cost', cost], ['model', model]]), `${cost} on ${model} without x-tenant-id is budgeted`);
      }
    }
  });
});
