/**
 * Translation fidelity end to end, in both upstreamFilter modes (official `openai` client or plain fetch ->
 * Envoy stand-in -> llm-extproc -> mock providers speaking the real wire formats):
 * - temperature with top_p on Claude: kept for the models that accept the pair, top_p dropped for the ones
 *   documented to refuse it (the Anthropic mock answers 400 like Anthropic does), and the per-model config override.
 * - Gemini log probabilities: logprobs / top_logprobs -> responseLogprobs / logprobs, logprobsResult -> choices[].logprobs,
 *   buffered and streamed.
 * - service_tier on Bedrock Converse: sent as serviceTier, the tier Bedrock reports comes back as service_tier.
 * - reasoning from an OpenAI-compatible backend (reasoning_content, signed thinking_blocks) reaches an Anthropic client
 *   as thinking blocks, streamed as thinking_delta and signature_delta.
 * - Bedrock stream events without contentBlockIndex: translated as block 0, nothing dropped, a warning counted.
 * - Gemini schema fields by model: JSON Schema fields for Gemini 2.5, the OpenAPI subset for Gemini 2.0 (the mock
 *   refuses the JSON Schema fields and unknown subset keywords for it, as Gemini does).
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import OpenAI from 'openai';
import { TOKEN_COSTS_YAML } from '../helpers/e2e-common.js';
import { collectChatStream } from '../helpers/openai-stream.js';
import { sampleSum } from '../hostile/hostile-helpers.js';
import { startGateway, type Gateway } from '../helpers/gateway-harness.js';
import { startAnthropicMock, type AnthropicMock } from '../mocks/anthropic-mock.js';
import { startBedrockMock, type BedrockMock } from '../mocks/bedrock-mock.js';
import { startGeminiMock, type GeminiMock } from '../mocks/gemini-mock.js';
import { assembleAnthropicStream, parseAnthropicSse } from '../helpers/anthropic-sse.js';
import { sseEvent, startHttpMock, type HttpMock, type MockReply } from '../mocks/http-mock.js';

type Json = Record<string, unknown>;
const CREDS = { accessKeyId: 'AKIDFIDELITY', secretAccessKey: 'fidelity-secret', region: 'us-east-1' };

function configYaml(upstreamFilter: boolean): string {
  return `
backends:
  - name: anthropic
    schema: Anthropic
    endpoint: https://api.anthropic.com
    auth: { anthropicApiKey: { value: sk-ant-fidelity } }
  - name: vertex
    schema: GCPVertexAI
    endpoint: https://us-central1-aiplatform.googleapis.com
    auth: { gcp: { projectId: my-project, region: us-central1, accessToken: { value: gcp-fidelity } } }
  - name: compat
    schema: OpenAI
    endpoint: http://reasoning-server.internal:8000
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
  - name: gemini-flash
    backends: [{ backend: vertex, modelNameOverride: gemini-2.5-flash }]
  - name: gemini-2-0
    backends: [{ backend: vertex, modelNameOverride: gemini-2.0-flash-001 }]
  - name: bedrock-claude-3-5
    backends: [{ backend: bedrock, modelNameOverride: anthropic.claude-3-5-sonnet-20240620-v1:0 }]
  - name: reasoner
    backends: [{ backend: compat, modelNameOverride: deepseek-reasoner }]
  - name: nova
    backends: [{ backend: bedrock, modelNameOverride: amazon.nova-pro-v1:0 }]
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
    let vertex: GeminiMock;
    let compat: HttpMock;
    let client: OpenAI;

    before(async () => {
      [anthropic, bedrock, vertex, compat] = await Promise.all([
        startAnthropicMock({ apiKey: 'sk-ant-fidelity' }),
        startBedrockMock({ credentials: CREDS }),
        startGeminiMock({ accessToken: 'gcp-fidelity' }),
        startHttpMock({ kind: 'raw', status: 500, body: '' }),
      ]);
      gateway = await startGateway({
        configYaml: configYaml(upstreamFilter),
        upstreams: { anthropic: anthropic.url, bedrock: bedrock.url, vertex: vertex.url, compat: compat.url },
      });
      client = new OpenAI({ apiKey: 'client-key', baseURL: gateway.baseURL, maxRetries: 0 });
    });
    after(async () => {
      await gateway.close();
      await Promise.all([anthropic.close(), bedrock.close(), vertex.close(), compat.close()]);
    });

    describe('temperature with top_p on Claude', { timeout: 60_000 }, () => {
      const ask = (model: string) => client.chat.completions.create({ model, temperature: 0.7, top_p: 0.9, max_tokens: 64, messages: [{ role: 'user', content: 'Pick a colour.' }] });

      it('keeps both for a model that accepts them, drops top_p for one documented to refuse them', { timeout: 30_000 }, async () => {
        await ask('opus-4-1');
        const kept = anthropic.requests.at(-1)?.body as Json;
        assert.deepEqual([kept.temperature, kept.top_p], [0.7, 0.9]);
        const answer = await ask('sonnet-4-5');
        assert.ok(answer.choices[0]?.message.content);
        const dropped = anthropic.requests.at(-1)?.body as Json;
        assert.deepEqual([dropped.temperature, dropped.top_p], [0.7, undefined]);
      });

      it('follows the per-model config override', { timeout: 30_000 }, async () => {
        await ask('future-claude');
        const body = anthropic.requests.at(-1)?.body as Json;
        assert.equal(body.model, 'claude-opus-4-1-20250805');
        assert.deepEqual([body.temperature, body.top_p], [0.7, undefined]);
      });

      it('applies the same rule on Bedrock Converse', { timeout: 30_000 }, async () => {
        await ask('bedrock-claude-3-5');
        assert.deepEqual((bedrock.requests.at(-1)?.body as { inferenceConfig: Json }).inferenceConfig, { maxTokens: 64, temperature: 0.7, topP: 0.9 });
        await ask('bedrock-sonnet-4-5');
        assert.deepEqual((bedrock.requests.at(-1)?.body as { inferenceConfig: Json }).inferenceConfig, { maxTokens: 64, temperature: 0.7 });
      });
    });

    describe('Gemini log probabilities', { timeout: 60_000 }, () => {
      const token = (text: string, logProbability: number) => ({ token: text, logProbability });
      const logprobsResult = (tokens: Array<[string, number]>) => ({
        chosenCandidates: tokens.map(([text, value]) => token(text, value)),
        topCandidates: tokens.map(([text, value]) => ({ candidates: [token(text, value), token('x', value - 3)] })),
      });
      const candidate = (text: string, tokens: Array<[string, number]>, finishReason?: string) => ({
        content: { role: 'model', parts: [{ text }] },
        index: 0,
        logprobsResult: logprobsResult(tokens),
        ...(finishReason ? { finishReason } : {}),
      });

      it('asks for them and returns them as choices[].logprobs', { timeout: 30_000 }, async () => {
        vertex.enqueue({
          kind: 'json',
          body: { candidates: [candidate('Hi!', [['Hi', -0.25], ['!', -0.5]], 'STOP')], usageMetadata: { promptTokenCount: 3, candidatesTokenCount: 2 }, modelVersion: 'gemini-2.5-flash' },
        });
        const completion = await client.chat.completions.create({ model: 'gemini-flash', logprobs: true, top_logprobs: 2, messages: [{ role: 'user', content: 'Say hi' }] });
        assert.deepEqual((vertex.requests.at(-1)?.body.generationConfig as Json), { responseLogprobs: true, logprobs: 2 });
        const content = completion.choices[0]?.logprobs?.content ?? [];
        assert.deepEqual(content.map((entry) => [entry.token, entry.logprob, entry.top_logprobs.map((alt) => alt.token)]), [
          ['Hi', -0.25, ['Hi', 'x']],
          ['!', -0.5, ['!', 'x']],
        ]);
        assert.deepEqual(content[0]?.bytes, [72, 105]);
      });

      it('streams them with the text they belong to', { timeout: 30_000 }, async () => {
        vertex.enqueue({
          kind: 'sse',
          events: [
            { candidates: [candidate('Hel', [['Hel', -0.1]])], modelVersion: 'gemini-2.5-flash' },
            { candidates: [candidate('lo', [['lo', -0.2]], 'STOP')], usageMetadata: { promptTokenCount: 3, candidatesTokenCount: 2 }, modelVersion: 'gemini-2.5-flash' },
          ],
        });
        const stream = await client.chat.completions.create({ model: 'gemini-flash', stream: true, logprobs: true, messages: [{ role: 'user', content: 'Say hello' }] });
        const seen: Array<[string, string, number]> = [];
        for await (const chunk of stream) {
          const choice = chunk.choices[0];
          for (const entry of choice?.logprobs?.content ?? []) seen.push([choice?.delta.content ?? '', entry.token, entry.logprob]);
        }
        assert.deepEqual(seen, [['Hel', 'Hel', -0.1], ['lo', 'lo', -0.2]]);
        assert.deepEqual((vertex.requests.at(-1)?.body.generationConfig as Json), { responseLogprobs: true });
      });
    });

    describe('service_tier on Bedrock Converse', { timeout: 60_000 }, () => {
      it('sends the tier and reports the one Bedrock served, buffered and streamed', { timeout: 30_000 }, async () => {
        const completion = await client.chat.completions.create({ model: 'nova', service_tier: 'priority', messages: [{ role: 'user', content: 'Hi' }] });
        assert.deepEqual((bedrock.requests.at(-1)?.body as Json).serviceTier, { type: 'priority' });
        assert.equal(completion.service_tier, 'priority');

        const stream = await client.chat.completions.create({ model: 'nova', service_tier: 'flex', stream: true, stream_options: { include_usage: true }, messages: [{ role: 'user', content: 'Hi' }] });
        let tier: string | null | undefined;
        for await (const chunk of stream) tier = chunk.service_tier ?? tier;
        assert.deepEqual((bedrock.requests.at(-1)?.body as Json).serviceTier, { type: 'flex' });
        assert.equal(tier, 'flex');

        await client.chat.completions.create({ model: 'nova', service_tier: 'auto', messages: [{ role: 'user', content: 'Hi' }] });
        assert.equal((bedrock.requests.at(-1)?.body as Json).serviceTier, undefined, 'auto leaves the choice to Bedrock');
      });
    });

    describe('reasoning from an OpenAI-compatible backend to an Anthropic client', { timeout: 60_000 }, () => {
      const USAGE = { prompt_tokens: 14, completion_tokens: 40, total_tokens: 54 };
      const chunk = (delta: Json | undefined, finish: string | null = null): string =>
        sseEvent({ id: 'c1', object: 'chat.completion.chunk', created: 1, model: 'deepseek-reasoner', choices: delta === undefined ? [] : [{ index: 0, delta, finish_reason: finish }], ...(delta === undefined ? { usage: USAGE } : {}) });
      const messages = async (stream: boolean) => {
        const response = await fetch(`${gateway.url}/anthropic/v1/messages`, {
          method: 'POST',
          headers: { 'content-type': 'application/json', 'anthropic-version': '2023-06-01' },
          body: JSON.stringify({ model: 'reasoner', max_tokens: 2048, stream, thinking: { type: 'enabled', budget_tokens: 1024 }, messages: [{ role: 'user', content: 'Is 97 prime?' }] }),
        });
        assert.equal(response.status, 200);
        return response;
      };

      it('returns thinking_blocks with their signatures, and bare reasoning_content, as thinking blocks', { timeout: 30_000 }, async () => {
        const replies: MockReply[] = [
          {
            kind: 'json',
            body: {
              id: 'r1', object: 'chat.completion', created: 1, model: 'deepseek-reasoner', usage: USAGE,
              choices: [{ index: 0, finish_reason: 'stop', message: { role: 'assistant', content: 'Yes.', reasoning_content: 'Try 2, 3, 5, 7.', thinking_blocks: [{ type: 'thinking', thinking: 'Try 2, 3, 5, 7.', signature: 'sig-e2e' }, { type: 'redacted_thinking', data: 'REDACTED==' }] } }],
            },
          },
          { kind: 'json', body: { id: 'r2', object: 'chat.completion', created: 1, model: 'deepseek-reasoner', usage: USAGE, choices: [{ index: 0, finish_reason: 'stop', message: { role: 'assistant', content: 'Yes.', reasoning_content: 'Plain reasoning.' } }] } },
        ];
        const base = compat.requests.length;
        compat.setScript((_request, index) => replies[index - base] ?? replies[1] as MockReply);
        const signed = (await (await messages(false)).json()) as { content: Json[] };
        assert.deepEqual(signed.content, [
          { type: 'thinking', thinking: 'Try 2, 3, 5, 7.', signature: 'sig-e2e' },
          { type: 'redacted_thinking', data: 'REDACTED==' },
          { type: 'text', text: 'Yes.' },
        ]);
        const bare = (await (await messages(false)).json()) as { content: Json[] };
        assert.deepEqual(bare.content, [{ type: 'thinking', thinking: 'Plain reasoning.', signature: '' }, { type: 'text', text: 'Yes.' }]);
      });

      it('streams reasoning as thinking_delta and the signature as signature_delta', { timeout: 30_000 }, async () => {
        compat.setScript({
          kind: 'sse',
          chunks: [
            chunk({ role: 'assistant', content: '' }),
            chunk({ reasoning_content: 'Try 2, ' }),
            chunk({ reasoning_content: '3, 5, 7.' }),
            chunk({ thinking_blocks: [{ type: 'thinking', thinking: 'Try 2, 3, 5, 7.', signature: 'sig-stream' }] }),
            chunk({ content: 'Yes.' }),
            chunk({}, 'stop'),
            chunk(undefined),
            'data: [DONE]\n\n',
          ],
        });
        const events = parseAnthropicSse(await (await messages(true)).text());
        const deltas = events.filter((event) => event.event === 'content_block_delta').map((event) => (event.data.delta as Json).type);
        assert.deepEqual(deltas, ['thinking_delta', 'thinking_delta', 'signature_delta', 'text_delta']);
        const signatureAt = events.findIndex((event) => (event.data.delta as Json | undefined)?.type === 'signature_delta');
        assert.deepEqual(events[signatureAt + 1]?.event, 'content_block_stop', 'the signature closes its thinking block');
        assert.deepEqual(assembleAnthropicStream(events).blocks, [
          { type: 'thinking', thinking: 'Try 2, 3, 5, 7.', signature: 'sig-stream' },
          { type: 'text', text: 'Yes.' },
        ]);
      });
    });

    describe('Bedrock stream events without contentBlockIndex', { timeout: 60_000 }, () => {
      it('translates them as block 0 and counts a warning, dropping nothing', { timeout: 30_000 }, async () => {
        const warnings = async () => sampleSum(await gateway.metrics.metrics(), 'llm_extproc_translation_warnings_total', ['kind="missing_content_block_index"']);
        const before = await warnings();
        bedrock.script({
          events: [
            { type: 'messageStart', body: { role: 'assistant' } },
            { type: 'contentBlockDelta', body: { delta: { text: 'Hello ' } } },
            { type: 'contentBlockDelta', body: { delta: { text: 'there' } } },
            { type: 'contentBlockStop', body: {} },
            { type: 'messageStop', body: { stopReason: 'end_turn' } },
            { type: 'metadata', body: { usage: { inputTokens: 4, outputTokens: 2, totalTokens: 6 }, metrics: { latencyMs: 5 } } },
          ],
        });
        const collected = await collectChatStream(await client.chat.completions.create({ model: 'nova', stream: true, messages: [{ role: 'user', content: 'Hi' }] }));
        assert.equal(collected.text, 'Hello there');
        assert.equal(collected.finish, 'stop');
        assert.equal(await warnings(), before + 1);
      });
    });

    describe('Gemini schema fields by model', { timeout: 60_000 }, () => {
      const tool: OpenAI.ChatCompletionFunctionTool = {
        type: 'function',
        function: {
          name: 'get_weather',
          parameters: {
            type: 'object',
            additionalProperties: false,
            properties: { city: { $ref: '#/$defs/city' }, unit: { type: ['string', 'null'], enum: ['c', 'f', null] } },
            required: ['city'],
            $defs: { city: { type: 'string', description: 'City name' } },
          },
        },
      };
      const format = {
        type: 'json_schema' as const,
        json_schema: { name: 'answer', schema: { type: 'object', additionalProperties: false, properties: { city: { type: 'string' }, temperature: { anyOf: [{ type: 'number' }, { type: 'null' }] } }, required: ['city', 'temperature'] } },
      };

      it('sends the OpenAPI subset to Gemini 2.0 and JSON Schema to Gemini 2.5', { timeout: 30_000 }, async () => {
        const legacy = await client.chat.completions.create({ model: 'gemini-2-0', tools: [tool], messages: [{ role: 'user', content: 'What is the weather in Paris?' }] });
        const call = legacy.choices[0]?.message.tool_calls?.[0];
        assert.equal(call?.type === 'function' ? call.function.name : undefined, 'get_weather');
        const declaration = ((vertex.requests.at(-1)?.body.tools as Json[])[0]?.functionDeclarations as Json[])[0] as Json;
        assert.deepEqual(declaration.parameters, {
          type: 'object',
          properties: { city: { type: 'string', description: 'City name' }, unit: { nullable: true, type: 'string', enum: ['c', 'f'] } },
          required: ['city'],
        });
        assert.equal(declaration.parametersJsonSchema, undefined);

        const structured = await client.chat.completions.create({ model: 'gemini-2-0', response_format: format, messages: [{ role: 'user', content: 'Answer in JSON' }] });
        assert.deepEqual(Object.keys(JSON.parse(structured.choices[0]?.message.content ?? '{}') as Json), ['city', 'temperature']);
        const config = vertex.requests.at(-1)?.body.generationConfig as Json;
        assert.deepEqual(config.responseSchema, {
          type: 'object',
          properties: { city: { type: 'string' }, temperature: { nullable: true, type: 'number' } },
          required: ['city', 'temperature'],
          propertyOrdering: ['city', 'temperature'],
        });

        await client.chat.completions.create({ model: 'gemini-flash', tools: [tool], response_format: format, messages: [{ role: 'user', content: 'Answer in JSON' }] });
        const current = vertex.requests.at(-1)?.body as Json;
        assert.ok(((current.tools as Json[])[0]?.functionDeclarations as Json[])[0]?.parametersJsonSchema);
        assert.ok((current.generationConfig as Json).responseJsonSchema);
      });
    });
  });
}
