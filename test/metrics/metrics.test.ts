import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { register as globalRegistry } from 'prom-client';
import { parseConfig } from '../../src/config/load.js';
import { SCHEMAS } from '../../src/config/schema.js';
import { makeUsage } from '../../src/core/usage.js';
import {
  GatewayMetrics,
  MAX_FINISH_REASONS,
  providerNameForSchema,
  type GenAiLabels,
} from '../../src/metrics/metrics.js';
import { VALIDATORS } from '../helpers/components.js';

const labels: GenAiLabels = {
  operationName: 'chat',
  providerName: 'openai',
  requestModel: 'gpt-4o-mini',
  responseModel: 'gpt-4o-mini-2024-07-18',
};

/** Sample lines of one metric family from the exposition text. */
function samples(text: string, name: string): string[] {
  return text.split('\n').filter((line) => line.startsWith(`${name}{`) || line.startsWith(`${name} `));
}

function bucketBounds(text: string, name: string): number[] {
  const bounds = new Set<number>();
  for (const line of samples(text, `${name}_bucket`)) {
    const match = /le="([^"]+)"/.exec(line);
    if (match && match[1] !== '+Inf') bounds.add(Number(match[1]));
  }
  return [...bounds].sort((a, b) => a - b);
}

function metrics(): GatewayMetrics {
  const gateway = new GatewayMetrics();
  gateway.setKnownModels(['gpt-4o-mini'], ['gpt-4o-mini-2024-07-18']);
  return gateway;
}

