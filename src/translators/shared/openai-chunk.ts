/**
 * The OpenAI side of a translated stream: `chat.completion.chunk` events for one choice, written by a provider's
 * event mapper (Anthropic, Bedrock Converse) and handed out per push as a StreamStep.
 *
 * - `id` is the upstream's when it gives one before the first chunk, else `chatcmpl-<generated>` (generated
 *   lazily, at the first chunk); `created` comes from the injected clock.
 * - An error ends the stream: `data: {"error":{...}}`, StreamStep.error set, nothing after it, no [DONE].
 * - finish(): the usage chunk `{"choices":[],"usage":...}` (with `service_tier` when the provider reported one)
 *   only when the client asked
 *   (stream_options.include_usage; usage forced for costs stays hidden), then `data: [DONE]`.
 */
import { openAIErrorBody, type ErrorShape } from '../../core/errors.js';
import { isRecord, utf8 } from '../../core/json.js';
import { encodeSseEvent, SSE_DONE, type ContentOnlyChunk, type DecodedSseItem } from '../../core/sse.js';
import type { TokenUsage } from '../../core/usage.js';
import type { RequestContext, StreamStep, Warning } from '../types.js';
import { toOpenAIUsage } from './openai-usage.js';

const EMPTY = new Uint8Array(0);

export type TextField = 'content' | 'reasoning_content';

export class OpenAIChunkWriter {
  /** The model reported in chunks and in StreamStep.responseModel (the upstream's, once it says). */
  model: string;
  private readonly ctx: RequestContext;
  private readonly created: number;
  private readonly includeUsage: boolean;
  private id: string | undefined;
  private failed = false;
  private done = false;
  // since the last step
  private out = '';
  /** The events in `out`, with the objects they were written from (StreamStep.events). */
  private events: DecodedSseItem[] = [];
  private delivered = '';
  private warnings: Warning[] = [];
  private error: ErrorShape | undefined;
  /** The start every chunk of one id and model shares, serialised once. */
  private prefix = { id: '', model: '', text: '' };

  constructor(ctx: RequestContext) {
    this.ctx = ctx;
    this.created = Math.floor(ctx.now() / 1000);
    this.model = ctx.upstreamModel;
    const streamOptions = ctx.body.stream_options;
    this.includeUsage = isRecord(streamOptions) && streamOptions.include_usage === true;
  }

  /** After an error or the end: nothing more is written. */
  get closed(): boolean {
    return this.failed || this.done;
  }

  /** The upstream's message id, used when no chunk has been written yet. */
  useId(id: string): void {
    if (this.id === undefined) this.id = id;
  }

  chunk(delta: Record<string, unknown>, finishReason: string | null = null, content?: ContentOnlyChunk): void {
    const id = this.chunkId();
    const choice = { index: 0, delta, logprobs: null, finish_reason: finishReason };
    const chunk = { id, object: 'chat.completion.chunk', created: this.created, model: this.model, choices: [choice] };
    // JSON.stringify(chunk), with the part that is the same for every chunk of the stream written once.
    const data = `${this.chunkPrefix(id)}${JSON.stringify(delta)},"logprobs":null,"finish_reason":${finishReason === null ? 'null' : JSON.stringify(finishReason)}}]}`;
    this.add(data, chunk, content);
  }

  /** `{"id":…,"object":"chat.completion.chunk","created":…,"model":…,"choices":[{"index":0,"delta":` for this id and model. */
  private chunkPrefix(id: string): string {
    const cached = this.prefix;
    if (cached.text !== '' && cached.id === id && cached.model === this.model) return cached.text;
    const text = `{"id":${JSON.stringify(id)},"object":"chat.completion.chunk","created":${JSON.stringify(this.created)},"model":${JSON.stringify(this.model)},"choices":[{"index":0,"delta":`;
    this.prefix = { id, model: this.model, text };
    return text;
  }

  /** A `content` or `reasoning_content` delta, counted as delivered text. */
  text(field: TextField, text: string): void {
    // A content delta is marked as such (ContentOnlyChunk): the client-stream scrubber then checks its text without
    // walking the chunk. Reasoning text has a channel of its own there and is read from the chunk.
    if (field === 'content') this.chunk({ content: text }, null, { index: 0, text });
    else this.chunk({ [field]: text });
    this.delivered += text;
  }

  /**
   * A finished thinking block, whole, for the next turn: `delta.thinking_blocks: [{type:"thinking", thinking,
   * signature}]` (the vendor field our responses carry). Unsigned reasoning cannot be sent back: nothing is written.
   */
  thinkingBlock(thinking: string, signature: string): void {
    if (signature !== '') this.chunk({ thinking_blocks: [{ type: 'thinking', thinking, signature }] });
  }

  /** Redacted thinking, for the next turn: `delta.thinking_blocks: [{type:"redacted_thinking", data}]`. */
  redactedThinking(data: string): void {
    this.chunk({ thinking_blocks: [{ type: 'redacted_thinking', data }] });
  }

  /** Text delivered to the client in a chunk written otherwise (tool arguments). */
  deliver(text: string): void {
    this.delivered += text;
  }

  warn(warning: Warning): void {
    this.warnings.push(warning);
  }

  fail(error: ErrorShape): void {
    if (this.closed) return;
    this.failed = true;
    this.error = error;
    this.add(openAIErrorBody(error), undefined);
  }

  /** End of the upstream stream: the usage chunk (when asked for) and `data: [DONE]`. */
  finish(usage: TokenUsage | undefined, serviceTier?: string): void {
    if (this.closed) return;
    this.done = true;
    if (this.includeUsage && usage) {
      const chunk: Record<string, unknown> = { id: this.chunkId(), object: 'chat.completion.chunk', created: this.created, model: this.model, choices: [], usage: toOpenAIUsage(usage) };
      if (serviceTier !== undefined) chunk.service_tier = serviceTier;
      this.write(chunk);
    }
    this.out += SSE_DONE;
    this.events.push({ type: 'event', event: undefined, data: '[DONE]', id: undefined, raw: undefined, json: undefined });
  }

  /** What was written since the last step, with the cumulative usage. */
  step(usage: TokenUsage | undefined): StreamStep {
    const step: StreamStep = {
      body: this.out === '' ? EMPTY : utf8(this.out),
      usage,
      responseModel: this.model,
      deliveredText: this.delivered,
      ...(this.error ? { error: this.error } : {}),
      ...(this.warnings.length > 0 ? { warnings: this.warnings } : {}),
      events: this.events,
    };
    this.out = '';
    this.events = [];
    this.delivered = '';
    this.warnings = [];
    this.error = undefined;
    return step;
  }

  private chunkId(): string {
    if (this.id === undefined) this.id = `chatcmpl-${this.ctx.generateId()}`;
    return this.id;
  }

  private write(chunk: Record<string, unknown>): void {
    this.add(JSON.stringify(chunk), chunk);
  }

  /** One `data:` event; `json` is what `data` parses to (undefined: parsed when needed). */
  private add(data: string, json: unknown, content?: ContentOnlyChunk): void {
    this.out += encodeSseEvent({ data });
    const parsed = json === undefined ? JSON.parse(data) : json;
    this.events.push(content === undefined ? { type: 'event', event: undefined, data, id: undefined, raw: undefined, json: parsed } : { type: 'event', event: undefined, data, id: undefined, raw: undefined, json: parsed, content });
  }
}
