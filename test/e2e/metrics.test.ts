/**
 * Metrics end to end: OTel GenAI names and labels after real requests, token types, time to first token,
 * unknown finish reasons counted by their raw value, and bounded model labels.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import OpenAI from 'openai';
import { startGateway, type Gateway } from '../helpers/gateway-harness.js';
import { startAnthropicMock, type AnthropicMock } from '../mocks/anthropic-mock.js';
import { startOpenAIMock, type OpenAIMock } from '../mocks/openai-mock.js';
import { sample } from '../helpers/metric-sample.js';

describe('metrics after real traffic', () => {
  let openai: OpenAIMock;
  let anthropic: AnthropicMock;
  let gateway: Gateway;
  let client: OpenAI;

  before(async () => {
    openai = await startOpenAIMock();
    anthropic = await startAnthropicMock({ apiKey: 'sk-ant' });
    gateway = await startGateway({
      configYaml: `
backends:
  - { name: openai, schema: OpenAI, endpoint: https://api.openai.com, auth: { apiKey: { value: sk-openai } } }
  - { name: claude, schema: Anthropic, endpoint: https://api.anthropic.com, auth: { anthropicApiKey: { value: sk-ant } } }
models:
  - { name: gpt-4o-mini, backends: [{ backend: openai }] }
  - { name: claude, backends: [{ backend: claude, modelNameOverride: claude-sonnet-4-5 }] }
costs:
  - { metadataKey: llm_total_token, type: TotalToken }
  - { metadataKey: discounted, type: CEL, cel: "output_tokens - input_tokens * 10" }
`,
      upstreams: { openai: openai.url, claude: anthropic.url },
    });
    client = new OpenAI({ baseURL: gateway.baseURL, apiKey: 'x', maxRetries: 0 });
  });
  after(async () => {
    await gateway.close();
    await Promise.all([openai.close(), anthropic.close()]);
  });

  it('records token usage by type, duration and time to first token with GenAI labels', async () => {
    const stream = await client.chat.completions.create({ model: 'gpt-4o-mini', stream: true, messages: [{ role: 'user', content: 'hi' }] });
    for await (const chunk of stream) void chunk;
    await gateway.envoy.settled();
    const text = await gateway.metrics.metrics();
    const labels = { gen_ai_operation_name: 'chat', gen_ai_provider_name: 'openai', gen_ai_request_model: 'gpt-4o-mini', gen_ai_response_model: 'gpt-4o-mini' };
    assert.equal(sample(text, 'gen_ai_client_token_usage_sum', { ...labels, gen_ai_token_type: 'input', usage_estimated: 'false' }), 12);
    assert.equal(sample(text, 'gen_ai_client_token_usage_sum', { ...labels, gen_ai_token_type: 'output', usage_estimated: 'false' }), 5);
    assert.equal(sample(text, 'gen_ai_server_request_duration_seconds_count', { ...labels, error_type: '' }), 1);
    assert.equal(sample(text, 'gen_ai_server_time_to_first_token_seconds_count', labels), 1);
    assert.equal(sample(text, 'gen_ai_server_time_per_output_token_seconds_count', labels), 1);
  });

  it('names operations with the GenAI conventions: text_completion for completions, chat for Anthropic Messages', { timeout: 30_000 }, async () => {
    await client.completions.create({ model: 'gpt-4o-mini', prompt: 'Say' });
    const messages = await fetch(`${gateway.url}/anthropic/v1/messages`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'anthropic-version': '2023-06-01' },
      body: JSON.stringify({ model: 'claude', max_tokens: 16, messages: [{ role: 'user', content: 'hi' }] }),
    });
    assert.equal(messages.status, 200);
    await messages.arrayBuffer();
    await gateway.envoy.settled();
    const text = await gateway.metrics.metrics();
    assert.equal(sample(text, 'gen_ai_server_request_duration_seconds_count', { gen_ai_operation_name: 'text_completion', gen_ai_request_model: 'gpt-4o-mini', error_type: '' }), 1);
    assert.equal(sample(text, 'gen_ai_server_request_duration_seconds_count', { gen_ai_operation_name: 'chat', gen_ai_provider_name: 'anthropic', gen_ai_request_model: 'claude', error_type: '' }), 1);
    assert.doesNotMatch(text, /gen_ai_operation_name="(completion|messages)"/);
  });

  it('clamps a negative CEL cost to 0 and counts it', async () => {
    await client.chat.completions.create({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'hi' }] });
    await gateway.envoy.settled();
    assert.equal(gateway.envoy.requests.at(-1)?.metadata['io.envoy.ai_gateway']?.['discounted'], 0, '5 - 12 * 10 is charged as 0');
    const text = await gateway.metrics.metrics();
    assert.ok((sample(text, 'llm_extproc_cost_clamped_total', { metadata_key: 'discounted' }) ?? 0) >= 1);
  });

  it('counts an unknown provider stop reason by its raw value', async () => {
    anthropic.enqueue({
      status: 200,
      body: JSON.stringify({ id: 'msg_1', type: 'message', role: 'assistant', model: 'claude-sonnet-4-5', content: [{ type: 'text', text: 'ok' }], stop_reason: 'brand_new_reason', usage: { input_tokens: 3, output_tokens: 1 } }),
    });
    const completion = await client.chat.completions.create({ model: 'claude', max_tokens: 10, messages: [{ role: 'user', content: 'hi' }] });
    assert.equal(completion.choices[0]?.finish_reason, 'stop');
    const text = await gateway.metrics.metrics();
    assert.match(text, /llm_extproc_unknown_finish_reasons_total\{provider="anthropic",reason="brand_new_reason"\} 1/);
  });

  it('bounds model label values to the configured models', async () => {
    for (let index = 0; index < 20; index += 1) {
      const response = await fetch(`${gateway.baseURL}/chat/completions`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ model: `random-${index}`, messages: [] }) });
      assert.equal(response.status, 404);
    }
    const text = await gateway.metrics.metrics();
    assert.doesNotMatch(text, /random-\d+/);
  });
});

