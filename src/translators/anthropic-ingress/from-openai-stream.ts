/**
 * OpenAI chat completion chunks (SSE) -> Anthropic Messages stream events, for an Anthropic client on an OpenAI
 * backend. Events come out exactly as the first-party API frames them: `event: <type>\ndata: <json>\n\n`.
 *
 * - The first chunk with choices (or usage) opens the message: `message_start` (id `msg_<chunk id>`, model,
 *   empty content, usage zero: OpenAI reports usage only at the end).
 * - `delta.reasoning_content` / `delta.reasoning` -> a `thinking` block (`thinking_delta`); `delta.thinking_blocks`
 *   (signed reasoning, as our translators and some gateways send it) -> the text not yet sent as `thinking_delta`
 *   and the signature as `signature_delta`, which completes that thinking block; redacted thinking -> a
 *   `redacted_thinking` block; `delta.content` and
 *   `delta.refusal` -> a `text` block (`text_delta`); each new `delta.tool_calls[].index` -> a `tool_use` block
 *   (id and name from its first delta), its `arguments` -> `input_json_delta`. A block is stopped
 *   (`content_block_stop`) when another one starts and at the end. Only the first choice is used.
 * - `finish_reason` is remembered; the usage chunk that follows it (include_usage is always requested) closes
 *   the message: `content_block_stop`, `message_delta` (stop_reason, usage), `message_stop`. A backend that
 *   sends no usage chunk is closed at `[DONE]` or the end of the body, with zero usage.
 * - A stream that ends before any `finish_reason` is not completed with invented values: the client gets an
 *   `event: error` instead. An OpenAI `{"error": ...}` event or an undecodable event also becomes `event: error`;
 *   nothing is sent after it.
 * - SSE comments (upstream keepalives) become Anthropic `ping` events.
 * @see https://platform.claude.com/docs/en/build-with-claude/streaming
 * @see https://platform.openai.com/docs/api-reference/chat-streaming
 */
import type { ErrorShape } from '../../core/errors.js';
import { asArray, asString, isRecord } from '../../core/json.js';
import { encodeSseEvent } from '../../core/sse.js';
import { makeUsage } from '../../core/usage.js';
import { convertOpenAIUsage } from '../openai/convert-openai-usage.js';
import type { RequestContext } from '../types.js';
import { ChatChunkReframerBase } from '../shared/pivot-stream.js';
import { anthropicErrorEvent } from './anthropic-error.js';
import { messageId } from './from-openai-response.js';
import { anthropicUsageOf, mapFinishReason } from './map-finish-reason.js';

type Json = Record<string, unknown>;
type BlockKind = 'text' | 'thinking' | 'tool_use';

interface OpenBlock {
  readonly kind: BlockKind;
  readonly index: number;
  /** Thinking text sent in this block so far. */
  thinking: string;
  /** A signature was sent: the block is complete, more reasoning opens a new one. */
  signed: boolean;
}

export class OpenAIToAnthropicStream extends ChatChunkReframerBase {
  private started = false;
  private nextIndex = 0;
  private open: OpenBlock | undefined;
  /** OpenAI tool call index -> Anthropic content block index. */
  private readonly toolBlocks = new Map<number, number>();
  private finishReason: string | undefined;
  private refused = false;

  private emit(type: string, payload: Json): void {
    this.out += encodeSseEvent({ event: type, data: JSON.stringify({ type, ...payload }) });
  }

  protected onComment(): void {
    this.emit('ping', {});
  }

  protected undecodableEvent(): ErrorShape {
    return { status: 502, type: 'api_error', message: 'upstream sent an undecodable stream event' };
  }

  protected onChunk(chunk: Json): void {
    if (chunk.error !== undefined) {
      const inner = isRecord(chunk.error) ? chunk.error : {};
      this.fail({ status: 500, type: 'api_error', message: asString(inner.message) ?? asString(chunk.error) ?? 'upstream stream reported an error' });
      return;
    }
    const model = asString(chunk.model);
    if (model) this.model ??= model;
    const usage = convertOpenAIUsage(chunk.usage);
    if (usage) this.usage = this.exactUsage ?? usage;
    const choice = (asArray(chunk.choices) ?? []).find((entry) => isRecord(entry) && (entry.index ?? 0) === 0);
    if (isRecord(choice)) {
      this.start(chunk);
      if (isRecord(choice.delta)) this.onDelta(choice.delta);
      const finishReason = asString(choice.finish_reason);
      if (finishReason) this.finishReason = finishReason;
    }
    if (this.finishReason !== undefined && this.usage !== undefined) this.close();
  }

  private start(chunk: Json): void {
    if (this.started) return;
    this.started = true;
    const message = {
      id: messageId(this.ctx, chunk.id),
      type: 'message',
      role: 'assistant',
      model: this.model ?? this.ctx.upstreamModel,
      content: [],
      stop_reason: null,
      stop_sequence: null,
      usage: { input_tokens: 0, output_tokens: 0 },
    };
    this.emit('message_start', { message });
  }

