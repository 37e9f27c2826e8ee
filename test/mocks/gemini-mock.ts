/**
 * A mock Gemini provider on 127.0.0.1 that speaks both Google surfaces:
 * - Vertex AI: POST /v1/projects/{p}/locations/{r}/publishers/google/models/{model}:generateContent
 *   (or :streamGenerateContent?alt=sse), `authorization: Bearer <accessToken>`;
 * - Gemini API: POST /v1beta/models/{model}:generateContent (or :streamGenerateContent?alt=sse),
 *   `x-goog-api-key: <apiKey>`.
 * Embeddings too: Vertex `:predict` and `:embedContent`, Gemini API `:batchEmbedContents` (embeddings-mock.ts).
 * Bodies are validated like Gemini does (gemini-mock-validate.ts); failures are Google error JSON
 * `{"error":{"code","message","status"}}`. Replies come from a responder, `enqueue`d replies first; a JSON reply to a streaming request is
 * turned into SSE events (`data: <json>\r\n\r\n`, as Vertex frames them), one per text word.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { respondLikeGemini } from './gemini-mock-respond.js';
import { validateGeminiRequest } from './gemini-mock-validate.js';
import { googleBatchEmbed, vertexEmbedContent, vertexPredict } from './embeddings-mock.js';

type Json = Record<string, unknown>;

export interface GeminiMockRequest {
  readonly surface: 'vertex' | 'googleai';
  readonly model: string;
  readonly stream: boolean;
  readonly path: string;
  readonly headers: Readonly<Record<string, string | string[] | undefined>>;
  readonly body: Json;
}

export type GeminiMockReply =
  | { readonly kind: 'json'; readonly body: unknown; readonly status?: number }
  | { readonly kind: 'sse'; readonly events: readonly unknown[]; readonly delimiter?: string }
  | { readonly kind: 'raw'; readonly status: number; readonly body: string; readonly contentType?: string };

export interface GeminiMockOptions {
  /** Vertex: expected Bearer token. */
  readonly accessToken?: string;
  /** Gemini API: expected x-goog-api-key. */
  readonly apiKey?: string;
  /** Vertex project and region the path must name (default: any). */
  readonly projectId?: string;
  readonly region?: string;
  /** Builds the reply for an accepted request (default: respondLikeGemini in gemini-mock-respond.ts). */
  readonly respond?: (request: GeminiMockRequest) => GeminiMockReply;
}

export interface GeminiMock {
  readonly url: string;
  /** Every request that reached the mock, accepted or not. */
  readonly requests: GeminiMockRequest[];
  /** Replies used (in order) for the next accepted requests, before the responder. */
  enqueue(reply: GeminiMockReply): void;
  close(): Promise<void>;
}

const STATUS_NAMES: Readonly<Record<number, string>> = {
  400: 'INVALID_ARGUMENT',
  401: 'UNAUTHENTICATED',
  403: 'PERMISSION_DENIED',
  404: 'NOT_FOUND',
  429: 'RESOURCE_EXHAUSTED',
  500: 'INTERNAL',
  503: 'UNAVAILABLE',
};

export function googleError(code: number, message: string): GeminiMockReply {
  return { kind: 'json', status: code, body: { error: { code, message, status: STATUS_NAMES[code] ?? 'UNKNOWN' } } };
}

/** A complete GenerateContentResponse with one candidate. */
export function geminiResponse(parts: readonly Json[], options: { model?: string; finishReason?: string; prompt?: number; output?: number } = {}): Json {
  const prompt = options.prompt ?? 10;
  const output = options.output ?? 5;
  return {
    candidates: [{ content: { role: 'model', parts }, finishReason: options.finishReason ?? 'STOP', index: 0 }],
    usageMetadata: { promptTokenCount: prompt, candidatesTokenCount: output, totalTokenCount: prompt + output },
    modelVersion: options.model ?? 'gemini-2.5-flash',
    responseId: 'mock-response',
  };
}

/** Splits a response into stream events: text parts word by word, other parts whole, finish and usage last. */
export function toStreamEvents(response: Json): Json[] {
  const candidates = Array.isArray(response.candidates) ? (response.candidates as Json[]) : [];
  const first = candidates[0];
  const header = { modelVersion: response.modelVersion, responseId: response.responseId };
  if (!first) return [response];
  const content = (first.content ?? {}) as Json;
  const parts = Array.isArray(content.parts) ? (content.parts as Json[]) : [];
  const events: Json[] = [];
  for (const part of parts) {
    const pieces = typeof part.text === 'string' ? (part.text.match(/\S+\s*|\s+/g) ?? []) : [null];
    for (const piece of pieces) {
      const eventPart = piece === null ? part : { ...part, text: piece };
      events.push({ candidates: [{ content: { role: 'model', parts: [eventPart] }, index: 0 }], ...header });
    }
  }
  events.push({ candidates: [{ content: { role: 'model', parts: [{ text: '' }] }, finishReason: first.finishReason, index: 0 }], usageMetadata: response.usageMetadata, ...header });
  return events;
}

const VERTEX_PATH = /^\/v1\/projects\/([^/]+)\/locations\/([^/]+)\/publishers\/google\/models\/([^/:]+):(generateContent|streamGenerateContent|countTokens|predict|embedContent)$/;
const GOOGLE_AI_PATH = /^\/v1beta\/models\/([^/:]+):(generateContent|streamGenerateContent|countTokens|batchEmbedContents)$/;

