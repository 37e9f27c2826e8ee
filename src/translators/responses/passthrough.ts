/**
 * The Responses API on OpenAI and Azure OpenAI, which serve it themselves: the client's body goes upstream with
 * only `model` replaced (modelNameOverride; on Azure, the deployment name), to
 * - OpenAI (and OpenAI-compatible servers that implement it): `<prefix>/responses`;
 * - Azure OpenAI: the v1 API, `/openai/v1/responses` (no api-version: the v1 API takes none; the deployment is
 *   named by `model`, the api-key or Entra token is injected as for chat).
 * Stateful fields (previous_response_id, conversation, background, hosted tools) are the provider's business.
 *
 * Answers pass through unchanged (streams as whole events). They are read for the response model and usage:
 * a buffered response's `usage`; in a stream, the response inside whichever terminal event ends it
 * (`response.completed`, `response.incomplete` or `response.failed`), cached and reasoning tokens included.
 * Delta text is counted as delivered, so a stream cut before its terminal event is charged what had arrived
 * (the same local count a cut chat stream gets). A cut stream also gets an `error` event appended, so the client
 * does not take it for a finished one. `response.failed` and `error` events are reported as the stream's error.
 * @see https://platform.openai.com/docs/api-reference/responses
 * @see https://learn.microsoft.com/azure/ai-foundry/openai/api-version-lifecycle
 */
import type { ErrorShape } from '../../core/errors.js';
import { asString, isRecord, safeParseJson, utf8 } from '../../core/json.js';
import { encodeSseEvent, forwardWholeItems, SseDecoder, type SseItem } from '../../core/sse.js';
import type { TokenUsage } from '../../core/usage.js';
import { buildOpenAIBody } from '../openai/build-openai-request.js';
import { convertOpenAIError } from '../openai/convert-openai-error.js';
import { responseModelOf } from '../openai/convert-openai-response.js';
import type { RequestContext, ResponseResult, StreamStep, StreamTranslator, Translator } from '../types.js';
import { convertResponsesUsage } from './response-object.js';

type Json = Record<string, unknown>;

/** Terminal events: each carries the final `response`, usage included. */
const TERMINAL_EVENTS = new Set(['response.completed', 'response.incomplete', 'response.failed']);

/** Events whose `delta` is text the client receives (counted when no usage arrives). */
const DELTA_EVENTS = new Set([
  'response.output_text.delta',
  'response.refusal.delta',
  'response.function_call_arguments.delta',
  'response.reasoning_text.delta',
  'response.reasoning_summary_text.delta',
]);

/** A buffered Responses body: unchanged; usage and model read. */
export function readResponsesBody(body: Uint8Array): ResponseResult {
  if (body.length === 0) return { body: undefined, usage: undefined, error: { status: 502, message: 'upstream answered with an empty body', code: 'upstream_invalid_response' } };
  const parsed = safeParseJson(body);
  if (!parsed.ok || !isRecord(parsed.value)) return { body: undefined, usage: undefined };
  const model = responseModelOf(parsed.value);
  return { body: undefined, usage: convertResponsesUsage(parsed.value.usage), ...(model === undefined ? {} : { responseModel: model }) };
}

export class ResponsesPassthroughStream implements StreamTranslator {
  private readonly decoder: SseDecoder;
  private usage: TokenUsage | undefined;
  private model: string | undefined;
  private terminated = false;
  private lastSequence = -1;

  constructor(ctx: RequestContext) {
    this.decoder = new SseDecoder({ keepRaw: true, maxEventBytes: ctx.maxStreamEventBytes });
  }

  push(chunk: Uint8Array): StreamStep {
    const heldBefore = this.decoder.heldBytes;
    const items = this.decoder.push(chunk);
    const seen = this.read(items);
    return this.step(forwardWholeItems(chunk, rawOf(items), heldBefore, this.decoder.heldBytes), seen.text, seen.error);
  }

  /** An unfinished last event is read but not forwarded (clients discard it; it must not run into the error event). */
  end(): StreamStep {
    const items = this.decoder.end();
    const seen = this.read(items);
    const finished = rawOf(items.filter((item) => !item.unterminated));
    let body: Uint8Array = finished.length === 0 ? new Uint8Array(0) : Buffer.concat(finished);
    let error = seen.error;
    if (!this.terminated && error === undefined) {
      error = { status: 502, message: 'upstream stream ended before the response was complete', code: 'upstream_stream_truncated' };
      const event = { type: 'error', code: error.code, message: error.message, param: null, sequence_number: this.lastSequence + 1 };
      body = Buffer.concat([body, utf8(encodeSseEvent({ event: 'error', data: JSON.stringify(event) }))]);
    }
    return this.step(body, seen.text, error);
  }

