/**
 * The shipped product, end to end: `npm start`'s command line as a child process, a config file on disk, secrets
 * from the environment and from files, driven through the Envoy stand-in to mock providers speaking their real
 * wire formats, in both upstreamFilter modes. Every translator in the table is reached by at least one request
 * here (a fixed list, not read from the table): removing any table entry fails this suite.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import OpenAI from 'openai';
import type { RuntimeConfig } from '../../src/config/load.js';
import { parseConfigForEnvoy } from '../../src/envoy/index.js';
import { startEnvoy, type EnvoyStandIn, type RequestRecord } from '../envoy/envoy.js';
import { assembleAnthropicStream, parseAnthropicSse } from '../helpers/anthropic-sse.js';
import { SCHEMAS } from '../../src/config/schema.js';
import { lookupTranslator, tableOperations } from '../../src/translators/table.js';
import { COMPONENTS, VALIDATORS } from '../helpers/components.js';
import { collectChatStream } from '../helpers/openai-stream.js';
import { startAnthropicMock, type AnthropicMock } from '../mocks/anthropic-mock.js';
import { startBedrockMock, type BedrockMock } from '../mocks/bedrock-mock.js';
import { startGeminiMock, type GeminiMock } from '../mocks/gemini-mock.js';
import { startOpenAIMock, type OpenAIMock } from '../mocks/openai-mock.js';
import { startProduct, type Product } from './product.js';

const NS = 'io.envoy.ai_gateway';
const SUITE_TIMEOUT_MS = 120_000;
const AWS = { accessKeyId: 'AKIDPROCESS', secretAccessKey: 'process-aws-secret', region: 'us-west-2' };
const SECRETS = {
  openai: 'sk-process-openai-from-env',
  azure: 'azure-process-key-from-file',
  anthropic: 'sk-ant-process-from-file',
  gcp: 'ya29.process-token-from-env',
  google: 'AIzaProcessFromEnv',
};

/** The config as an operator writes it; `@DIR@` is the directory holding it and the secret files. */
function configYaml(upstreamFilter: boolean): string {
  const aws = `{ aws: { region: ${AWS.region}, accessKeyId: { env: AWS_KEY_ID }, secretAccessKey: { env: AWS_SECRET } } }`;
  return `
backends:
  - { name: openai, schema: OpenAI, endpoint: https://api.openai.com, auth: { apiKey: { env: OPENAI_KEY } } }
  - name: azure
    schema: AzureOpenAI
    endpoint: https://my-resource.openai.azure.com
    apiVersion: 2024-10-21
    auth: { azureApiKey: { file: "@DIR@/azure-key" } }
  - { name: claude, schema: Anthropic, endpoint: https://api.anthropic.com, auth: { anthropicApiKey: { file: "@DIR@/anthropic-key" } } }
  - name: vertex-claude
    schema: GCPAnthropic
    endpoint: https://us-east5-aiplatform.googleapis.com
    auth: { gcp: { projectId: proj, region: us-east5, accessToken: { env: GCP_TOKEN } } }
  - { name: bedrock, schema: AWSBedrock, endpoint: https://bedrock-runtime.us-west-2.amazonaws.com, auth: ${aws} }
  - { name: bedrock-claude, schema: AWSAnthropic, endpoint: https://bedrock-runtime.us-west-2.amazonaws.com, auth: ${aws} }
  - name: vertex
    schema: GCPVertexAI
    endpoint: https://us-central1-aiplatform.googleapis.com
    auth: { gcp: { projectId: proj, region: us-central1, accessToken: { env: GCP_TOKEN } } }
  - { name: google, schema: GoogleAI, endpoint: https://generativelanguage.googleapis.com, auth: { googleApiKey: { env: GOOGLE_KEY } } }
  - { name: broken, schema: OpenAI, endpoint: https://broken.example.com }
models:
  - { name: m-openai, backends: [{ backend: openai, modelNameOverride: gpt-4o-mini }] }
  - { name: m-azure, backends: [{ backend: azure, modelNameOverride: prod-gpt4o }] }
  - { name: m-claude, backends: [{ backend: claude, modelNameOverride: claude-sonnet-4-5-20250929 }] }
  - { name: m-vertex-claude, backends: [{ backend: vertex-claude, modelNameOverride: "claude-sonnet-4-5@20250929" }] }
  - { name: m-bedrock, backends: [{ backend: bedrock, modelNameOverride: "anthropic.claude-3-5-sonnet-20240620-v1:0" }] }
  - { name: m-bedrock-claude, backends: [{ backend: bedrock-claude, modelNameOverride: "us.anthropic.claude-sonnet-4-5-20250929-v1:0" }] }
  - { name: m-vertex, backends: [{ backend: vertex, modelNameOverride: gemini-2.5-flash }] }
  - { name: m-google, backends: [{ backend: google, modelNameOverride: gemini-2.5-flash }] }
  - { name: m-broken, backends: [{ backend: broken }] }
  - { name: m-vertex-embed, backends: [{ backend: vertex, modelNameOverride: text-embedding-005 }] }
  - { name: m-google-embed, backends: [{ backend: google, modelNameOverride: gemini-embedding-001 }] }
  - { name: m-titan, backends: [{ backend: bedrock, modelNameOverride: "amazon.titan-embed-text-v2:0" }] }
  - { name: m-cohere, backends: [{ backend: bedrock, modelNameOverride: cohere.embed-english-v3 }] }
  - { name: m-image, backends: [{ backend: openai, modelNameOverride: gpt-image-1 }] }
  - { name: m-azure-image, backends: [{ backend: azure, modelNameOverride: prod-gpt-image }] }
  - name: m-fallback
    backends:
      - { backend: broken, priority: 0 }
      - { backend: openai, modelNameOverride: gpt-4o-mini, priority: 1 }
costs:
  - { metadataKey: llm_input_token, type: InputToken }
  - { metadataKey: llm_output_token, type: OutputToken }
  - { metadataKey: llm_total_token, type: TotalToken }
envoy:
  upstreamFilter: ${upstreamFilter}
`;
}

