/**
 * Router-level response phase: response headers (mode override to STREAMED for a streaming 200), buffered
 * bodies (translate or pass through, errors into the client's format) and streamed chunks (translated in
 * order, usage carried across chunks). Dynamic metadata is written with the answer to the last message.
 */
import { setImmediate as nextTurn } from 'node:timers/promises';
import { createStreamDecoder, decodeBody, isSupportedEncoding, type StreamDecoder } from '../core/content-decoding.js';
import { errorBodyFor, type ErrorShape } from '../core/errors.js';
import { describeBytes, LimitExceededError, type LimitReason } from '../core/limit-error.js';
import type { StreamStep, StreamTranslator, Warning } from '../translators/types.js';
import type { ProcessingResponse } from './ext-proc-types.js';
import type { Exchange } from './exchange.js';
import { HeaderChanges } from './headers.js';
import { answer, immediateError, STREAMED_RESPONSE_MODE, type MetadataValues } from './responses.js';
import type { ServiceError } from './error-report.js';
import { countDelivered } from './accounting.js';
import type { StreamScrubber } from '../core/secret-scrubber.js';
import { EventTextScrubber } from '../core/event-text-scrubber.js';
import type { DecodedSseItem } from '../core/sse.js';
import { deliveredTextOf } from './delivered-text.js';
import { anthropicClientError } from '../translators/anthropic-ingress/anthropic-error.js';
import { convertOpenAIError } from '../translators/openai/convert-openai-error.js';
import { TOKEN_COUNT_HEADER } from '../translators/anthropic-ingress/count-tokens.js';

/** What the response side reports back to the processor. */
export interface ResponseHooks {
  /** Metadata for the final answer; also records metrics. */
  finish(errorType: string | undefined): MetadataValues;
  /** Running metadata for a stream chunk, or undefined when it is not time to write it yet. */
  running(): MetadataValues | undefined;
  warn(warnings: readonly Warning[] | undefined): void;
  /** The service replaced the upstream's answer with an error of its own (logged and counted once). */
  serviceError(error: ServiceError): void;
}

const OPENAI_FAMILY = new Set(['OpenAI', 'AzureOpenAI']);

/**
 * A streamed chunk is translated in slices of at most this many (decoded) bytes, one slice per turn of the event
 * loop: a chunk that inflates to megabytes of small events never holds up other requests for long. The work for
 * one event is bounded by limits.maxStreamEventBytes.
 */
export const STREAM_SLICE_BYTES = 256 * 1024;

/** The config key behind each limit a stream can pass, named in the error the client gets. */
const STREAM_LIMIT_KEYS: Record<LimitReason, string> = {
  upstream_decompressed_too_large: 'maxDecompressedBodyBytes',
  upstream_event_too_large: 'maxStreamEventBytes',
  upstream_response_too_large: 'maxResponseBodyBytes',
};

/** JSON or HTML: a complete document, never an event stream. */
function isDocumentContentType(contentType: string | undefined): boolean {
  const mediaType = contentType?.split(';')[0]?.trim().toLowerCase() ?? '';
  return mediaType === 'application/json' || mediaType.endsWith('+json') || mediaType === 'text/html';
}

/** AWS event streams are binary frames: bytes cannot be replaced inside them. */
function isBinaryStream(contentType: string | undefined, schema: string): boolean {
  return schema === 'AWSBedrock' || schema === 'AWSAnthropic' || (contentType ?? '').toLowerCase().includes('eventstream');
}

/** One chunk's translation: the output parts, whether it is the input unchanged, and its decoded SSE items. */
interface TranslatedChunk {
  parts: Uint8Array[];
  unchanged: boolean;
  /** The SSE items of parts[0] as the translator decoded them (while it is the only part). */
  events: readonly DecodedSseItem[] | undefined;
}

const EMPTY = new Uint8Array(0);
const NO_HEADERS: ReadonlyMap<string, string> = new Map();

