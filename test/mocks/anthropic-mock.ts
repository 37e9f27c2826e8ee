/**
 * A mock Claude API on 127.0.0.1 (port 0) that speaks the real wire formats:
 * - flavor 'anthropic': POST /v1/messages with `x-api-key` and `anthropic-version` headers;
 * - flavor 'vertex': POST /v1/projects/{p}/locations/{r}/publishers/anthropic/models/{m}:rawPredict |
 *   :streamRawPredict with `Authorization: Bearer`, `anthropic_version` in the body and no `model`.
 * JSON replies are Anthropic Message objects; `stream: true` replies are Anthropic SSE (message_start, ping,
 * content_block_start/delta/stop, message_delta, message_stop), written in several pieces with some events cut in
 * half. Invalid requests get the errors the real API gives (see anthropic-mock-validate.ts). `enqueue()` scripts
 * the next reply verbatim (errors, HTML, custom streams). Every request is recorded.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { newReplyState, replyTo, type MockReply, type ReplyBlock, type ReplyState } from './anthropic-mock-reply.js';
import { validateMessagesBody } from './anthropic-mock-validate.js';

export interface AnthropicMockOptions {
  readonly flavor?: 'anthropic' | 'vertex';
  /** Expected `x-api-key` (flavor anthropic). */
  readonly apiKey?: string;
  /** Expected bearer token (flavor vertex). */
  readonly bearerToken?: string;
}

export interface RecordedRequest {
  readonly method: string;
  readonly path: string;
  readonly headers: Readonly<Record<string, string>>;
  readonly body: unknown;
}

export interface ScriptedReply {
  readonly status: number;
  readonly body: string;
  readonly headers?: Readonly<Record<string, string>>;
}

export interface AnthropicMock {
  /** http://127.0.0.1:PORT (no path). */
  readonly url: string;
  readonly requests: RecordedRequest[];
  /** The next request gets this reply verbatim (after being recorded). */
  enqueue(reply: ScriptedReply): void;
  close(): Promise<void>;
}

const VERTEX_PATH = /^\/v1\/projects\/[^/]+\/locations\/[^/]+\/publishers\/anthropic\/models\/[^/:]+:(rawPredict|streamRawPredict)$/;

function anthropicError(type: string, message: string): string {
  return JSON.stringify({ type: 'error', error: { type, message }, request_id: 'req_mock' });
}

function send(response: ServerResponse, status: number, body: string, headers: Record<string, string> = { 'content-type': 'application/json' }): void {
  response.writeHead(status, { ...headers, 'request-id': 'req_mock', 'content-length': String(Buffer.byteLength(body)) });
  response.end(body);
}

async function readBody(request: IncomingMessage): Promise<string> {
  const parts: Buffer[] = [];
  for await (const part of request) parts.push(part as Buffer);
  return Buffer.concat(parts).toString('utf8');
}

function headersOf(request: IncomingMessage): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [name, value] of Object.entries(request.headers)) if (value !== undefined) out[name] = Array.isArray(value) ? value.join(', ') : value;
  return out;
}

function messageObject(model: string, reply: MockReply, state: ReplyState): Record<string, unknown> {
  state.counter += 1;
  return {
    id: `msg_mock_${state.counter}`,
    type: 'message',
    role: 'assistant',
    model,
    content: reply.content,
    stop_reason: reply.stopReason,
    stop_sequence: reply.stopSequence,
    usage: { ...reply.usage, service_tier: 'standard' },
  };
}

function sseEvent(data: Record<string, unknown>): string {
  return `event: ${String(data.type)}\ndata: ${JSON.stringify(data)}\n\n`;
}

function pieces(text: string, size: number): string[] {
  const out: string[] = [];
  for (let offset = 0; offset < text.length; offset += size) out.push(text.slice(offset, offset + size));
  return out.length > 0 ? out : [''];
}

