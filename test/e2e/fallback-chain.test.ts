/**
 * A model whose fallback chain spans three providers: Anthropic (429) -> Bedrock (503) -> OpenAI. Envoy opens
 * a fresh upstream ext_proc stream per attempt over one shared header map; each attempt must be translated from
 * the client's original body, carry only its own backend's credentials, and the usage must come from the last.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import OpenAI from 'openai';
import { startGateway, type Gateway } from '../helpers/gateway-harness.js';
import { startAnthropicMock, type AnthropicMock } from '../mocks/anthropic-mock.js';
import { startBedrockMock, type BedrockMock } from '../mocks/bedrock-mock.js';
import { startOpenAIMock, type OpenAIMock } from '../mocks/openai-mock.js';

const NS = 'io.envoy.ai_gateway';
const AWS = { accessKeyId: 'AKIDCHAIN', secretAccessKey: 'chain-secret', region: 'us-east-1' };

describe('fallback across three providers', () => {
  let anthropic: AnthropicMock;
  let bedrock: BedrockMock;
  let openai: OpenAIMock;
  let gateway: Gateway;
  let client: OpenAI;

  before(async () => {
    anthropic = await startAnthropicMock({ apiKey: 'sk-ant-chain' });
    bedrock = await startBedrockMock({ credentials: AWS });
    openai = await startOpenAIMock({ reply: 'third time lucky' });
    gateway = await startGateway({
      configYaml: `
backends:
  - { name: claude, schema: Anthropic, endpoint: https://api.anthropic.com, auth: { anthropicApiKey: { value: sk-ant-chain } } }
  - name: bedrock
    schema: AWSBedrock
    endpoint: https://bedrock-runtime.us-east-1.amazonaws.com
    auth: { aws: { region: us-east-1, accessKeyId: { value: ${AWS.accessKeyId} }, secretAccessKey: { value: ${AWS.secretAccessKey} } } }
  - { name: openai, schema: OpenAI, endpoint: https://api.openai.com, auth: { apiKey: { value: sk-openai-chain } } }
models:
  - name: smart
    backends:
      - { backend: claude, modelNameOverride: claude-sonnet-4-5, priority: 0 }
      - { backend: bedrock, modelNameOverride: "anthropic.claude-3-5-sonnet-20240620-v1:0", priority: 1 }
      - { backend: openai, modelNameOverride: gpt-4o, priority: 2 }
costs:
  - { metadataKey: llm_total_token, type: TotalToken }
`,
      upstreams: { claude: anthropic.url, bedrock: bedrock.url, openai: openai.url },
      envoy: { numRetries: 2 },
    });
    client = new OpenAI({ baseURL: gateway.baseURL, apiKey: 'client-key', maxRetries: 0 });
  });
  after(async () => {
    await gateway.close();
    await Promise.all([anthropic.close(), bedrock.close(), openai.close()]);
  });

  it('translates every attempt from the original body and answers from the third provider', async () => {
    anthropic.enqueue({ status: 429, body: JSON.stringify({ type: 'error', error: { type: 'rate_limit_error', message: 'slow down' } }) });
    bedrock.script({ error: { status: 503, type: 'ServiceUnavailableException', message: 'try later' } });
    const completion = await client.chat.completions.create({
      model: 'smart',
      max_tokens: 100,
      messages: [
        { role: 'system', content: 'Be brief.' },
        { role: 'user', content: 'hello' },
      ],
    });
    assert.equal(completion.choices[0]?.message.content, 'third time lucky');

    const claudeRequest = anthropic.requests.at(-1);
    assert.ok(claudeRequest, 'attempt 1 reached Anthropic');
    assert.equal((claudeRequest.body as Record<string, unknown>)['model'], 'claude-sonnet-4-5');
    assert.deepEqual((claudeRequest.body as Record<string, unknown>)['system'], [{ type: 'text', text: 'Be brief.' }]);
    assert.equal(claudeRequest.headers['x-api-key'], 'sk-ant-chain');

    const bedrockRequest = bedrock.requests.at(-1);
    assert.ok(bedrockRequest, 'attempt 2 reached Bedrock');
    assert.equal(bedrockRequest.signature.ok, true, 'signed for Bedrock over its own body');
    assert.equal(bedrockRequest.modelId, 'anthropic.claude-3-5-sonnet-20240620-v1:0');
    assert.equal(bedrockRequest.headers['x-api-key'], undefined, "Anthropic's key does not leak to Bedrock");

    const openaiRequest = openai.requests.at(-1);
    assert.ok(openaiRequest, 'attempt 3 reached OpenAI');
    assert.equal(openaiRequest.json?.['model'], 'gpt-4o');
    assert.deepEqual(openaiRequest.json?.['messages'], [
      { role: 'system', content: 'Be brief.' },
      { role: 'user', content: 'hello' },
    ]);
    assert.equal(openaiRequest.headers['authorization'], 'Bearer sk-openai-chain');
    assert.equal(openaiRequest.headers['x-api-key'], undefined);
    assert.equal(openaiRequest.headers['x-amz-date'], undefined, "Bedrock's signature headers do not leak to OpenAI");
    assert.equal(openaiRequest.headers['anthropic-version'], undefined);

    await gateway.envoy.settled();
    const record = gateway.envoy.requests.at(-1);
    assert.equal(record?.attempts.length, 3);
    assert.deepEqual(record?.attempts.map((attempt) => attempt.backend), ['claude', 'bedrock', 'openai']);
    assert.equal(record?.metadata[NS]?.['backend_name'], 'openai');
    assert.equal(record?.metadata[NS]?.['llm_total_token'], 15);
  });
});
