/**
 * End to end for the Anthropic Messages API as a client API (what Claude Code and the Anthropic SDKs send):
 * plain `fetch` -> Envoy stand-in -> llm-extproc -> mock upstreams, in both upstreamFilter modes.
 * - OpenAI backend (reverse translation): plain, streamed, a tool-use round trip, an upstream 429.
 * - Claude backends (native): first-party Messages (bytes through), Bedrock InvokeModel stream re-framed as SSE.
 * - count_tokens: Claude's own counting API on Claude backends, the local estimate (marked by a header) elsewhere;
 * - local endpoints: the Anthropic model list, unknown model 404.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { lastRecord, NS, TOKEN_COSTS_YAML } from '../helpers/e2e-common.js';
import { startGateway, type Gateway } from '../helpers/gateway-harness.js';
import { startAnthropicMock, type AnthropicMock } from '../mocks/anthropic-mock.js';
import { startBedrockMock, type BedrockMock } from '../mocks/bedrock-mock.js';
import { assembleAnthropicStream as assemble, parseAnthropicSse as parseSse } from '../helpers/anthropic-sse.js';
import { startHttpMock, type HttpMock } from '../mocks/http-mock.js';
import { openAIChatScript as openAIUpstream } from '../mocks/openai-chat-script.js';

const CREDS = { accessKeyId: 'AKIDINGRESS', secretAccessKey: 'ingress-secret', region: 'us-west-2' };
const BEDROCK_MODEL = 'us.anthropic.claude-sonnet-4-5-20250929-v1:0';
const CLIENT_HEADERS = {
  'content-type': 'application/json',
  'x-api-key': 'client-key',
  'anthropic-version': '2023-06-01',
  'anthropic-beta': 'claude-code-20250219,interleaved-thinking-2025-05-14',
};
const WEATHER_TOOL = { name: 'get_weather', description: 'Weather for a city', input_schema: { type: 'object', properties: { city: { type: 'string' } }, required: ['city'] } };

type Json = Record<string, unknown>;

function configYaml(upstreamFilter: boolean): string {
  return `
backends:
  - name: openai
    schema: OpenAI
    endpoint: https://api.openai.com
    auth: { apiKey: { value: test-openai-key } }
  - name: claude
    schema: Anthropic
    endpoint: https://api.anthropic.com
    auth: { anthropicApiKey: { value: test-anthropic-key } }
  - name: bedrock-claude
    schema: AWSAnthropic
    endpoint: https://bedrock-runtime.us-west-2.amazonaws.com
    auth: { aws: { region: ${CREDS.region}, accessKeyId: { value: ${CREDS.accessKeyId} }, secretAccessKey: { value: ${CREDS.secretAccessKey} } } }
models:
  - name: claude-sonnet-4-5
    backends: [{ backend: openai, modelNameOverride: gpt-4.1 }]
  - name: claude-native
    backends: [{ backend: claude, modelNameOverride: claude-sonnet-4-5-20250929 }]
  - name: claude-bedrock
    backends: [{ backend: bedrock-claude, modelNameOverride: ${BEDROCK_MODEL} }]
${TOKEN_COSTS_YAML}
envoy:
  upstreamFilter: ${upstreamFilter}
`;
}

for (const upstreamFilter of [true, false]) {
  describe(`Anthropic Messages clients end to end (upstreamFilter: ${upstreamFilter})`, () => {
    let gateway: Gateway;
    let openai: HttpMock;
    let claude: AnthropicMock;
    let bedrock: BedrockMock;

    before(async () => {
      [openai, claude, bedrock] = await Promise.all([startHttpMock(openAIUpstream), startAnthropicMock(), startBedrockMock({ credentials: CREDS })]);
      gateway = await startGateway({
        configYaml: configYaml(upstreamFilter),
        upstreams: { openai: openai.url, claude: claude.url, 'bedrock-claude': bedrock.url },
      });
    });
    after(async () => {
      await gateway.close();
      await Promise.all([openai.close(), claude.close(), bedrock.close()]);
    });

    const post = (path: string, body: unknown, headers: Record<string, string> = CLIENT_HEADERS) =>
      fetch(`${gateway.url}${path}`, { method: 'POST', headers, body: JSON.stringify(body) });
    const messages = (body: Json) => post('/anthropic/v1/messages', body);

    it('answers a plain message from an OpenAI backend in the Messages shape', async () => {
      const response = await messages({ model: 'claude-sonnet-4-5', max_tokens: 256, system: 'Be brief.', messages: [{ role: 'user', content: 'Hi there' }] });
      assert.equal(response.status, 200);
      const message = (await response.json()) as Json;
      assert.deepEqual(
        { type: message.type, role: message.role, content: message.content, stop_reason: message.stop_reason, usage: message.usage },
        {
          type: 'message',
          role: 'assistant',
          content: [{ type: 'text', text: 'Hello! You said: Hi there' }],
          stop_reason: 'end_turn',
          usage: { input_tokens: 20, cache_creation_input_tokens: 0, cache_read_input_tokens: 10, output_tokens: 7 },
        },
      );
      const upstream = openai.requests.at(-1);
      assert.ok(upstream);
      assert.equal(upstream.path, '/v1/chat/completions');
      assert.equal(upstream.headers['x-api-key'], undefined, 'the client key never reaches the backend');
      assert.equal(upstream.headers['anthropic-version'], undefined);
      assert.equal(upstream.headers['anthropic-beta'], undefined);
      assert.deepEqual((upstream.json() as Json).messages, [
        { role: 'system', content: 'Be brief.' },
        { role: 'user', content: 'Hi there' },
      ]);
      const record = await lastRecord(gateway);
      assert.equal(record.metadata[NS]?.['llm_total_token'], 37);
    });

    it('streams a message from an OpenAI backend as Anthropic SSE, usage on message_delta', async () => {
      const response = await messages({ model: 'claude-sonnet-4-5', max_tokens: 256, stream: true, messages: [{ role: 'user', content: 'Stream it' }] });
      assert.equal(response.status, 200);
      assert.match(response.headers.get('content-type') ?? '', /^text\/event-stream/);
      const events = parseSse(await response.text());
      assert.equal(events[0]?.event, 'message_start');
      assert.equal(events.at(-1)?.event, 'message_stop');
      const result = assemble(events);
      assert.deepEqual(result.blocks, [{ type: 'text', text: 'Hello! You said: Stream it' }]);
      assert.equal(result.stopReason, 'end_turn');
      assert.equal(result.usage?.output_tokens, 7);
      assert.equal(((openai.requests.at(-1)?.json() as Json).stream_options as Json).include_usage, true);
      assert.equal((await lastRecord(gateway)).metadata[NS]?.['llm_total_token'], 37);
    });

    it('runs a tool-use round trip against an OpenAI backend (buffered, then streamed)', async () => {
      const history: Json[] = [{ role: 'user', content: 'Weather in Paris?' }];
      const first = (await (await messages({ model: 'claude-sonnet-4-5', max_tokens: 256, tools: [WEATHER_TOOL], messages: history })).json()) as Json;
      assert.equal(first.stop_reason, 'tool_use');
      const toolUse = (first.content as Json[]).find((block) => block.type === 'tool_use');
      assert.deepEqual(toolUse, { type: 'tool_use', id: 'call_weather_1', name: 'get_weather', input: { city: 'Paris' } });
      history.push({ role: 'assistant', content: first.content }, { role: 'user', content: [{ type: 'tool_result', tool_use_id: toolUse.id, content: '18C and sunny' }] });

      const streamed = await messages({ model: 'claude-sonnet-4-5', max_tokens: 256, stream: true, tools: [WEATHER_TOOL], messages: history });
      assert.equal(streamed.status, 200);
      const result = assemble(parseSse(await streamed.text()));
      assert.deepEqual(result.blocks, [{ type: 'text', text: 'Tool said: 18C and sunny' }]);
      const sent = (openai.requests.at(-1)?.json() as Json).messages as Json[];
      assert.deepEqual(sent.slice(-2), [
        { role: 'assistant', content: null, tool_calls: [{ id: 'call_weather_1', type: 'function', function: { name: 'get_weather', arguments: '{"city":"Paris"}' } }] },
        { role: 'tool', tool_call_id: 'call_weather_1', content: '18C and sunny' },
      ]);
    });

    it('streams tool_use blocks with input_json_delta from an OpenAI backend', async () => {
      const response = await messages({ model: 'claude-sonnet-4-5', max_tokens: 256, stream: true, tools: [WEATHER_TOOL], messages: [{ role: 'user', content: 'Weather?' }] });
      const result = assemble(parseSse(await response.text()));
      assert.equal(result.stopReason, 'tool_use');
      assert.deepEqual(result.blocks, [{ type: 'tool_use', id: 'call_weather_1', name: 'get_weather', input: { city: 'Paris' } }]);
    });

    it('keeps the status of an upstream error and answers it in the Anthropic error shape', async () => {
      openai.setScript((request) => (request.path.endsWith('/chat/completions') ? { kind: 'json', status: 429, body: { error: { message: 'Rate limit reached', type: 'requests', param: null, code: 'rate_limit_exceeded' } } } : openAIUpstream(request)));
      try {
        const response = await messages({ model: 'claude-sonnet-4-5', max_tokens: 16, messages: [{ role: 'user', content: 'hi' }] });
        assert.equal(response.status, 429);
        assert.deepEqual(await response.json(), { type: 'error', error: { type: 'rate_limit_error', message: 'Rate limit reached' } });
      } finally {
        openai.setScript(openAIUpstream);
      }
    });

    it('passes a first-party Claude stream through (ping included), with the backend key and the client anthropic-version', async () => {
      const response = await messages({ model: 'claude-native', max_tokens: 256, stream: true, metadata: { user_id: 'u1' }, messages: [{ role: 'user', content: 'Hello' }] });
      assert.equal(response.status, 200);
      const events = parseSse(await response.text());
      assert.deepEqual(events.map((event) => event.event).slice(0, 2), ['message_start', 'ping']);
      assert.equal(events.at(-1)?.event, 'message_stop');
      assert.equal(assemble(events).blocks.length, 1);
      const upstream = claude.requests.at(-1);
      assert.ok(upstream);
      assert.equal(upstream.path, '/v1/messages');
      assert.equal(upstream.headers['x-api-key'], 'test-anthropic-key');
      assert.equal(upstream.headers['anthropic-version'], '2023-06-01');
      assert.equal(upstream.headers['anthropic-beta'], CLIENT_HEADERS['anthropic-beta'], 'first-party Claude gets the client beta flags');
      assert.equal((upstream.body as Json).model, 'claude-sonnet-4-5-20250929');
      const record = await lastRecord(gateway);
      assert.ok(Number(record.metadata[NS]?.['llm_output_token']) > 0);
    });

    it('answers a first-party Claude message unchanged', async () => {
      const response = await messages({ model: 'claude-native', max_tokens: 256, messages: [{ role: 'user', content: 'Hello' }] });
      const message = (await response.json()) as Json;
      assert.equal(message.type, 'message');
      assert.equal(message.model, 'claude-sonnet-4-5-20250929');
      const usage = message.usage as Json;
      assert.equal((await lastRecord(gateway)).metadata[NS]?.['llm_total_token'], Number(usage.input_tokens) + Number(usage.output_tokens));
    });

    it('streams Claude on Bedrock as native SSE, with allowed beta flags in the body', async () => {
      const response = await messages({ model: 'claude-bedrock', max_tokens: 256, stream: true, metadata: { user_id: 'u1' }, messages: [{ role: 'user', content: [{ type: 'text', text: 'Stream please' }] }] });
      assert.equal(response.status, 200);
      assert.match(response.headers.get('content-type') ?? '', /^text\/event-stream/);
      const events = parseSse(await response.text());
      assert.equal(events[0]?.event, 'message_start');
      assert.equal(events.at(-1)?.event, 'message_stop');
      assert.deepEqual(assemble(events).blocks, [{ type: 'text', text: 'Echo: Stream please' }]);
      const upstream = bedrock.requests.at(-1);
      assert.ok(upstream);
      assert.deepEqual(upstream.signature, { ok: true });
      assert.equal(upstream.path, `/model/${encodeURIComponent(BEDROCK_MODEL)}/invoke-with-response-stream`);
      const body = upstream.body as Json;
      assert.deepEqual(body.anthropic_beta, ['interleaved-thinking-2025-05-14']);
      assert.equal(body.anthropic_version, 'bedrock-2023-05-31');
      assert.deepEqual([body.model, body.stream, body.metadata], [undefined, undefined, undefined]);
      assert.equal(upstream.headers['anthropic-beta'], undefined);
      assert.equal((await lastRecord(gateway)).metadata[NS]?.['llm_total_token'], 30);
    });

    it('counts tokens with Claude\'s own API on Claude backends, without the estimate header', { timeout: 30_000 }, async () => {
      for (const [model, mock] of [['claude-native', () => claude.requests.at(-1)], ['claude-bedrock', () => bedrock.requests.at(-1)]] as const) {
        const body = { model, system: 'Be brief.', messages: [{ role: 'user', content: 'Count these words please' }] };
        const response = await post('/anthropic/v1/messages/count_tokens', body);
        assert.equal(response.status, 200, model);
        assert.equal(response.headers.get('x-llm-extproc-token-count'), 'provider');
        const counted = (await response.json()) as Json;
        assert.deepEqual(Object.keys(counted), ['input_tokens']);
        assert.ok(Number(counted.input_tokens) > 0);
        const upstream = mock();
        assert.match(upstream?.path ?? '', /\/messages\/count_tokens$|\/count-tokens$/, model);
        const record = await lastRecord(gateway);
        assert.equal(record.metadata[NS]?.['llm_total_token'], 0, 'a count is not charged');
      }
      const bedrockCount = bedrock.requests.at(-1);
      assert.deepEqual(bedrockCount?.signature, { ok: true });
      const invoke = JSON.parse(Buffer.from(String(((bedrockCount?.body as Json).input as Json & { invokeModel: Json }).invokeModel.body), 'base64').toString('utf8')) as Json;
      assert.equal(invoke.anthropic_version, 'bedrock-2023-05-31');
      assert.equal(invoke.model, undefined);
    });

    it('counts tokens locally, marked as an estimate, where the backend has no counting API', { timeout: 30_000 }, async () => {
      const before = openai.requests.length;
      const count = async (content: string) => {
        const response = await post('/anthropic/v1/messages/count_tokens', { model: 'claude-sonnet-4-5', messages: [{ role: 'user', content }] });
        assert.equal(response.status, 200);
        assert.equal(response.headers.get('x-llm-extproc-token-count'), 'estimate');
        const body = (await response.json()) as Json;
        assert.deepEqual(Object.keys(body), ['input_tokens']);
        return body.input_tokens as number;
      };
      const short = await count('Hello');
      const long = await count('Hello, this is a much longer message about the weather in Paris and Rome. '.repeat(10));
      assert.ok(short > 0 && long > short * 10, `short ${short}, long ${long}`);
      assert.equal(openai.requests.length, before);
      const missing = await post('/anthropic/v1/messages/count_tokens', { messages: [] });
      assert.equal(missing.status, 400);
      assert.equal(((await missing.json()) as { error: Json }).error.type, 'invalid_request_error');
    });

    it('lists the configured models in the Anthropic shape', async () => {
      const response = await fetch(`${gateway.url}/anthropic/v1/models`, { headers: { 'x-api-key': 'client-key', 'anthropic-version': '2023-06-01' } });
      assert.equal(response.status, 200);
      const list = (await response.json()) as { data: Json[]; first_id: string; last_id: string; has_more: boolean };
      assert.deepEqual(list.data.map((model) => [model.type, model.id, model.display_name]), [
        ['model', 'claude-sonnet-4-5', 'claude-sonnet-4-5'],
        ['model', 'claude-native', 'claude-native'],
        ['model', 'claude-bedrock', 'claude-bedrock'],
      ]);
      assert.ok(list.data.every((model) => !Number.isNaN(Date.parse(String(model.created_at)))));
      assert.deepEqual([list.first_id, list.last_id, list.has_more], ['claude-sonnet-4-5', 'claude-bedrock', false]);
    });

    it('answers an unknown model with a 404 in the Anthropic error shape', async () => {
      const before = openai.requests.length + claude.requests.length;
      for (const path of ['/anthropic/v1/messages', '/anthropic/v1/messages/count_tokens']) {
        const response = await post(path, { model: 'claude-unknown', max_tokens: 5, messages: [{ role: 'user', content: 'hi' }] });
        assert.equal(response.status, 404);
        const body = (await response.json()) as { type: string; error: Json };
        assert.equal(body.type, 'error');
        assert.equal(body.error.type, 'not_found_error');
        assert.match(String(body.error.message), /claude-unknown/);
      }
      assert.equal(openai.requests.length + claude.requests.length, before);
    });
  });
}
