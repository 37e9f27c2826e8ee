/**
 * End to end for AWS Bedrock: the official `openai` client -> Envoy stand-in -> llm-extproc -> mock Bedrock
 * (Converse / ConverseStream for schema AWSBedrock, InvokeModel for schema AWSAnthropic), in both upstreamFilter
 * modes. The mock verifies every SigV4 signature with the same credentials and rejects what Bedrock rejects.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import OpenAI from 'openai';
import { lastRecord, NS, PNG_DATA_URL, TOKEN_COSTS_YAML, WEATHER_TOOL } from '../helpers/e2e-common.js';
import { startGateway, type Gateway } from '../helpers/gateway-harness.js';
import { collectChatStream as collect, emptyCollection } from '../helpers/openai-stream.js';
import { startBedrockMock, type BedrockMock } from '../mocks/bedrock-mock.js';

const CREDS = { accessKeyId: 'AKIDE2E', secretAccessKey: 'e2e-secret-key', region: 'us-west-2' };
const CONVERSE_MODEL = 'anthropic.claude-3-5-sonnet-20240620-v1:0';
const INVOKE_MODEL = 'arn:aws:bedrock:us-west-2:123456789012:inference-profile/us.anthropic.claude-sonnet-4-5-20250929-v1:0';

function configYaml(upstreamFilter: boolean): string {
  const aws = `{ aws: { region: ${CREDS.region}, accessKeyId: { value: ${CREDS.accessKeyId} }, secretAccessKey: { value: ${CREDS.secretAccessKey} } } }`;
  return `
backends:
  - name: bedrock
    schema: AWSBedrock
    endpoint: https://bedrock-runtime.us-west-2.amazonaws.com
    auth: ${aws}
  - name: bedrock-claude
    schema: AWSAnthropic
    endpoint: https://bedrock-runtime.us-west-2.amazonaws.com
    auth: ${aws}
  - name: bedrock-wrong-key
    schema: AWSBedrock
    endpoint: https://bedrock-runtime.us-west-2.amazonaws.com
    auth: { aws: { region: ${CREDS.region}, accessKeyId: { value: ${CREDS.accessKeyId} }, secretAccessKey: { value: not-the-secret } } }
models:
  - name: claude-converse
    backends: [{ backend: bedrock, modelNameOverride: "${CONVERSE_MODEL}" }]
  - name: claude-invoke
    backends: [{ backend: bedrock-claude, modelNameOverride: "${INVOKE_MODEL}" }]
  - name: wrong-key
    backends: [{ backend: bedrock-wrong-key, modelNameOverride: "${CONVERSE_MODEL}" }]
${TOKEN_COSTS_YAML}
envoy:
  upstreamFilter: ${upstreamFilter}
`;
}

for (const upstreamFilter of [true, false]) {
  describe(`Bedrock end to end (upstreamFilter: ${upstreamFilter})`, () => {
    let gateway: Gateway;
    let bedrock: BedrockMock;
    let client: OpenAI;

    before(async () => {
      bedrock = await startBedrockMock({ credentials: CREDS });
      gateway = await startGateway({
        configYaml: configYaml(upstreamFilter),
        upstreams: { bedrock: bedrock.url, 'bedrock-claude': bedrock.url, 'bedrock-wrong-key': bedrock.url },
      });
      client = new OpenAI({ baseURL: gateway.baseURL, apiKey: 'client-key', maxRetries: 0 });
    });
    after(async () => {
      await gateway.close();
      await bedrock.close();
    });

    const lastUpstream = () => {
      const upstream = bedrock.requests.at(-1);
      assert.ok(upstream);
      return upstream;
    };

    it('plain chat through Converse: SigV4 verified, escaped model path, usage metadata', async () => {
      const completion = await client.chat.completions.create({
        model: 'claude-converse',
        messages: [
          { role: 'system', content: 'Be brief.' },
          { role: 'user', content: 'Hello' },
        ],
      });
      assert.equal(completion.choices[0]?.message.content, 'Echo: Hello');
      assert.equal(completion.choices[0]?.finish_reason, 'stop');
      const upstream = lastUpstream();
      assert.equal(upstream.path, '/model/anthropic.claude-3-5-sonnet-20240620-v1%3A0/converse');
      assert.deepEqual(upstream.signature, { ok: true });
      assert.equal(upstream.status, 200);
      assert.match(upstream.headers['authorization'] ?? '', /^AWS4-HMAC-SHA256 Credential=AKIDE2E\//);
      assert.deepEqual((upstream.body as Record<string, unknown>).system, [{ text: 'Be brief.' }]);
      const record = await lastRecord(gateway);
      assert.equal(record.status, 200);
      assert.equal(record.metadata[NS]?.['llm_total_token'], completion.usage?.total_tokens);
      assert.equal(completion.usage?.total_tokens, 30);
    });

    it('streams through ConverseStream, with the usage chunk only when asked', async () => {
      const asked = await collect(
        await client.chat.completions.create({ model: 'claude-converse', stream: true, stream_options: { include_usage: true }, messages: [{ role: 'user', content: 'Stream please' }] }),
      );
      assert.equal(asked.text, 'Echo: Stream please');
      assert.equal(asked.finish, 'stop');
      assert.equal(asked.usage?.total_tokens, 30);
      assert.equal(lastUpstream().path, '/model/anthropic.claude-3-5-sonnet-20240620-v1%3A0/converse-stream');
      assert.equal((await lastRecord(gateway)).metadata[NS]?.['llm_total_token'], 30);

      const hidden = await collect(await client.chat.completions.create({ model: 'claude-converse', stream: true, messages: [{ role: 'user', content: 'again' }] }));
      assert.equal(hidden.text, 'Echo: again');
      assert.equal(hidden.usage, undefined);
      assert.equal((await lastRecord(gateway)).metadata[NS]?.['llm_total_token'], 30, 'usage is still recorded');
    });

    it('runs a two-turn tool loop (buffered first turn, streamed second)', async () => {
      const messages: OpenAI.ChatCompletionMessageParam[] = [{ role: 'user', content: 'Use get_weather for Paris' }];
      const first = await client.chat.completions.create({ model: 'claude-converse', messages, tools: [WEATHER_TOOL], parallel_tool_calls: false });
      const choice = first.choices[0];
      assert.equal(choice?.finish_reason, 'tool_calls');
      const call = choice?.message.tool_calls?.[0];
      assert.ok(call && call.type === 'function');
      assert.deepEqual(JSON.parse(call.function.arguments), { city: 'Paris', unit: 'c' });
      messages.push(choice.message, { role: 'tool', tool_call_id: call.id, content: '18C and sunny' });
      const second = await collect(await client.chat.completions.create({ model: 'claude-converse', messages, tools: [WEATHER_TOOL], stream: true }));
      assert.equal(second.text, 'Tool results: [[{"text":"18C and sunny"}]]');
      assert.equal(second.finish, 'stop');
      const sent = lastUpstream().body as { messages: { role: string; content: Record<string, unknown>[] }[] };
      assert.deepEqual(sent.messages.map((message) => message.role), ['user', 'assistant', 'user']);
      assert.deepEqual(sent.messages[2]?.content, [{ toolResult: { toolUseId: call.id, content: [{ text: '18C and sunny' }] } }]);
    });

    it('streams tool calls with a stable index, id once, and arguments that parse', async () => {
      const { finish, toolCalls: calls } = await collect(
        await client.chat.completions.create({ model: 'claude-converse', stream: true, tools: [WEATHER_TOOL], tool_choice: 'required', messages: [{ role: 'user', content: 'weather?' }] }),
      );
      assert.equal(finish, 'tool_calls');
      assert.deepEqual([...calls.keys()], [0]);
      assert.equal(calls.get(0)?.ids, 1);
      assert.equal(calls.get(0)?.name, 'get_weather');
      assert.deepEqual(JSON.parse(calls.get(0)?.args ?? ''), { city: 'Paris', unit: 'c' });
      assert.deepEqual((lastUpstream().body as { toolConfig: unknown }).toolConfig, {
        tools: [{ toolSpec: { name: 'get_weather', description: 'Current weather for a city', inputSchema: { json: WEATHER_TOOL.function.parameters } } }],
        toolChoice: { any: {} },
      });
    });

    it('sends an image data URL as bytes, and answers an image URL with a local 422', async () => {
      const completion = await client.chat.completions.create({
        model: 'claude-converse',
        messages: [{ role: 'user', content: [{ type: 'text', text: 'What is this' }, { type: 'image_url', image_url: { url: PNG_DATA_URL } }] }],
      });
      assert.equal(completion.choices[0]?.message.content, 'I see 1 image(s).');
      const sent = lastUpstream().body as { messages: { content: Record<string, unknown>[] }[] };
      assert.deepEqual(sent.messages[0]?.content[1], { image: { format: 'png', source: { bytes: PNG_DATA_URL.slice('data:image/png;base64,'.length) } } });

      const before = bedrock.requests.length;
      await assert.rejects(
        client.chat.completions.create({ model: 'claude-converse', messages: [{ role: 'user', content: [{ type: 'image_url', image_url: { url: 'https://example.com/cat.png' } }] }] }),
        (error: unknown) => error instanceof OpenAI.APIError && error.status === 422 && /does not accept image URLs/.test(error.message),
      );
      assert.equal(bedrock.requests.length, before, 'the 422 never reaches Bedrock');
    });

    it('returns JSON schema output through Converse structured output', async () => {
      const schema = { type: 'object', properties: { name: { type: 'string' }, age: { type: 'integer' } }, required: ['name', 'age'], additionalProperties: false };
      const completion = await client.chat.completions.create({
        model: 'claude-converse',
        messages: [{ role: 'user', content: 'Ada, 36' }],
        response_format: { type: 'json_schema', json_schema: { name: 'person', schema, strict: true } },
      });
      assert.deepEqual(JSON.parse(completion.choices[0]?.message.content ?? ''), { name: 'Paris', age: 1 });
      assert.deepEqual((lastUpstream().body as { outputConfig: unknown }).outputConfig, {
        textFormat: { type: 'json_schema', structure: { jsonSchema: { schema: JSON.stringify(schema), name: 'person' } } },
      });
    });

    it('serves Claude through InvokeModel (AWSAnthropic), buffered and streamed', async () => {
      const completion = await client.chat.completions.create({ model: 'claude-invoke', messages: [{ role: 'user', content: 'Hi Claude' }] });
      assert.equal(completion.choices[0]?.message.content, 'Echo: Hi Claude');
      let upstream = lastUpstream();
      assert.equal(upstream.path, `/model/${encodeURIComponent(INVOKE_MODEL)}/invoke`);
      assert.deepEqual(upstream.signature, { ok: true });
      assert.equal((upstream.body as Record<string, unknown>).anthropic_version, 'bedrock-2023-05-31');

      const streamed = await collect(
        await client.chat.completions.create({ model: 'claude-invoke', stream: true, stream_options: { include_usage: true }, messages: [{ role: 'user', content: 'Stream, Claude' }] }),
      );
      assert.equal(streamed.text, 'Echo: Stream, Claude');
      assert.equal(streamed.finish, 'stop');
      assert.equal(streamed.usage?.total_tokens, 30);
      upstream = lastUpstream();
      assert.equal(upstream.path, `/model/${encodeURIComponent(INVOKE_MODEL)}/invoke-with-response-stream`);
      assert.equal((await lastRecord(gateway)).metadata[NS]?.['llm_total_token'], 30);
    });

    it('keeps the status of a Bedrock error and of a failed signature', async () => {
      bedrock.script({ error: { status: 429, type: 'ThrottlingException', message: 'Too many requests, please wait before trying again.' } });
      await assert.rejects(client.chat.completions.create({ model: 'claude-converse', messages: [{ role: 'user', content: 'hi' }] }), (error: unknown) => {
        assert.ok(error instanceof OpenAI.APIError);
        assert.equal(error.status, 429);
        assert.match(error.message, /Too many requests/);
        return true;
      });
      await assert.rejects(
        client.chat.completions.create({ model: 'wrong-key', messages: [{ role: 'user', content: 'hi' }] }),
        (error: unknown) => error instanceof OpenAI.APIError && error.status === 403 && /signature/.test(error.message),
      );
      assert.equal(lastUpstream().signature.ok, false);
    });

    it('ends a stream with an error event when Bedrock sends an exception frame', async () => {
      bedrock.script({ exception: { type: 'throttlingException', message: 'Too many tokens mid-stream', afterFrames: 3 } });
      const partial = emptyCollection();
      await assert.rejects(
        async () => collect(await client.chat.completions.create({ model: 'claude-converse', stream: true, messages: [{ role: 'user', content: 'Stream please' }] }), partial),
        (error: unknown) => error instanceof OpenAI.APIError && /Too many tokens mid-stream/.test(error.message),
      );
      assert.equal(partial.text, 'Echo: Stre', 'the deltas before the exception frame were delivered');
    });
  });
}
