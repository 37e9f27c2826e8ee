/**
 * End to end for the Responses API's input token count (`POST /v1/responses/input_tokens`): the official `openai`
 * client's `client.responses.inputTokens.count` -> Envoy stand-in -> llm-extproc -> mock upstreams, in both
 * upstreamFilter modes. OpenAI backends answer with their own count (marked `provider`); Azure, Claude and Bedrock
 * backends are answered locally from the estimate (marked `estimate`) without reaching the backend. Stateful fields
 * get the /v1/responses 400 on a stateless backend; nothing is ever charged or reserved.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import OpenAI from 'openai';
import { lastRecord, NS } from '../helpers/e2e-common.js';
import { startGateway, type Gateway } from '../helpers/gateway-harness.js';
import { startAnthropicMock, type AnthropicMock } from '../mocks/anthropic-mock.js';
import { startBedrockMock, type BedrockMock } from '../mocks/bedrock-mock.js';
import { startOpenAIMock, type OpenAIMock } from '../mocks/openai-mock.js';

const TIMEOUT = { timeout: 60_000 };
const AWS = { accessKeyId: 'AKIDCOUNT', secretAccessKey: 'count-secret-key', region: 'us-west-2' };
const HEADER = 'x-llm-extproc-token-count';
const WEATHER_FUNCTION: OpenAI.Responses.FunctionTool = {
  type: 'function',
  name: 'get_weather',
  description: 'Current weather for a city',
  parameters: { type: 'object', properties: { city: { type: 'string' } }, required: ['city'] },
  strict: null,
};
const COST_KEYS = ['llm_input_token', 'llm_output_token', 'llm_total_token', 'llm_total_token_reserve'];

function configYaml(upstreamFilter: boolean): string {
  const aws = `{ aws: { region: ${AWS.region}, accessKeyId: { value: ${AWS.accessKeyId} }, secretAccessKey: { value: ${AWS.secretAccessKey} } } }`;
  return `
backends:
  - { name: openai, schema: OpenAI, endpoint: https://api.openai.com, auth: { apiKey: { value: sk-openai-count } } }
  - { name: azure, schema: AzureOpenAI, endpoint: https://my-resource.openai.azure.com, apiVersion: 2024-10-21, auth: { azureApiKey: { value: azure-count-key } } }
  - { name: claude, schema: Anthropic, endpoint: https://api.anthropic.com, auth: { anthropicApiKey: { value: test-anthropic-key } } }
  - { name: bedrock, schema: AWSBedrock, endpoint: https://bedrock-runtime.us-west-2.amazonaws.com, auth: ${aws} }
models:
  - { name: c-openai, backends: [{ backend: openai, modelNameOverride: gpt-5-mini }] }
  - { name: c-azure, backends: [{ backend: azure, modelNameOverride: prod-gpt5 }] }
  - { name: c-anthropic, backends: [{ backend: claude, modelNameOverride: claude-sonnet-4-5-20250929 }] }
  - { name: c-bedrock, backends: [{ backend: bedrock, modelNameOverride: "anthropic.claude-3-5-sonnet-20240620-v1:0" }] }
costs:
  - { metadataKey: llm_input_token, type: InputToken }
  - { metadataKey: llm_output_token, type: OutputToken }
  - { metadataKey: llm_total_token, type: TotalToken, reserve: true }
envoy:
  upstreamFilter: ${upstreamFilter}
`;
}

interface Mocks {
  openai: OpenAIMock;
  azure: OpenAIMock;
  anthropic: AnthropicMock;
  bedrock: BedrockMock;
}

/** Every cost value the exchange wrote is 0: a count is neither charged nor reserved. */
async function assertNothingCharged(gateway: Gateway, label: string): Promise<void> {
  const metadata = (await lastRecord(gateway)).metadata[NS] ?? {};
  for (const key of COST_KEYS) assert.ok(metadata[key] === undefined || metadata[key] === 0, `${label}: ${key} = ${String(metadata[key])}`);
  assert.equal(metadata['llm_total_token'], 0, label);
}