export class ResponseSide {
  private status = 0;
  private encoding: string | undefined;
  private decoder: StreamDecoder | undefined;
  private streamTranslator: StreamTranslator | undefined;
  /** The response headers, once they arrived (none before: a held stream carries no map of its own). */
  private headers: ReadonlyMap<string, string> = NO_HEADERS;
  private errored: ErrorShape | undefined;
  /** A streamed body failed to decode; later chunks are dropped. */
  private streamBroken = false;
  /** Backend credentials out of the streamed body (one per response; holds back a possible secret's start). */
  private streamScrubber: StreamScrubber | undefined;
  /** Backend credentials split across the client-bound stream's events (the text the client joins). */
  private eventScrubber: EventTextScrubber | undefined;
  /** The same, on the upstream's text stream before translation. */
  private inputScrubber: StreamScrubber | undefined;
  /** The stream ended before the response did: stop translating slices still queued. */
  private abandoned = false;

  constructor(
    private readonly exchange: Exchange,
    private readonly hooks: ResponseHooks,
  ) {}

  /** True once the response body was switched to STREAMED. */
  get isStreaming(): boolean {
    return this.streamTranslator !== undefined;
  }

  /** The service's own replies (and responses with no attempt) pass through untranslated. */
  private get passThrough(): boolean {
    return this.exchange.localReply || this.exchange.attempt === undefined;
  }

  onHeaders(headers: Map<string, string>, endOfStream: boolean): ProcessingResponse {
    this.headers = headers;
    this.status = Number(headers.get(':status') ?? '0');
    this.exchange.responseStatus = this.status;
    const encoding = headers.get('content-encoding');
    this.encoding = encoding && isSupportedEncoding(encoding) ? encoding : undefined;
    // An upstream may echo our credentials in a response header too.
    const changes = this.scrubbedHeaders(headers);
    const headerAnswer = (parts: Parameters<typeof answer>[1] = {}) => answer('response_headers', { headers: changes, ...parts });
    if (endOfStream) {
      if (!this.passThrough && this.status >= 200 && this.status < 300) return this.emptySuccess();
      if (this.translatesErrors) return this.errorWithoutBody(changes);
      return headerAnswer({ metadata: this.hooks.finish(this.errorType()) });
    }
    const attempt = this.exchange.attempt;
    if (this.passThrough || !attempt) return headerAnswer();
    if (!(this.exchange.request?.stream && this.status === 200)) return headerAnswer();
    // A streaming request answered with a JSON or HTML document (an error, a proxy page): read it whole instead.
    if (isDocumentContentType(headers.get('content-type'))) return headerAnswer();

    // A streaming 200: switch the response body to STREAMED; content-length no longer holds.
    changes.remove('content-length');
    if (this.encoding) {
      changes.remove('content-encoding');
      this.decoder = createStreamDecoder(this.encoding, { maxOutputBytes: this.exchange.config.file.limits.maxDecompressedBodyBytes });
    }
    if (!OPENAI_FAMILY.has(attempt.backend.schema)) changes.set('content-type', attempt.translator.streamContentType ?? 'text/event-stream');
    this.streamTranslator = attempt.translator.stream(attempt.ctx, headers);
    const streamApi = this.exchange.endpoint?.operation === 'responses' ? 'responses' : (this.exchange.endpoint?.clientApi ?? 'openai');
    this.eventScrubber = new EventTextScrubber(this.exchange.scrubber, streamApi);
    // Text streams (SSE) are scrubbed before translating as well, so no excerpt can keep part of a secret;
    // binary AWS event streams are not (their frames are length-prefixed and checksummed).
    if (!isBinaryStream(headers.get('content-type'), attempt.backend.schema)) this.inputScrubber = this.exchange.scrubber.stream();
    return headerAnswer({ modeOverride: STREAMED_RESPONSE_MODE });
  }

  /** Response headers whose values hold a credential, set again with it replaced. */
  private scrubbedHeaders(headers: Map<string, string>): HeaderChanges {
    const changes = new HeaderChanges();
    const scrubber = this.exchange.scrubber;
    if (scrubber.isEmpty) return changes;
    for (const [name, value] of headers) {
      if (!name.startsWith(':') && scrubber.containedIn(value)) changes.set(name, scrubber.scrubText(value));
    }
    return changes;
  }

  /** The bytes for the client, scrubbed of this exchange's backend credentials (a stream's held-back tail included). */
  private scrubStreamed(bytes: Uint8Array, last: boolean): Uint8Array {
    this.streamScrubber ??= this.exchange.scrubber.stream();
    const out = this.streamScrubber.push(bytes);
    if (!last) return out;
    const tail = this.streamScrubber.end();
    return tail.length === 0 ? out : Buffer.concat([out, tail]);
  }