describe('GatewayMetrics', () => {
  it('uses a dedicated registry', async () => {
    const gateway = metrics();
    gateway.recordRequest(labels, 0.5);
    assert.equal(globalRegistry.getSingleMetric('gen_ai_server_request_duration_seconds'), undefined);
    assert.match(await gateway.metrics(), /gen_ai_server_request_duration_seconds_count/);
    assert.match(gateway.contentType, /^text\/plain/);
  });

  it('has the semconv bucket boundaries', async () => {
    const gateway = metrics();
    gateway.recordTokens(labels, makeUsage({ inputTokens: 1, outputTokens: 1 }), false);
    gateway.recordRequest(labels, 1);
    gateway.recordTimeToFirstToken(labels, 0.1);
    gateway.recordTimePerOutputToken(labels, 0.02);
    const text = await gateway.metrics();
    assert.deepEqual(bucketBounds(text, 'gen_ai_client_token_usage'), [
      1, 4, 16, 64, 256, 1024, 4096, 16384, 65536, 262144, 1048576, 4194304, 16777216, 67108864,
    ]);
    assert.deepEqual(bucketBounds(text, 'gen_ai_server_request_duration_seconds'), [
      0.01, 0.02, 0.04, 0.08, 0.16, 0.32, 0.64, 1.28, 2.56, 5.12, 10.24, 20.48, 40.96, 81.92,
    ]);
    assert.deepEqual(bucketBounds(text, 'gen_ai_server_time_to_first_token_seconds'), [
      0.001, 0.005, 0.01, 0.02, 0.04, 0.06, 0.08, 0.1, 0.25, 0.5, 0.75, 1, 2.5, 5, 7.5, 10, 15, 20, 30, 45, 60,
    ]);
    assert.deepEqual(bucketBounds(text, 'gen_ai_server_time_per_output_token_seconds'), [
      0.01, 0.025, 0.05, 0.075, 0.1, 0.15, 0.2, 0.3, 0.4, 0.5, 0.75, 1, 2.5,
    ]);
  });

  it('records one token observation per type: input/output always, the rest when > 0', async () => {
    const gateway = metrics();
    gateway.recordTokens(labels, makeUsage({ inputTokens: 0, outputTokens: 0 }), true);
    gateway.recordTokens(
      labels,
      makeUsage({ inputTokens: 100, outputTokens: 50, cachedInputTokens: 40, cacheCreationInputTokens: 10, reasoningTokens: 20 }),
      false,
    );
    const sums = samples(await gateway.metrics(), 'gen_ai_client_token_usage_sum');
    const sum = (type: string, estimated: string) =>
      sums.find((line) => line.includes(`gen_ai_token_type="${type}"`) && line.includes(`usage_estimated="${estimated}"`));
    assert.match(sum('input', 'false') ?? '', / 100$/);
    assert.match(sum('output', 'false') ?? '', / 50$/);
    assert.match(sum('cached_input', 'false') ?? '', / 40$/);
    assert.match(sum('cache_creation_input', 'false') ?? '', / 10$/);
    assert.match(sum('reasoning', 'false') ?? '', / 20$/);
    assert.match(sum('input', 'true') ?? '', / 0$/);
    assert.match(sum('output', 'true') ?? '', / 0$/);
    assert.equal(sum('cached_input', 'true'), undefined);
    assert.equal(sum('reasoning', 'true'), undefined);
    const line = sum('input', 'false') ?? '';
    for (const label of [
      'gen_ai_operation_name="chat"',
      'gen_ai_provider_name="openai"',
      'gen_ai_request_model="gpt-4o-mini"',
      'gen_ai_response_model="gpt-4o-mini-2024-07-18"',
    ]) {
      assert.ok(line.includes(label), `${label} in ${line}`);
    }
  });

  it('labels request duration with error_type, empty when ok', async () => {
    const gateway = metrics();
    gateway.recordRequest(labels, 0.3);
    gateway.recordRequest(labels, 0.4, '_OTHER');
    const counts = samples(await gateway.metrics(), 'gen_ai_server_request_duration_seconds_count');
    assert.equal(counts.length, 2);
    assert.ok(counts.some((line) => line.includes('error_type=""')));
    assert.ok(counts.some((line) => line.includes('error_type="_OTHER"')));
  });

  it('bounds model labels to the configured models and overrides', async () => {
    const gateway = metrics();
    gateway.recordRequest({ ...labels, requestModel: 'attacker-chosen-1', responseModel: 'attacker-chosen-2' }, 1);
    gateway.recordRequest({ ...labels, requestModel: 'gpt-4o-mini-2024-07-18', responseModel: '' }, 1);
    const text = await gateway.metrics();
    assert.ok(!text.includes('attacker-chosen'));
    const counts = samples(text, 'gen_ai_server_request_duration_seconds_count');
    assert.ok(counts.some((line) => line.includes('gen_ai_request_model="other"') && line.includes('gen_ai_response_model="other"')));
    // An override name is a response model, not a request model.
    assert.ok(counts.some((line) => line.includes('gen_ai_request_model="other"') && line.includes('gen_ai_response_model=""')));
  });

  it('learns known models from a config', async () => {
    const result = await parseConfig(
      [
        'backends: [{name: b, schema: OpenAI, endpoint: "http://127.0.0.1:1"}]',
        'models: [{name: m1, backends: [{backend: b, modelNameOverride: m1-real}]}]',
      ].join('\n'),
      'inline',
      {},
      VALIDATORS,
    );
    assert.ok(result.ok);
    const gateway = new GatewayMetrics();
    gateway.setKnownModelsFromConfig(result.config);
    gateway.recordTimeToFirstToken({ ...labels, requestModel: 'm1', responseModel: 'm1-real' }, 0.2);
    gateway.recordTimeToFirstToken({ ...labels, requestModel: 'gpt-4o-mini', responseModel: 'm1' }, 0.2);
    const counts = samples(await gateway.metrics(), 'gen_ai_server_time_to_first_token_seconds_count');
    assert.ok(counts.some((line) => line.includes('gen_ai_request_model="m1"') && line.includes('gen_ai_response_model="m1-real"')));
    assert.ok(counts.some((line) => line.includes('gen_ai_request_model="other"') && line.includes('gen_ai_response_model="m1"')));
  });

  it(`keeps only the first ${MAX_FINISH_REASONS} unknown finish reasons as label values`, async () => {
    const gateway = metrics();
    for (let index = 0; index < MAX_FINISH_REASONS + 25; index++) gateway.recordUnknownFinishReason('openai', `reason_${index}`);
    gateway.recordUnknownFinishReason('openai', 'reason_0');
    const lines = samples(await gateway.metrics(), 'llm_extproc_unknown_finish_reasons_total');
    assert.equal(lines.length, MAX_FINISH_REASONS + 1);
    assert.ok(lines.some((line) => line.includes('reason="reason_0"') && line.endsWith(' 2')));
    assert.ok(lines.some((line) => line.includes('reason="other"') && line.endsWith(' 25')));
    assert.ok(!lines.some((line) => line.includes(`reason="reason_${MAX_FINISH_REASONS}"`)));
  });

  it('an unknown finish reason becomes a label only when it is a short word; anything else is "other"', async () => {
    const gateway = metrics();
    const hostile = ['x'.repeat(33), 'sk-live key with spaces', '{"authorization":"Bearer abc"}', '', '9starts_with_digit', 'quote"d'];
    for (const reason of hostile) gateway.recordUnknownFinishReason('openai', reason);
    gateway.recordUnknownFinishReason('openai', 'MALFORMED_FUNCTION_CALL');
    const lines = samples(await gateway.metrics(), 'llm_extproc_unknown_finish_reasons_total');
    assert.deepEqual(lines.sort(), [
      'llm_extproc_unknown_finish_reasons_total{provider="openai",reason="MALFORMED_FUNCTION_CALL"} 1',
      `llm_extproc_unknown_finish_reasons_total{provider="openai",reason="other"} ${hostile.length}`,
    ]);
  });

  it('exposes the operational counters and the stream gauge', async () => {
    const gateway = metrics();
    gateway.recordConfigReload('success');
    gateway.recordConfigReload('failure');
    gateway.recordConfigReload('failure');
    gateway.recordTranslationWarning('aws.bedrock', 'unsupported_parameter');
    gateway.recordCostClamped('llm_total_token');
    gateway.recordError('upstream_decode');
    gateway.streamOpened();
    gateway.streamOpened();
    gateway.streamClosed();
    const text = await gateway.metrics();
    assert.deepEqual(samples(text, 'llm_extproc_config_reloads_total').sort(), [
      'llm_extproc_config_reloads_total{result="failure"} 2',
      'llm_extproc_config_reloads_total{result="success"} 1',
    ]);
    assert.deepEqual(samples(text, 'llm_extproc_translation_warnings_total'), [
      'llm_extproc_translation_warnings_total{provider="aws.bedrock",kind="unsupported_parameter"} 1',
    ]);
    assert.deepEqual(samples(text, 'llm_extproc_cost_clamped_total'), ['llm_extproc_cost_clamped_total{metadata_key="llm_total_token"} 1']);
    assert.deepEqual(samples(text, 'llm_extproc_errors_total'), ['llm_extproc_errors_total{reason="upstream_decode"} 1']);
    assert.deepEqual(samples(text, 'llm_extproc_streams_active'), ['llm_extproc_streams_active 1']);
  });
});

describe('providerNameForSchema', () => {
  it('maps every schema to its gen_ai.provider.name', () => {
    const expected = {
      OpenAI: 'openai',
      AzureOpenAI: 'azure.openai',
      Anthropic: 'anthropic',
      AWSBedrock: 'aws.bedrock',
      AWSAnthropic: 'aws.anthropic',
      GCPVertexAI: 'gcp.vertex_ai',
      GCPAnthropic: 'gcp.anthropic',
      GoogleAI: 'gcp.gen_ai',
    };
    assert.deepEqual(Object.fromEntries(SCHEMAS.map((schema) => [schema, providerNameForSchema(schema)])), expected);
  });
});
