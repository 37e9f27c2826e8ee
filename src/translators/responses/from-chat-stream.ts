/**
 * OpenAI chat completion chunks (the backend translator's stream) -> Responses stream events, framed as the API
 * frames them: `event: <type>\ndata: <json>\n\n`, every event with `sequence_number` counting from 0.
 *
 * - The first chunk opens the response: `response.created`, `response.in_progress` (status in_progress).
 * - `reasoning_content` / `reasoning` deltas -> a `reasoning` item (signed `thinking_blocks` end up in its
 *   `encrypted_content` when it is done): `response.output_item.added`, then
 *   `response.reasoning_summary_part.added` + `response.reasoning_summary_text.delta` when the client asked for a
 *   summary, else `response.content_part.added` + `response.reasoning_text.delta`.
 * - `content` deltas -> a `message` item with an `output_text` part (`response.output_item.added`,
 *   `response.content_part.added`, `response.output_text.delta`); `refusal` -> a `refusal` part
 *   (`response.refusal.delta`).
 * - each new `tool_calls[].index` -> a `function_call` item (`call_id` and name from its first delta), its
 *   arguments -> `response.function_call_arguments.delta`.
 * - An item is finished (`*.done` events for its part, then `response.output_item.done` with the whole item)
 *   when another item starts and at the end.
 * - The finish reason is remembered; the usage chunk that follows it (include_usage is always asked for), `[DONE]`
 *   or the end of the body closes the response: `response.completed`, or `response.incomplete` on length or
 *   content filter, with the whole response and usage.
 * - A stream that ends before any finish reason, or carries an error, ends with `response.failed` (status failed,
 *   `error` set, usage so far) and StreamStep.error: never a completed response made of invented values.
 * - SSE comments (keepalives) go through as comments.
 * @see https://platform.openai.com/docs/api-reference/responses-streaming
 */
import type { ErrorShape } from '../../core/errors.js';
import { asArray, asString, isRecord } from '../../core/json.js';
import { encodeSseComment, encodeSseEvent } from '../../core/sse.js';
import type { TokenUsage } from '../../core/usage.js';
import { convertOpenAIUsage } from '../openai/convert-openai-usage.js';
import type { RequestContext } from '../types.js';
import { ChatChunkReframerBase } from '../shared/pivot-stream.js';
import {
  functionCallItem,
  itemId,
  messageItem,
  outputTextPart,
  reasoningItem,
  responseObject,
  statusOf,
  wantsReasoningSummary,
  type ResponseStatus,
} from './response-object.js';

type Json = Record<string, unknown>;
type ItemKind = 'reasoning' | 'text' | 'refusal' | 'function_call';
type ItemStatus = 'in_progress' | 'completed' | 'incomplete';

interface OpenItem {
  readonly kind: ItemKind;
  readonly id: string;
  readonly outputIndex: number;
  text: string;
  /** function_call only */
  readonly callId: string;
  readonly name: string;
  /** reasoning only: signed thinking blocks (`delta.thinking_blocks`), sent as encrypted_content when it is done */
  readonly blocks: Json[];
}

export class ChatToResponsesStream extends ChatChunkReframerBase {
  private readonly summary: boolean;
  private sequence = 0;
  private started = false;
  private responseId = '';
  private createdAt = 0;
  private open: OpenItem | undefined;
  private readonly output: Json[] = [];
  /** chat tool call index -> its item, while it is the open one */
  private readonly toolItems = new Map<number, OpenItem>();
  private finishReason: string | undefined;

  constructor(ctx: RequestContext) {
    super(ctx);
    this.summary = wantsReasoningSummary(ctx.body);
  }

  /** The exact usage as soon as the backend's translator has it, before the chat usage chunk. */
  protected override stepUsage(): TokenUsage | undefined {
    return this.exactUsage ?? this.usage;
  }

  private emit(type: string, payload: Json): void {
    this.out += encodeSseEvent({ event: type, data: JSON.stringify({ type, sequence_number: this.sequence, ...payload }) });
    this.sequence += 1;
  }

  protected onComment(): void {
    this.out += encodeSseComment();
  }

  protected undecodableEvent(): ErrorShape {
    return { status: 502, message: 'upstream sent an undecodable stream event', code: 'upstream_invalid_response' };
  }