for (const upstreamFilter of [true, false]) {
  describe(`POST /v1/responses/input_tokens end to end (upstreamFilter: ${upstreamFilter})`, () => {
    let gateway: Gateway;
    let mocks: Mocks;
    let client: OpenAI;

    before(async () => {
      const [openai, azure, anthropic, bedrock] = await Promise.all([startOpenAIMock(), startOpenAIMock(), startAnthropicMock(), startBedrockMock({ credentials: AWS })]);
      mocks = { openai, azure, anthropic, bedrock };
      gateway = await startGateway({
        configYaml: configYaml(upstreamFilter),
        upstreams: { openai: openai.url, azure: azure.url, claude: anthropic.url, bedrock: bedrock.url },
      });
      client = new OpenAI({ baseURL: gateway.baseURL, apiKey: 'client-key', maxRetries: 0 });
    });
    after(async () => {
      await gateway.close();
      await Promise.all(Object.values(mocks).map((mock) => mock.close()));
    });

    it('passes an OpenAI backend\'s count through: its path, model override and key, marked provider, nothing charged', TIMEOUT, async () => {
      const body = { model: 'c-openai', instructions: 'Be brief.', input: 'Count me', tools: [WEATHER_FUNCTION] };
      const { data, response } = await client.responses.inputTokens.count(body).withResponse();
      assert.deepEqual(data, { object: 'response.input_tokens', input_tokens: 1000 + JSON.stringify('Count me').length });
      assert.equal(response.headers.get(HEADER), 'provider');
      const upstream = mocks.openai.requests.at(-1);
      assert.equal(upstream?.path, '/v1/responses/input_tokens');
      assert.equal(upstream?.headers['authorization'], 'Bearer sk-openai-count');
      assert.equal(upstream?.json?.['model'], 'gpt-5-mini');
      assert.equal(upstream?.json?.['instructions'], 'Be brief.');
      await assertNothingCharged(gateway, 'openai');
    });

    it('passes stateful fields to OpenAI, which keeps the conversation', TIMEOUT, async () => {
      const { response } = await client.responses.inputTokens.count({ model: 'c-openai', input: 'And then?', previous_response_id: 'resp_1' }).withResponse();
      assert.equal(response.status, 200);
      assert.equal(mocks.openai.requests.at(-1)?.json?.['previous_response_id'], 'resp_1');
    });

    for (const model of ['c-anthropic', 'c-bedrock', 'c-azure']) {
      it(`answers ${model} locally from the estimate of the chat pivot, without reaching the backend`, TIMEOUT, async () => {
        const reached = () => mocks.anthropic.requests.length + mocks.bedrock.requests.length + mocks.azure.requests.length;
        const before = reached();
        const count = async (input: OpenAI.Responses.ResponseInput | string) => {
          const { data, response } = await client.responses.inputTokens.count({ model, instructions: 'Be brief.', input }).withResponse();
          assert.equal(response.headers.get(HEADER), 'estimate');
          assert.equal(data.object, 'response.input_tokens');
          assert.deepEqual(Object.keys(data).sort(), ['input_tokens', 'object']);
          return data.input_tokens;
        };
        const short = await count('Hello');
        const long = await count([{ role: 'user', content: [{ type: 'input_text', text: 'A much longer question about the weather in Paris and Rome. '.repeat(10) }] }]);
        assert.ok(short > 0 && long > short * 10, `short ${short}, long ${long}`);
        const withTool = await client.responses.inputTokens.count({ model, input: 'Hello', instructions: 'Be brief.', tools: [WEATHER_FUNCTION] });
        assert.ok(withTool.input_tokens > short, `tools are counted: ${withTool.input_tokens} > ${short}`);
        assert.equal(reached(), before, 'no backend was asked');
        await assertNothingCharged(gateway, model);
      });
    }

    it('refuses previous_response_id and conversation on a stateless backend with the /v1/responses 400', TIMEOUT, async () => {
      for (const [field, body] of [
        ['previous_response_id', { model: 'c-anthropic', input: 'And then?', previous_response_id: 'resp_1' }],
        ['conversation', { model: 'c-bedrock', input: 'And then?', conversation: 'conv_1' }],
      ] as const) {
        await assert.rejects(client.responses.inputTokens.count(body), (error: unknown) => {
          assert.ok(error instanceof OpenAI.BadRequestError, String(error));
          assert.equal(error.param, field);
          assert.equal(error.code, 'unsupported_parameter');
          return true;
        });
        await assertNothingCharged(gateway, field);
      }
    });

    it('answers an OpenAI backend\'s error in OpenAI\'s shape, and lists the endpoint in /v1/models', TIMEOUT, async () => {
      mocks.openai.options = { ...mocks.openai.options, failWith: 429 };
      try {
        await assert.rejects(client.responses.inputTokens.count({ model: 'c-openai', input: 'Hi' }), (error: unknown) => error instanceof OpenAI.RateLimitError);
      } finally {
        mocks.openai.options = { ...mocks.openai.options, failWith: undefined };
      }
      await assertNothingCharged(gateway, 'openai error');
      const models = await client.models.list();
      for (const model of models.data) {
        const endpoints = (model as unknown as { endpoints: string[] }).endpoints;
        assert.ok(endpoints.includes('/v1/responses/input_tokens'), `${model.id}: ${endpoints.join(', ')}`);
      }
    });
  });
}