function blockEvents(block: ReplyBlock, index: number): Record<string, unknown>[] {
  const delta = (value: Record<string, unknown>) => ({ type: 'content_block_delta', index, delta: value });
  switch (block.type) {
    case 'text':
      return [
        { type: 'content_block_start', index, content_block: { type: 'text', text: '' } },
        ...pieces(block.text, 7).map((text) => delta({ type: 'text_delta', text })),
        { type: 'content_block_stop', index },
      ];
    case 'thinking':
      return [
        { type: 'content_block_start', index, content_block: { type: 'thinking', thinking: '', signature: '' } },
        ...pieces(block.thinking, 11).map((thinking) => delta({ type: 'thinking_delta', thinking })),
        delta({ type: 'signature_delta', signature: block.signature }),
        { type: 'content_block_stop', index },
      ];
    case 'tool_use': {
      const json = JSON.stringify(block.input);
      const parts = json === '{}' ? [''] : ['', ...pieces(json, 9)];
      return [
        { type: 'content_block_start', index, content_block: { type: 'tool_use', id: block.id, name: block.name, input: {} } },
        ...parts.map((partial_json) => delta({ type: 'input_json_delta', partial_json })),
        { type: 'content_block_stop', index },
      ];
    }
  }
}

function streamEvents(message: Record<string, unknown>, reply: MockReply): Record<string, unknown>[] {
  const usage = reply.usage;
  return [
    {
      type: 'message_start',
      message: { ...message, content: [], stop_reason: null, stop_sequence: null, usage: { ...usage, output_tokens: 1 } },
    },
    { type: 'ping' },
    ...reply.content.flatMap((block, index) => blockEvents(block, index)),
    { type: 'message_delta', delta: { stop_reason: reply.stopReason, stop_sequence: reply.stopSequence }, usage: { output_tokens: usage.output_tokens } },
    { type: 'message_stop' },
  ];
}

async function writeStream(response: ServerResponse, events: Record<string, unknown>[]): Promise<void> {
  response.writeHead(200, { 'content-type': 'text/event-stream; charset=utf-8', 'cache-control': 'no-cache', 'request-id': 'req_mock' });
  for (const [index, event] of events.entries()) {
    const text = sseEvent(event);
    // every third event is cut in two writes, so consumers see events split across chunks
    if (index % 3 === 2) {
      const cut = Math.floor(text.length / 2);
      response.write(text.slice(0, cut));
      await new Promise((resolve) => setImmediate(resolve));
      response.write(text.slice(cut));
    } else {
      response.write(text);
    }
  }
  response.end();
}

function checkAuth(options: Required<AnthropicMockOptions>, headers: Record<string, string>): { status: number; body: string } | undefined {
  if (options.flavor === 'vertex') {
    if (headers.authorization !== `Bearer ${options.bearerToken}`) {
      return {
        status: 401,
        body: JSON.stringify({ error: { code: 401, message: 'Request had invalid authentication credentials. Expected OAuth 2 access token.', status: 'UNAUTHENTICATED' } }),
      };
    }
    return undefined;
  }
  if (headers['x-api-key'] === undefined) return { status: 401, body: anthropicError('authentication_error', 'x-api-key header is required') };
  if (headers['x-api-key'] !== options.apiKey) return { status: 401, body: anthropicError('authentication_error', 'invalid x-api-key') };
  if (headers['anthropic-version'] === undefined) return { status: 400, body: anthropicError('invalid_request_error', 'anthropic-version: header is required') };
  return undefined;
}

const VERTEX_COUNT_PATH = /^\/v1\/projects\/[^/]+\/locations\/[^/]+\/publishers\/anthropic\/models\/count-tokens:rawPredict$/;

/** A deterministic stand-in for Claude's tokenizer: one token per 4 characters of the counted JSON. */
export function mockTokenCount(body: Record<string, unknown>): number {
  const counted = ['system', 'messages', 'tools'].map((key) => JSON.stringify(body[key] ?? '')).join('');
  return Math.ceil(counted.length / 4);
}

