/**
 * The recorded traffic the bench replays: the service's config, the client requests and each provider's response
 * in its real wire format (OpenAI JSON and SSE, Anthropic SSE, AWS event-stream frames, Gemini JSON). Shapes follow
 * the golden fixtures in test/fixtures; sizes are the (2 KB / 1 KB, 100 chunks, 2 MB, 6 KB with tools).
 */
import { encodeFrame, type EventStreamFrame } from '../test/helpers/aws-eventstream.js';
import type { Exchange } from './envoy-client.js';

/** The service's config for every scenario except the idle one (which uses config/default.yaml). */
export const BENCH_CONFIG = `
backends:
  - { name: openai, schema: OpenAI, endpoint: https://api.openai.com, prefix: /v1, auth: { apiKey: { value: sk-bench } } }
  - { name: anthropic, schema: Anthropic, endpoint: https://api.anthropic.com, auth: { anthropicApiKey: { value: sk-ant-bench } } }
  - name: bedrock
    schema: AWSBedrock
    endpoint: https://bedrock-runtime.us-east-1.amazonaws.com
    auth: { aws: { region: us-east-1, accessKeyId: { value: AKIABENCHBENCHBENCH0 }, secretAccessKey: { value: bench-secret-bench-secret-bench-secret-00 } } }
  - { name: google-ai, schema: GoogleAI, endpoint: https://generativelanguage.googleapis.com, auth: { googleApiKey: { value: bench-key } } }
models:
  - { name: gpt-4o-mini, backends: [{ backend: openai }] }
  - { name: gpt-4o-override, backends: [{ backend: openai, modelNameOverride: gpt-4o-2024-08-06 }] }
  - { name: claude, backends: [{ backend: anthropic, modelNameOverride: claude-sonnet-4-5 }] }
  - { name: bedrock-claude, backends: [{ backend: bedrock, modelNameOverride: "us.anthropic.claude-sonnet-4-5-20250929-v1:0" }] }
  - { name: gemini, backends: [{ backend: google-ai, modelNameOverride: gemini-2.5-flash }] }
costs:
  - { metadataKey: llm_input_token, type: InputToken }
  - { metadataKey: llm_output_token, type: OutputToken }
  - { metadataKey: llm_total_token, type: TotalToken }
`;

const json = (value: unknown) => Buffer.from(JSON.stringify(value));

function requestHeaders(body: Buffer): Record<string, string> {
  return {
    ':authority': 'gateway.bench',
    ':path': '/v1/chat/completions',
    ':method': 'POST',
    ':scheme': 'http',
    'content-type': 'application/json',
    'content-length': String(body.length),
    'user-agent': 'OpenAI/Python 1.99.0',
    'x-request-id': '6f1c2b52-4a0e-4b0b-9f57-7c3c2f1d9a10',
  };
}

/** An OpenAI chat request whose serialised size is `bytes` (padding in the user message). */
export function chatRequest(model: string, bytes: number, stream: boolean): Buffer {
  const base = { model, stream, ...(stream ? { stream_options: { include_usage: true } } : {}), max_tokens: 256, messages: [{ role: 'system', content: 'You are a terse assistant.' }, { role: 'user', content: '' }] };
  const pad = Math.max(0, bytes - json(base).length);
  const sentence = 'Please summarise the following paragraph in one line. ';
  base.messages[1] = { role: 'user', content: sentence.repeat(Math.ceil(pad / sentence.length)).slice(0, pad) };
  return json(base);
}

/** An OpenAI chat.completion of about `bytes` bytes. */
function chatCompletion(model: string, bytes: number): Buffer {
  const base = { id: 'chatcmpl-bench', object: 'chat.completion', created: 1765000000, model, choices: [{ index: 0, message: { role: 'assistant', content: '' }, finish_reason: 'stop' }], usage: { prompt_tokens: 480, completion_tokens: 190, total_tokens: 670 } };
  const text = 'The paragraph describes a gateway in front of several model providers. ';
  const pad = Math.max(0, bytes - json(base).length);
  base.choices[0]!.message.content = text.repeat(Math.ceil(pad / text.length)).slice(0, pad);
  return json(base);
}

const words = (index: number) => `word${index} `;

