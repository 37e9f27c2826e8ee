/**
 * End to end for Gemini backends: the official `openai` client -> Envoy stand-in -> llm-extproc -> mock Gemini on
 * Vertex AI (Bearer token) and on the Gemini API (x-goog-api-key), in both upstreamFilter modes. Plain, streamed,
 * two-turn tool loops with thought signatures (Gemini 2.5 and 3), streamed tool calls, images, JSON schema with
 * $defs, upstream errors, a blocked prompt on HTTP 200 and local 422s.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import OpenAI from 'openai';
import { lastRecord, NS, PNG_DATA_URL, TOKEN_COSTS_YAML } from '../helpers/e2e-common.js';
import { startGateway, type Gateway } from '../helpers/gateway-harness.js';
import { collectChatStream, emptyCollection } from '../helpers/openai-stream.js';
import { googleError, startGeminiMock, type GeminiMock } from '../mocks/gemini-mock.js';
import { SIGNATURE } from '../mocks/gemini-mock-respond.js';

const WEATHER: OpenAI.ChatCompletionTool = {
  type: 'function',
  function: {
    name: 'get_weather',
    description: 'Current weather for a city',
    parameters: { type: 'object', properties: { city: { type: 'string' } }, required: ['city'] },
  },
};

function configYaml(upstreamFilter: boolean): string {
  return `
backends:
  - name: vertex
    schema: GCPVertexAI
    endpoint: https://us-central1-aiplatform.googleapis.com
    auth: { gcp: { projectId: my-project, region: us-central1, accessToken: { value: test-gcp-token } } }
  - name: gemini-api
    schema: GoogleAI
    endpoint: https://generativelanguage.googleapis.com
    auth: { googleApiKey: { value: test-google-key } }
models:
  - name: gemini-flash
    backends: [{ backend: vertex, modelNameOverride: gemini-2.5-flash }]
  - name: gemini-3
    backends: [{ backend: vertex, modelNameOverride: gemini-3-pro-preview }]
  - name: gemini-api
    backends: [{ backend: gemini-api, modelNameOverride: gemini-3-flash-preview }]
${TOKEN_COSTS_YAML}
envoy:
  upstreamFilter: ${upstreamFilter}
`;
}

type Json = Record<string, unknown>;
const contentsOf = (mock: GeminiMock) => (mock.requests.at(-1)?.body.contents ?? []) as { role: string; parts: Json[] }[];

for (const upstreamFilter of [true, false]) {
  describe(`Gemini backends end to end (upstreamFilter: ${upstreamFilter})`, () => {
    let gateway: Gateway;
    let vertex: GeminiMock;
    let googleAi: GeminiMock;
    let client: OpenAI;

    before(async () => {
      [vertex, googleAi] = await Promise.all([
        startGeminiMock({ accessToken: 'test-gcp-token', projectId: 'my-project', region: 'us-central1' }),
        startGeminiMock({ apiKey: 'test-google-key' }),
      ]);
      gateway = await startGateway({ configYaml: configYaml(upstreamFilter), upstreams: { vertex: vertex.url, 'gemini-api': googleAi.url } });
      client = new OpenAI({ baseURL: gateway.baseURL, apiKey: 'client-key', maxRetries: 0 });
    });
    after(async () => {
      await gateway.close();
      await Promise.all([vertex.close(), googleAi.close()]);
    });

    it('plain chat on Vertex: path, Bearer token, systemInstruction, usage metadata', async () => {
      const completion = await client.chat.completions.create({
        model: 'gemini-flash',
        messages: [
          { role: 'system', content: 'Be brief.' },
          { role: 'user', content: 'Hello' },
        ],
      });
      assert.equal(completion.choices[0]?.message.content, 'echo: Hello');
      assert.equal(completion.choices[0]?.finish_reason, 'stop');
      const upstream = vertex.requests.at(-1);
      assert.ok(upstream);
      assert.equal(upstream.path, '/v1/projects/my-project/locations/us-central1/publishers/google/models/gemini-2.5-flash:generateContent');
      assert.equal(upstream.headers.authorization, 'Bearer test-gcp-token');
      assert.deepEqual(upstream.body.systemInstruction, { parts: [{ text: 'Be brief.' }] });
      const record = await lastRecord(gateway);
      assert.equal(record.status, 200);
      assert.equal(record.metadata[NS]?.['llm_total_token'], completion.usage?.total_tokens);
      assert.ok((completion.usage?.prompt_tokens ?? 0) > 0);
    });

    it('plain chat on the Gemini API: x-goog-api-key, and the client key never reaches Google', async () => {
      const completion = await client.chat.completions.create({ model: 'gemini-api', messages: [{ role: 'user', content: 'Hi there' }] });
      assert.equal(completion.choices[0]?.message.content, 'echo: Hi there');
      const upstream = googleAi.requests.at(-1);
      assert.ok(upstream);
      assert.equal(upstream.path, '/v1beta/models/gemini-3-flash-preview:generateContent');
      assert.equal(upstream.headers['x-goog-api-key'], 'test-google-key');
      assert.equal(upstream.headers.authorization, undefined);
    });

    for (const model of ['gemini-flash', 'gemini-api']) {
      it(`streams from ${model}, with the usage chunk only when asked`, async () => {
        const { text, finish, usage } = await collectChatStream(
          await client.chat.completions.create({ model, stream: true, stream_options: { include_usage: true }, messages: [{ role: 'user', content: 'stream these words please' }] }),
        );
        assert.equal(text, 'echo: stream these words please');
        assert.equal(finish, 'stop');
        assert.ok(usage && usage.completion_tokens > 0);
        assert.match((model === 'gemini-api' ? googleAi : vertex).requests.at(-1)?.path ?? '', /:streamGenerateContent\?alt=sse$/);
        assert.equal((await lastRecord(gateway)).metadata[NS]?.['llm_total_token'], usage.total_tokens);

        const hidden = await collectChatStream(await client.chat.completions.create({ model, stream: true, messages: [{ role: 'user', content: 'again' }] }));
        assert.equal(hidden.usageChunks, 0);
        assert.ok(Number((await lastRecord(gateway)).metadata[NS]?.['llm_total_token']) > 0, 'usage is still recorded');
      });
    }

    it('runs a two-turn tool loop on Gemini 3, sending the thought signature and call id back', async () => {
      const messages: OpenAI.ChatCompletionMessageParam[] = [{ role: 'user', content: 'What is the weather in Paris?' }];
      const first = await client.chat.completions.create({ model: 'gemini-3', messages, tools: [WEATHER] });
      const choice = first.choices[0];
      assert.equal(choice?.finish_reason, 'tool_calls');
      const call = choice?.message.tool_calls?.[0];
      assert.ok(call && call.type === 'function');
      assert.deepEqual(JSON.parse(call.function.arguments), { city: 'Paris' });
      messages.push(choice.message, { role: 'tool', tool_call_id: call.id, content: '18C and sunny' });
      const second = await collectChatStream(await client.chat.completions.create({ model: 'gemini-3', messages, tools: [WEATHER], stream: true }));
      assert.equal(second.text, 'Tool results: {"output":"18C and sunny"}');
      const [, modelTurn, toolTurn] = contentsOf(vertex);
      assert.deepEqual(modelTurn?.parts, [{ functionCall: { name: 'get_weather', args: { city: 'Paris' }, id: 'fc-1' }, thoughtSignature: SIGNATURE }]);
      assert.deepEqual(toolTurn?.parts, [{ functionResponse: { name: 'get_weather', id: 'fc-1', response: { output: '18C and sunny' } } }]);
    });

    it('keeps the signature when a framework rebuilds the tool call from id, name and arguments only', async () => {
      const first = await client.chat.completions.create({ model: 'gemini-api', messages: [{ role: 'user', content: 'weather please' }], tools: [WEATHER] });
      const call = first.choices[0]?.message.tool_calls?.[0];
      assert.ok(call && call.type === 'function');
      const rebuilt: OpenAI.ChatCompletionMessageToolCall = { id: call.id, type: 'function', function: { name: call.function.name, arguments: call.function.arguments } };
      const second = await client.chat.completions.create({
        model: 'gemini-api',
        tools: [WEATHER],
        messages: [{ role: 'user', content: 'weather please' }, { role: 'assistant', content: null, tool_calls: [rebuilt] }, { role: 'tool', tool_call_id: call.id, content: 'rain' }],
      });
      assert.equal(second.choices[0]?.message.content, 'Tool results: {"output":"rain"}');
      assert.equal(contentsOf(googleAi)[1]?.parts[0]?.thoughtSignature, SIGNATURE);
    });

    it('runs a tool loop on Gemini 2.5 without function call ids', async () => {
      const messages: OpenAI.ChatCompletionMessageParam[] = [{ role: 'user', content: 'weather in Paris?' }];
      const first = await client.chat.completions.create({ model: 'gemini-flash', messages, tools: [WEATHER], tool_choice: 'required' });
      const message = first.choices[0]?.message;
      const call = message?.tool_calls?.[0];
      assert.ok(message && call);
      assert.deepEqual(vertex.requests.at(-1)?.body.toolConfig, { functionCallingConfig: { mode: 'ANY' } });
      messages.push(message, { role: 'tool', tool_call_id: call.id, content: '{"temp":18}' });
      const second = await client.chat.completions.create({ model: 'gemini-flash', messages, tools: [WEATHER] });
      assert.equal(second.choices[0]?.message.content, 'Tool results: {"temp":18}');
      assert.deepEqual(contentsOf(vertex)[1]?.parts, [{ functionCall: { name: 'get_weather', args: { city: 'Paris' } } }]);
    });

    it('streams a tool call with a stable index, the id once and arguments that parse', async () => {
      const { finish, toolCalls: calls } = await collectChatStream(
        await client.chat.completions.create({ model: 'gemini-3', stream: true, tools: [WEATHER], messages: [{ role: 'user', content: 'weather?' }] }),
      );
      assert.equal(finish, 'tool_calls');
      assert.deepEqual([...calls.entries()].map(([index, entry]) => [index, entry.ids, entry.name, JSON.parse(entry.args)]), [[0, 1, 'get_weather', { city: 'Paris' }]]);
    });

    it('sends a data URL image inline and a gs:// image by reference', async () => {
      const completion = await client.chat.completions.create({
        model: 'gemini-flash',
        messages: [{ role: 'user', content: [
          { type: 'text', text: 'What are these' },
          { type: 'image_url', image_url: { url: PNG_DATA_URL } },
          { type: 'image_url', image_url: { url: 'gs://bucket/photo.jpg' } },
        ] }],
      });
      assert.equal(completion.choices[0]?.message.content, 'I see 2 image(s): image/png, image/jpeg');
      assert.deepEqual(contentsOf(vertex)[0]?.parts[2], { fileData: { mimeType: 'image/jpeg', fileUri: 'gs://bucket/photo.jpg' } });
    });

    it('returns JSON schema output with $defs inlined into responseJsonSchema', async () => {
      const completion = await client.chat.completions.create({
        model: 'gemini-api',
        messages: [{ role: 'user', content: 'Ada, 36' }],
        response_format: { type: 'json_schema', json_schema: { name: 'person', strict: true, schema: {
          type: 'object', properties: { person: { $ref: '#/$defs/person' } }, required: ['person'],
          $defs: { person: { type: 'object', properties: { name: { type: 'string' }, age: { type: 'integer' } }, required: ['name', 'age'] } },
        } } },
      });
      assert.deepEqual(JSON.parse(completion.choices[0]?.message.content ?? ''), { person: { name: 'sample', age: 42 } });
      const config = googleAi.requests.at(-1)?.body.generationConfig as Json;
      assert.equal(config.responseMimeType, 'application/json');
      assert.equal(JSON.stringify(config.responseJsonSchema).includes('$ref'), false);
    });

    it('keeps the upstream status and message of a Google error', async () => {
      vertex.enqueue(googleError(400, 'Request contains an invalid argument.'));
      await assert.rejects(client.chat.completions.create({ model: 'gemini-flash', messages: [{ role: 'user', content: 'hi' }] }), (error: unknown) => {
        assert.ok(error instanceof OpenAI.APIError);
        assert.equal(error.status, 400);
        assert.match(error.message, /invalid argument/);
        assert.equal(error.type, 'INVALID_ARGUMENT');
        return true;
      });
    });

    it('surfaces an error object inside a 200 stream as a stream error, with reasoning streamed before it', async () => {
      vertex.enqueue({
        kind: 'sse',
        events: [
          { candidates: [{ content: { role: 'model', parts: [{ text: 'pondering', thought: true }] } }], responseId: 'r1' },
          { candidates: [{ content: { role: 'model', parts: [{ text: 'Once upon' }] } }], responseId: 'r1' },
          { error: { code: 503, message: 'The model is overloaded.', status: 'UNAVAILABLE' } },
        ],
      });
      const partial = emptyCollection();
      await assert.rejects(
        async () => collectChatStream(await client.chat.completions.create({ model: 'gemini-flash', stream: true, messages: [{ role: 'user', content: 'story' }] }), partial),
        (error: unknown) => error instanceof OpenAI.APIError && /overloaded/.test(error.message),
      );
      assert.equal(partial.text, 'Once upon');
      assert.equal(partial.reasoning, 'pondering');
    });

    it('turns a 200 with promptFeedback.blockReason into a 400 error, never an empty success', async () => {
      googleAi.enqueue({ kind: 'json', body: { promptFeedback: { blockReason: 'PROHIBITED_CONTENT' }, usageMetadata: { promptTokenCount: 7, totalTokenCount: 7 } } });
      await assert.rejects(client.chat.completions.create({ model: 'gemini-api', messages: [{ role: 'user', content: 'bad' }] }), (error: unknown) => {
        assert.ok(error instanceof OpenAI.APIError);
        assert.equal(error.status, 400);
        assert.match(error.message, /blocked the prompt \(PROHIBITED_CONTENT\)/);
        return true;
      });
    });

    it('answers untranslatable input with a local 422 that never reaches Google', async () => {
      const before = vertex.requests.length;
      await assert.rejects(
        client.chat.completions.create({ model: 'gemini-flash', messages: [{ role: 'user', content: [{ type: 'image_url', image_url: { url: 'https://example.com/render?id=1' } }] }] }),
        (error: unknown) => error instanceof OpenAI.APIError && error.status === 422 && /MIME type/.test(error.message),
      );
      assert.equal(vertex.requests.length, before);
    });
  });
}