/** Chat on every backend schema: model name -> backend that must answer it. */
const CHAT_MODELS: ReadonlyArray<readonly [model: string, backend: string]> = [
  ['m-openai', 'openai'],
  ['m-azure', 'azure'],
  ['m-claude', 'claude'],
  ['m-vertex-claude', 'vertex-claude'],
  ['m-bedrock', 'bedrock'],
  ['m-bedrock-claude', 'bedrock-claude'],
  ['m-vertex', 'vertex'],
  ['m-google', 'google'],
];

/** The Anthropic Messages ingress on every backend schema that serves it. */
const MESSAGES_MODELS: ReadonlyArray<readonly [model: string, backend: string]> = [
  ['m-claude', 'claude'],
  ['m-vertex-claude', 'vertex-claude'],
  ['m-bedrock-claude', 'bedrock-claude'],
  ['m-openai', 'openai'],
  ['m-azure', 'azure'],
  ['m-bedrock', 'bedrock'],
  ['m-vertex', 'vertex'],
  ['m-google', 'google'],
];

/** count_tokens through the providers' own counting APIs (OpenAI and Azure have none: the local estimate). */
const COUNT_TOKENS_MODELS: ReadonlyArray<readonly [model: string, backend: string]> = [
  ['m-claude', 'claude'],
  ['m-vertex-claude', 'vertex-claude'],
  ['m-bedrock-claude', 'bedrock-claude'],
  ['m-bedrock', 'bedrock'],
  ['m-vertex', 'vertex'],
  ['m-google', 'google'],
];

/** The Responses API's input token count: OpenAI's own count, and the local estimate on a backend without one. */
const INPUT_TOKENS_MODELS: ReadonlyArray<readonly [model: string, backend: string, source: 'provider' | 'estimate']> = [
  ['m-openai', 'openai', 'provider'],
  ['m-claude', 'claude', 'estimate'],
];

/** Embeddings and completions: the schemas that serve them. */
const EMBEDDINGS_AND_COMPLETIONS_BACKENDS = ['openai', 'azure'] as const;