  protected onChunk(chunk: Json): void {
    if (chunk.error !== undefined) {
      const inner = isRecord(chunk.error) ? chunk.error : {};
      const status = typeof inner.code === 'number' ? inner.code : 500;
      const code = asString(inner.code) ?? asString(inner.type);
      this.fail({ status, message: asString(inner.message) ?? asString(chunk.error) ?? 'upstream stream reported an error', ...(code ? { code } : {}) });
      return;
    }
    const model = asString(chunk.model);
    if (model) this.model ??= model;
    const usage = convertOpenAIUsage(chunk.usage);
    if (usage) this.usage = this.exactUsage ?? usage;
    this.start();
    const choice = (asArray(chunk.choices) ?? []).find((entry) => isRecord(entry) && (entry.index ?? 0) === 0);
    if (isRecord(choice)) {
      if (isRecord(choice.delta)) this.onDelta(choice.delta);
      const finishReason = asString(choice.finish_reason);
      if (finishReason) this.finishReason = finishReason;
    }
    if (this.finishReason !== undefined && this.usage !== undefined) this.close();
  }

  private currentResponse(status: ResponseStatus, extra: { incomplete?: Json | null; error?: Json | null; withUsage?: boolean } = {}): Json {
    return responseObject(this.ctx, {
      id: this.responseId,
      model: this.model ?? this.ctx.upstreamModel,
      createdAt: this.createdAt,
      status,
      output: status === 'in_progress' ? [] : this.output,
      usage: extra.withUsage ? (this.exactUsage ?? this.usage) : undefined,
      incomplete: extra.incomplete ?? null,
      error: extra.error ?? null,
    });
  }

  private start(): void {
    if (this.started) return;
    this.started = true;
    this.responseId = itemId(this.ctx, 'resp');
    this.createdAt = Math.floor(this.ctx.now() / 1000);
    this.emit('response.created', { response: this.currentResponse('in_progress') });
    this.emit('response.in_progress', { response: this.currentResponse('in_progress') });
  }

  private onDelta(delta: Json): void {
    const reasoning = asString(delta.reasoning_content) ?? asString(delta.reasoning);
    if (reasoning) this.textDelta('reasoning', reasoning);
    const blocks = (asArray(delta.thinking_blocks) ?? []).filter(isRecord);
    if (blocks.length > 0) {
      // A whole signed block once its text has streamed (or redacted thinking): kept for the item's encrypted_content.
      const item = this.open?.kind === 'reasoning' ? this.open : this.openItem('reasoning');
      item.blocks.push(...blocks);
    }
    const content = asString(delta.content);
    if (content) this.textDelta('text', content);
    const refusal = asString(delta.refusal);
    if (refusal) this.textDelta('refusal', refusal);
    for (const call of asArray(delta.tool_calls) ?? []) if (isRecord(call)) this.toolDelta(call);
  }

  private where(item: OpenItem): Json {
    return { item_id: item.id, output_index: item.outputIndex };
  }

  private textDelta(kind: 'reasoning' | 'text' | 'refusal', text: string): void {
    const item = this.open?.kind === kind ? this.open : this.openItem(kind);
    item.text += text;
    this.delivered += text;
    if (kind === 'text') this.emit('response.output_text.delta', { ...this.where(item), content_index: 0, delta: text, logprobs: [] });
    else if (kind === 'refusal') this.emit('response.refusal.delta', { ...this.where(item), content_index: 0, delta: text });
    else if (this.summary) this.emit('response.reasoning_summary_text.delta', { ...this.where(item), summary_index: 0, delta: text });
    else this.emit('response.reasoning_text.delta', { ...this.where(item), content_index: 0, delta: text });
  }

  private toolDelta(call: Json): void {
    const index = typeof call.index === 'number' ? call.index : 0;
    const fn = isRecord(call.function) ? call.function : {};
    let item = this.toolItems.get(index);
    if (item === undefined || item !== this.open) {
      item = this.openItem('function_call', asString(call.id) || `call_${this.ctx.generateId()}`, asString(fn.name) ?? '');
      this.toolItems.set(index, item);
    }
    const args = asString(fn.arguments);
    if (args) {
      item.text += args;
      this.delivered += args;
      this.emit('response.function_call_arguments.delta', { ...this.where(item), delta: args });
    }
  }

