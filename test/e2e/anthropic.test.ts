/**
 * End to end for Claude backends: the official `openai` client -> Envoy stand-in -> llm-extproc -> mock Claude
 * (first-party Messages API and Claude on Vertex), in both upstreamFilter modes. Plain, streamed, a two-turn tool
 * loop (buffered and streamed), an image, JSON schema output, upstream errors and local 422s.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import OpenAI from 'openai';
import { lastRecord, NS, PNG_DATA_URL, TOKEN_COSTS_YAML, WEATHER_TOOL } from '../helpers/e2e-common.js';
import { startGateway, type Gateway } from '../helpers/gateway-harness.js';
import { collectChatStream } from '../helpers/openai-stream.js';
import { startAnthropicMock, type AnthropicMock } from '../mocks/anthropic-mock.js';

function configYaml(upstreamFilter: boolean): string {
  return `
backends:
  - name: claude
    schema: Anthropic
    endpoint: https://api.anthropic.com
    auth: { anthropicApiKey: { value: test-anthropic-key } }
  - name: vertex-claude
    schema: GCPAnthropic
    endpoint: https://us-east5-aiplatform.googleapis.com
    auth: { gcp: { projectId: my-project, region: us-east5, accessToken: { value: test-gcp-token } } }
models:
  - name: claude-sonnet
    backends: [{ backend: claude, modelNameOverride: claude-sonnet-4-5-20250929 }]
  - name: claude-vertex
    backends: [{ backend: vertex-claude, modelNameOverride: claude-sonnet-4-5@20250929 }]
${TOKEN_COSTS_YAML}
envoy:
  upstreamFilter: ${upstreamFilter}
`;
}

for (const upstreamFilter of [true, false]) {
  describe(`Claude backends end to end (upstreamFilter: ${upstreamFilter})`, () => {
    let gateway: Gateway;
    let anthropic: AnthropicMock;
    let vertex: AnthropicMock;
    let client: OpenAI;

    before(async () => {
      [anthropic, vertex] = await Promise.all([startAnthropicMock(), startAnthropicMock({ flavor: 'vertex' })]);
      gateway = await startGateway({ configYaml: configYaml(upstreamFilter), upstreams: { claude: anthropic.url, 'vertex-claude': vertex.url } });
      client = new OpenAI({ baseURL: gateway.baseURL, apiKey: 'client-key', maxRetries: 0 });
    });
    after(async () => {
      await gateway.close();
      await Promise.all([anthropic.close(), vertex.close()]);
    });

    it('plain chat on the Messages API: credentials, anthropic-version, translation and usage metadata', async () => {
      const completion = await client.chat.completions.create({
        model: 'claude-sonnet',
        messages: [
          { role: 'system', content: 'Be brief.' },
          { role: 'user', content: 'Hello' },
        ],
      });
      assert.equal(completion.choices[0]?.message.content, 'Hello from mock Claude. You said: Hello.');
      assert.equal(completion.choices[0]?.finish_reason, 'stop');
      const upstream = anthropic.requests.at(-1);
      assert.ok(upstream);
      assert.equal(upstream.path, '/v1/messages');
      assert.equal(upstream.headers['x-api-key'], 'test-anthropic-key');
      assert.equal(upstream.headers['anthropic-version'], '2023-06-01');
      assert.equal(upstream.headers['authorization'], undefined, 'the client key never reaches Claude');
      assert.deepEqual((upstream.body as Record<string, unknown>).system, [{ type: 'text', text: 'Be brief.' }]);
      const record = await lastRecord(gateway);
      assert.equal(record.status, 200);
      assert.equal(record.metadata[NS]?.['llm_total_token'], completion.usage?.total_tokens);
      assert.ok((completion.usage?.prompt_tokens ?? 0) > 0);
    });

    it('plain chat on Vertex: rawPredict path, bearer token, anthropic_version, no model in the body', async () => {
      const completion = await client.chat.completions.create({ model: 'claude-vertex', messages: [{ role: 'user', content: 'Hi there' }] });
      assert.equal(completion.choices[0]?.message.content, 'Hello from mock Claude. You said: Hi there.');
      const upstream = vertex.requests.at(-1);
      assert.ok(upstream);
      assert.equal(upstream.path, '/v1/projects/my-project/locations/us-east5/publishers/anthropic/models/claude-sonnet-4-5@20250929:rawPredict');
      assert.equal(upstream.headers['authorization'], 'Bearer test-gcp-token');
      assert.equal((upstream.body as Record<string, unknown>).anthropic_version, 'vertex-2023-10-16');
      // Vertex answers 400 to a chunked body: the translated body goes out with its own content-length.
      assert.equal(upstream.headers['transfer-encoding'], undefined);
      assert.equal(upstream.headers['content-length'], String(Buffer.byteLength(JSON.stringify(upstream.body))));
    });

    for (const model of ['claude-sonnet', 'claude-vertex']) {
      it(`streams from ${model}, with the usage chunk only when asked`, async () => {
        const { text, finish, usage } = await collectChatStream(
          await client.chat.completions.create({ model, stream: true, stream_options: { include_usage: true }, messages: [{ role: 'user', content: 'Stream please' }] }),
        );
        assert.equal(text, 'Hello from mock Claude. You said: Stream please.');
        assert.equal(finish, 'stop');
        assert.ok(usage && usage.completion_tokens > 0);
        const record = await lastRecord(gateway);
        assert.equal(record.metadata[NS]?.['llm_total_token'], usage.total_tokens);

        const hidden = await collectChatStream(await client.chat.completions.create({ model, stream: true, messages: [{ role: 'user', content: 'again' }] }));
        assert.equal(hidden.usageChunks, 0);
        assert.ok(Number((await lastRecord(gateway)).metadata[NS]?.['llm_total_token']) > 0, 'usage is still recorded');
      });
    }

    it('runs a two-turn tool loop (buffered first turn, streamed second)', async () => {
      const messages: OpenAI.ChatCompletionMessageParam[] = [{ role: 'user', content: 'Use get_weather for Paris' }];
      const first = await client.chat.completions.create({ model: 'claude-sonnet', messages, tools: [WEATHER_TOOL], parallel_tool_calls: false });
      const choice = first.choices[0];
      assert.equal(choice?.finish_reason, 'tool_calls');
      const call = choice?.message.tool_calls?.[0];
      assert.ok(call && call.type === 'function');
      assert.deepEqual(JSON.parse(call.function.arguments), { city: 'Paris', unit: 'c' });
      assert.deepEqual((anthropic.requests.at(-1)?.body as Record<string, unknown>).tool_choice, { type: 'auto', disable_parallel_tool_use: true });
      messages.push(choice.message, { role: 'tool', tool_call_id: call.id, content: '18C and sunny' });
      const second = await collectChatStream(await client.chat.completions.create({ model: 'claude-sonnet', messages, tools: [WEATHER_TOOL], stream: true }));
      assert.equal(second.text, 'Tool results: 18C and sunny');
    });

    it('streams tool calls with a stable index, id once, and arguments that parse', async () => {
      const { finish, toolCalls: calls } = await collectChatStream(
        await client.chat.completions.create({ model: 'claude-vertex', stream: true, tools: [WEATHER_TOOL], tool_choice: 'required', messages: [{ role: 'user', content: 'weather?' }] }),
      );
      assert.equal(finish, 'tool_calls');
      assert.deepEqual([...calls.keys()], [0]);
      const entry = calls.get(0);
      assert.equal(entry?.ids, 1);
      assert.equal(entry?.name, 'get_weather');
      assert.deepEqual(JSON.parse(entry?.args ?? ''), { city: 'Paris', unit: 'c' });
    });

    for (const model of ['claude-sonnet', 'claude-vertex']) {
      it(`sends an image data URL to ${model} as a base64 source`, async () => {
        const completion = await client.chat.completions.create({
          model,
          messages: [{ role: 'user', content: [{ type: 'text', text: 'What is this' }, { type: 'image_url', image_url: { url: PNG_DATA_URL } }] }],
        });
        assert.match(completion.choices[0]?.message.content ?? '', /I see 1 image\(s\): image\/png/);
      });
    }

    it('returns JSON schema output through native structured output', async () => {
      const schema = { type: 'object', properties: { name: { type: 'string' }, age: { type: 'integer' } }, required: ['name', 'age'], additionalProperties: false };
      const completion = await client.chat.completions.create({
        model: 'claude-sonnet',
        messages: [{ role: 'user', content: 'Ada, 36' }],
        response_format: { type: 'json_schema', json_schema: { name: 'person', schema, strict: true } },
      });
      assert.deepEqual(JSON.parse(completion.choices[0]?.message.content ?? ''), { name: 'sample name', age: 42 });
      assert.deepEqual((anthropic.requests.at(-1)?.body as Record<string, unknown>).output_config, { format: { type: 'json_schema', schema } });
    });

    it('keeps the upstream status and message of a Claude error', async () => {
      anthropic.enqueue({ status: 529, body: '{"type":"error","error":{"type":"overloaded_error","message":"Overloaded"}}' });
      await assert.rejects(client.chat.completions.create({ model: 'claude-sonnet', messages: [{ role: 'user', content: 'hi' }] }), (error: unknown) => {
        assert.ok(error instanceof OpenAI.APIError);
        assert.equal(error.status, 529);
        assert.match(error.message, /Overloaded/);
        return true;
      });
      assert.equal(typeof (await lastRecord(gateway)).metadata[NS]?.['llm_total_token'], 'number');
    });

    it('answers untranslatable input with a local 422 that never reaches Claude', async () => {
      const before = anthropic.requests.length;
      await assert.rejects(
        client.chat.completions.create({ model: 'claude-sonnet', temperature: 1.5, messages: [{ role: 'user', content: 'hi' }] }),
        (error: unknown) => error instanceof OpenAI.APIError && error.status === 422 && /temperature/.test(error.message),
      );
      await assert.rejects(
        client.chat.completions.create({ model: 'claude-vertex', messages: [{ role: 'user', content: [{ type: 'image_url', image_url: { url: 'https://example.com/cat.png' } }] }] }),
        (error: unknown) => error instanceof OpenAI.APIError && error.status === 422,
      );
      assert.equal(anthropic.requests.length, before);
    });
  });
}