/** Embeddings through the providers' own embedding APIs: model, backend, the input tokens the mock reports (or estimated). */
const PROVIDER_EMBEDDINGS_MODELS: ReadonlyArray<readonly [model: string, backend: string, estimated: boolean]> = [
  ['m-vertex-embed', 'vertex', false],
  ['m-google-embed', 'google', true],
  ['m-titan', 'bedrock', false],
  ['m-cohere', 'bedrock', false],
];

/** Image generation: the schemas that serve it. */
const IMAGE_MODELS: ReadonlyArray<readonly [model: string, backend: string]> = [
  ['m-image', 'openai'],
  ['m-azure-image', 'azure'],
];

interface Mocks {
  openai: OpenAIMock;
  azure: OpenAIMock;
  broken: OpenAIMock;
  claude: AnthropicMock;
  vertexClaude: AnthropicMock;
  bedrock: BedrockMock;
  vertex: GeminiMock;
  google: GeminiMock;
}

async function startMocks(): Promise<Mocks> {
  const [openai, azure, broken, claude, vertexClaude, bedrock, vertex, google] = await Promise.all([
    startOpenAIMock({ reply: 'from openai' }),
    startOpenAIMock({ reply: 'from azure' }),
    startOpenAIMock({ failWith: 503 }),
    startAnthropicMock({ apiKey: SECRETS.anthropic }),
    startAnthropicMock({ flavor: 'vertex', bearerToken: SECRETS.gcp }),
    startBedrockMock({ credentials: AWS }),
    startGeminiMock({ accessToken: SECRETS.gcp, projectId: 'proj', region: 'us-central1' }),
    startGeminiMock({ apiKey: SECRETS.google }),
  ]);
  return { openai, azure, broken, claude, vertexClaude, bedrock, vertex, google };
}

function upstreamsOf(mocks: Mocks): Record<string, string> {
  return {
    openai: mocks.openai.url,
    azure: mocks.azure.url,
    broken: mocks.broken.url,
    claude: mocks.claude.url,
    'vertex-claude': mocks.vertexClaude.url,
    bedrock: mocks.bedrock.url,
    'bedrock-claude': mocks.bedrock.url,
    vertex: mocks.vertex.url,
    google: mocks.google.url,
  };
}

async function closeMocks(mocks: Mocks | undefined): Promise<void> {
  if (!mocks) return;
  await Promise.all(Object.values(mocks).map((mock: { close(): Promise<void> }) => mock.close()));
}

/** What Envoy would have: the same config, secrets not needed (the generator reads it the same way). */
async function envoyView(text: string): Promise<RuntimeConfig> {
  const loaded = await parseConfigForEnvoy(text, 'config.yaml', VALIDATORS);
  if (!loaded.ok) throw new Error(loaded.errors.join('\n'));
  return loaded.config;
}

function usageOf(record: RequestRecord): Record<string, unknown> {
  const values = record.metadata[NS];
  assert.ok(values, `request ${record.path} left no ${NS} metadata`);
  return values as Record<string, unknown>;
}

describe('the process suite covers the translator table', () => {
  it('every (client API, operation, schema) the shipped table serves is exercised below', async () => {
    const config = await envoyView(configYaml(true).replaceAll('@DIR@', '/unused'));
    const schemaOf = (backend: string) => config.backends.get(backend)?.schema;
    const covered = new Set([
      ...CHAT_MODELS.map(([, backend]) => `openai/chat/${schemaOf(backend)}`),
      ...CHAT_MODELS.map(([, backend]) => `openai/responses/${schemaOf(backend)}`),
      ...INPUT_TOKENS_MODELS.filter(([, , source]) => source === 'provider').map(([, backend]) => `openai/input_tokens/${schemaOf(backend)}`),
      ...EMBEDDINGS_AND_COMPLETIONS_BACKENDS.flatMap((backend) => [`openai/embeddings/${schemaOf(backend)}`, `openai/completion/${schemaOf(backend)}`]),
      ...PROVIDER_EMBEDDINGS_MODELS.map(([, backend]) => `openai/embeddings/${schemaOf(backend)}`),
      ...IMAGE_MODELS.map(([, backend]) => `openai/image_generation/${schemaOf(backend)}`),
      ...MESSAGES_MODELS.map(([, backend]) => `anthropic/messages/${schemaOf(backend)}`),
      ...COUNT_TOKENS_MODELS.map(([, backend]) => `anthropic/count_tokens/${schemaOf(backend)}`),
    ]);
    for (const { clientApi, operation } of tableOperations(COMPONENTS.translators)) {
      for (const schema of SCHEMAS) {
        if (!lookupTranslator(COMPONENTS.translators, clientApi, operation, schema)) continue;
        assert.ok(covered.has(`${clientApi}/${operation}/${schema}`), `no process-level case for ${clientApi} ${operation} on ${schema}`);
      }
    }
  });
});

