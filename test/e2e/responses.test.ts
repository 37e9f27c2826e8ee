/**
 * End to end for the Responses API (`POST /v1/responses`): the official `openai` client's `client.responses.create`
 * -> Envoy stand-in -> llm-extproc -> the mock of every backend schema, in both upstreamFilter modes. On each
 * backend: a plain response, a streamed one (event grammar checked), and a tool loop (function_call ->
 * function_call_output -> final answer, the second turn streamed). Usage in the Responses shape equals the cost
 * metadata written for Envoy. Passthrough specifics (terminal events, cut streams, metrics) and the 400s for
 * stateful fields are in responses-passthrough.test.ts.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import OpenAI from 'openai';
import { lastRecord, NS } from '../helpers/e2e-common.js';
import { startGateway, type Gateway } from '../helpers/gateway-harness.js';
import { assertResponsesGrammar, collectResponses } from '../helpers/responses-stream.js';
import { startAnthropicMock, type AnthropicMock } from '../mocks/anthropic-mock.js';
import { startBedrockMock, type BedrockMock } from '../mocks/bedrock-mock.js';
import { startGeminiMock, type GeminiMock } from '../mocks/gemini-mock.js';
import { startOpenAIMock, type OpenAIMock } from '../mocks/openai-mock.js';

const TIMEOUT = { timeout: 60_000 };
const AWS = { accessKeyId: 'AKIDRESP', secretAccessKey: 'responses-secret-key', region: 'us-west-2' };
const INVOKE_MODEL = 'arn:aws:bedrock:us-west-2:123456789012:inference-profile/us.anthropic.claude-sonnet-4-5-20250929-v1:0';

export const WEATHER_FUNCTION: OpenAI.Responses.FunctionTool = {
  type: 'function',
  name: 'get_weather',
  description: 'Current weather for a city',
  parameters: { type: 'object', properties: { city: { type: 'string' } }, required: ['city'] },
  strict: null,
};

function configYaml(upstreamFilter: boolean): string {
  const aws = `{ aws: { region: ${AWS.region}, accessKeyId: { value: ${AWS.accessKeyId} }, secretAccessKey: { value: ${AWS.secretAccessKey} } } }`;
  return `
backends:
  - { name: openai, schema: OpenAI, endpoint: https://api.openai.com, auth: { apiKey: { value: sk-openai-responses } } }
  - { name: azure, schema: AzureOpenAI, endpoint: https://my-resource.openai.azure.com, apiVersion: 2024-10-21, auth: { azureApiKey: { value: azure-responses-key } } }
  - { name: claude, schema: Anthropic, endpoint: https://api.anthropic.com, auth: { anthropicApiKey: { value: test-anthropic-key } } }
  - name: vertex-claude
    schema: GCPAnthropic
    endpoint: https://us-east5-aiplatform.googleapis.com
    auth: { gcp: { projectId: my-project, region: us-east5, accessToken: { value: test-gcp-token } } }
  - { name: bedrock, schema: AWSBedrock, endpoint: https://bedrock-runtime.us-west-2.amazonaws.com, auth: ${aws} }
  - { name: bedrock-claude, schema: AWSAnthropic, endpoint: https://bedrock-runtime.us-west-2.amazonaws.com, auth: ${aws} }
  - name: vertex
    schema: GCPVertexAI
    endpoint: https://us-central1-aiplatform.googleapis.com
    auth: { gcp: { projectId: my-project, region: us-central1, accessToken: { value: test-gcp-token } } }
  - { name: gemini-api, schema: GoogleAI, endpoint: https://generativelanguage.googleapis.com, auth: { googleApiKey: { value: test-google-key } } }
models:
  - { name: r-openai, backends: [{ backend: openai, modelNameOverride: gpt-5-mini }] }
  - { name: r-azure, backends: [{ backend: azure, modelNameOverride: prod-gpt5 }] }
  - { name: r-anthropic, backends: [{ backend: claude, modelNameOverride: claude-sonnet-4-5-20250929 }] }
  - { name: r-gcp-anthropic, backends: [{ backend: vertex-claude, modelNameOverride: claude-sonnet-4-5@20250929 }] }
  - { name: r-bedrock, backends: [{ backend: bedrock, modelNameOverride: "anthropic.claude-3-5-sonnet-20240620-v1:0" }] }
  - { name: r-aws-anthropic, backends: [{ backend: bedrock-claude, modelNameOverride: "${INVOKE_MODEL}" }] }
  - { name: r-vertex, backends: [{ backend: vertex, modelNameOverride: gemini-2.5-flash }] }
  - { name: r-google, backends: [{ backend: gemini-api, modelNameOverride: gemini-3-flash-preview }] }
costs:
  - { metadataKey: llm_input_token, type: InputToken }
  - { metadataKey: llm_output_token, type: OutputToken }
  - { metadataKey: llm_total_token, type: TotalToken }
envoy:
  upstreamFilter: ${upstreamFilter}
`;
}

interface Mocks {
  openai: OpenAIMock;
  azure: OpenAIMock;
  anthropic: AnthropicMock;
  vertexClaude: AnthropicMock;
  bedrock: BedrockMock;
  vertex: GeminiMock;
  google: GeminiMock;
}

interface BackendCase {
  readonly schema: string;
  readonly model: string;
  /** The path of the last request the backend's mock received. */
  readonly lastPath: (mocks: Mocks) => string | undefined;
  readonly expectedPath: RegExp;
}

