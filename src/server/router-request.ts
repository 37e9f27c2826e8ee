/**
 * Router-level request phase: request headers (path, method, content-type, size) and the buffered request
 * body (parse, model, routing header, costs; with upstreamFilter: false also translation and credentials).
 */
import { isUtf8 } from 'node:buffer';
import { GatewayError } from '../core/errors.js';
import { isRecord, nestsDeeperThan, safeParseJson } from '../core/json.js';
import { outlineJson } from '../core/json-outline.js';
import type { ProcessingResponse } from './ext-proc-types.js';
import { isJsonContentType, findEndpoint, clientApiForPath } from './endpoints.js';
import { recoverMaybe, type MaybePromise } from './processor.js';
import type { Exchange, ParsedRequest } from './exchange.js';
import { HeaderChanges } from './headers.js';
import { answer, gatewayErrorReply, immediateError, immediateJson, METADATA_NAMESPACE } from './responses.js';
import { requestPhaseCosts, zeroCosts } from './accounting.js';
import { buildAttempt, pickBackendRef } from './upstream-request.js';
import { anthropicModelsList } from './anthropic-local.js';
import { countTokensReply } from './count-tokens-local.js';
import { openAIModelsList } from './models-list.js';
import { validateAnthropicRequest } from '../translators/anthropic-ingress/validate-request.js';
import { checkRequestLimits } from './request-limits.js';
import { lookupTranslator } from '../translators/table.js';
import type { ModelConfig } from '../config/schema.js';
import type { RuntimeConfig } from '../config/load.js';

export const MODEL_HEADER = 'x-ai-eg-model';
export const BACKEND_HEADER = 'x-ai-eg-backend';
/** Metadata key under io.envoy.ai_gateway carrying the exchange id to the upstream-level streams. */
export const EXCHANGE_ID_KEY = 'llm_extproc_exchange_id';
/** Deeper request JSON is refused: no real request nests this far, and translators walk bodies recursively. */
export const MAX_JSON_DEPTH = 128;

export function onRequestHeaders(exchange: Exchange, headers: Map<string, string>, endOfStream: boolean): ProcessingResponse {
  exchange.originalHeaders = headers;
  exchange.path = headers.get(':path') ?? '';
  const method = (headers.get(':method') ?? '').toUpperCase();
  const endpoint = findEndpoint(exchange.path);
  const api = endpoint?.clientApi ?? clientApiForPath(exchange.path);
  // client_api: Envoy's local_reply_config answers its own errors in this API's shape (src/envoy/local-reply.ts).
  const metadata = { [EXCHANGE_ID_KEY]: exchange.id, client_api: api, ...zeroCosts(exchange) };
  const fail = (status: number, message: string, code: string, extra: Record<string, string> = {}) => {
    exchange.localReply = true;
    return immediateError(api, { status, message, code }, { headers: extra, metadata: zeroCosts(exchange), details: `llm_extproc_${code}` });
  };
  if (!endpoint) return fail(404, `unsupported path: ${exchange.path.split('?')[0]}`, 'unsupported_path');
  exchange.endpoint = endpoint;
  if (method !== endpoint.method) return fail(405, `method ${method} is not allowed on ${exchange.path.split('?')[0]}`, 'method_not_allowed', { allow: endpoint.method });
  if (endpoint.local === 'models') {
    exchange.localReply = true;
    const list = endpoint.clientApi === 'anthropic' ? anthropicModelsList(exchange.config.models.keys(), new Date()) : openAIModelsList(exchange.config, exchange.translators, new Date());
    return immediateJson(200, list, { metadata: zeroCosts(exchange), details: 'llm_extproc_models' });
  }
  const contentType = headers.get('content-type');
  if (contentType !== undefined && contentType !== '' && !isJsonContentType(contentType)) {
    return fail(400, `unsupported content-type "${contentType.slice(0, 100)}": the body must be application/json`, 'unsupported_content_type');
  }
  const declaredLength = Number(headers.get('content-length') ?? '0');
  if (declaredLength > exchange.config.file.limits.maxRequestBodyBytes) {
    return fail(413, `request body of ${declaredLength} bytes exceeds the limit of ${exchange.config.file.limits.maxRequestBodyBytes} bytes`, 'request_too_large');
  }
  if (endOfStream) return fail(400, 'a JSON request body is required', 'missing_body');
  return answer('request_headers', { metadata });
}

/** Every backend the model may use has a token-counting translator (else the count is a local estimate). */
function providerCountsTokens(exchange: Exchange, model: ModelConfig): boolean {
  const clientApi = exchange.endpoint?.clientApi;
  const operation = exchange.endpoint?.operation;
  if (clientApi === undefined || operation === undefined) return false;
  const refs = model.backends.filter((ref) => ref.weight > 0);
  return refs.length > 0 && refs.every((ref) => {
    const schema = exchange.config.backends.get(ref.backend)?.schema;
    return schema !== undefined && lookupTranslator(exchange.translators, clientApi, operation, schema) !== undefined;
  });
}