function send(response: ServerResponse, reply: GeminiMockReply, stream: boolean): void {
  if (reply.kind === 'raw') {
    response.writeHead(reply.status, { 'content-type': reply.contentType ?? 'text/html; charset=utf-8' });
    response.end(reply.body);
    return;
  }
  const status = reply.kind === 'json' ? (reply.status ?? 200) : 200;
  if (!stream || status !== 200) {
    response.writeHead(status, { 'content-type': 'application/json; charset=UTF-8' });
    response.end(JSON.stringify(reply.kind === 'json' ? reply.body : reply.events));
    return;
  }
  const events = reply.kind === 'sse' ? reply.events : toStreamEvents(reply.body as Json);
  const delimiter = reply.kind === 'sse' ? (reply.delimiter ?? '\r\n\r\n') : '\r\n\r\n';
  response.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache' });
  for (const event of events) response.write(`data: ${JSON.stringify(event)}${delimiter}`);
  response.end();
}

async function readBody(request: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of request) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}

/**
 * countTokens: Vertex takes `{contents, systemInstruction, tools}`, the Gemini API `{generateContentRequest: {model,
 * contents, ...}}` (or bare `contents`); answers `{totalTokens}`, one token per 4 characters of the counted JSON.
 */
function countTokens(body: unknown, record: GeminiMockRequest): GeminiMockReply {
  const json = typeof body === 'object' && body !== null ? (body as Json) : {};
  const request = record.surface === 'googleai' && typeof json.generateContentRequest === 'object' ? (json.generateContentRequest as Json) : json;
  if (record.surface === 'googleai' && request !== json && request.model !== `models/${record.model}`) return googleError(400, 'generateContentRequest.model must name the model of the path');
  if (!Array.isArray(request.contents) || request.contents.length === 0) return googleError(400, 'contents is not specified');
  const problem = validateGeminiRequest({ contents: request.contents, ...(request.systemInstruction ? { systemInstruction: request.systemInstruction } : {}), ...(request.tools ? { tools: request.tools } : {}) }, record.model);
  if (problem) return googleError(400, problem);
  const counted = ['systemInstruction', 'contents', 'tools'].map((key) => JSON.stringify(request[key] ?? '')).join('');
  return { kind: 'json', body: { totalTokens: Math.ceil(counted.length / 4) } };
}

export async function startGeminiMock(options: GeminiMockOptions = {}): Promise<GeminiMock> {
  const requests: GeminiMockRequest[] = [];
  const queue: GeminiMockReply[] = [];
  const respond = options.respond ?? respondLikeGemini;
  const server: Server = createServer((request, response) => {
    void (async () => {
      const url = new URL(request.url ?? '/', 'http://mock');
      const text = await readBody(request);
      const vertex = VERTEX_PATH.exec(url.pathname);
      const googleAi = GOOGLE_AI_PATH.exec(url.pathname);
      const match = vertex ?? googleAi;
      if (request.method !== 'POST' || !match) return send(response, googleError(404, `Not found: ${url.pathname}`), false);
      const method = vertex ? vertex[4] : googleAi?.[2];
      const stream = method === 'streamGenerateContent';
      let body: unknown;
      try {
        body = JSON.parse(text) as unknown;
      } catch {
        body = undefined;
      }
      const record: GeminiMockRequest = {
        surface: vertex ? 'vertex' : 'googleai',
        model: decodeURIComponent((vertex ? vertex[3] : googleAi?.[1]) ?? ''),
        stream,
        path: `${url.pathname}${url.search}`,
        headers: request.headers,
        body: typeof body === 'object' && body !== null && !Array.isArray(body) ? (body as Json) : {},
      };
      requests.push(record);
      if (vertex) {
        if (request.headers.authorization !== `Bearer ${options.accessToken ?? ''}` || !options.accessToken) {
          return send(response, googleError(401, 'Request had invalid authentication credentials. Expected OAuth 2 access token.'), false);
        }
        if ((options.projectId && vertex[1] !== options.projectId) || (options.region && vertex[2] !== options.region)) {
          return send(response, googleError(403, `Permission denied on resource project ${vertex[1]}.`), false);
        }
      } else {
        const key = request.headers['x-goog-api-key'];
        if (key === undefined) return send(response, googleError(403, "Method doesn't allow unregistered callers (callers without established identity)."), false);
        if (key !== options.apiKey) return send(response, googleError(400, 'API key not valid. Please pass a valid API key.'), false);
        if (request.headers.authorization !== undefined) return send(response, googleError(401, 'Request had invalid authentication credentials.'), false);
      }
      if (stream && url.searchParams.get('alt') !== 'sse') return send(response, googleError(400, 'this mock only streams with alt=sse'), false);
      if (method === 'countTokens') return send(response, countTokens(body, record), false);
      if (method === 'predict' || method === 'embedContent' || method === 'batchEmbedContents') {
        const json = record.body;
        const embedded = method === 'predict' ? vertexPredict(record.model, json) : method === 'embedContent' ? vertexEmbedContent(json) : googleBatchEmbed(record.model, json);
        return send(response, 'error' in embedded ? googleError(400, embedded.error) : (queue.shift() ?? { kind: 'json', body: embedded.answer }), false);
      }
      const problem = validateGeminiRequest(body, record.model);
      if (problem) return send(response, googleError(400, problem), false);
      send(response, queue.shift() ?? respond(record), stream);
    })().catch(() => {
      response.destroy();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    requests,
    enqueue: (reply) => {
      queue.push(reply);
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