const BACKENDS: readonly BackendCase[] = [
  { schema: 'OpenAI', model: 'r-openai', lastPath: (m) => m.openai.requests.at(-1)?.path, expectedPath: /^\/v1\/responses$/ },
  { schema: 'AzureOpenAI', model: 'r-azure', lastPath: (m) => m.azure.requests.at(-1)?.path, expectedPath: /^\/openai\/v1\/responses$/ },
  { schema: 'Anthropic', model: 'r-anthropic', lastPath: (m) => m.anthropic.requests.at(-1)?.path, expectedPath: /^\/v1\/messages$/ },
  { schema: 'GCPAnthropic', model: 'r-gcp-anthropic', lastPath: (m) => m.vertexClaude.requests.at(-1)?.path, expectedPath: /publishers\/anthropic\/models\/.*:(stream)?[rR]awPredict$/ },
  { schema: 'AWSBedrock', model: 'r-bedrock', lastPath: (m) => m.bedrock.requests.at(-1)?.path, expectedPath: /\/converse(-stream)?$/ },
  { schema: 'AWSAnthropic', model: 'r-aws-anthropic', lastPath: (m) => m.bedrock.requests.at(-1)?.path, expectedPath: /\/invoke(-with-response-stream)?$/ },
  { schema: 'GCPVertexAI', model: 'r-vertex', lastPath: (m) => m.vertex.requests.at(-1)?.path, expectedPath: /gemini-2\.5-flash:(generateContent|streamGenerateContent)/ },
  { schema: 'GoogleAI', model: 'r-google', lastPath: (m) => m.google.requests.at(-1)?.path, expectedPath: /gemini-3-flash-preview:(generateContent|streamGenerateContent)/ },
];

/** The text of a buffered response's message items. */
function outputText(response: OpenAI.Responses.Response): string {
  return response.output.flatMap((item) => (item.type === 'message' ? item.content.flatMap((part) => (part.type === 'output_text' ? [part.text] : [])) : [])).join('');
}