  /**
   * Error statuses of requests routed to a backend are always answered in the client's error format, even when
   * they come from somewhere the translators never saw (an Envoy local reply with no attempt) or carry no body.
   */
  private get translatesErrors(): boolean {
    return this.status >= 400 && !this.exchange.localReply && this.exchange.request !== undefined;
  }

  /** The client's error body for an upstream error body (any content, also empty), and its status. */
  private clientError(body: Uint8Array): { body: Uint8Array; status: number } {
    const attempt = this.exchange.attempt;
    const api = this.exchange.endpoint?.clientApi ?? 'openai';
    const translated = attempt
      ? attempt.translator.error(attempt.ctx, this.status, body, this.headers)
      : api === 'anthropic'
        ? anthropicClientError(this.status, body, this.headers)
        : convertOpenAIError(this.status, body, this.headers);
    // An upstream may echo the request headers, credentials included: the client never sees ours.
    return { body: this.exchange.scrubber.scrub(translated.body), status: translated.status ?? this.status };
  }

  /** An error status with no body at all (`500` with content-length 0): the body is created in the headers answer. */
  private errorWithoutBody(changes: HeaderChanges): ProcessingResponse {
    const translated = this.clientError(new Uint8Array(0));
    changes.set('content-type', 'application/json').remove('content-encoding');
    if (translated.status !== this.status) changes.set(':status', String(translated.status));
    return answer('response_headers', { headers: changes, body: translated.body, replace: true, metadata: this.hooks.finish(this.errorType()) });
  }

  /** A decoded error body, translated into the client's error format (always JSON, status kept). */
  private errorBody(decoded: Uint8Array): ProcessingResponse {
    const translated = this.clientError(decoded);
    const changes = new HeaderChanges()
      .set('content-type', 'application/json')
      .set('content-length', String(translated.body.length))
      .remove('content-encoding');
    if (translated.status !== this.status) changes.set(':status', String(translated.status));
    return answer('response_body', { headers: changes, body: translated.body, metadata: this.hooks.finish(this.errorType()) });
  }

  /** An error without an attempt (an Envoy reply the translators never saw), decoded within the limits; undecodable: empty. */
  private async errorWithoutAttempt(body: Uint8Array): Promise<ProcessingResponse> {
    const limits = this.exchange.config.file.limits;
    const maxOutputBytes = Math.min(limits.maxResponseBodyBytes, limits.maxDecompressedBodyBytes);
    const decoded = this.encoding ? await decodeBody(this.encoding, body, { maxOutputBytes }).catch(() => new Uint8Array(0)) : body;
    return this.errorBody(this.exchange.scrubber.scrub(decoded));
  }

  /** A 2xx with no body at all is no answer: a 502 in the client's format, sent before any byte went out. */
  private emptySuccess(): ProcessingResponse {
    this.errored = { status: 502, message: 'upstream answered with an empty body', code: 'upstream_invalid_response' };
    this.exchange.responseStatus = 502;
    const api = this.exchange.endpoint?.clientApi ?? 'openai';
    return immediateError(api, this.errored, { metadata: this.hooks.finish(this.errorType()), details: 'llm_extproc_upstream_empty_body' });
  }

  private errorType(): string | undefined {
    if (this.errored) return String(this.errored.status);
    if (this.status >= 400 || this.status === 0) return this.status === 0 ? '_OTHER' : String(this.status);
    return undefined;
  }