/** 100 OpenAI SSE chunks: role, 97 content deltas, finish, then usage + [DONE]. */
function openAIStream(model: string): Buffer[] {
  const chunk = (delta: object, finish: string | null) => `data: ${JSON.stringify({ id: 'chatcmpl-bench', object: 'chat.completion.chunk', created: 1765000000, model, choices: [{ index: 0, delta, finish_reason: finish }] })}\n\n`;
  return [
    chunk({ role: 'assistant', content: '' }, null),
    ...Array.from({ length: 97 }, (_, index) => chunk({ content: words(index) }, null)),
    chunk({}, 'stop'),
    `data: ${JSON.stringify({ id: 'chatcmpl-bench', object: 'chat.completion.chunk', created: 1765000000, model, choices: [], usage: { prompt_tokens: 480, completion_tokens: 97, total_tokens: 577 } })}\n\ndata: [DONE]\n\n`,
  ].map((text) => Buffer.from(text));
}

/** 100 Anthropic Messages SSE events: message_start, block start, 96 text deltas, block stop, message_delta + stop. */
function anthropicStream(): Buffer[] {
  const event = (name: string, data: object) => `event: ${name}\ndata: ${JSON.stringify({ type: name, ...data })}\n\n`;
  return [
    event('message_start', { message: { id: 'msg_bench', type: 'message', role: 'assistant', model: 'claude-sonnet-4-5-20250929', content: [], stop_reason: null, stop_sequence: null, usage: { input_tokens: 480, output_tokens: 1 } } }),
    event('content_block_start', { index: 0, content_block: { type: 'text', text: '' } }),
    ...Array.from({ length: 96 }, (_, index) => event('content_block_delta', { index: 0, delta: { type: 'text_delta', text: words(index) } })),
    event('content_block_stop', { index: 0 }),
    event('message_delta', { delta: { stop_reason: 'end_turn', stop_sequence: null }, usage: { output_tokens: 96 } }) + event('message_stop', {}),
  ].map((text) => Buffer.from(text));
}

/** 100 Bedrock ConverseStream frames: messageStart, 96 text deltas, contentBlockStop, messageStop, metadata. */
function bedrockStream(): Buffer[] {
  const frame = (type: string, body: object): EventStreamFrame => ({ headers: { ':event-type': type, ':message-type': 'event', ':content-type': 'application/json' }, body });
  return [
    frame('messageStart', { p: 'abcd', role: 'assistant' }),
    ...Array.from({ length: 96 }, (_, index) => frame('contentBlockDelta', { contentBlockIndex: 0, delta: { text: words(index) }, p: 'abcdefgh' })),
    frame('contentBlockStop', { contentBlockIndex: 0 }),
    frame('messageStop', { stopReason: 'end_turn' }),
    frame('metadata', { usage: { inputTokens: 480, outputTokens: 96, totalTokens: 576 }, metrics: { latencyMs: 420 } }),
  ].map((value) => Buffer.from(encodeFrame(value)));
}

const TOOLS = ['get_weather', 'search_flights', 'book_hotel', 'convert_currency'].map((name) => ({
  type: 'function',
  function: {
    name,
    description: `${name.replace('_', ' ')}: call this whenever the user asks about it; returns a JSON object with the result and a short human-readable summary. `.repeat(3),
    parameters: {
      type: 'object',
      properties: {
        location: { type: 'string', description: 'City and country, e.g. Paris, France' },
        date: { type: 'string', description: 'ISO 8601 date' },
        unit: { type: 'string', enum: ['c', 'f'] },
        limit: { type: 'integer', minimum: 1, maximum: 20 },
      },
      required: ['location'],
    },
  },
}));

/** A ~6 KB OpenAI request with four tools and one finished tool round trip. */
export function toolsRequest(model: string): Buffer {
  const base = {
    model,
    max_tokens: 512,
    tools: TOOLS,
    tool_choice: 'auto',
    messages: [
      { role: 'system', content: 'You are a travel assistant. Use the tools when they help. ' },
      { role: 'user', content: "What's the weather in Paris, then Berlin?" },
      { role: 'assistant', content: null, tool_calls: [{ id: 'call_1', type: 'function', function: { name: 'get_weather', arguments: '{"location":"Paris","unit":"c"}' } }] },
      { role: 'tool', tool_call_id: 'call_1', content: '' },
    ],
  };
  const pad = Math.max(0, 6 * 1024 - json(base).length);
  const result = 'temperature 18C, sky sunny, wind a light breeze from the west. ';
  base.messages[3]!.content = result.repeat(Math.ceil(pad / result.length)).slice(0, pad);
  return json(base);
}

