import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { parseConfig, type RuntimeConfig } from '../../src/config/load.js';
import type { CostConfig } from '../../src/config/schema.js';
import { makeUsage } from '../../src/core/usage.js';
import { buildPlan, costsFor } from '../../src/costs/index.js';
import { VALIDATORS } from '../helpers/components.js';

const usage = makeUsage({
  inputTokens: 1000,
  outputTokens: 200,
  cachedInputTokens: 300,
  cacheCreationInputTokens: 50,
  reasoningTokens: 20,
});

function cost(entry: Partial<CostConfig> & Pick<CostConfig, 'metadataKey' | 'type'>): CostConfig {
  return { reserve: false, ...entry };
}

async function loadConfig(costsYaml: string[]): Promise<RuntimeConfig> {
  const text = [
    'backends:',
    '  - {name: openai, schema: OpenAI, endpoint: "https://api.openai.com"}',
    '  - {name: azure, schema: AzureOpenAI, endpoint: "https://x.openai.azure.com", apiVersion: "2024-10-21"}',
    'models:',
    '  - {name: gpt-4o, backends: [{backend: openai}, {backend: azure}]}',
    '  - {name: gpt-4o-mini, backends: [{backend: openai}]}',
    'costs:',
    ...costsYaml.map((line) => `  - ${line}`),
  ].join('\n');
  const result = await parseConfig(text, 'test.yaml', {}, VALIDATORS);
  assert.ok(result.ok, result.ok ? '' : result.errors.join('\n'));
  return result.config;
}

describe('costsFor', () => {
  it('evaluates every typed cost from the usage record', () => {
    const plan = buildPlan(
      [
        cost({ metadataKey: 'in', type: 'InputToken' }),
        cost({ metadataKey: 'cached', type: 'CachedInputToken' }),
        cost({ metadataKey: 'written', type: 'CacheCreationInputToken' }),
        cost({ metadataKey: 'out', type: 'OutputToken' }),
        cost({ metadataKey: 'reasoning', type: 'ReasoningToken' }),
        cost({ metadataKey: 'total', type: 'TotalToken' }),
      ],
      { model: 'gpt-4o', backend: 'openai' },
    );
    assert.deepEqual(plan.evaluate(usage), { in: 1000, cached: 300, written: 50, out: 200, reasoning: 20, total: 1200 });
  });

  it('applies scoped entries only to their models and backends; the most specific entry wins per key', async () => {
    const config = await loadConfig([
      '{metadataKey: budget, type: TotalToken}',
      '{metadataKey: budget, type: CEL, cel: "input_tokens + output_tokens * 4", models: [gpt-4o]}',
      '{metadataKey: budget, type: CEL, cel: "output_tokens * 10", models: [gpt-4o], backends: [azure]}',
      '{metadataKey: mini_only, type: OutputToken, models: [gpt-4o-mini]}',
    ]);
    const onOpenAI = costsFor(config, { model: 'gpt-4o', backend: 'openai' });
    assert.deepEqual(onOpenAI.evaluate(usage), { budget: 1000 + 800 });
    const onAzure = costsFor(config, { model: 'gpt-4o', backend: 'azure' });
    assert.deepEqual(onAzure.evaluate(usage), { budget: 2000 });
    const mini = costsFor(config, { model: 'gpt-4o-mini', backend: 'openai' });
    assert.deepEqual(mini.evaluate(usage), { budget: 1200, mini_only: 200 });
    // zeros cover every key any entry defines, whatever the scope
    assert.deepEqual(onOpenAI.zeros(), { budget: 0, mini_only: 0 });
    assert.deepEqual(onOpenAI.allKeys, ['budget', 'mini_only']);
  });

  it('on equal specificity the entry listed first wins', () => {
    const costs = [
      cost({ metadataKey: 'k', type: 'InputToken', backends: ['openai'] }),
      cost({ metadataKey: 'k', type: 'OutputToken', models: ['gpt-4o'] }),
    ];
    assert.deepEqual(buildPlan(costs, { model: 'gpt-4o', backend: 'openai' }).evaluate(usage), { k: 1000 });
    assert.deepEqual(buildPlan([...costs].reverse(), { model: 'gpt-4o', backend: 'openai' }).evaluate(usage), { k: 200 });
  });

  it('CEL sees the model and backend of the request being charged', async () => {
    const config = await loadConfig(['{metadataKey: w, type: CEL, cel: "backend == \\"azure\\" ? total_tokens * 2 : total_tokens"}']);
    assert.deepEqual(costsFor(config, { model: 'gpt-4o', backend: 'azure' }).evaluate(usage), { w: 2400 });
    assert.deepEqual(costsFor(config, { model: 'gpt-4o', backend: 'openai' }).evaluate(usage), { w: 1200 });
  });

  it('lists reserve keys of the scope and of every scope', async () => {
    const config = await loadConfig([
      '{metadataKey: a, type: TotalToken, reserve: true, models: [gpt-4o]}',
      '{metadataKey: a, type: TotalToken, models: [gpt-4o-mini]}',
      '{metadataKey: b, type: InputToken}',
    ]);
    const gpt4o = costsFor(config, { model: 'gpt-4o', backend: 'openai' });
    const mini = costsFor(config, { model: 'gpt-4o-mini', backend: 'openai' });
    assert.deepEqual(gpt4o.reserveKeys, ['a']);
    assert.deepEqual(mini.reserveKeys, []);
    assert.deepEqual(mini.allReserveKeys, ['a']);
    assert.equal(costsFor(config, { model: 'gpt-4o', backend: 'openai' }), gpt4o, 'plans are cached per config and scope');
  });

  it('a model with no applicable entry evaluates to nothing but still zeros every key', () => {
    const plan = buildPlan([cost({ metadataKey: 'x', type: 'TotalToken', models: ['other'] })], { model: 'gpt-4o', backend: 'openai' });
    assert.deepEqual(plan.evaluate(usage), {});
    assert.deepEqual(plan.zeros(), { x: 0 });
  });
});