  /** BUFFERED: the whole body in one message. */
  async onBufferedBody(body: Uint8Array): Promise<ProcessingResponse> {
    const attempt = this.exchange.attempt;
    if (this.passThrough || !attempt) return this.translatesErrors ? this.errorWithoutAttempt(body) : this.passThroughBody(body);
    const limits = this.exchange.config.file.limits;
    if (!this.encoding && body.length > limits.maxResponseBodyBytes) {
      const message = `upstream answer of ${body.length} bytes is larger than ${describeBytes(limits.maxResponseBodyBytes)} (limits.maxResponseBodyBytes)`;
      return this.replaceWithError({ status: 502, message, code: 'upstream_response_too_large' }, 'upstream_response_too_large');
    }
    let decoded: Uint8Array;
    try {
      // The answer is parsed whole, so it may not inflate past maxResponseBodyBytes either.
      const maxOutputBytes = Math.min(limits.maxResponseBodyBytes, limits.maxDecompressedBodyBytes);
      decoded = this.encoding ? await decodeBody(this.encoding, body, { maxOutputBytes }) : body;
    } catch (error) {
      if (error instanceof LimitExceededError) {
        const key = limits.maxResponseBodyBytes <= limits.maxDecompressedBodyBytes ? 'maxResponseBodyBytes' : 'maxDecompressedBodyBytes';
        return this.replaceWithError({ status: 502, message: `upstream answer too large: ${error.message} (limits.${key})`, code: error.reason }, error.reason);
      }
      return this.replaceWithError(
        { status: 502, message: `upstream sent a body that cannot be decoded (${this.encoding}): ${(error as Error).message}`, code: 'upstream_invalid_response' },
        'upstream_undecodable_body',
      );
    }
    // An upstream may echo the request headers, credentials included, in any answer: the client never sees ours.
    // Scrubbed before translating too, so no excerpt a translator cuts can keep part of a secret.
    const scrubber = this.exchange.scrubber;
    decoded = scrubber.scrub(decoded);
    const changes = new HeaderChanges();
    let out: Uint8Array | undefined;
    if (this.status >= 200 && this.status < 300) {
      const result = attempt.translator.response(attempt.ctx, decoded, this.headers);
      this.hooks.warn(result.warnings);
      if (result.usage) this.exchange.usage = result.usage;
      if (result.usageEstimated) this.exchange.usageEstimated = true;
      if (result.responseModel) this.exchange.responseModel = result.responseModel;
      if (result.error) return this.replaceWithError(result.error, 'upstream_failure_in_success');
      out = result.body;
      this.exchange.span?.observeOutput(out ?? decoded, false);
      if (this.exchange.endpoint?.local === 'count_tokens') {
        // A provider's token count: nothing was generated, nothing is charged.
        changes.set(TOKEN_COUNT_HEADER, 'provider');
      } else if (!result.usage || result.usage.outputTokens === 0) {
        // No output reported (an OpenAI-compatible server without usage): count what the client gets.
        countDelivered(this.exchange, deliveredTextOf(out ?? decoded));
      }
    } else {
      return this.errorBody(decoded);
    }
    const scrubbed = scrubber.scrub(out ?? decoded);
    if (out !== undefined || scrubbed !== body) out = scrubbed;
    if (out !== undefined) {
      changes.remove('content-encoding');
      changes.set('content-length', String(out.length));
      if (this.status < 300 && !OPENAI_FAMILY.has(attempt.backend.schema)) changes.set('content-type', 'application/json');
    }
    return answer('response_body', { headers: changes, body: out, metadata: this.hooks.finish(this.errorType()) });
  }

  /** The service's own reply, or a response with no attempt: unchanged unless it carries a credential of this exchange. */
  private passThroughBody(body: Uint8Array): ProcessingResponse {
    const metadata = this.hooks.finish(this.errorType());
    const scrubbed = this.encoding ? body : this.exchange.scrubber.scrub(body);
    if (scrubbed === body) return answer('response_body', { metadata });
    return answer('response_body', { headers: new HeaderChanges().set('content-length', String(scrubbed.length)), body: scrubbed, metadata });
  }

  /** A 2xx that is really a failure, or an undecodable body: answer an error in the client's format. */
  private replaceWithError(error: ErrorShape, reason: 'upstream_undecodable_body' | 'upstream_failure_in_success' | LimitReason): ProcessingResponse {
    this.errored = error;
    this.exchange.responseStatus = error.status;
    this.hooks.serviceError({ status: error.status, reason });
    const api = this.exchange.endpoint?.clientApi ?? 'openai';
    const body = this.exchange.scrubber.scrub(Buffer.from(errorBodyFor(api, error), 'utf8'));
    const changes = new HeaderChanges()
      .set(':status', String(error.status))
      .set('content-type', 'application/json')
      .set('content-length', String(body.length))
      .remove('content-encoding');
    return answer('response_body', { headers: changes, body, metadata: this.hooks.finish(this.errorType()) });
  }

