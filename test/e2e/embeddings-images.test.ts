/**
 * End to end for embeddings on every provider and image generation: the official `openai` client (and raw
 * requests where the client would refuse the input) -> Envoy stand-in -> llm-extproc -> mock providers speaking
 * their real wire formats (Vertex :predict and :embedContent with a Bearer token, Gemini API :batchEmbedContents
 * with x-goog-api-key, Bedrock InvokeModel with a SigV4 signature the mock verifies, OpenAI and Azure images),
 * in both upstreamFilter modes. Batch limits, token arrays and streamed images are 400s in OpenAI's format; usage
 * reaches the metadata and the GenAI metrics, estimated (and flagged) where the provider reports none.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import OpenAI from 'openai';
import { lastRecord, NS, TOKEN_COSTS_YAML } from '../helpers/e2e-common.js';
import { startGateway, type Gateway } from '../helpers/gateway-harness.js';
import { startBedrockMock, type BedrockMock } from '../mocks/bedrock-mock.js';
import { mockTokens, mockVector } from '../mocks/embeddings-mock.js';
import { startGeminiMock, type GeminiMock } from '../mocks/gemini-mock.js';
import { startOpenAIMock, type OpenAIMock } from '../mocks/openai-mock.js';
import { sample } from '../helpers/metric-sample.js';

const AWS = { accessKeyId: 'AKIDEMBED', secretAccessKey: 'embed-aws-secret', region: 'us-east-1' };
const BODY_LIMIT = 16 * 1024;
const TIMEOUT = { timeout: 60_000 };

function configYaml(upstreamFilter: boolean): string {
  return `
backends:
  - name: vertex
    schema: GCPVertexAI
    endpoint: https://us-central1-aiplatform.googleapis.com
    auth: { gcp: { projectId: my-project, region: us-central1, accessToken: { value: test-gcp-token } } }
  - { name: google, schema: GoogleAI, endpoint: https://generativelanguage.googleapis.com, auth: { googleApiKey: { value: test-google-key } } }
  - name: bedrock
    schema: AWSBedrock
    endpoint: https://bedrock-runtime.us-east-1.amazonaws.com
    auth: { aws: { region: ${AWS.region}, accessKeyId: { value: ${AWS.accessKeyId} }, secretAccessKey: { value: ${AWS.secretAccessKey} } } }
  - { name: openai, schema: OpenAI, endpoint: https://api.openai.com, auth: { apiKey: { value: sk-gateway-openai } } }
  - { name: azure, schema: AzureOpenAI, endpoint: https://my.openai.azure.com, auth: { azureApiKey: { value: azure-gateway-key } } }
models:
  - { name: vertex-embed, backends: [{ backend: vertex, modelNameOverride: text-embedding-005 }] }
  - { name: vertex-gemini-001, backends: [{ backend: vertex, modelNameOverride: gemini-embedding-001 }] }
  - { name: vertex-gemini-2, backends: [{ backend: vertex, modelNameOverride: gemini-embedding-2-preview }] }
  - { name: google-embed, backends: [{ backend: google, modelNameOverride: gemini-embedding-001 }] }
  - { name: titan, backends: [{ backend: bedrock, modelNameOverride: "amazon.titan-embed-text-v2:0" }] }
  - { name: cohere, backends: [{ backend: bedrock, modelNameOverride: cohere.embed-english-v3 }] }
  - { name: image, backends: [{ backend: openai, modelNameOverride: gpt-image-1 }] }
  - { name: dall-e-3, backends: [{ backend: openai }] }
  - { name: azure-image, backends: [{ backend: azure, modelNameOverride: my-gpt-image }] }
  - name: mixed
    backends:
      - { backend: openai, priority: 0 }
      - { backend: vertex, priority: 1 }
${TOKEN_COSTS_YAML}
  - { metadataKey: llm_budget_token, type: TotalToken, reserve: true }
limits:
  maxRequestBodyBytes: ${BODY_LIMIT}
envoy:
  upstreamFilter: ${upstreamFilter}
`;
}

type ErrorBody = { error?: { message?: string; type?: string; param?: string | null } };

async function post(gateway: Gateway, path: string, body: unknown): Promise<{ status: number; json: ErrorBody & Record<string, unknown> }> {
  const response = await fetch(`${gateway.url}${path}`, { method: 'POST', headers: { 'content-type': 'application/json', authorization: 'Bearer client-key' }, body: JSON.stringify(body) });
  return { status: response.status, json: (await response.json()) as ErrorBody & Record<string, unknown> };
}


for (const upstreamFilter of [true, false]) {
  describe(`embeddings and images end to end (upstreamFilter: ${upstreamFilter})`, TIMEOUT, () => {
    let gateway: Gateway;
    let vertex: GeminiMock;
    let google: GeminiMock;
    let bedrock: BedrockMock;
    let openai: OpenAIMock;
    let azure: OpenAIMock;
    let client: OpenAI;

    before(async () => {
      [vertex, google, bedrock, openai, azure] = await Promise.all([
        startGeminiMock({ accessToken: 'test-gcp-token', projectId: 'my-project', region: 'us-central1' }),
        startGeminiMock({ apiKey: 'test-google-key' }),
        startBedrockMock({ credentials: AWS }),
        startOpenAIMock(),
        startOpenAIMock(),
      ]);
      gateway = await startGateway({
        configYaml: configYaml(upstreamFilter),
        upstreams: { vertex: vertex.url, google: google.url, bedrock: bedrock.url, openai: openai.url, azure: azure.url },
      });
      client = new OpenAI({ baseURL: gateway.baseURL, apiKey: 'client-key', maxRetries: 0 });
    });
    after(async () => {
      await gateway.close();
      await Promise.all([vertex.close(), google.close(), bedrock.close(), openai.close(), azure.close()]);
    });

    it('Vertex text-embedding-005 through :predict: a batch with dimensions, usage from token_count, GenAI metrics', TIMEOUT, async () => {
      const texts = ['The food was delicious', 'and the waiter...'];
      const result = await client.embeddings.create({ model: 'vertex-embed', input: texts, dimensions: 3, encoding_format: 'float' });
      assert.deepEqual(result.data.map((item) => item.embedding), texts.map((text) => mockVector(text, 3)));
      assert.equal(result.model, 'text-embedding-005');
      const sent = vertex.requests.at(-1);
      assert.equal(sent?.path, '/v1/projects/my-project/locations/us-central1/publishers/google/models/text-embedding-005:predict');
      assert.equal(sent?.headers['authorization'], 'Bearer test-gcp-token');
      assert.deepEqual(sent?.body, { instances: texts.map((content) => ({ content })), parameters: { outputDimensionality: 3 } });
      const tokens = texts.reduce((sum, text) => sum + mockTokens(text), 0);
      assert.equal(result.usage.prompt_tokens, tokens);
      const metadata = (await lastRecord(gateway)).metadata[NS];
      assert.equal(metadata?.['llm_input_token'], tokens);
      assert.equal(metadata?.['llm_output_token'], 0);
      assert.equal(metadata?.['usage_estimated'], false);
      // Reserved at the request phase from the local count (no output for embeddings), settled against the reported count.
      const reserved = metadata?.['llm_budget_token_reserve'];
      assert.ok(typeof reserved === 'number' && reserved > 0);
      assert.equal(metadata?.['llm_budget_token'], Math.max(0, tokens - reserved));
      const labels = { gen_ai_operation_name: 'embeddings', gen_ai_provider_name: 'gcp.vertex_ai', gen_ai_request_model: 'vertex-embed' };
      const metrics = await gateway.metrics.metrics();
      assert.equal(sample(metrics, 'gen_ai_client_token_usage_sum', { ...labels, gen_ai_token_type: 'input', usage_estimated: 'false' }), tokens);
      assert.equal(sample(metrics, 'gen_ai_server_request_duration_seconds_count', { ...labels, error_type: '' }), 1);
    });

    it('Vertex gemini-embedding-001 takes one instance per call: a batch of two is a 400 that never leaves', TIMEOUT, async () => {
      const before = vertex.requests.length;
      const answer = await post(gateway, '/v1/embeddings', { model: 'vertex-gemini-001', input: ['one', 'two'] });
      assert.equal(answer.status, 400);
      assert.equal(answer.json.error?.param, 'input');
      assert.match(answer.json.error?.message ?? '', /at most 1 input per request; this request has 2/);
      assert.equal(vertex.requests.length, before, 'nothing reached Vertex');
      const single = await client.embeddings.create({ model: 'vertex-gemini-001', input: 'one', encoding_format: 'float' });
      assert.deepEqual(single.data[0]?.embedding, mockVector('one', 4));
    });

    it('Vertex Gemini embedding models through :embedContent, usage from usageMetadata', TIMEOUT, async () => {
      const result = await client.embeddings.create({ model: 'vertex-gemini-2', input: 'What is the meaning of life?', dimensions: 5, encoding_format: 'float' });
      assert.deepEqual(result.data[0]?.embedding, mockVector('What is the meaning of life?', 5));
      assert.match(vertex.requests.at(-1)?.path ?? '', /gemini-embedding-2-preview:embedContent$/);
      assert.equal((await lastRecord(gateway)).metadata[NS]?.['llm_input_token'], mockTokens('What is the meaning of life?'));
    });

    it('Google AI :batchEmbedContents: no usage from the provider, so it is counted locally and flagged usage_estimated', TIMEOUT, async () => {
      const texts = ['first', 'second', 'third'];
      const result = await client.embeddings.create({ model: 'google-embed', input: texts, encoding_format: 'float' });
      assert.deepEqual(result.data.map((item) => item.embedding), texts.map((text) => mockVector(text, 4)));
      const sent = google.requests.at(-1);
      assert.equal(sent?.path, '/v1beta/models/gemini-embedding-001:batchEmbedContents');
      assert.equal(sent?.headers['x-goog-api-key'], 'test-google-key');
      assert.equal(sent?.headers['authorization'], undefined, 'the client key never reaches Google');
      assert.ok(result.usage.prompt_tokens > 0);
      const metadata = (await lastRecord(gateway)).metadata[NS];
      assert.equal(metadata?.['llm_input_token'], result.usage.prompt_tokens);
      assert.equal(metadata?.['usage_estimated'], true);
      // Rate-limit metadata as for chat: the request phase reserved the same local count, so nothing is left to settle.
      assert.equal(metadata?.['llm_budget_token_reserve'], result.usage.prompt_tokens);
      assert.equal(metadata?.['llm_budget_token'], 0);
      const metrics = await gateway.metrics.metrics();
      const labels = { gen_ai_operation_name: 'embeddings', gen_ai_provider_name: 'gcp.gen_ai', gen_ai_token_type: 'input', usage_estimated: 'true' };
      assert.equal(sample(metrics, 'gen_ai_client_token_usage_sum', labels), result.usage.prompt_tokens);
    });

    it('token arrays and a batch past 100 are 400s on Google AI, in OpenAI error JSON', TIMEOUT, async () => {
      const tokens = await post(gateway, '/v1/embeddings', { model: 'google-embed', input: [[1212, 318], [257, 1332]] });
      assert.equal(tokens.status, 400);
      assert.equal(tokens.json.error?.type, 'invalid_request_error');
      assert.match(tokens.json.error?.message ?? '', /not token arrays/);
      const many = await post(gateway, '/v1/embeddings', { model: 'google-embed', input: Array.from({ length: 101 }, (_, index) => `t${index}`) });
      assert.equal(many.status, 400);
      assert.match(many.json.error?.message ?? '', /at most 100 inputs per request; this request has 101/);
      const hundred = await client.embeddings.create({ model: 'google-embed', input: Array.from({ length: 100 }, (_, index) => `t${index}`), encoding_format: 'float' });
      assert.equal(hundred.data.length, 100);
    });

    it('Bedrock Titan v2 through InvokeModel, SigV4-signed: usage from inputTextTokenCount, base64 encoded by the gateway', TIMEOUT, async () => {
      const result = await client.embeddings.create({ model: 'titan', input: 'hello world', dimensions: 256 });
      assert.equal(result.data[0]?.embedding.length, 256);
      assert.deepEqual(result.data[0]?.embedding, mockVector('hello world', 256).map((value) => Math.fround(value)));
      const sent = bedrock.requests.at(-1);
      assert.equal(sent?.path, '/model/amazon.titan-embed-text-v2%3A0/invoke');
      assert.equal(sent?.signature.ok, true, 'the mock verified the SigV4 signature');
      assert.deepEqual(sent?.body, { inputText: 'hello world', dimensions: 256, normalize: true });
      assert.equal((await lastRecord(gateway)).metadata[NS]?.['llm_input_token'], mockTokens('hello world'));
      const batch = await post(gateway, '/v1/embeddings', { model: 'titan', input: ['one', 'two'] });
      assert.equal(batch.status, 400);
      assert.match(batch.json.error?.message ?? '', /Titan\) embeds at most 1 input per request/);
    });

    it("a Bedrock validation error reaches the client as an OpenAI error with Bedrock's message", TIMEOUT, async () => {
      await assert.rejects(client.embeddings.create({ model: 'titan', input: 'hi', dimensions: 100 }), (error: unknown) => {
        assert.ok(error instanceof OpenAI.BadRequestError);
        assert.match(error.message, /dimensions: 100 is not a valid enum value/);
        return true;
      });
    });

    it('Bedrock Cohere Embed: 96 texts in one call with usage from the Bedrock header, 97 is a 400', TIMEOUT, async () => {
      const texts = Array.from({ length: 96 }, (_, index) => `text number ${index}`);
      const result = await client.embeddings.create({ model: 'cohere', input: texts, encoding_format: 'float' });
      assert.equal(result.data.length, 96);
      assert.deepEqual(result.data[95]?.embedding, mockVector('text number 95', 4));
      const sent = bedrock.requests.at(-1);
      assert.equal(sent?.signature.ok, true);
      assert.deepEqual(sent?.body, { texts, input_type: 'search_document', embedding_types: ['float'] });
      const tokens = texts.reduce((sum, text) => sum + mockTokens(text), 0);
      assert.equal(result.usage.prompt_tokens, tokens);
      const metadata = (await lastRecord(gateway)).metadata[NS];
      assert.equal(metadata?.['llm_input_token'], tokens);
      assert.equal(metadata?.['usage_estimated'], false);
      const over = await post(gateway, '/v1/embeddings', { model: 'cohere', input: [...texts, 'one more'] });
      assert.equal(over.status, 400);
      assert.match(over.json.error?.message ?? '', /at most 96 inputs per request; this request has 97/);
    });

    it('image generation on OpenAI: model override, the gateway key, usage from the answer, generate_content metrics', TIMEOUT, async () => {
      const image = await client.images.generate({ model: 'image', prompt: 'A cute baby sea otter', size: '1024x1024' });
      assert.equal(image.data?.[0]?.b64_json, 'iVBORw0KGgo=');
      const sent = openai.requests.at(-1);
      assert.equal(sent?.path, '/v1/images/generations');
      assert.equal(sent?.json?.['model'], 'gpt-image-1');
      assert.equal(sent?.json?.['size'], '1024x1024');
      assert.equal(sent?.headers['authorization'], 'Bearer sk-gateway-openai');
      const metadata = (await lastRecord(gateway)).metadata[NS];
      assert.equal(metadata?.['llm_input_token'], 20);
      assert.equal(metadata?.['llm_output_token'], 272);
      assert.equal(metadata?.['llm_total_token'], 292);
      const metrics = await gateway.metrics.metrics();
      const labels = { gen_ai_operation_name: 'generate_content', gen_ai_provider_name: 'openai', gen_ai_request_model: 'image', gen_ai_token_type: 'output' };
      assert.equal(sample(metrics, 'gen_ai_client_token_usage_sum', labels), 272);
    });

    it('image generation: dall-e reports no usage (nothing estimated), Azure uses the deployment path, streams are a 400', TIMEOUT, async () => {
      await client.images.generate({ model: 'dall-e-3', prompt: 'otter' });
      const metadata = (await lastRecord(gateway)).metadata[NS];
      assert.equal(metadata?.['llm_total_token'], 0);
      assert.equal(metadata?.['usage_estimated'], false);
      await client.images.generate({ model: 'azure-image', prompt: 'otter' });
      assert.equal(azure.requests.at(-1)?.path, '/openai/deployments/my-gpt-image/images/generations?api-version=2024-10-21');
      assert.equal(azure.requests.at(-1)?.headers['api-key'], 'azure-gateway-key');
      const streamed = await post(gateway, '/v1/images/generations', { model: 'image', prompt: 'otter', stream: true });
      assert.equal(streamed.status, 400);
      assert.equal(streamed.json.error?.param, 'stream');
    });

    it('the request body limit holds for image generation: 413 in OpenAI error JSON', TIMEOUT, async () => {
      const before = openai.requests.length;
      const answer = await post(gateway, '/v1/images/generations', { model: 'image', prompt: 'x'.repeat(BODY_LIMIT) });
      assert.equal(answer.status, 413);
      assert.ok(answer.json.error?.message, 'an OpenAI error body');
      assert.equal(openai.requests.length, before);
    });

    it('GET /v1/models lists every model with the endpoints all of its backends serve', TIMEOUT, async () => {
      const list = (await (await fetch(`${gateway.baseURL}/models`)).json()) as { object: string; data: Array<{ id: string; object: string; endpoints: string[] }> };
      assert.equal(list.object, 'list');
      const byId = new Map(list.data.map((model) => [model.id, model]));
      assert.equal(byId.get('titan')?.object, 'model');
      assert.ok(byId.get('titan')?.endpoints.includes('/v1/embeddings'));
      assert.ok(!byId.get('titan')?.endpoints.includes('/v1/images/generations'));
      assert.ok(byId.get('image')?.endpoints.includes('/v1/images/generations'));
      assert.ok(byId.get('google-embed')?.endpoints.includes('/v1/chat/completions'));
      assert.ok(!byId.get('google-embed')?.endpoints.includes('/v1/completions'));
      // count_tokens goes with the Messages API: OpenAI has no counting API, so it is answered locally.
      assert.ok(byId.get('image')?.endpoints.includes('/anthropic/v1/messages/count_tokens'));
      // A fallback chain lists only what every backend serves: Vertex has no images and no completions.
      const mixed = byId.get('mixed')?.endpoints ?? [];
      assert.ok(mixed.includes('/v1/embeddings') && mixed.includes('/v1/chat/completions'));
      assert.ok(!mixed.includes('/v1/images/generations') && !mixed.includes('/v1/completions'));
      // The official client reads the list (extra fields are ignored).
      const ids: string[] = [];
      for await (const model of client.models.list()) ids.push(model.id);
      assert.ok(ids.includes('cohere'));
    });
  });
}