for (const upstreamFilter of [true, false]) {
  describe(`the shipped product through the Envoy stand-in (upstreamFilter: ${upstreamFilter})`, { timeout: SUITE_TIMEOUT_MS }, () => {
    let mocks: Mocks | undefined;
    let product: Product | undefined;
    let envoy: EnvoyStandIn | undefined;
    let client: OpenAI;

    before(async () => {
      mocks = await startMocks();
      product = await startProduct({
        configYaml: (directory) => configYaml(upstreamFilter).replaceAll('@DIR@', directory),
        files: { 'azure-key': `${SECRETS.azure}\n`, 'anthropic-key': SECRETS.anthropic },
        env: { OPENAI_KEY: SECRETS.openai, GCP_TOKEN: SECRETS.gcp, GOOGLE_KEY: SECRETS.google, AWS_KEY_ID: AWS.accessKeyId, AWS_SECRET: AWS.secretAccessKey },
      });
      envoy = await startEnvoy({
        config: await envoyView(product.configText),
        extProc: product.grpcAddress,
        upstreams: upstreamsOf(mocks),
        gracefulClose: true,
      });
      client = new OpenAI({ baseURL: `${envoy.url}/v1`, apiKey: 'client-key', maxRetries: 0 });
    });
    after(async () => {
      await envoy?.close();
      const code = await product?.stop('SIGTERM');
      await closeMocks(mocks);
      assert.equal(code, 0, 'the product drains and exits 0 on SIGTERM');
    });

    const last = async (): Promise<RequestRecord> => {
      assert.ok(envoy);
      await envoy.settled();
      const record = envoy.requests.at(-1);
      assert.ok(record);
      return record;
    };

    it('logs how many backends and models it loaded', () => {
      const serving = product?.logs.find((line) => line.msg === 'ext_proc server serving');
      assert.equal(serving?.['backends'], 9);
      assert.equal(serving?.['models'], 16);
    });

    for (const [model, backend] of CHAT_MODELS) {
      it(`chat on ${backend}: a completion, then a stream, with usage metadata`, async () => {
        const completion = await client.chat.completions.create({ model, messages: [{ role: 'user', content: 'Hello' }] });
        const text = completion.choices[0]?.message.content;
        assert.ok(typeof text === 'string' && text.length > 0, `a reply from ${backend}`);
        const total = completion.usage?.total_tokens ?? 0;
        assert.ok(total > 0, 'the client gets usage');
        let record = await last();
        assert.equal(record.status, 200);
        assert.equal(usageOf(record)['backend_name'], backend);
        assert.equal(usageOf(record)['llm_total_token'], total);

        const streamed = await collectChatStream(
          await client.chat.completions.create({ model, stream: true, stream_options: { include_usage: true }, messages: [{ role: 'user', content: 'Stream please' }] }),
        );
        assert.ok(streamed.text.length > 0, `streamed text from ${backend}`);
        const streamedTotal = streamed.usage?.total_tokens ?? 0;
        assert.ok(streamedTotal > 0, 'the stream ends with usage');
        record = await last();
        assert.equal(record.status, 200);
        assert.equal(usageOf(record)['llm_total_token'], streamedTotal);
        assert.equal(usageOf(record)['llm_output_token'], streamed.usage?.completion_tokens);
      });
    }

    for (const [model, backend] of CHAT_MODELS) {
      it(`Responses API on ${backend}: responses.create, plain and streamed, with usage metadata`, async () => {
        const response = await client.responses.create({ model, instructions: 'Be brief.', input: 'Hello' });
        assert.equal(response.status, 'completed');
        assert.ok(response.output_text.length > 0, `a reply from ${backend}`);
        let record = await last();
        assert.equal(record.status, 200);
        assert.equal(usageOf(record)['backend_name'], backend);
        assert.equal(usageOf(record)['llm_total_token'], response.usage?.total_tokens);
        assert.ok((response.usage?.total_tokens ?? 0) > 0);

        let text = '';
        let completed: OpenAI.Responses.Response | undefined;
        for await (const event of await client.responses.create({ model, input: 'Stream please', stream: true })) {
          if (event.type === 'response.output_text.delta') text += event.delta;
          if (event.type === 'response.completed') completed = event.response;
        }
        assert.ok(text.length > 0, `streamed text from ${backend}`);
        assert.ok(completed?.usage, 'the stream ends with response.completed and usage');
        record = await last();
        assert.equal(record.status, 200);
        assert.equal(usageOf(record)['llm_total_token'], completed.usage.total_tokens);
        assert.equal(usageOf(record)['llm_output_token'], completed.usage.output_tokens);
      });
    }

    for (const [model, backend, source] of INPUT_TOKENS_MODELS) {
      it(`Responses input token count on ${backend}: responses.inputTokens.count, the ${source}'s count, not charged`, async () => {
        const { data, response } = await client.responses.inputTokens.count({ model, instructions: 'Be brief.', input: 'Hello there' }).withResponse();
        assert.equal(data.object, 'response.input_tokens');
        assert.ok(data.input_tokens > 0);
        assert.equal(response.headers.get('x-llm-extproc-token-count'), source);
        const record = await last();
        assert.equal(record.status, 200);
        assert.equal(usageOf(record)['llm_total_token'], 0);
        if (source === 'provider') assert.equal(mocks?.openai.requests.at(-1)?.path, '/v1/responses/input_tokens');
      });
    }

    it('embeddings and completions on OpenAI and Azure', async () => {
      assert.ok(mocks);
      for (const [model, mock, path] of [
        ['m-openai', mocks.openai, '/v1/embeddings'],
        ['m-azure', mocks.azure, '/openai/deployments/prod-gpt4o/embeddings?api-version=2024-10-21'],
      ] as const) {
        const embedding = await client.embeddings.create({ model, input: 'hello', encoding_format: 'float' });
        assert.deepEqual(embedding.data[0]?.embedding, [0.1, 0.2, 0.3]);
        assert.equal(mock.requests.at(-1)?.path, path);
        assert.equal(usageOf(await last())['llm_input_token'], 5);
      }
      for (const [model, mock, path] of [
        ['m-openai', mocks.openai, '/v1/completions'],
        ['m-azure', mocks.azure, '/openai/deployments/prod-gpt4o/completions?api-version=2024-10-21'],
      ] as const) {
        const completion = await client.completions.create({ model, prompt: 'Say' });
        assert.equal(completion.choices[0]?.text, 'completed');
        assert.equal(mock.requests.at(-1)?.path, path);
        assert.equal(usageOf(await last())['llm_total_token'], 4);
      }
    });

    for (const [model, backend, estimated] of PROVIDER_EMBEDDINGS_MODELS) {
      it(`embeddings on ${backend} (${model}): the official client's embeddings.create, float and base64, with usage metadata`, async () => {
        const floats = await client.embeddings.create({ model, input: ['first text', 'the second text'], encoding_format: 'float' }).catch((error: unknown) => {
          // Titan embeds one text per call: the batch is refused before it leaves, in OpenAI's error format.
          if (model !== 'm-titan') throw error;
          assert.ok(error instanceof OpenAI.APIError);
          assert.equal(error.status, 400);
          assert.match(error.message, /at most 1 input per request/);
          return undefined;
        });
        const single = await client.embeddings.create({ model, input: 'first text', encoding_format: 'float' });
        const first = single.data[0]?.embedding ?? [];
        assert.ok(first.length > 0, 'a vector');
        if (floats) {
          assert.deepEqual(floats.data.map((item) => item.index), [0, 1]);
          assert.deepEqual(floats.data[0]?.embedding, first, 'the same text gives the same vector, in input order');
        }
        const record = await last();
        assert.equal(record.status, 200);
        assert.equal(usageOf(record)['backend_name'], backend);
        assert.equal(usageOf(record)['llm_input_token'], single.usage.prompt_tokens);
        assert.ok(single.usage.prompt_tokens > 0);
        assert.equal(usageOf(record)['usage_estimated'], estimated);
        // The official client asks for base64 by default and decodes it: the gateway encodes the provider's floats.
        const decoded = await client.embeddings.create({ model, input: 'first text' });
        assert.deepEqual(decoded.data[0]?.embedding, first.map((value) => Math.fround(value)));
      });
    }

    for (const [model, backend] of IMAGE_MODELS) {
      it(`image generation on ${backend}: the official client's images.generate, with the model's token usage`, async () => {
        assert.ok(mocks);
        const image = await client.images.generate({ model, prompt: 'A cute baby sea otter' });
        assert.equal(image.data?.[0]?.b64_json, 'iVBORw0KGgo=');
        const mock = backend === 'openai' ? mocks.openai : mocks.azure;
        const sent = mock.requests.at(-1);
        assert.equal(sent?.path, backend === 'openai' ? '/v1/images/generations' : '/openai/deployments/prod-gpt-image/images/generations?api-version=2024-10-21');
        assert.equal(sent?.json?.['model'], backend === 'openai' ? 'gpt-image-1' : 'prod-gpt-image');
        const record = await last();
        assert.equal(usageOf(record)['backend_name'], backend);
        assert.equal(usageOf(record)['llm_input_token'], 20);
        assert.equal(usageOf(record)['llm_output_token'], 272);
      });
    }

    it('injects credentials from the environment and from files, never the client key', async () => {
      assert.ok(mocks);
      await client.chat.completions.create({ model: 'm-openai', messages: [{ role: 'user', content: 'hi' }] });
      assert.equal(mocks.openai.requests.at(-1)?.headers['authorization'], `Bearer ${SECRETS.openai}`);
      await client.chat.completions.create({ model: 'm-azure', messages: [{ role: 'user', content: 'hi' }] });
      assert.equal(mocks.azure.requests.at(-1)?.headers['api-key'], SECRETS.azure, 'a file secret, trailing newline trimmed');
      assert.equal(mocks.azure.requests.at(-1)?.headers['authorization'], undefined);
    });

    for (const [model, backend] of MESSAGES_MODELS) {
      it(`Anthropic Messages clients on ${backend}: a message, then a stream, with usage metadata`, async () => {
        assert.ok(envoy);
        const headers = { 'content-type': 'application/json', 'x-api-key': 'client-key', 'anthropic-version': '2023-06-01' };
        const body = { model, max_tokens: 64, messages: [{ role: 'user', content: 'Hello' }] };
        const response = await fetch(`${envoy.url}/anthropic/v1/messages`, { method: 'POST', headers, body: JSON.stringify(body) });
        const message = (await response.json()) as { type?: string; content?: Array<{ type: string; text?: string }>; usage?: { input_tokens: number; output_tokens: number } };
        assert.equal(response.status, 200, JSON.stringify(message));
        assert.equal(message.type, 'message');
        assert.ok(message.content?.some((block) => block.type === 'text' && (block.text ?? '').length > 0));
        const record = await last();
        assert.equal(usageOf(record)['backend_name'], backend);
        assert.equal(usageOf(record)['llm_output_token'], message.usage?.output_tokens);

        const streamed = await fetch(`${envoy.url}/anthropic/v1/messages`, { method: 'POST', headers, body: JSON.stringify({ ...body, stream: true }) });
        assert.equal(streamed.status, 200);
        const assembled = assembleAnthropicStream(parseAnthropicSse(await streamed.text()));
        assert.ok(assembled.blocks.some((block) => block['type'] === 'text' && String(block['text'] ?? '').length > 0), 'streamed text');
        assert.ok(assembled.stopReason, 'the stream ends with a stop reason');
        const streamedRecord = await last();
        assert.equal(streamedRecord.status, 200);
        assert.equal(usageOf(streamedRecord)['llm_output_token'], assembled.usage?.['output_tokens']);
      });
    }

    for (const [model, backend] of COUNT_TOKENS_MODELS) {
      it(`Anthropic count_tokens on ${backend}: the provider's count`, async () => {
        assert.ok(envoy);
        const headers = { 'content-type': 'application/json', 'x-api-key': 'client-key', 'anthropic-version': '2023-06-01' };
        const response = await fetch(`${envoy.url}/anthropic/v1/messages/count_tokens`, { method: 'POST', headers, body: JSON.stringify({ model, messages: [{ role: 'user', content: 'Hello there' }] }) });
        const counted = (await response.json()) as { input_tokens?: number };
        assert.equal(response.status, 200, JSON.stringify(counted));
        assert.equal(response.headers.get('x-llm-extproc-token-count'), 'provider');
        assert.ok((counted.input_tokens ?? 0) > 0);
        assert.equal(usageOf(await last())['backend_name'], backend);
      });
    }

    it('an upstream error reaches the client in its API format, with numeric usage metadata', async () => {
      await assert.rejects(client.chat.completions.create({ model: 'm-broken', messages: [{ role: 'user', content: 'hi' }] }), (error: unknown) => {
        assert.ok(error instanceof OpenAI.APIError);
        assert.equal(error.status, 503);
        assert.match(error.message, /mock failure 503/);
        return true;
      });
      const record = await last();
      assert.equal(record.status, 503);
      assert.equal(usageOf(record)['llm_total_token'], 0);
    });

    if (upstreamFilter) {
      it('falls back to the next priority when the first backend fails', async () => {
        assert.ok(mocks);
        const before = mocks.broken.requests.length;
        const completion = await client.chat.completions.create({ model: 'm-fallback', messages: [{ role: 'user', content: 'hi' }] });
        assert.equal(completion.choices[0]?.message.content, 'from openai');
        assert.ok(mocks.broken.requests.length > before, 'the priority 0 backend was tried first');
        const record = await last();
        assert.deepEqual(record.attempts.map((attempt) => attempt.backend).at(-1), 'openai');
        assert.equal(usageOf(record)['backend_name'], 'openai');
        assert.equal(usageOf(record)['llm_total_token'], completion.usage?.total_tokens);
      });
    } else {
      it('picks the lowest priority backend itself (no per-attempt fallback without the upstream filter)', async () => {
        await assert.rejects(client.chat.completions.create({ model: 'm-fallback', messages: [{ role: 'user', content: 'hi' }] }), /503/);
        assert.equal(usageOf(await last())['backend_name'], 'broken');
      });
    }

    it("answers the service's own errors in the client's format, logs them at warn and counts them", async () => {
      assert.ok(envoy && product);
      const response = await fetch(`${envoy.url}/v1/chat/completions`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ model: 'no-such-model', messages: [{ role: 'user', content: 'hi' }] }),
      });
      assert.equal(response.status, 404);
      const body = (await response.json()) as { error?: { message?: string; code?: string } };
      assert.match(body.error?.message ?? '', /no-such-model/);
      const warned = await product.waitForLog((line) => line.msg === 'error answered by llm-extproc' && line['status'] === 404);
      assert.equal(warned.level, 40);
      assert.equal(warned['clientApi'], 'openai');
      assert.equal(typeof warned['requestId'], 'string');
      const metrics = await (await fetch(`http://${product.adminAddress}/metrics`)).text();
      assert.match(metrics, /llm_extproc_errors_total\{reason="[a-z_]+"\} [1-9]/);
    });

    it('no credential from the config reaches its log', () => {
      const log = JSON.stringify(product?.logs ?? []);
      for (const secret of [...Object.values(SECRETS), AWS.secretAccessKey]) assert.ok(!log.includes(secret), `the log holds ${secret}`);
    });
  });
}
