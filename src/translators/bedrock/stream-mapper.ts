/**
 * Bedrock ConverseStream (AWS event-stream frames) -> OpenAI chat.completion.chunk SSE.
 *
 * Frames are typed by the `:event-type` header; the payload is the event's JSON.
 * - messageStart -> a first chunk `{role:"assistant", content:""}`.
 * - contentBlockStart with toolUse -> a tool_calls entry `{index, id, type, function:{name, arguments:""}}`;
 *   toolUse input deltas -> argument deltas with the same `index` and no `id`; a tool that got no argument
 *   delta gets `"{}"` exactly once, at its contentBlockStop.
 * - text deltas -> `content`; reasoningContent text -> `reasoning_content` (plain string). When a reasoning block
 *   ends with a signature, one chunk carries it whole for the next turn: `delta.thinking_blocks: [{type:
 *   "thinking", thinking, signature}]`; redactedContent -> `thinking_blocks: [{type:"redacted_thinking", data}]`
 *   (the same vendor field as the Anthropic translator). Only the current reasoning block's text is held.
 * - an event without `contentBlockIndex` belongs to block 0 (a `missing_content_block_index` warning, once).
 * - messageStop -> the finish chunk (`tool_calls` whenever a tool was streamed). A stream that ends without
 *   messageStop gets no invented finish_reason: it ends with an error event, no [DONE].
 * - metadata -> usage (reported in every step from then on) and the service tier. At the end, the usage chunk
 *   `{"choices":[],"usage":...}` only when the client asked (stream_options.include_usage; a forced include is
 *   not shown), then `data: [DONE]`.
 * - exception frames (`:message-type` exception, e.g. throttlingException, modelStreamErrorException), error
 *   frames and corrupt framing -> `data: {"error":{...}}`, StreamStep.error set; everything after is ignored
 *   and no [DONE] follows.
 * @see https://docs.aws.amazon.com/bedrock/latest/APIReference/API_runtime_ConverseStream.html
 */
import { EventStreamDecoder, headerString, type EventStreamMessage } from '../../core/aws-eventstream.js';
import type { ErrorShape } from '../../core/errors.js';
import { asString, decodeUtf8, isRecord, NEEDS_JSON_ESCAPE, readCompactIndexedText, safeParseJson } from '../../core/json.js';
import type { TokenUsage } from '../../core/usage.js';
import { OpenAIChunkWriter } from '../shared/openai-chunk.js';
import { ToolCallStreamState, type ToolCallBlock } from '../shared/tool-call-stream-state.js';
import type { RequestContext, StreamStep, StreamTranslator } from '../types.js';
import { eventStreamFramingError, readBedrockMessage, statusForBedrockException } from './convert-error.js';
import { readBedrockUsage } from './convert-usage.js';
import { mapStopReason } from './map-stop-reason.js';
import { reportedServiceTier } from './service-tier.js';

type BlockState = { kind: 'tool'; call: ToolCallBlock } | { kind: 'reasoning'; text: string; signature: string };

const TRUNCATED: ErrorShape = { status: 502, message: 'the Bedrock stream ended before messageStop', code: 'upstream_stream_truncated' };

/** What may follow a compact text delta's text besides the end: Bedrock's `p` padding (nothing escaped in it). */
const PADDING_HEAD = '"},"p":"';
const PADDING_TAIL = '"}';

/**
 * Most frames of a ConverseStream: a text delta as Bedrock writes it (compact JSON, these keys in this order, with or
 * without its `p` padding, nothing escaped), read without JSON.parse into the value JSON.parse gives. Undefined for
 * anything else, which is parsed.
 */