  private onDelta(delta: Json): void {
    const reasoning = asString(delta.reasoning_content) ?? asString(delta.reasoning);
    if (reasoning) this.textDelta('thinking', reasoning);
    for (const block of asArray(delta.thinking_blocks) ?? []) {
      if (isRecord(block)) this.thinkingBlockDelta(block, reasoning !== undefined && reasoning !== '');
    }
    const content = asString(delta.content);
    if (content) this.textDelta('text', content);
    const refusal = asString(delta.refusal);
    if (refusal) {
      this.refused = true;
      this.textDelta('text', refusal);
    }
    for (const call of asArray(delta.tool_calls) ?? []) {
      if (isRecord(call)) this.toolDelta(call);
    }
  }

  private textDelta(kind: 'text' | 'thinking', text: string): void {
    const index = this.openBlock(kind, kind === 'text' ? { type: 'text', text: '' } : { type: 'thinking', thinking: '', signature: '' });
    const delta = kind === 'text' ? { type: 'text_delta', text } : { type: 'thinking_delta', thinking: text };
    this.emit('content_block_delta', { index, delta });
    if (kind === 'thinking' && this.open) this.open.thinking += text;
    this.delivered += text;
  }

  /**
   * One `delta.thinking_blocks[]` entry. Two shapes are in use: a whole block once its reasoning has streamed
   * (our own translators: the text repeats what `reasoning_content` already sent, plus the signature), and
   * LiteLLM-style deltas that repeat the same delta's `reasoning_content` and carry the signature at the end.
   * Only text the client has not seen yet is sent (`thinking_delta`); a signature closes the thinking block
   * (`signature_delta`). Redacted thinking is a block of its own.
   */
  private thinkingBlockDelta(block: Json, textAlreadySent: boolean): void {
    if (block.type === 'redacted_thinking') {
      const data = asString(block.data);
      if (data === undefined) return;
      this.openBlock('thinking', { type: 'redacted_thinking', data }, true);
      this.stopBlock();
      return;
    }
    if (block.type !== 'thinking') return;
    const text = asString(block.thinking) ?? '';
    const open = this.open?.kind === 'thinking' && !this.open.signed ? this.open : undefined;
    if (!textAlreadySent && text !== '') {
      const seen = open?.thinking ?? '';
      const unseen = seen !== '' && text.startsWith(seen) ? text.slice(seen.length) : text === seen ? '' : text;
      if (unseen !== '') this.textDelta('thinking', unseen);
    }
    const signature = asString(block.signature);
    if (!signature) return;
    const index = this.openBlock('thinking', { type: 'thinking', thinking: '', signature: '' });
    this.emit('content_block_delta', { index, delta: { type: 'signature_delta', signature } });
    if (this.open) this.open.signed = true;
  }

  private toolDelta(call: Json): void {
    const toolIndex = typeof call.index === 'number' ? call.index : 0;
    const fn = isRecord(call.function) ? call.function : {};
    let index = this.toolBlocks.get(toolIndex);
    if (index === undefined) {
      const id = asString(call.id) || `toolu_${this.ctx.generateId()}`;
      index = this.openBlock('tool_use', { type: 'tool_use', id, name: asString(fn.name) ?? '', input: {} }, true);
      this.toolBlocks.set(toolIndex, index);
    }
    const args = asString(fn.arguments);
    if (args) {
      this.emit('content_block_delta', { index, delta: { type: 'input_json_delta', partial_json: args } });
      this.delivered += args;
    }
  }

  /** The index of the open block of this kind, starting a new block (and stopping the open one) if needed. */
  private openBlock(kind: BlockKind, contentBlock: Json, forceNew = false): number {
    if (!forceNew && this.open?.kind === kind && !this.open.signed) return this.open.index;
    this.stopBlock();
    const index = this.nextIndex;
    this.nextIndex += 1;
    this.open = { kind, index, thinking: '', signed: false };
    this.emit('content_block_start', { index, content_block: contentBlock });
    return index;
  }

  private stopBlock(): void {
    if (!this.open) return;
    this.emit('content_block_stop', { index: this.open.index });
    this.open = undefined;
  }

  /** `[DONE]` or the end of the body: close a finished message, or report a stream cut short. */
  protected finish(): void {
    if (this.closed) return;
    if (this.finishReason !== undefined) this.close();
    else this.fail({ status: 502, type: 'api_error', message: 'upstream stream ended before the response was complete' });
  }

  private close(): void {
    this.start({});
    this.stopBlock();
    const mapped = mapFinishReason(this.finishReason, this.toolBlocks.size > 0);
    if (mapped.warning) this.warnings.push(mapped.warning);
    const stopReason = this.refused && this.toolBlocks.size === 0 ? 'refusal' : mapped.stopReason;
    this.emit('message_delta', { delta: { stop_reason: stopReason, stop_sequence: null }, usage: anthropicUsageOf(this.usage ?? makeUsage({})) });
    this.emit('message_stop', {});
    this.closed = true;
  }

  protected fail(error: ErrorShape): void {
    this.error ??= error;
    this.out += anthropicErrorEvent(error);
    this.closed = true;
  }
}
