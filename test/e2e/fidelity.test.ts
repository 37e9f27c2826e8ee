/**
 * Translation fidelity end to end, in both upstreamFilter modes (official `openai` client or plain fetch ->
 * Envoy stand-in -> llm-extproc -> mock providers speaking the real wire formats):
 * - temperature with top_p on Claude: kept for the models that accept the pair, top_p dropped for the ones
 *   documented to refuse it (the Anthropic mock answers 400 like Anthropic does), and the per-model config override.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import OpenAI from 'openai';
import { TOKEN_COSTS_YAML } from '../helpers/e2e-common.js';
import { startGateway, type Gateway } from '../helpers/gateway-harness.js';
import { startAnthropicMock, type AnthropicMock } from '../mocks/anthropic-mock.js';
import { startBedrockMock, type BedrockMock } from '../mocks/bedrock-mock.js';

type Json = Record<string, unknown>;
const CREDS = { accessKeyId: 'AKIDFIDELITY', secretAccessKey: 'fidelity-secret', region: 'us-east-1' };

function configYaml(upstreamFilter: boolean): string {
  return `
backends:
  - name: anthropic
    schema: Anthropic
    endpoint: https://api.anthropic.com
    auth: { anthropicApiKey: { value: sk-ant-fidelity } }
  - name: bedrock
    schema: AWSBedrock
    endpoint: https://bedrock-runtime.us-east-1.amazonaws.com
    auth: { aws: { region: ${CREDS.region}, accessKeyId: { value: ${CREDS.accessKeyId} }, secretAccessKey: { value: ${CREDS.secretAccessKey} } } }
models:
  - name: opus-4-1
    backends: [{ backend: anthropic, modelNameOverride: claude-opus-4-1-20250805 }]
  - name: sonnet-4-5
    backends: [{ backend: anthropic, modelNameOverride: claude-sonnet-4-5-20250929 }]
  - name: future-claude
    backends: [{ backend: anthropic, modelNameOverride: claude-opus-4-1-20250805, topPWithTemperature: drop }]
  - name: bedrock-claude-3-5
    backends: [{ backend: bedrock, modelNameOverride: anthropic.claude-3-5-sonnet-20240620-v1:0 }]
  - name: bedrock-sonnet-4-5
    backends: [{ backend: bedrock, modelNameOverride: us.anthropic.claude-sonnet-4-5-20250929-v1:0 }]
${TOKEN_COSTS_YAML}
envoy:
  upstreamFilter: ${upstreamFilter}
`;
}

for (const upstreamFilter of [true, false]) {
  describe(`translation fidelity end to end (upstreamFilter: ${upstreamFilter})`, { timeout: 120_000 }, () => {
    let gateway: Gateway;
    let anthropic: AnthropicMock;
    let bedrock: BedrockMock;
    let client: OpenAI;

    before(async () => {
      [anthropic, bedrock] = await Promise.all([startAnthropicMock({ apiKey: 'sk-ant-fidelity' }), startBedrockMock({ credentials: CREDS })]);
      gateway = await startGateway({ configYaml: configYaml(upstreamFilter), upstreams: { anthropic: anthropic.url, bedrock: bedrock.url } });
      client = new OpenAI({ apiKey: 'client-key', baseURL: gateway.baseURL, maxRetries: 0 });
    });
    after(async () => {
      await gateway.close();
      await Promise.all([anthropic.close(), bedrock.close()]);
    });

    describe('temperature with top_p on Claude', () => {
      const ask = (model: string) => client.chat.completions.create({ model, temperature: 0.7, top_p: 0.9, max_tokens: 64, messages: [{ role: 'user', content: 'Pick a colour.' }] });

      it('keeps both for a model that accepts them, drops top_p for one documented to refuse them', async () => {
        await ask('opus-4-1');
        const kept = anthropic.requests.at(-1)?.body as Json;
        assert.deepEqual([kept.temperature, kept.top_p], [0.7, 0.9]);
        const answer = await ask('sonnet-4-5');
        assert.ok(answer.choices[0]?.message.content);
        const dropped = anthropic.requests.at(-1)?.body as Json;
        assert.deepEqual([dropped.temperature, dropped.top_p], [0.7, undefined]);
      });

      it('follows the per-model config override', async () => {
        await ask('future-claude');
        const body = anthropic.requests.at(-1)?.body as Json;
        assert.equal(body.model, 'claude-opus-4-1-20250805');
        assert.deepEqual([body.temperature, body.top_p], [0.7, undefined]);
      });

      it('applies the same rule on Bedrock Converse', async () => {
        await ask('bedrock-claude-3-5');
        assert.deepEqual((bedrock.requests.at(-1)?.body as { inferenceConfig: Json }).inferenceConfig, { maxTokens: 64, temperature: 0.7, topP: 0.9 });
        await ask('bedrock-sonnet-4-5');
        assert.deepEqual((bedrock.requests.at(-1)?.body as { inferenceConfig: Json }).inferenceConfig, { maxTokens: 64, temperature: 0.7 });
      });
    });
  });
}
