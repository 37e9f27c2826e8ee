/**
 * A mock Bedrock runtime on 127.0.0.1: Converse, ConverseStream, InvokeModel and InvokeModelWithResponseStream
 * for Claude, and InvokeModel for Titan and Cohere embeddings (embeddings-mock.ts). It checks the SigV4 signature of every request against the credentials it was given (403 like AWS
 * otherwise), rejects what Bedrock rejects (bedrock-validate.ts) with a ValidationException, and answers in the
 * real wire formats (JSON, binary event-stream frames written in split pieces).
 */
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { verifySigV4, type ExpectedCredentials, type VerifyResult } from '../helpers/sigv4-verify.js';
import {
  converseJson,
  converseStreamFrames,
  defaultReply,
  eventFrame,
  exceptionFrame,
  requestedServiceTier,
  invokeClaudeJson,
  invokeClaudeStreamFrames,
  type MockCall,
  type MockReply,
  type Operation,
} from './bedrock-replies.js';
import { validateConverseRequest, validateInvokeClaudeRequest } from './bedrock-validate.js';
import { bedrockEmbed } from './embeddings-mock.js';

export type { MockReply } from './bedrock-replies.js';

/** A scripted answer: a normal reply, an HTTP error, or (streams) an exception frame after `afterFrames` frames. */
export type ScriptedAnswer =
  | { reply: MockReply }
  | { error: { status: number; type: string; message: string } }
  | { exception: { type: string; message: string; afterFrames?: number } }
  /** Streams only: exactly these ConverseStream events (`:event-type`, JSON payload), e.g. to leave fields out. */
  | { events: Array<{ type: string; body: Record<string, unknown> }> };

export interface RecordedRequest {
  readonly method: string;
  readonly path: string;
  readonly headers: Readonly<Record<string, string | undefined>>;
  readonly body: unknown;
  readonly operation: Operation | undefined;
  readonly modelId: string | undefined;
  readonly signature: VerifyResult;
  /** The answer status. */
  status: number;
}

export interface BedrockMockOptions {
  /** Credentials (and region) the signature must verify against. */
  readonly credentials: Omit<ExpectedCredentials, 'service'>;
  /** Computes the reply when nothing is scripted (default: defaultReply). */
  readonly respond?: (call: MockCall) => MockReply;
}

export interface BedrockMock {
  readonly url: string;
  readonly requests: RecordedRequest[];
  /** Queues answers for the next requests, in order. */
  script(...answers: ScriptedAnswer[]): void;
  close(): Promise<void>;
}

const PATH = /^\/model\/([^/?]+)\/(converse|converse-stream|invoke|invoke-with-response-stream|count-tokens)$/;

function sendError(response: ServerResponse, status: number, type: string, message: string): void {
  const body = JSON.stringify({ message });
  response.writeHead(status, {
    'content-type': 'application/json',
    'x-amzn-errortype': `${type}:http://internal.amazon.com/coral/com.amazon.bedrock/`,
    'x-amzn-requestid': 'mock-request-id',
    'content-length': Buffer.byteLength(body),
  });
  response.end(body);
}

async function readBody(request: IncomingMessage): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of request) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}

/** Writes frames in two pieces each, so frames straddle socket writes. */
async function writeFrames(response: ServerResponse, frames: Uint8Array[]): Promise<void> {
  response.writeHead(200, { 'content-type': 'application/vnd.amazon.eventstream', 'x-amzn-requestid': 'mock-request-id' });
  for (const frame of frames) {
    const cut = Math.max(1, Math.floor(frame.length / 3));
    response.write(frame.subarray(0, cut));
    await new Promise((resolve) => setImmediate(resolve));
    response.write(frame.subarray(cut));
  }
  response.end();
}

/**
 * CountTokens: `{input: {invokeModel: {body: base64}}}` (the body checked like InvokeModel's) or `{input: {converse}}`;
 * answers `{"inputTokens": N}`, one token per 4 characters of the counted JSON.
 */
function countTokens(body: unknown, record: RecordedRequest, response: ServerResponse, fail: (status: number, type: string, message: string) => void): void {
  const input = typeof body === 'object' && body !== null ? (body as { input?: { invokeModel?: { body?: unknown }; converse?: unknown } }).input : undefined;
  let counted: unknown = input?.converse;
  if (typeof input?.invokeModel?.body === 'string') {
    try {
      counted = JSON.parse(Buffer.from(input.invokeModel.body, 'base64').toString('utf8')) as unknown;
    } catch {
      return fail(400, 'ValidationException', 'input.invokeModel.body is not a base64 JSON document');
    }
    const invalid = validateInvokeClaudeRequest(counted);
    if (invalid) return fail(400, 'ValidationException', invalid);
  }
  if (counted === undefined) return fail(400, 'ValidationException', 'input must set invokeModel or converse');
  const fields = counted as Record<string, unknown>;
  const inputTokens = Math.ceil(['system', 'messages', 'tools'].map((key) => JSON.stringify(fields[key] ?? '')).join('').length / 4);
  record.status = 200;
  const json = JSON.stringify({ inputTokens });
  response.writeHead(200, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(json) });
  response.end(json);
}

