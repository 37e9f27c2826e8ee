/**
 * Claude Code on every backend that is not Claude: the official `@anthropic-ai/sdk` client -> Envoy stand-in ->
 * llm-extproc -> mocks of AWS Bedrock Converse (Nova, and Claude through Converse), Gemini on Vertex AI, the Gemini
 * API and Azure OpenAI, in both upstreamFilter modes. Each runs a Claude-Code-shaped session:
 * 1. a large system prompt with cache_control, more than 20 tools, extended thinking, a streamed tool-use turn (the
 *    SDK assembles the stream and parses the input_json_delta fragments);
 * 2. the tool result sent back with the assistant turn, thinking block included, its file 2 MB long;
 * 3. count_tokens (the provider's counting API; Azure OpenAI has none: the local estimate, marked by a header).
 * The SDK validates the event grammar and the response shapes; the mocks validate what the providers would.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import Anthropic from '@anthropic-ai/sdk';
import { lastRecord, NS, TOKEN_COSTS_YAML } from '../helpers/e2e-common.js';
import { startGateway, type Gateway } from '../helpers/gateway-harness.js';
import { startBedrockMock, type BedrockMock } from '../mocks/bedrock-mock.js';
import type { MockCall, MockReply as BedrockReply } from '../mocks/bedrock-replies.js';
import { geminiResponse, startGeminiMock, type GeminiMock, type GeminiMockReply, type GeminiMockRequest } from '../mocks/gemini-mock.js';
import { startHttpMock, sseEvent, type HttpMock, type MockReply, type RecordedRequest } from '../mocks/http-mock.js';

type Json = Record<string, unknown>;
const isObject = (value: unknown): value is Json => typeof value === 'object' && value !== null && !Array.isArray(value);
const CREDS = { accessKeyId: 'AKIDSESSION', secretAccessKey: 'session-secret', region: 'us-east-1' };
const SIGNATURE = 'Q2xhdWRlIHNpZ25hdHVyZQ==';
const THOUGHT = Buffer.from('gemini thought signature').toString('base64');

const TOOLS: Anthropic.Tool[] = [
  { name: 'read_file', description: 'Read a file from the workspace', input_schema: { type: 'object', properties: { path: { type: 'string' } }, required: ['path'] } },
  ...Array.from({ length: 24 }, (_, index): Anthropic.Tool => ({
    name: `tool_${String(index + 1).padStart(2, '0')}`,
    description: `Helper tool number ${index + 1}`,
    input_schema: { type: 'object', properties: { value: { type: 'string', description: 'Any value' } } },
  })),
];
TOOLS[TOOLS.length - 1] = { ...(TOOLS.at(-1) as Anthropic.Tool), cache_control: { type: 'ephemeral' } };

const SYSTEM: Anthropic.TextBlockParam[] = [
  { type: 'text', text: "You are Claude Code, Anthropic's official CLI for Claude." },
  { type: 'text', text: `Repository conventions:\n${'- Keep functions small and named for what they do.\n'.repeat(600)}`, cache_control: { type: 'ephemeral' } },
];
const BIG_FILE = `${'x'.repeat(99)}\n`.repeat(20_000);

function configYaml(upstreamFilter: boolean): string {
  return `
backends:
  - name: bedrock
    schema: AWSBedrock
    endpoint: https://bedrock-runtime.us-east-1.amazonaws.com
    auth: { aws: { region: ${CREDS.region}, accessKeyId: { value: ${CREDS.accessKeyId} }, secretAccessKey: { value: ${CREDS.secretAccessKey} } } }
  - name: vertex
    schema: GCPVertexAI
    endpoint: https://us-central1-aiplatform.googleapis.com
    auth: { gcp: { projectId: my-project, region: us-central1, accessToken: { value: gcp-session } } }
  - name: google
    schema: GoogleAI
    endpoint: https://generativelanguage.googleapis.com
    auth: { googleApiKey: { value: google-session } }
  - name: azure
    schema: AzureOpenAI
    endpoint: https://my-resource.openai.azure.com
    auth: { azureApiKey: { value: azure-session } }
models:
  - { name: nova, backends: [{ backend: bedrock, modelNameOverride: amazon.nova-pro-v1:0 }] }
  - { name: converse-claude, backends: [{ backend: bedrock, modelNameOverride: us.anthropic.claude-sonnet-4-5-20250929-v1:0 }] }
  - { name: vertex-gemini, backends: [{ backend: vertex, modelNameOverride: gemini-2.5-pro }] }
  - { name: google-gemini, backends: [{ backend: google, modelNameOverride: gemini-3-flash-preview }] }
  - { name: azure-gpt, backends: [{ backend: azure, modelNameOverride: prod-gpt-4o }] }
${TOKEN_COSTS_YAML}
envoy:
  upstreamFilter: ${upstreamFilter}
`;
}

/** Bedrock: after a tool result, a text quoting its size; with tools, reasoning (signed, for Claude) and a call to read_file. */
function bedrockSession(call: MockCall): BedrockReply {
  const messages = Array.isArray(call.body.messages) ? (call.body.messages as Json[]) : [];
  const last = messages.at(-1);
  const blocks = isObject(last) && Array.isArray(last.content) ? (last.content as Json[]) : [];
  const result = blocks.find((block) => isObject(block.toolResult));
  const usage = { inputTokens: 900, outputTokens: 30, cacheReadInputTokens: 4000, cacheWriteInputTokens: 100 };
  if (result) {
    const content = ((result.toolResult as Json).content as Json[])[0] ?? {};
    return { content: [{ text: `Read ${String(content.text ?? '').length} characters.` }], stopReason: 'end_turn', usage };
  }
  const claude = call.modelId.includes('claude');
  return {
    content: [
      ...(claude ? [{ reasoningContent: { reasoningText: { text: 'I will read the file first.', signature: SIGNATURE } } }] : []),
      { text: 'Let me read it.' },
      { toolUse: { toolUseId: 'tooluse_session_1', name: 'read_file', input: { path: 'README.md' } } },
    ],
    stopReason: 'tool_use',
    usage,
  };
}