/**
 * The answer to the request body: synchronous with the upstream filter (the attempt is built per upstream stream);
 * in router-only mode it waits for the attempt's credential. A problem with the request is answered in the client's
 * format; anything else throws (or rejects).
 */
export function onRequestBody(exchange: Exchange, body: Uint8Array): MaybePromise<ProcessingResponse> {
  return recoverMaybe(
    () => handleBody(exchange, body),
    (error) => {
      exchange.localReply = true;
      if (!GatewayError.isInstance(error)) throw error;
      return gatewayErrorReply(exchange.endpoint?.clientApi ?? 'openai', error, zeroCosts(exchange));
    },
  );
}

/** The body as an object, or the 400 JSON.parse's verdict gives. */
function parseBody(rawBody: Uint8Array): Readonly<Record<string, unknown>> {
  const parsed = safeParseJson(rawBody);
  if (!parsed.ok) throw new GatewayError('ERR_MALFORMED_REQUEST', `malformed request: invalid JSON: ${parsed.error}`);
  if (!isRecord(parsed.value)) throw new GatewayError('ERR_MALFORMED_REQUEST', 'malformed request: the body must be a JSON object');
  return parsed.value;
}

/** From this size the outline is read for any OpenAI-API body: it costs a fraction of a whole parse (2 MB: ~0.8 ms against ~3.6 ms). */
export const OUTLINE_MIN_BODY_BYTES = 16 * 1024;
/** Schemas whose requests are the client's bytes with top-level edits (src/translators/openai/build-openai-request.ts). */
const BYTE_EDIT_SCHEMAS: ReadonlySet<string> = new Set(['OpenAI', 'AzureOpenAI']);
const byteEditOnly = new WeakMap<RuntimeConfig, boolean>();

/** Every backend of the config sends the client's bytes (no translator parses the body): the outline always pays. */
function onlyByteEdits(config: RuntimeConfig): boolean {
  let only = byteEditOnly.get(config);
  if (only === undefined) {
    only = [...config.backends.values()].every((backend) => BYTE_EDIT_SCHEMAS.has(backend.schema));
    byteEditOnly.set(config, only);
  }
  return only;
}

/** Every backend this model may go to sends the client's bytes: an attempt never reads the parsed body. */
function modelOnlyByteEdits(config: RuntimeConfig, model: ModelConfig): boolean {
  return model.backends.every((ref) => BYTE_EDIT_SCHEMAS.has(config.backends.get(ref.backend)?.schema ?? ''));
}

/**
 * What the router phase reads of the body. For the OpenAI API, its outline (src/core/json-outline.ts): the checks
 * read structure, counts, numbers and top-level values only, and a passthrough never parses the whole body. Small
 * bodies are parsed whole when a translator may need them anyway (the outline and a whole parse cost about the same
 * there). The Messages API's checks read text: its bodies are parsed whole. An outline that does not parse means
 * the body does not either: the whole parse then gives the error.
 */
function bodyShape(exchange: Exchange, rawBody: Uint8Array): { shape: unknown; whole: boolean } {
  const outlined = exchange.endpoint?.clientApi !== 'anthropic' && (rawBody.length >= OUTLINE_MIN_BODY_BYTES || onlyByteEdits(exchange.config));
  if (outlined) {
    const text = outlineJson(rawBody);
    if (text !== undefined) {
      const outline = safeParseJson(text);
      if (outline.ok) return { shape: outline.value, whole: false };
    }
  }
  return { shape: parseBody(rawBody), whole: true };
}

/**
 * The body bytes an exchange keeps until its response ends, in memory of their own when they are a small view into a
 * larger buffer. A gRPC message under 4 KiB is a slice of Node's shared 8 KiB allocation pool, so a held 2 KB body
 * would keep a whole pool slab (and the other messages in it) alive for as long as the response takes. Large
 * bodies have a buffer of their own already and are not copied.
 */
export function ownedBytes(view: Uint8Array): Uint8Array {
  if (view.byteLength * 2 > view.buffer.byteLength) return view;
  return new Uint8Array(view);
}

/** The request as the router phase read it. The whole body is parsed on the first read of `body` (a translator, a reserve estimate, a span); an OpenAI passthrough never reads it. */
class RouterRequest implements ParsedRequest {
  constructor(
    readonly rawBody: Uint8Array,
    private parsedBody: Readonly<Record<string, unknown>> | undefined,
    readonly requestModel: string,
    readonly model: ModelConfig,
    readonly stream: boolean,
    readonly clientWantsUsage: boolean,
  ) {}

  get body(): Readonly<Record<string, unknown>> {
    return (this.parsedBody ??= parseBody(this.rawBody));
  }

  /**
   * Lets the parsed body go (read again from the raw bytes if anything asks): an exchange waiting for its response
   * then keeps the raw body only, which every attempt to a backend that sends the client's bytes is built from.
   */
  releaseParsedBody(): void {
    this.parsedBody = undefined;
  }
}