export function compactBlockDelta(data: string): Record<string, unknown> | undefined {
  const read = readCompactIndexedText(data, '{"contentBlockIndex":', ',"delta":{"text":"');
  if (read === undefined) return undefined;
  if (read.rest === '"}}') return { contentBlockIndex: read.index, delta: { text: read.text } };
  const rest = read.rest;
  if (!rest.startsWith(PADDING_HEAD) || !rest.endsWith(PADDING_TAIL) || rest.length < PADDING_HEAD.length + PADDING_TAIL.length) return undefined;
  const padding = rest.slice(PADDING_HEAD.length, rest.length - PADDING_TAIL.length);
  return NEEDS_JSON_ESCAPE.test(padding) ? undefined : { contentBlockIndex: read.index, delta: { text: read.text }, p: padding };
}

export class ConverseStreamMapper {
  private readonly ctx: RequestContext;
  private readonly out: OpenAIChunkWriter;
  private readonly tools: ToolCallStreamState;
  private usage: TokenUsage | undefined;
  private serviceTier: string | undefined;
  private readonly blocks = new Map<number, BlockState>();
  private started = false;
  private stopped = false;
  private warnedIndex = false;

  constructor(ctx: RequestContext) {
    this.ctx = ctx;
    this.out = new OpenAIChunkWriter(ctx);
    this.tools = new ToolCallStreamState(this.out);
  }

  /** One decoded frame. */
  onMessage(message: EventStreamMessage): void {
    if (this.out.closed) return;
    const messageType = headerString(message, ':message-type') ?? 'event';
    if (messageType === 'exception') {
      const name = headerString(message, ':exception-type') ?? headerString(message, ':event-type');
      const parsed = safeParseJson(message.body);
      const text = (parsed.ok ? readBedrockMessage(parsed.value) : undefined) ?? `Bedrock stream exception ${name ?? ''}`.trim();
      this.fail({ status: statusForBedrockException(name), message: text, type: name ?? 'upstream_error' });
      return;
    }
    if (messageType === 'error') {
      const code = headerString(message, ':error-code');
      this.fail({ status: statusForBedrockException(code), message: headerString(message, ':error-message') ?? 'Bedrock stream error', type: code ?? 'upstream_error' });
      return;
    }
    const type = headerString(message, ':event-type') ?? '';
    const data = decodeUtf8(message.body);
    const compact = type === 'contentBlockDelta' ? compactBlockDelta(data) : undefined;
    const parsed = compact ? { ok: true as const, value: compact } : message.body.byteLength === 0 ? { ok: true as const, value: {} } : safeParseJson(data);
    if (!parsed.ok) {
      this.fail({ status: 502, message: `Bedrock sent an undecodable ${type || 'stream'} event`, type: 'upstream_error' });
      return;
    }
    const event = isRecord(parsed.value) ? parsed.value : {};
    switch (type) {
      case 'messageStart':
        this.onMessageStart();
        break;
      case 'contentBlockStart':
        this.onBlockStart(this.blockIndex(event.contentBlockIndex, type), event.start);
        break;
      case 'contentBlockDelta':
        this.onBlockDelta(this.blockIndex(event.contentBlockIndex, type), event.delta);
        break;
      case 'contentBlockStop':
        this.onBlockStop(this.blockIndex(event.contentBlockIndex, type));
        break;
      case 'messageStop':
        this.onMessageStop(event.stopReason);
        break;
      case 'metadata':
        this.usage = readBedrockUsage(event.usage) ?? this.usage;
        this.serviceTier = reportedServiceTier(event.serviceTier) ?? this.serviceTier;
        break;
      default:
        // unknown event types are ignored
        break;
    }
  }

  /** An error that did not come as a frame (corrupt framing, a cut-off frame) or an exception frame. */
  fail(error: ErrorShape): void {
    this.out.fail(error);
  }

  /** End of the upstream stream: usage chunk (when asked for) and `data: [DONE]`; an error event if it was cut short. */
  finish(): void {
    if (this.out.closed) return;
    // Cut short: no invented finish reason, and no [DONE] that would make it look complete.
    if (!this.stopped) this.out.fail(TRUNCATED);
    else this.out.finish(this.usage, this.serviceTier);
  }

  /** What the frames since the last step produced. */
  step(): StreamStep {
    return this.out.step(this.usage);
  }