  /**
   * STREAMED: one chunk; answers go back in order. Synchronous unless the chunk must wait: a content-encoded
   * stream's decoder, or a chunk large enough to be translated in slices over several turns of the event loop.
   */
  onStreamChunk(chunk: Uint8Array, endOfStream: boolean): ProcessingResponse | Promise<ProcessingResponse> {
    const translator = this.streamTranslator;
    if (translator && this.streamBroken) {
      // The stream could not be decoded and was already ended with an error event: nothing more goes out.
      return answer('response_body', { clearBody: true, metadata: endOfStream ? this.hooks.finish(this.errorType()) : undefined });
    }
    if (!translator) {
      // Not a translated stream (error status, local reply): buffered handling covers those; chunks pass through, scrubbed.
      const metadata = endOfStream ? this.hooks.finish(this.errorType()) : undefined;
      const out = this.encoding ? chunk : this.scrubStreamed(chunk, endOfStream);
      return out === chunk ? answer('response_body', { metadata }) : answer('response_body', { body: out, metadata });
    }
    this.exchange.firstChunkAt ??= performance.now();
    if (this.decoder || chunk.length > STREAM_SLICE_BYTES) return this.translateWaiting(translator, chunk, endOfStream).then((translated) => this.chunkAnswer(translated, endOfStream));
    return this.chunkAnswer(this.translateNow(translator, chunk, endOfStream), endOfStream);
  }

  /** A chunk that needs no waiting, translated at once. */
  private translateNow(translator: StreamTranslator, chunk: Uint8Array, endOfStream: boolean): TranslatedChunk {
    const translated: TranslatedChunk = { parts: [], unchanged: false, events: undefined };
    try {
      const clean = this.inputScrubber ? this.inputScrubber.push(chunk) : chunk;
      const step = this.translateSlice(translator, clean, translated.parts);
      translated.unchanged = step.body === clean && clean === chunk;
      translated.events = step.events;
      if (endOfStream) {
        // What the input scrubber held back is shorter than a secret: one slice.
        const tail = this.inputScrubber?.end() ?? EMPTY;
        if (tail.length > 0) this.translateSlice(translator, tail, translated.parts);
        if (this.endTranslation(translator, translated.parts) || tail.length > 0) Object.assign(translated, { unchanged: false, events: undefined });
      }
    } catch (error) {
      this.streamFailed(error, translated);
    }
    return translated;
  }

  /** A chunk that waits for the content decoder, or is translated in slices. */
  private async translateWaiting(translator: StreamTranslator, chunk: Uint8Array, endOfStream: boolean): Promise<TranslatedChunk> {
    const translated: TranslatedChunk = { parts: [], unchanged: false, events: undefined };
    try {
      const decoded = this.decoder ? await this.decoder.push(chunk) : chunk;
      const clean = this.inputScrubber ? this.inputScrubber.push(decoded) : decoded;
      const result = await this.translate(translator, clean, translated.parts);
      translated.unchanged = result.unchanged && !this.decoder && clean === chunk;
      translated.events = result.events;
      if (endOfStream) {
        const decodedTail = this.decoder ? await this.decoder.end() : EMPTY;
        const tail = this.inputScrubber ? Buffer.concat([this.inputScrubber.push(decodedTail), this.inputScrubber.end()]) : decodedTail;
        if (tail.length > 0) await this.translate(translator, tail, translated.parts);
        if (this.endTranslation(translator, translated.parts) || tail.length > 0) Object.assign(translated, { unchanged: false, events: undefined });
      }
    } catch (error) {
      this.streamFailed(error, translated);
    }
    return translated;
  }

  /** The translator's last output. True when it added bytes. */
  private endTranslation(translator: StreamTranslator, parts: Uint8Array[]): boolean {
    const last = translator.end();
    this.absorb(last);
    if (!this.errored) this.exchange.streamCompleted = true;
    if (last.body.length === 0) return false;
    parts.push(last.body);
    return true;
  }