/** count_tokens: first-party `/v1/messages/count_tokens`, or Vertex `count-tokens:rawPredict` (model in the body). */
function countTokensAnswer(options: Required<AnthropicMockOptions>, path: string, headers: Record<string, string>, body: unknown): { status: number; body: string } | undefined {
  const firstParty = options.flavor === 'anthropic' && path === '/v1/messages/count_tokens';
  const vertex = options.flavor === 'vertex' && VERTEX_COUNT_PATH.test(path);
  if (!firstParty && !vertex) return undefined;
  const authProblem = checkAuth(options, headers);
  if (authProblem) return authProblem;
  if (typeof body !== 'object' || body === null || Array.isArray(body)) return { status: 400, body: anthropicError('invalid_request_error', 'invalid JSON body') };
  const json = body as Record<string, unknown>;
  if (typeof json.model !== 'string' || json.model === '') return { status: 400, body: anthropicError('invalid_request_error', 'model: Field required') };
  if (!Array.isArray(json.messages)) return { status: 400, body: anthropicError('invalid_request_error', 'messages: Field required') };
  return { status: 200, body: JSON.stringify({ input_tokens: mockTokenCount(json) }) };
}

async function handle(options: Required<AnthropicMockOptions>, mock: { requests: RecordedRequest[]; queue: ScriptedReply[]; replies: ReplyState }, request: IncomingMessage, response: ServerResponse): Promise<void> {
  const text = await readBody(request);
  const headers = headersOf(request);
  const path = request.url ?? '/';
  let body: unknown;
  try {
    body = text === '' ? undefined : (JSON.parse(text) as unknown);
  } catch {
    body = undefined;
  }
  mock.requests.push({ method: request.method ?? 'GET', path, headers, body: body ?? text });
  const scripted = mock.queue.shift();
  if (scripted) return send(response, scripted.status, scripted.body, { 'content-type': 'application/json', ...scripted.headers });

  const counted = countTokensAnswer(options, path, headers, body);
  if (counted) return send(response, counted.status, counted.body);
  const vertexMatch = VERTEX_PATH.exec(path);
  const pathOk = options.flavor === 'vertex' ? vertexMatch !== null : path === '/v1/messages';
  if (request.method !== 'POST' || !pathOk) return send(response, 404, anthropicError('not_found_error', `Not Found: ${request.method} ${path}`));
  const authProblem = checkAuth(options, headers);
  if (authProblem) return send(response, authProblem.status, authProblem.body);
  if (!(headers['content-type'] ?? '').startsWith('application/json')) return send(response, 400, anthropicError('invalid_request_error', 'content-type must be application/json'));
  if (body === undefined) return send(response, 400, anthropicError('invalid_request_error', 'There was an issue with your request body: invalid JSON'));
  const problem = validateMessagesBody(body, { vertex: options.flavor === 'vertex', ...(vertexMatch ? { model: decodeURIComponent(vertexMatch[0]) } : {}) });
  if (problem) return send(response, 400, anthropicError('invalid_request_error', problem));
  const json = body as Record<string, unknown>;
  const streaming = json.stream === true;
  if (vertexMatch && (vertexMatch[1] === 'streamRawPredict') !== streaming) {
    return send(response, 400, anthropicError('invalid_request_error', `${vertexMatch[1]} does not match stream=${String(streaming)}`));
  }
  const model = typeof json.model === 'string' ? json.model : 'claude-sonnet-4-5-20250929';
  const reply = replyTo(json, mock.replies);
  const message = messageObject(model, reply, mock.replies);
  if (streaming) return writeStream(response, streamEvents(message, reply));
  return send(response, 200, JSON.stringify(message));
}

export async function startAnthropicMock(options: AnthropicMockOptions = {}): Promise<AnthropicMock> {
  const resolved: Required<AnthropicMockOptions> = {
    flavor: options.flavor ?? 'anthropic',
    apiKey: options.apiKey ?? 'test-anthropic-key',
    bearerToken: options.bearerToken ?? 'test-gcp-token',
  };
  const state = { requests: [] as RecordedRequest[], queue: [] as ScriptedReply[], replies: newReplyState() };
  const server: Server = createServer((request, response) => {
    handle(resolved, state, request, response).catch((error: unknown) => {
      if (!response.headersSent) send(response, 500, anthropicError('api_error', String(error)));
      else response.destroy();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    requests: state.requests,
    enqueue: (reply) => void state.queue.push(reply),
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