/** Gemini: after a function response, text; with tools, a thought and a signed call to read_file. */
function geminiSession(request: GeminiMockRequest): GeminiMockReply {
  const contents = Array.isArray(request.body.contents) ? (request.body.contents as Json[]) : [];
  const parts = (contents.at(-1)?.parts ?? []) as Json[];
  const response = parts.find((part) => isObject(part.functionResponse))?.functionResponse as Json | undefined;
  if (response) {
    const output = String((response.response as Json).output ?? '');
    return { kind: 'json', body: geminiResponse([{ text: `Read ${output.length} characters.` }], { model: request.model }) };
  }
  const call: Json = { name: 'read_file', args: { path: 'README.md' } };
  if (request.model.startsWith('gemini-3')) call.id = 'fc-session-1';
  return { kind: 'json', body: geminiResponse([{ text: 'I will read the file first.', thought: true }, { text: 'Let me read it.' }, { functionCall: call, thoughtSignature: THOUGHT }], { model: request.model }) };
}

/** Azure OpenAI: a streamed tool call (arguments in two fragments), then text after the tool message. */
function azureSession(request: RecordedRequest): MockReply {
  const body = request.json() as Json;
  const messages = body.messages as Json[];
  const model = 'gpt-4o-2024-11-20';
  const usage = { prompt_tokens: 5000, completion_tokens: 20, total_tokens: 5020, prompt_tokens_details: { cached_tokens: 4000 } };
  const tool = messages.at(-1)?.role === 'tool' ? messages.at(-1) : undefined;
  const chunk = (delta: Json | undefined, finish: string | null = null) =>
    sseEvent({ id: 'chatcmpl-az', object: 'chat.completion.chunk', created: 1, model, choices: delta ? [{ index: 0, delta, finish_reason: finish }] : [], ...(delta ? {} : { usage }) });
  if (tool) {
    const text = `Read ${String(tool.content).length} characters.`;
    if (!body.stream) return { kind: 'json', body: { id: 'chatcmpl-az2', object: 'chat.completion', created: 1, model, usage, choices: [{ index: 0, finish_reason: 'stop', message: { role: 'assistant', content: text } }] } };
    return { kind: 'sse', chunks: [chunk({ role: 'assistant', content: text }), chunk({}, 'stop'), chunk(undefined), 'data: [DONE]\n\n'] };
  }
  return {
    kind: 'sse',
    chunks: [
      sseEvent({ id: '', object: '', created: 0, model: '', choices: [], prompt_filter_results: [] }),
      chunk({ role: 'assistant', content: 'Let me read it.' }),
      chunk({ tool_calls: [{ index: 0, id: 'call_session_1', type: 'function', function: { name: 'read_file', arguments: '{"pa' } }] }),
      chunk({ tool_calls: [{ index: 0, function: { arguments: 'th":"README.md"}' } }] }),
      chunk({}, 'tool_calls'),
      chunk(undefined),
      'data: [DONE]\n\n',
    ],
  };
}