  private step(body: Uint8Array, text: string, error: ErrorShape | undefined): StreamStep {
    return {
      body,
      usage: this.usage,
      ...(this.model === undefined ? {} : { responseModel: this.model }),
      ...(text === '' ? {} : { deliveredText: text }),
      ...(error === undefined ? {} : { error }),
    };
  }

  private read(items: readonly SseItem[]): { text: string; error: ErrorShape | undefined } {
    let text = '';
    let error: ErrorShape | undefined;
    for (const item of items) {
      if (item.type !== 'event' || item.data.trim() === '') continue;
      const parsed = safeParseJson(item.data);
      if (!parsed.ok || !isRecord(parsed.value)) continue;
      const event = parsed.value;
      const type = asString(event.type) ?? item.event ?? '';
      if (typeof event.sequence_number === 'number') this.lastSequence = Math.max(this.lastSequence, event.sequence_number);
      if (DELTA_EVENTS.has(type)) text += asString(event.delta) ?? '';
      if (TERMINAL_EVENTS.has(type)) error ??= this.onTerminal(type, event);
      else if (type === 'error') {
        this.terminated = true;
        const code = asString(event.code) ?? null;
        error ??= { status: statusForResponsesErrorCode(code), message: asString(event.message) ?? 'upstream stream reported an error', code };
      } else if (type === 'response.created' && isRecord(event.response)) this.model ??= responseModelOf(event.response);
    }
    return { text, error };
  }

  /** Usage and model of the final response; a failed response is reported as the stream's error (for metrics). */
  private onTerminal(type: string, event: Json): ErrorShape | undefined {
    this.terminated = true;
    const response = isRecord(event.response) ? event.response : {};
    this.usage = convertResponsesUsage(response.usage) ?? this.usage;
    this.model = responseModelOf(response) ?? this.model;
    if (type !== 'response.failed') return undefined;
    const failure = isRecord(response.error) ? response.error : {};
    const code = asString(failure.code) ?? null;
    return { status: statusForResponsesErrorCode(code), message: asString(failure.message) ?? 'the response failed', code };
  }
}

/**
 * The HTTP status a Responses error code stands for, for metrics and logs (the client gets the event as it came):
 * `rate_limit_exceeded` 429; the prompt and image codes (`invalid_prompt`, `invalid_image*`, `image_*`,
 * `empty_image_file`, `unsupported_image_media_type`, `failed_to_download_image`) 400; anything else 500.
 * @see https://platform.openai.com/docs/api-reference/responses/object (error.code)
 */
export function statusForResponsesErrorCode(code: string | null): number {
  if (code === 'rate_limit_exceeded') return 429;
  if (code === null) return 500;
  if (code.startsWith('invalid_') || code.startsWith('image_') || code === 'empty_image_file' || code === 'unsupported_image_media_type' || code === 'failed_to_download_image') return 400;
  return 500;
}

function rawOf(items: readonly SseItem[]): Uint8Array[] {
  const parts: Uint8Array[] = [];
  for (const item of items) if (item.raw && item.raw.length > 0) parts.push(item.raw);
  return parts;
}

/** `${prefix}/responses` (OpenAI and OpenAI-compatible). */
export function openAIResponsesPath(ctx: RequestContext): string {
  return `${ctx.backend.prefix.replace(/\/+$/, '')}/responses`;
}

/** Azure OpenAI's v1 API: no deployment in the path, no api-version. */
export function azureResponsesPath(): string {
  return '/openai/v1/responses';
}

export function createResponsesPassthrough(path: (ctx: RequestContext) => string): Translator {
  return {
    // `model` replaced when overridden; stream_options is not a chat-style usage switch here (usage always comes).
    request: (ctx) => ({ path: path(ctx), body: buildOpenAIBody({ ...ctx, forceIncludeUsage: false }), setHeaders: { 'content-type': 'application/json' }, removeHeaders: [] }),
    response: (_ctx, body) => readResponsesBody(body),
    error: (_ctx, status, body, headers) => convertOpenAIError(status, body, headers),
    stream: (ctx) => new ResponsesPassthroughStream(ctx),
  };
}