function handleBody(exchange: Exchange, rawBody: Uint8Array): MaybePromise<ProcessingResponse> {
  const limit = exchange.config.file.limits.maxRequestBodyBytes;
  if (rawBody.length > limit) {
    throw new GatewayError('ERR_PAYLOAD_TOO_LARGE', `request body of ${rawBody.length} bytes exceeds the limit of ${limit} bytes`);
  }
  // JSON must be UTF-8 (RFC 8259 §8.1); a lenient decode would route on text that differs from the bytes sent upstream.
  if (!isUtf8(rawBody)) throw new GatewayError('ERR_MALFORMED_REQUEST', 'malformed request: the body is not valid UTF-8');
  if (nestsDeeperThan(rawBody, MAX_JSON_DEPTH)) {
    throw new GatewayError('ERR_MALFORMED_REQUEST', `malformed request: JSON nested deeper than ${MAX_JSON_DEPTH} levels`);
  }
  const { shape, whole } = bodyShape(exchange, rawBody);
  if (!isRecord(shape)) throw new GatewayError('ERR_MALFORMED_REQUEST', 'malformed request: the body must be a JSON object');
  const requestModel = shape['model'];
  if (typeof requestModel !== 'string' || requestModel === '') {
    throw new GatewayError('ERR_MALFORMED_REQUEST', 'malformed request: `model` is required and must be a string', { param: 'model' });
  }
  // What the Messages API would refuse is refused here, in its error shape, before routing or translating.
  if (exchange.endpoint?.clientApi === 'anthropic') {
    const problem = validateAnthropicRequest(shape, exchange.endpoint.local === 'count_tokens');
    if (problem) throw new GatewayError('ERR_MALFORMED_REQUEST', problem.message, { param: problem.param });
  }
  const model = exchange.config.models.get(requestModel);
  if (!model) {
    throw new GatewayError('ERR_UNKNOWN_MODEL', `The model \`${requestModel.slice(0, 200)}\` does not exist or is not configured`, { param: 'model' });
  }
  // Before anything is counted, reserved, translated or forwarded.
  checkRequestLimits(shape, exchange.config.file.limits, model);
  if (exchange.endpoint?.local === 'count_tokens' && !providerCountsTokens(exchange, model)) return countTokensReply(exchange, model, requestModel, whole ? shape : parseBody(rawBody));
  // OpenAI's `stream` is boolean or null (null: the default, false).
  if (shape['stream'] !== undefined && shape['stream'] !== null && typeof shape['stream'] !== 'boolean') {
    throw new GatewayError('ERR_MALFORMED_REQUEST', 'malformed request: `stream` must be a boolean', { param: 'stream' });
  }
  const streamOptions = shape['stream_options'];
  const operation = exchange.endpoint?.operation;
  const stream = shape['stream'] === true && operation !== 'embeddings' && exchange.endpoint?.local !== 'count_tokens';
  const clientWantsUsage = isRecord(streamOptions) && streamOptions['include_usage'] === true;
  const request = new RouterRequest(ownedBytes(rawBody), whole ? shape : undefined, requestModel, model, stream, clientWantsUsage);
  exchange.request = request;
  exchange.span?.request({ model: requestModel, body: request.body, stream });

  const answered = (reply: ProcessingResponse): ProcessingResponse => {
    if (modelOnlyByteEdits(exchange.config, model)) request.releaseParsedBody();
    return reply;
  };
  if (!exchange.config.file.envoy.upstreamFilter) return answerWithAttempt(exchange, model).then(answered);
  const headers = new HeaderChanges().set(MODEL_HEADER, requestModel).remove(BACKEND_HEADER);
  return answered(answer('request_body', { headers, clearRouteCache: true, metadata: requestPhaseCosts(exchange) }));
}

/** Router-only mode: the backend is chosen here and the request translated in this answer. */
async function answerWithAttempt(exchange: Exchange, model: ModelConfig): Promise<ProcessingResponse> {
  const ref = pickBackendRef(model);
  const backend = exchange.config.backends.get(ref.backend);
  if (!backend) throw new GatewayError('ERR_INTERNAL', `model ${model.name} names unknown backend ${ref.backend}`);
  const built = await buildAttempt(exchange, backend, ref);
  exchange.startAttempt(built.attempt);
  built.headers.set(MODEL_HEADER, model.name);
  built.headers.set(BACKEND_HEADER, backend.name);
  // The provider's side of the trace continues from this request's span.
  exchange.span?.inject(built.headers);
  // A buffered body replaced with header mode SEND: content-length must match in the same answer.
  built.headers.set('content-length', String(built.body.length));
  return answer('request_body', {
    headers: built.headers,
    body: built.body,
    clearRouteCache: true,
    metadata: { ...requestPhaseCosts(exchange, backend.name), backend_name: backend.name, model_name_override: built.attempt.ctx.upstreamModel },
  });
}

/** Reads the exchange id the router-level stream wrote, from the metadata Envoy forwards. */
export function exchangeIdFromMetadata(filterMetadata: Record<string, { fields?: Record<string, { stringValue?: string }> }> | undefined): string | undefined {
  return filterMetadata?.[METADATA_NAMESPACE]?.fields?.[EXCHANGE_ID_KEY]?.stringValue;
}
