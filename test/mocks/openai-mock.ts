/**
 * A mock OpenAI-compatible server: chat completions (JSON and SSE, usage only when asked for, as OpenAI does),
 * the Responses API (openai-responses-reply.ts) and its input token count, completions, embeddings and image generation. Records what it received; can be told to fail or to gzip its answers.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { gzipSync } from 'node:zlib';
import { responsesEvents, responsesJson, type ResponsesTerminal } from './openai-responses-reply.js';

export interface RecordedRequest {
  method: string;
  path: string;
  headers: IncomingMessage['headers'];
  body: Buffer;
  json: Record<string, unknown> | undefined;
}

export interface OpenAIMockOptions {
  /** Answer every request with this status and an OpenAI error body. */
  failWith?: number;
  /** gzip every answer (content-encoding: gzip). */
  gzip?: boolean;
  /** Text the assistant answers with (split into words for streams). */
  reply?: string;
  /** Never report usage (like some OpenAI-compatible servers). */
  noUsage?: boolean;
  /** Stop after this many stream chunks and reset the connection. */
  resetAfterChunks?: number;
  /** With resetAfterChunks: the reset waits for this (e.g. until the client has read what came before it). */
  holdReset?: Promise<void>;
  /** Delay between stream chunks, ms. */
  chunkDelayMs?: number;
  /** The event that ends a Responses stream (default response.completed). */
  responsesTerminal?: ResponsesTerminal;
}

export interface OpenAIMock {
  readonly url: string;
  readonly requests: RecordedRequest[];
  options: OpenAIMockOptions;
  close(): Promise<void>;
}

function words(text: string): string[] {
  return text.split(/(?<= )/);
}

function send(response: ServerResponse, status: number, body: string, options: OpenAIMockOptions, contentType = 'application/json'): void {
  const bytes = options.gzip ? gzipSync(body) : Buffer.from(body);
  response.writeHead(status, { 'content-type': contentType, 'content-length': bytes.length, ...(options.gzip ? { 'content-encoding': 'gzip' } : {}) });
  response.end(bytes);
}

/** Writes SSE events in order, honouring resetAfterChunks and chunkDelayMs. */
async function writeEvents(response: ServerResponse, events: readonly string[], options: OpenAIMockOptions): Promise<void> {
  response.writeHead(200, { 'content-type': 'text/event-stream' });
  for (const [index, event] of events.entries()) {
    if (options.resetAfterChunks !== undefined && index >= options.resetAfterChunks) {
      await options.holdReset;
      response.socket?.destroy();
      return;
    }
    // With a reset coming, each event is handed to the socket before the next: the bytes before the cut arrive.
    if (options.resetAfterChunks !== undefined) await new Promise<void>((resolve) => response.write(event, () => resolve()));
    else response.write(event);
    if (options.chunkDelayMs) await new Promise((resolve) => setTimeout(resolve, options.chunkDelayMs));
  }
  response.end();
}

async function stream(response: ServerResponse, model: string, body: Record<string, unknown>, options: OpenAIMockOptions): Promise<void> {
  const reply = options.reply ?? 'Hello from the mock upstream.';
  const parts = words(reply);
  const chunk = (delta: Record<string, unknown>, finish: string | null) =>
    `data: ${JSON.stringify({ id: 'chatcmpl-mock', object: 'chat.completion.chunk', created: 1700000000, model, choices: [{ index: 0, delta, finish_reason: finish }] })}\n\n`;
  const events = [chunk({ role: 'assistant', content: '' }, null), ...parts.map((part) => chunk({ content: part }, null)), chunk({}, 'stop')];
  const streamOptions = body['stream_options'] as { include_usage?: boolean } | undefined;
  if (streamOptions?.include_usage && !options.noUsage) {
    events.push(`data: ${JSON.stringify({ id: 'chatcmpl-mock', object: 'chat.completion.chunk', created: 1700000000, model, choices: [], usage: { prompt_tokens: 12, completion_tokens: parts.length, total_tokens: 12 + parts.length } })}\n\n`);
  }
  events.push('data: [DONE]\n\n');
  await writeEvents(response, events, options);
}