export async function startBedrockMock(options: BedrockMockOptions): Promise<BedrockMock> {
  const requests: RecordedRequest[] = [];
  const queue: ScriptedAnswer[] = [];
  const respond = options.respond ?? defaultReply;

  const handle = async (request: IncomingMessage, response: ServerResponse): Promise<void> => {
    const raw = await readBody(request);
    const path = request.url ?? '/';
    const headers: Record<string, string | undefined> = {};
    for (const [name, value] of Object.entries(request.headers)) headers[name] = Array.isArray(value) ? value.join(',') : value;
    const match = PATH.exec(path);
    const operation = match?.[2] as Operation | undefined;
    const modelId = match ? decodeURIComponent(match[1] as string) : undefined;
    const signature = await verifySigV4({ method: request.method ?? 'GET', path, headers, body: new Uint8Array(raw) }, options.credentials);
    let body: unknown;
    try {
      body = raw.length > 0 ? (JSON.parse(raw.toString('utf8')) as unknown) : undefined;
    } catch {
      body = undefined;
    }
    const record: RecordedRequest = { method: request.method ?? '', path, headers, body, operation, modelId, signature, status: 0 };
    requests.push(record);
    const fail = (status: number, type: string, message: string): void => {
      record.status = status;
      sendError(response, status, type, message);
    };

    if (!signature.ok) return fail(403, 'InvalidSignatureException', `The request signature we calculated does not match the signature you provided (${signature.reason}).`);
    if (request.method !== 'POST' || !operation || !modelId) return fail(404, 'UnknownOperationException', `unknown operation ${request.method} ${path}`);
    if (body === undefined) return fail(400, 'ValidationException', 'Malformed input request, please reformat your input and try again.');
    if (operation === 'count-tokens') return countTokens(body, record, response, fail);
    const embedded = operation === 'invoke' ? bedrockEmbed(modelId, body as Record<string, unknown>) : undefined;
    if (embedded) {
      if (embedded.status !== 200) return fail(embedded.status, 'ValidationException', String(embedded.body.message));
      record.status = 200;
      const json = JSON.stringify(embedded.body);
      response.writeHead(200, { 'content-type': 'application/json', 'x-amzn-requestid': 'mock-request-id', 'content-length': Buffer.byteLength(json), ...embedded.headers });
      response.end(json);
      return;
    }
    const invalid = operation.startsWith('invoke') ? validateInvokeClaudeRequest(body) : validateConverseRequest(body);
    if (invalid) return fail(400, 'ValidationException', invalid);

    const scripted = queue.shift();
    if (scripted && 'error' in scripted) return fail(scripted.error.status, scripted.error.type, scripted.error.message);
    const call: MockCall = { operation, modelId, body: body as Record<string, unknown> };
    const answered = scripted && 'reply' in scripted ? scripted.reply : respond(call);
    const tier = requestedServiceTier(call);
    const reply = tier === undefined || answered.serviceTier !== undefined ? answered : { ...answered, serviceTier: tier };
    if (scripted && 'events' in scripted) {
      await writeFrames(response, scripted.events.map((entry) => eventFrame(entry.type, entry.body)));
      return;
    }
    record.status = 200;
    if (operation === 'converse' || operation === 'invoke') {
      const json = JSON.stringify(operation === 'converse' ? converseJson(reply) : invokeClaudeJson(reply, modelId));
      response.writeHead(200, { 'content-type': 'application/json', 'x-amzn-requestid': 'mock-request-id', 'content-length': Buffer.byteLength(json) });
      response.end(json);
      return;
    }
    let frames = operation === 'converse-stream' ? converseStreamFrames(reply) : invokeClaudeStreamFrames(reply, modelId);
    if (scripted && 'exception' in scripted) {
      frames = [...frames.slice(0, scripted.exception.afterFrames ?? 0), exceptionFrame(scripted.exception.type, scripted.exception.message)];
    }
    await writeFrames(response, frames);
  };

  const server = createServer((request, response) => {
    handle(request, response).catch((error: unknown) => {
      if (!response.headersSent) sendError(response, 500, 'InternalServerException', String(error));
      else response.destroy();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    requests,
    script: (...answers) => queue.push(...answers),
    close: () =>
      new Promise<void>((resolve, reject) => {
        server.closeAllConnections();
        server.close((error) => (error ? reject(error) : resolve()));
      }),
  };
}