  /**
   * `contentBlockIndex`, or 0 when an event has none (some models and proxies leave it out on single-block
   * answers): the content is translated, never dropped, and a `missing_content_block_index` warning is counted
   * once per stream.
   */
  private blockIndex(value: unknown, type: string): number {
    if (typeof value === 'number' && Number.isInteger(value) && value >= 0) return value;
    if (!this.warnedIndex) {
      this.warnedIndex = true;
      this.out.warn({ kind: 'missing_content_block_index', detail: `Bedrock ${type} event without contentBlockIndex was taken as block 0` });
    }
    return 0;
  }

  private onMessageStart(): void {
    if (this.started) return;
    this.started = true;
    this.out.chunk({ role: 'assistant', content: '' });
  }

  private onBlockStart(index: number, start: unknown): void {
    if (!isRecord(start) || !isRecord(start.toolUse)) return;
    const id = asString(start.toolUse.toolUseId) ?? `call_${this.ctx.generateId()}`;
    this.blocks.set(index, { kind: 'tool', call: this.tools.start(id, asString(start.toolUse.name) ?? '') });
  }

  private onBlockDelta(index: number, delta: unknown): void {
    if (!isRecord(delta)) return;
    const block = this.blocks.get(index);
    if (typeof delta.text === 'string') {
      if (delta.text !== '') this.out.text('content', delta.text);
    } else if (isRecord(delta.toolUse)) {
      const partial = asString(delta.toolUse.input);
      if (partial && block?.kind === 'tool') this.tools.appendArguments(block.call, partial);
    } else if (isRecord(delta.reasoningContent)) {
      this.onReasoningDelta(index, block, delta.reasoningContent);
    }
  }

  private onReasoningDelta(index: number, block: BlockState | undefined, reasoning: Record<string, unknown>): void {
    const redacted = asString(reasoning.redactedContent);
    if (redacted !== undefined) {
      this.out.redactedThinking(redacted);
      return;
    }
    let state = block;
    if (state === undefined) {
      state = { kind: 'reasoning', text: '', signature: '' };
      this.blocks.set(index, state);
    }
    if (state.kind !== 'reasoning') return;
    const text = asString(reasoning.text);
    if (text) {
      state.text += text;
      this.out.text('reasoning_content', text);
    }
    const signature = asString(reasoning.signature);
    if (signature) state.signature += signature;
  }

  private onBlockStop(index: number): void {
    const block = this.blocks.get(index);
    this.blocks.delete(index);
    if (block?.kind === 'tool') this.tools.stop(block.call);
    else if (block?.kind === 'reasoning') this.out.thinkingBlock(block.text, block.signature);
  }

  private onMessageStop(stopReason: unknown): void {
    if (this.stopped) return;
    this.stopped = true;
    const mapped = mapStopReason(stopReason, this.tools.called);
    if (mapped.warning) this.out.warn(mapped.warning);
    this.out.chunk({}, mapped.finishReason);
  }
}

/** The StreamTranslator: incremental event-stream decoding feeding ConverseStreamMapper. */
export class ConverseStream implements StreamTranslator {
  private readonly decoder: EventStreamDecoder;
  private readonly mapper: ConverseStreamMapper;

  constructor(ctx: RequestContext) {
    this.decoder = new EventStreamDecoder({ maxFrameBytes: ctx.maxStreamEventBytes });
    this.mapper = new ConverseStreamMapper(ctx);
  }

  push(chunk: Uint8Array): StreamStep {
    const decoded = this.decoder.push(chunk);
    for (const message of decoded.messages) this.mapper.onMessage(message);
    if (decoded.error) this.mapper.fail(eventStreamFramingError(decoded.error, false));
    return this.mapper.step();
  }

  end(): StreamStep {
    const decoded = this.decoder.end();
    if (decoded.error) this.mapper.fail(eventStreamFramingError(decoded.error, true));
    this.mapper.finish();
    return this.mapper.step();
  }
}