// Non-streamed provider answers with a tool call (shapes from test/fixtures/openai-to-*/tool-loop*/response.json).
const ANTHROPIC_TOOL_RESPONSE = { id: 'msg_bench', type: 'message', role: 'assistant', model: 'claude-sonnet-4-5-20250929', content: [{ type: 'text', text: 'Paris is 18C and sunny. Now Berlin.' }, { type: 'tool_use', id: 'toolu_01B2c3', name: 'get_weather', input: { location: 'Berlin', unit: 'c' } }], stop_reason: 'tool_use', stop_sequence: null, usage: { input_tokens: 1420, cache_creation_input_tokens: 0, cache_read_input_tokens: 0, output_tokens: 64 } };
const BEDROCK_TOOL_RESPONSE = { output: { message: { role: 'assistant', content: [{ text: 'Paris is 18C and sunny. Now Berlin.' }, { toolUse: { toolUseId: 'tooluse_4', name: 'get_weather', input: { location: 'Berlin', unit: 'c' } } }] } }, stopReason: 'tool_use', usage: { inputTokens: 1420, outputTokens: 64, totalTokens: 1484 }, metrics: { latencyMs: 900 } };
const GEMINI_TOOL_RESPONSE = { candidates: [{ content: { role: 'model', parts: [{ text: 'Paris is 18C and sunny. Now Berlin.' }, { functionCall: { name: 'get_weather', args: { location: 'Berlin', unit: 'c' } } }] }, finishReason: 'STOP', index: 0 }], usageMetadata: { promptTokenCount: 1420, candidatesTokenCount: 64, totalTokenCount: 1484 }, modelVersion: 'gemini-2.5-flash', responseId: 'resp-bench' };

const JSON_RESPONSE = { ':status': '200', 'content-type': 'application/json' };

function exchange(backend: string, body: Buffer, responseHeaders: Record<string, string>, responseBody: Buffer[]): Exchange {
  return { requestHeaders: requestHeaders(body), requestBody: body, backend, responseHeaders, responseBody };
}

/** The exchanges, by name; built on first use (nothing runs at import). */
export function buildExchanges(): Record<ExchangeName, Exchange> {
  return {
    'openai-2k': exchange('openai', chatRequest('gpt-4o-mini', 2 * 1024, false), JSON_RESPONSE, [chatCompletion('gpt-4o-mini', 1024)]),
    'openai-stream': exchange('openai', chatRequest('gpt-4o-mini', 2 * 1024, true), { ':status': '200', 'content-type': 'text/event-stream' }, openAIStream('gpt-4o-mini')),
    'anthropic-stream': exchange('anthropic', chatRequest('claude', 2 * 1024, true), { ':status': '200', 'content-type': 'text/event-stream', 'request-id': 'req_bench' }, anthropicStream()),
    'bedrock-stream': exchange('bedrock', chatRequest('bedrock-claude', 2 * 1024, true), { ':status': '200', 'content-type': 'application/vnd.amazon.eventstream', 'x-amzn-requestid': 'req-bench' }, bedrockStream()),
    'override-2m': exchange('openai', chatRequest('gpt-4o-override', 2 * 1024 * 1024, false), JSON_RESPONSE, [chatCompletion('gpt-4o-2024-08-06', 1024)]),
    'tools-anthropic': exchange('anthropic', toolsRequest('claude'), JSON_RESPONSE, [json(ANTHROPIC_TOOL_RESPONSE)]),
    'tools-bedrock': exchange('bedrock', toolsRequest('bedrock-claude'), { ...JSON_RESPONSE, 'x-amzn-requestid': 'req-bench' }, [json(BEDROCK_TOOL_RESPONSE)]),
    'tools-gemini': exchange('google-ai', toolsRequest('gemini'), JSON_RESPONSE, [json(GEMINI_TOOL_RESPONSE)]),
  };
}

export type ExchangeName = 'openai-2k' | 'openai-stream' | 'anthropic-stream' | 'bedrock-stream' | 'override-2m' | 'tools-anthropic' | 'tools-bedrock' | 'tools-gemini';