  private openItem(kind: ItemKind, callId = '', name = ''): OpenItem {
    this.closeItem();
    const prefix = kind === 'reasoning' ? 'rs' : kind === 'function_call' ? 'fc' : 'msg';
    const item: OpenItem = { kind, id: itemId(this.ctx, prefix), outputIndex: this.output.length, text: '', callId, name, blocks: [] };
    this.open = item;
    this.emit('response.output_item.added', { output_index: item.outputIndex, item: this.itemBody(item, 'in_progress', true) });
    const part = this.emptyPart(kind);
    if (kind === 'reasoning' && this.summary) this.emit('response.reasoning_summary_part.added', { ...this.where(item), summary_index: 0, part });
    else if (part) this.emit('response.content_part.added', { ...this.where(item), content_index: 0, part });
    return item;
  }

  private emptyPart(kind: ItemKind): Json | undefined {
    if (kind === 'text') return outputTextPart('');
    if (kind === 'refusal') return { type: 'refusal', refusal: '' };
    if (kind === 'reasoning') return this.summary ? { type: 'summary_text', text: '' } : { type: 'reasoning_text', text: '' };
    return undefined;
  }

  private itemBody(item: OpenItem, status: ItemStatus, empty = false): Json {
    const text = empty ? '' : item.text;
    if (item.kind === 'function_call') return functionCallItem(item.id, item.callId, item.name, text, status);
    if (item.kind === 'reasoning') return reasoningItem(item.id, text, this.summary, empty ? [] : item.blocks);
    if (empty) return messageItem(item.id, [], status);
    return messageItem(item.id, [item.kind === 'text' ? outputTextPart(text) : { type: 'refusal', refusal: text }], status);
  }

  /** Finishes the open item; a stream that failed leaves it `incomplete`. */
  private closeItem(status: ItemStatus = 'completed'): void {
    const item = this.open;
    if (!item) return;
    this.open = undefined;
    const where = this.where(item);
    if (item.kind === 'text') {
      this.emit('response.output_text.done', { ...where, content_index: 0, text: item.text, logprobs: [] });
      this.emit('response.content_part.done', { ...where, content_index: 0, part: outputTextPart(item.text) });
    } else if (item.kind === 'refusal') {
      this.emit('response.refusal.done', { ...where, content_index: 0, refusal: item.text });
      this.emit('response.content_part.done', { ...where, content_index: 0, part: { type: 'refusal', refusal: item.text } });
    } else if (item.kind === 'function_call') {
      this.emit('response.function_call_arguments.done', { ...where, name: item.name, arguments: item.text });
    } else if (this.summary) {
      this.emit('response.reasoning_summary_text.done', { ...where, summary_index: 0, text: item.text });
      this.emit('response.reasoning_summary_part.done', { ...where, summary_index: 0, part: { type: 'summary_text', text: item.text } });
    } else {
      this.emit('response.reasoning_text.done', { ...where, content_index: 0, text: item.text });
      this.emit('response.content_part.done', { ...where, content_index: 0, part: { type: 'reasoning_text', text: item.text } });
    }
    const done = this.itemBody(item, status);
    this.output.push(done);
    this.emit('response.output_item.done', { output_index: item.outputIndex, item: done });
  }

  /** `[DONE]` or the end of the body: close a finished response, or report one cut short. */
  protected finish(): void {
    if (this.closed) return;
    if (this.finishReason !== undefined) this.close();
    else this.fail({ status: 502, message: 'upstream stream ended before the response was complete', code: 'upstream_stream_truncated' });
  }

  private close(): void {
    this.start();
    this.closeItem();
    const { status, incomplete } = statusOf(this.finishReason);
    const type = status === 'incomplete' ? 'response.incomplete' : 'response.completed';
    this.emit(type, { response: this.currentResponse(status, { incomplete, withUsage: true }) });
    this.closed = true;
  }

  protected fail(error: ErrorShape): void {
    this.error ??= error;
    this.start();
    this.closeItem('incomplete');
    const failure = { code: error.code ?? 'server_error', message: error.message };
    this.emit('response.failed', { response: this.currentResponse('failed', { error: failure, withUsage: true }) });
    this.closed = true;
  }
}