for (const upstreamFilter of [true, false]) {
  describe(`Claude Code through the official Anthropic SDK on every other backend (upstreamFilter: ${upstreamFilter})`, { timeout: 180_000 }, () => {
    let gateway: Gateway;
    let bedrock: BedrockMock;
    let vertex: GeminiMock;
    let google: GeminiMock;
    let azure: HttpMock;
    let client: Anthropic;

    before(async () => {
      [bedrock, vertex, google, azure] = await Promise.all([
        startBedrockMock({ credentials: CREDS, respond: bedrockSession }),
        startGeminiMock({ accessToken: 'gcp-session', respond: geminiSession }),
        startGeminiMock({ apiKey: 'google-session', respond: geminiSession }),
        startHttpMock(azureSession),
      ]);
      gateway = await startGateway({
        configYaml: configYaml(upstreamFilter),
        upstreams: { bedrock: bedrock.url, vertex: vertex.url, google: google.url, azure: azure.url },
      });
      client = new Anthropic({ baseURL: `${gateway.url}/anthropic`, apiKey: 'client-key', maxRetries: 0 });
    });
    after(async () => {
      await gateway.close();
      await Promise.all([bedrock.close(), vertex.close(), google.close(), azure.close()]);
    });

    const sessions: Array<{ model: string; thinking: boolean; upstream: () => Json | undefined }> = [
      { model: 'nova', thinking: false, upstream: () => bedrock.requests.filter((request) => request.operation !== 'count-tokens').at(-1)?.body as Json },
      { model: 'converse-claude', thinking: true, upstream: () => bedrock.requests.filter((request) => request.operation !== 'count-tokens').at(-1)?.body as Json },
      { model: 'vertex-gemini', thinking: true, upstream: () => vertex.requests.filter((request) => !request.path.includes(':countTokens')).at(-1)?.body },
      { model: 'google-gemini', thinking: true, upstream: () => google.requests.filter((request) => !request.path.includes(':countTokens')).at(-1)?.body },
      { model: 'azure-gpt', thinking: false, upstream: () => azure.requests.at(-1)?.json() as Json },
    ];

    for (const session of sessions) {
      it(`runs a Claude Code session on ${session.model}`, { timeout: 60_000 }, async () => {
        const question: Anthropic.MessageParam = { role: 'user', content: [{ type: 'text', text: 'What does README.md say?' }] };
        const request = { model: session.model, max_tokens: 8192, system: SYSTEM, tools: TOOLS, thinking: { type: 'enabled' as const, budget_tokens: 4096 } };

        // 1. A streamed tool-use turn.
        const stream = client.messages.stream({ ...request, messages: [question] });
        const types: string[] = [];
        stream.on('streamEvent', (event) => types.push(event.type));
        const first = await stream.finalMessage();
        assert.equal(first.stop_reason, 'tool_use');
        assert.equal(types[0], 'message_start');
        assert.deepEqual(types.slice(-2), ['message_delta', 'message_stop']);
        const toolUse = first.content.find((block): block is Anthropic.ToolUseBlock => block.type === 'tool_use');
        assert.ok(toolUse, JSON.stringify(first.content));
        assert.deepEqual([toolUse.name, toolUse.input], ['read_file', { path: 'README.md' }]);
        const thinking = first.content.find((block) => block.type === 'thinking');
        assert.equal(thinking !== undefined, session.thinking, `thinking from ${session.model}`);
        assert.ok(first.usage.output_tokens > 0);
        const record = await lastRecord(gateway);
        assert.equal(record.metadata[NS]?.['llm_output_token'], first.usage.output_tokens);

        const sent = session.upstream();
        assert.ok(sent, 'the backend got the first turn');
        const text = JSON.stringify(sent);
        assert.ok(text.includes('Keep functions small'), 'the system prompt reached the backend');
        assert.ok(text.includes('tool_24'), 'all the tools reached the backend');

        // 2. The tool result, with the assistant turn as the SDK returned it (thinking included), a 2 MB file.
        const assistant = first.content.some((block) => block.type === 'thinking')
          ? first.content
          : [{ type: 'thinking' as const, thinking: 'Earlier reasoning.', signature: SIGNATURE }, ...first.content];
        const result: Anthropic.MessageParam = { role: 'user', content: [{ type: 'tool_result', tool_use_id: toolUse.id, content: BIG_FILE }] };
        const second = await client.messages.create({ ...request, messages: [question, { role: 'assistant', content: assistant }, result] });
        assert.equal(second.stop_reason, 'end_turn');
        const answer = second.content.find((block): block is Anthropic.TextBlock => block.type === 'text');
        assert.equal(answer?.text, `Read ${BIG_FILE.length} characters.`);
        assert.ok(JSON.stringify(session.upstream()).length > 2_000_000, 'the 2 MB tool result reached the backend');
        assert.ok((await lastRecord(gateway)).status === 200);

        // 3. count_tokens, as Claude Code calls it: the provider's own count where it has a counting API.
        const { data, response } = await client.messages.countTokens({ model: session.model, system: SYSTEM, tools: TOOLS, messages: [question] }).withResponse();
        assert.ok(data.input_tokens > 0);
        assert.equal(response.headers.get('x-llm-extproc-token-count'), session.model === 'azure-gpt' ? 'estimate' : 'provider');
      });
    }

    it('serves the same client at Anthropic\'s own paths (/v1/messages, /v1/messages/count_tokens)', { timeout: 60_000 }, async () => {
      const rootClient = new Anthropic({ baseURL: gateway.url, apiKey: 'client-key', maxRetries: 0 });
      const question: Anthropic.MessageParam = { role: 'user', content: 'What does README.md say?' };
      const stream = rootClient.messages.stream({ model: 'google-gemini', max_tokens: 1024, system: SYSTEM, tools: TOOLS, messages: [question] });
      const message = await stream.finalMessage();
      assert.equal(message.stop_reason, 'tool_use');
      const record = await lastRecord(gateway);
      assert.equal(record.metadata[NS]?.['llm_output_token'], message.usage.output_tokens);
      const { data, response } = await rootClient.messages.countTokens({ model: 'google-gemini', messages: [question] }).withResponse();
      assert.ok(data.input_tokens > 0);
      assert.equal(response.headers.get('x-llm-extproc-token-count'), 'provider');
      // A model the config does not serve gets Anthropic's error shape at the root path too.
      const missing = await rootClient.messages.create({ model: 'no-such-model', max_tokens: 16, messages: [question] }).then(
        () => assert.fail('expected an error'),
        (error: unknown) => error,
      );
      assert.ok(missing instanceof Anthropic.APIError, String(missing));
      assert.equal((missing.error as { type?: string } | undefined)?.type, 'error', JSON.stringify(missing.error));
    });

    it('sends Claude on Converse its cache points, signed reasoning and exact thinking budget', { timeout: 60_000 }, async () => {
      const body = bedrock.requests.filter((request) => request.modelId?.includes('claude') && request.operation === 'converse').at(-1)?.body as Json;
      assert.ok(body);
      assert.deepEqual((body.system as Json[]).at(-1), { cachePoint: { type: 'default' } });
      assert.deepEqual(((body.toolConfig as Json).tools as Json[]).at(-1), { cachePoint: { type: 'default' } });
      const assistant = (body.messages as Json[])[1] as { content: Json[] };
      assert.deepEqual(assistant.content[0], { reasoningContent: { reasoningText: { text: 'I will read the file first.', signature: SIGNATURE } } });
      assert.deepEqual((body.additionalModelRequestFields as Json).thinking, { type: 'enabled', budget_tokens: 4096 });
    });

    it('sends Gemini the thought signature back on the call it made', { timeout: 60_000 }, async () => {
      const contents = vertex.requests.filter((request) => request.path.includes(':generateContent')).at(-1)?.body.contents as Array<{ role: string; parts: Json[] }>;
      const call = contents[1]?.parts.find((part) => isObject(part.functionCall));
      assert.equal(call?.thoughtSignature, THOUGHT);
    });
  });
}