  /** The stream cannot be decoded or passed a limit: it ends with an error event, and later chunks are dropped. */
  private streamFailed(error: unknown, translated: TranslatedChunk): void {
    const limit = error instanceof LimitExceededError ? error : undefined;
    const message = limit ? `upstream stream too large: ${limit.message} (limits.${STREAM_LIMIT_KEYS[limit.reason]})` : `upstream stream cannot be decoded: ${(error as Error).message}`;
    this.errored = { status: 502, message, ...(limit ? { code: limit.reason } : {}) };
    this.hooks.serviceError({ status: 502, reason: limit?.reason ?? 'upstream_undecodable_stream' });
    const api = this.exchange.endpoint?.clientApi ?? 'openai';
    // Anthropic SDKs only raise stream errors sent as `event: error`.
    const eventLine = api === 'anthropic' ? 'event: error\n' : '';
    translated.parts.push(Buffer.from(`${eventLine}data: ${errorBodyFor(api, this.errored)}\n\n`, 'utf8'));
    translated.unchanged = false;
    translated.events = undefined;
    this.decoder?.close();
    this.decoder = undefined;
    this.streamBroken = true;
  }

  /** The answer for a translated chunk: scrubbed as the client joins it and byte by byte, with running usage. */
  private chunkAnswer(translated: TranslatedChunk, endOfStream: boolean): ProcessingResponse {
    const { parts, unchanged, events } = translated;
    const joined = parts.length === 1 ? (parts[0] as Uint8Array) : Buffer.concat(parts);
    const last = endOfStream || this.streamBroken;
    // A secret split across events (the text the client joins): held back per channel until it can be told.
    const eventScrubber = this.eventScrubber;
    let scrubbedEvents = joined;
    if (eventScrubber) scrubbedEvents = events && parts.length === 1 ? eventScrubber.pushDecoded(joined, events) : eventScrubber.push(joined);
    if (eventScrubber && last) {
      const tail = eventScrubber.end();
      if (tail.length > 0) scrubbedEvents = Buffer.concat([scrubbedEvents, tail]);
    }
    // Every byte for the client is scrubbed: a secret cut across chunks is held back until it can be told.
    const body = this.scrubStreamed(scrubbedEvents, last);
    this.exchange.span?.observeOutput(body, true);
    const metadata = endOfStream ? this.hooks.finish(this.errorType()) : this.hooks.running();
    if (unchanged && body === joined) return answer('response_body', { metadata });
    return answer('response_body', { body, metadata });
  }

  /** One slice (at most STREAM_SLICE_BYTES) through the translator; its step. */
  private translateSlice(translator: StreamTranslator, data: Uint8Array, parts: Uint8Array[]): StreamStep {
    const step = translator.push(data);
    this.absorb(step);
    parts.push(step.body);
    return step;
  }

  /**
   * Translates decoded bytes, slice by slice (STREAM_SLICE_BYTES) with a turn of the event loop between slices.
   * `unchanged`: the translator returned the very bytes it was given (the chunk goes out unchanged); `events`: the
   * SSE items of the output as the translator decoded them (one slice only).
   */
  private async translate(translator: StreamTranslator, data: Uint8Array, parts: Uint8Array[]): Promise<{ unchanged: boolean; events?: readonly DecodedSseItem[] | undefined }> {
    if (data.length <= STREAM_SLICE_BYTES) {
      const step = this.translateSlice(translator, data, parts);
      return { unchanged: step.body === data, events: step.events };
    }
    for (let offset = 0; offset < data.length && !this.abandoned; offset += STREAM_SLICE_BYTES) {
      if (offset > 0) await nextTurn();
      this.translateSlice(translator, data.subarray(offset, offset + STREAM_SLICE_BYTES), parts);
    }
    return { unchanged: false };
  }

  private absorb(step: { usage?: import('../core/usage.js').TokenUsage | undefined; responseModel?: string; deliveredText?: string; error?: ErrorShape; warnings?: readonly Warning[] }): void {
    if (step.usage) this.exchange.usage = step.usage;
    if (step.responseModel) this.exchange.responseModel = step.responseModel;
    if (step.deliveredText) {
      countDelivered(this.exchange, step.deliveredText);
      this.exchange.span?.observeText(step.deliveredText);
    }
    if (step.error) this.errored = step.error;
    this.hooks.warn(step.warnings);
  }

  /** The stream ended before the response did (client gone, upstream reset): release decoders. */
  abandon(): void {
    this.abandoned = true;
    this.decoder?.close();
  }
}