for (const upstreamFilter of [true, false]) {
  describe(`Responses API end to end on every backend schema (upstreamFilter: ${upstreamFilter})`, () => {
    let gateway: Gateway;
    let mocks: Mocks;
    let client: OpenAI;

    before(async () => {
      const [openai, azure, anthropic, vertexClaude, bedrock, vertex, google] = await Promise.all([
        startOpenAIMock(),
        startOpenAIMock({ reply: 'Hello from Azure.' }),
        startAnthropicMock(),
        startAnthropicMock({ flavor: 'vertex' }),
        startBedrockMock({ credentials: AWS }),
        startGeminiMock({ accessToken: 'test-gcp-token', projectId: 'my-project', region: 'us-central1' }),
        startGeminiMock({ apiKey: 'test-google-key' }),
      ]);
      mocks = { openai, azure, anthropic, vertexClaude, bedrock, vertex, google };
      gateway = await startGateway({
        configYaml: configYaml(upstreamFilter),
        upstreams: {
          openai: openai.url,
          azure: azure.url,
          claude: anthropic.url,
          'vertex-claude': vertexClaude.url,
          bedrock: bedrock.url,
          'bedrock-claude': bedrock.url,
          vertex: vertex.url,
          'gemini-api': google.url,
        },
      });
      client = new OpenAI({ baseURL: gateway.baseURL, apiKey: 'client-key', maxRetries: 0 });
    });
    after(async () => {
      await gateway.close();
      await Promise.all(Object.values(mocks).map((mock) => mock.close()));
    });

    it('refuses previous_response_id on a stateless backend with a 400 naming it, and passes it to OpenAI', TIMEOUT, async () => {
      const before = mocks.anthropic.requests.length;
      await assert.rejects(client.responses.create({ model: 'r-anthropic', input: 'And then?', previous_response_id: 'resp_1' }), (error: unknown) => {
        assert.ok(error instanceof OpenAI.BadRequestError);
        assert.equal(error.param, 'previous_response_id');
        assert.equal(error.code, 'unsupported_parameter');
        return true;
      });
      assert.equal(mocks.anthropic.requests.length, before, 'nothing reached Claude');
      await client.responses.create({ model: 'r-openai', input: 'And then?', previous_response_id: 'resp_1' });
      assert.equal(mocks.openai.requests.at(-1)?.json?.['previous_response_id'], 'resp_1');
    });

    for (const backend of BACKENDS) {
      describe(`${backend.schema}`, () => {
        it('answers a plain response with usage in the Responses shape, the same as the cost metadata', TIMEOUT, async () => {
          const response = await client.responses.create({ model: backend.model, instructions: 'Be brief.', input: 'Hello' });
          assert.equal(response.object, 'response');
          assert.equal(response.status, 'completed');
          assert.ok(outputText(response).length > 0, 'the answer has text');
          assert.equal(response.output_text, outputText(response));
          assert.match(backend.lastPath(mocks) ?? '', backend.expectedPath);
          const usage = response.usage;
          assert.ok(usage && usage.input_tokens > 0 && usage.output_tokens > 0);
          assert.equal(usage.total_tokens, usage.input_tokens + usage.output_tokens);
          assert.equal(typeof usage.input_tokens_details.cached_tokens, 'number');
          assert.equal(typeof usage.output_tokens_details.reasoning_tokens, 'number');
          const record = await lastRecord(gateway);
          assert.equal(record.status, 200);
          assert.equal(record.metadata[NS]?.['llm_input_token'], usage.input_tokens);
          assert.equal(record.metadata[NS]?.['llm_output_token'], usage.output_tokens);
          assert.equal(record.metadata[NS]?.['llm_total_token'], usage.total_tokens);
        });

        it('streams events in the Responses grammar, ending in response.completed with usage', TIMEOUT, async () => {
          const collected = await collectResponses(await client.responses.create({ model: backend.model, input: [{ role: 'user', content: [{ type: 'input_text', text: 'Stream please' }] }], stream: true }));
          assertResponsesGrammar(collected.events);
          assert.equal(collected.terminalType, 'response.completed');
          assert.ok(collected.text.length > 0);
          assert.equal(outputText(collected.terminal as OpenAI.Responses.Response), collected.text);
          const usage = collected.terminal?.usage;
          assert.ok(usage && usage.output_tokens > 0);
          assert.match(backend.lastPath(mocks) ?? '', backend.expectedPath);
          const record = await lastRecord(gateway);
          assert.equal(record.metadata[NS]?.['llm_total_token'], usage.total_tokens);
          assert.equal(record.metadata[NS]?.['llm_output_token'], usage.output_tokens);
        });

        it('runs a tool loop: function_call, then function_call_output, then the final answer (streamed)', TIMEOUT, async () => {
          const input: OpenAI.Responses.ResponseInputItem[] = [{ role: 'user', content: 'Use get_weather for the weather in Paris' }];
          const first = await client.responses.create({ model: backend.model, input, tools: [WEATHER_FUNCTION] });
          const call = first.output.find((item): item is OpenAI.Responses.ResponseFunctionToolCall => item.type === 'function_call');
          assert.ok(call, `a function_call item in ${JSON.stringify(first.output)}`);
          assert.equal(call.name, 'get_weather');
          assert.ok(call.call_id.length > 0);
          assert.equal((JSON.parse(call.arguments) as { city: string }).city, 'Paris');
          input.push(call, { type: 'function_call_output', call_id: call.call_id, output: '18C and sunny' });
          const second = await collectResponses(await client.responses.create({ model: backend.model, input, tools: [WEATHER_FUNCTION], stream: true }));
          assertResponsesGrammar(second.events);
          assert.equal(second.terminalType, 'response.completed');
          assert.deepEqual(second.calls, []);
          assert.match(second.text, /18C and sunny/);
        });
      });
    }
  });
}
