/**
 * Anthropic Messages client -> Claude (first-party, Vertex, Bedrock): the client gets the upstream's bytes.
 * Buffered responses and SSE streams pass through unchanged (streams as whole events: the bytes of an event still
 * arriving are held until it is complete); they are only read for usage, the response model,
 * delivered text (for local counting when usage is missing) and `error` events; a stream that ends before
 * `message_stop` without an error gets an `event: error` appended, so the client knows it was cut. Bedrock streams are re-framed
 * from AWS event-stream to SSE in aws-stream.ts. Non-2xx bodies go through anthropic-error.ts.
 */
import { safeParseJson, utf8 } from '../../core/json.js';
import { forwardWholeItems, SseDecoder, type SseItem } from '../../core/sse.js';
import type { ErrorShape } from '../../core/errors.js';
import type { RequestContext, ResponseResult, StreamStep, StreamTranslator, Translator, UpstreamRequest } from '../types.js';
import { anthropicClientError, anthropicErrorEvent } from './anthropic-error.js';
import { readMessageUsage } from './anthropic-usage.js';
import { AnthropicEventObserver } from './event-observer.js';
import { AwsAnthropicStream } from './aws-stream.js';
import { bedrockAnthropicRequest, nativeAnthropicRequest, vertexAnthropicRequest } from './native-request.js';

/** A complete Messages response: body unchanged, usage and model read. */
export function readNativeResponse(body: Uint8Array): ResponseResult {
  const parsed = safeParseJson(body);
  if (!parsed.ok) return { body: undefined, usage: undefined };
  const { usage, model } = readMessageUsage(parsed.value);
  return { body: undefined, usage, ...(model !== undefined ? { responseModel: model } : {}) };
}

/** Native Anthropic SSE: every chunk goes to the client as it came. */
export class AnthropicPassthroughStream implements StreamTranslator {
  private readonly decoder: SseDecoder;
  private readonly observer = new AnthropicEventObserver();

  constructor(ctx: RequestContext) {
    this.decoder = new SseDecoder({ keepRaw: true, maxEventBytes: ctx.maxStreamEventBytes });
  }

  push(chunk: Uint8Array): StreamStep {
    const heldBefore = this.decoder.heldBytes;
    const items = this.decoder.push(chunk);
    return this.observe(forwardWholeItems(chunk, rawOf(items), heldBefore, this.decoder.heldBytes), items);
  }

  /** An unfinished last event is read but not forwarded (clients discard it; a cut one must not run into an error event). */
  end(): StreamStep {
    const items = this.decoder.end();
    const finished = rawOf(items.filter((item) => !item.unterminated));
    const step = this.observe(finished.length === 0 ? new Uint8Array(0) : Buffer.concat(finished), items);
    const cut = step.error ? undefined : this.observer.cutShort();
    if (!cut) return step;
    const errorEvent = utf8(anthropicErrorEvent(cut));
    return this.observer.step(step.body.length === 0 ? errorEvent : Buffer.concat([step.body, errorEvent]), step.deliveredText ?? '', cut);
  }

  private observe(body: Uint8Array, items: readonly SseItem[]): StreamStep {
    let deliveredText = '';
    let error: ErrorShape | undefined;
    for (const item of items) {
      if (item.type !== 'event' || item.data.trim() === '') continue;
      const parsed = safeParseJson(item.data);
      if (!parsed.ok) continue;
      const seen = this.observer.observe(parsed.value);
      deliveredText += seen.deliveredText;
      error ??= seen.error;
    }
    return this.observer.step(body, deliveredText, error);
  }
}

function rawOf(items: readonly SseItem[]): Uint8Array[] {
  const parts: Uint8Array[] = [];
  for (const item of items) if (item.raw && item.raw.length > 0) parts.push(item.raw);
  return parts;
}

function nativeTranslator(request: (ctx: RequestContext) => UpstreamRequest, stream: (ctx: RequestContext) => StreamTranslator): Translator {
  return {
    request,
    response: (_ctx, body) => readNativeResponse(body),
    error: (_ctx, status, body, headers) => anthropicClientError(status, body, headers),
    stream,
    streamContentType: 'text/event-stream',
  };
}

export const anthropicPassthroughTranslator = nativeTranslator(nativeAnthropicRequest, (ctx) => new AnthropicPassthroughStream(ctx));
export const gcpAnthropicPassthroughTranslator = nativeTranslator(vertexAnthropicRequest, (ctx) => new AnthropicPassthroughStream(ctx));
export const awsAnthropicPassthroughTranslator = nativeTranslator(bedrockAnthropicRequest, (ctx) => new AwsAnthropicStream(ctx));