export async function startOpenAIMock(initial: OpenAIMockOptions = {}): Promise<OpenAIMock> {
  const requests: RecordedRequest[] = [];
  const mock = { options: initial } as { options: OpenAIMockOptions };
  const server: Server = createServer((request, response) => {
    const chunks: Buffer[] = [];
    request.on('data', (chunk: Buffer) => chunks.push(chunk));
    request.on('end', () => {
      const body = Buffer.concat(chunks);
      let json: Record<string, unknown> | undefined;
      try {
        json = JSON.parse(body.toString()) as Record<string, unknown>;
      } catch {
        json = undefined;
      }
      requests.push({ method: request.method ?? '', path: request.url ?? '', headers: request.headers, body, json });
      const options = mock.options;
      if (options.failWith) {
        send(response, options.failWith, JSON.stringify({ error: { message: `mock failure ${options.failWith}`, type: 'server_error', param: null, code: null } }), options);
        return;
      }
      const model = typeof json?.['model'] === 'string' ? json['model'] : 'unknown';
      const path = (request.url ?? '').split('?')[0] ?? '';
      if (path.endsWith('/chat/completions')) {
        if (json?.['stream'] === true) {
          void stream(response, model, json, options);
          return;
        }
        const reply = options.reply ?? 'Hello from the mock upstream.';
        const usage = options.noUsage ? undefined : { prompt_tokens: 12, completion_tokens: words(reply).length, total_tokens: 12 + words(reply).length };
        send(response, 200, JSON.stringify({ id: 'chatcmpl-mock', object: 'chat.completion', created: 1700000000, model, choices: [{ index: 0, message: { role: 'assistant', content: reply }, finish_reason: 'stop' }], usage }), options);
        return;
      }
      if (path.endsWith('/responses/input_tokens') && json) {
        // A fixed count per input character, so tests can tell the provider's count from the gateway's estimate.
        send(response, 200, JSON.stringify({ object: 'response.input_tokens', input_tokens: 1000 + JSON.stringify(json['input'] ?? '').length }), options);
        return;
      }
      if (path.endsWith('/responses') && json) {
        const reply = options.reply ?? 'Hello from the mock upstream.';
        if (json['stream'] === true) void writeEvents(response, responsesEvents(json, reply, options.responsesTerminal), options);
        else send(response, 200, JSON.stringify(responsesJson(json, reply)), options);
        return;
      }
      if (path.endsWith('/completions')) {
        send(response, 200, JSON.stringify({ id: 'cmpl-mock', object: 'text_completion', created: 1700000000, model, choices: [{ index: 0, text: 'completed', finish_reason: 'stop' }], usage: { prompt_tokens: 3, completion_tokens: 1, total_tokens: 4 } }), options);
        return;
      }
      if (path.endsWith('/embeddings')) {
        // The official client asks for base64 (little-endian float32) unless told otherwise.
        const vector = [0.1, 0.2, 0.3];
        const embedding = json?.['encoding_format'] === 'base64' ? Buffer.from(new Float32Array(vector).buffer).toString('base64') : vector;
        send(response, 200, JSON.stringify({ object: 'list', model, data: [{ object: 'embedding', index: 0, embedding }], usage: { prompt_tokens: 5, total_tokens: 5 } }), options);
        return;
      }
      if (path.endsWith('/images/generations')) {
        // gpt-image models (and deployments of them) report token usage; dall-e models report none.
        const usage = !model.startsWith('dall-e') ? { input_tokens: 20, output_tokens: 272, total_tokens: 292, input_tokens_details: { text_tokens: 20, image_tokens: 0 } } : undefined;
        send(response, 200, JSON.stringify({ created: 1700000000, data: [{ b64_json: 'iVBORw0KGgo=' }], ...(usage ? { usage } : {}) }), options);
        return;
      }
      send(response, 404, JSON.stringify({ error: { message: 'not found', type: 'invalid_request_error', param: null, code: null } }), options);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    requests,
    get options() {
      return mock.options;
    },
    set options(value) {
      mock.options = value;
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
