/**
 * Anthropic stream events -> OpenAI chat.completion.chunk SSE. Driven by already-parsed events, so the same
 * mapper serves SSE (Anthropic, Vertex) and the AWS event stream (Bedrock InvokeModelWithResponseStream).
 *
 * - message_start: id, model and the usage baseline; a first chunk `{role:"assistant",content:""}`.
 * - tool_use block start: a tool_calls entry `{index, id, type, function:{name, arguments:""}}` (the `{}`
 *   placeholder input is never sent as text); input_json_delta -> argument deltas with the same `index` and no
 *   `id`; a tool that got no argument delta gets `"{}"` (or its start input) exactly once, at its block stop.
 * - text_delta -> `content`; thinking_delta -> `reasoning_content` (plain string). When a thinking block ends,
 *   one chunk carries it whole for the next turn: `delta.thinking_blocks: [{type:"thinking", thinking,
 *   signature}]` (signature_delta collected); redacted_thinking -> `thinking_blocks: [{type, data}]` at its
 *   start. Clients concatenate `thinking_blocks` across chunks. Only the current thinking block's text is held.
 * - message_delta: usage merged per field (cumulative, never added); with a stop_reason, the finish chunk
 *   (`tool_calls` whenever a tool was streamed). message_stop without any stop_reason finishes with "stop".
 *   A stream that ends without message_stop gets no invented finish_reason: it ends with an error event, no [DONE].
 * - ping -> an empty-delta chunk (keeps bytes flowing for clients that ignore SSE comments as activity).
 * - error -> `data: {"error":{...}}`, StreamStep.error set; everything after it is ignored, no [DONE].
 * - finish(): the usage chunk `{"choices":[],"usage":...}` only when the client asked
 *   (stream_options.include_usage; a forced include is not shown), then `data: [DONE]`.
 * @see https://platform.claude.com/docs/en/build-with-claude/streaming
 */
import type { ErrorShape } from '../../core/errors.js';
import { asString, isRecord } from '../../core/json.js';
import type { TokenUsage } from '../../core/usage.js';
import { OpenAIChunkWriter } from '../shared/openai-chunk.js';
import { ToolCallStreamState, type ToolCallBlock } from '../shared/tool-call-stream-state.js';
import type { RequestContext, StreamStep } from '../types.js';
import { statusForAnthropicErrorType } from './convert-error.js';
import { mergeAnthropicUsage, readAnthropicUsage, usageOfCounts, type AnthropicUsageCounts } from './convert-usage.js';
import { mapStopReason } from './map-stop-reason.js';

type BlockState =
  | { kind: 'text' }
  | { kind: 'tool'; call: ToolCallBlock }
  | { kind: 'thinking'; text: string; signature: string }
  | { kind: 'other' };

export class AnthropicStreamMapper {
  private readonly ctx: RequestContext;
  private readonly out: OpenAIChunkWriter;
  private readonly tools: ToolCallStreamState;
  private counts: AnthropicUsageCounts = {};
  private readonly usageOf = usageOfCounts();
  private readonly blocks = new Map<number, BlockState>();
  private finished = false;
  private stopped = false;

  constructor(ctx: RequestContext) {
    this.ctx = ctx;
    this.out = new OpenAIChunkWriter(ctx);
    this.tools = new ToolCallStreamState(this.out);
  }

  /** One Anthropic event (`type` from the payload, else the SSE event name). */
  onEvent(type: string, data: unknown): StreamStep {
    if (this.out.closed) return this.step();
    const event = isRecord(data) ? data : {};
    switch (type) {
      case 'message_start':
        this.onMessageStart(event.message);
        break;
      case 'content_block_start':
        this.onBlockStart(event.index, event.content_block);
        break;
      case 'content_block_delta':
        this.onBlockDelta(event.index, event.delta);
        break;
      case 'content_block_stop':
        this.onBlockStop(event.index);
        break;
      case 'message_delta':
        this.onMessageDelta(event);
        break;
      case 'message_stop':
        this.stopped = true;
        if (!this.finished) this.emitFinish(undefined);
        break;
      case 'ping':
        this.out.chunk({});
        break;
      case 'error':
        this.onError(event.error);
        break;
      default:
        // unknown event types are ignored, as Anthropic's versioning policy asks
        break;
    }
    return this.step();
  }

  /** End of the upstream stream: usage chunk (when asked for) and `data: [DONE]`. */
  finish(): StreamStep {
    if (this.out.closed) return this.step();
    // Cut short: no invented finish reason, and no [DONE] that would make it look complete.
    if (!this.stopped) return this.fail({ status: 502, message: 'the Anthropic stream ended before message_stop', code: 'upstream_stream_truncated' });
    this.out.finish(this.usage());
    return this.step();
  }

  /** Nothing new: an empty step with the current usage. */
  idle(): StreamStep {
    return this.step();
  }

  /** Injects an error that did not come as an Anthropic `error` event (undecodable stream, exception frame). */
  fail(error: ErrorShape): StreamStep {
    this.out.fail(error);
    return this.step();
  }

  private usage(): TokenUsage | undefined {
    return this.usageOf(this.counts);
  }

  private step(): StreamStep {
    return this.out.step(this.usage());
  }

  private onMessageStart(message: unknown): void {
    if (!isRecord(message)) return;
    const id = asString(message.id);
    if (id) this.out.useId(id);
    const model = asString(message.model);
    if (model) this.out.model = model;
    this.counts = mergeAnthropicUsage(this.counts, readAnthropicUsage(message.usage));
    this.out.chunk({ role: 'assistant', content: '' });
  }

  private onBlockStart(index: unknown, block: unknown): void {
    if (typeof index !== 'number' || !isRecord(block)) return;
    switch (block.type) {
      case 'text': {
        this.blocks.set(index, { kind: 'text' });
        const text = asString(block.text);
        if (text) this.out.text('content', text);
        return;
      }
      case 'tool_use': {
        const id = asString(block.id) ?? `call_${this.ctx.generateId()}`;
        const input = block.input;
        const fallback = isRecord(input) && Object.keys(input).length > 0 ? JSON.stringify(input) : '{}';
        this.blocks.set(index, { kind: 'tool', call: this.tools.start(id, asString(block.name) ?? '', fallback) });
        return;
      }
      case 'thinking': {
        const text = asString(block.thinking) ?? '';
        this.blocks.set(index, { kind: 'thinking', text, signature: asString(block.signature) ?? '' });
        if (text) this.out.text('reasoning_content', text);
        return;
      }
      case 'redacted_thinking':
        this.blocks.set(index, { kind: 'other' });
        this.out.redactedThinking(asString(block.data) ?? '');
        return;
      default:
        this.blocks.set(index, { kind: 'other' });
        this.out.warn({ kind: 'unsupported_content_block', detail: `Anthropic content block "${String(block.type)}" was not translated` });
    }
  }

  private onBlockDelta(index: unknown, delta: unknown): void {
    if (typeof index !== 'number' || !isRecord(delta)) return;
    const block = this.blocks.get(index);
    switch (delta.type) {
      case 'text_delta': {
        const text = asString(delta.text);
        if (text) this.out.text('content', text);
        return;
      }
      case 'thinking_delta': {
        const text = asString(delta.thinking);
        if (!text) return;
        if (block?.kind === 'thinking') block.text += text;
        this.out.text('reasoning_content', text);
        return;
      }
      case 'signature_delta':
        if (block?.kind === 'thinking') block.signature += asString(delta.signature) ?? '';
        return;
      case 'input_json_delta': {
        const partial = asString(delta.partial_json);
        if (partial && block?.kind === 'tool') this.tools.appendArguments(block.call, partial);
        return;
      }
      default:
        // citations_delta and future delta types carry nothing an OpenAI client can use
        return;
    }
  }

  private onBlockStop(index: unknown): void {
    if (typeof index !== 'number') return;
    const block = this.blocks.get(index);
    this.blocks.delete(index);
    if (block?.kind === 'tool') this.tools.stop(block.call);
    else if (block?.kind === 'thinking') this.out.thinkingBlock(block.text, block.signature);
  }

  private onMessageDelta(event: Record<string, unknown>): void {
    this.counts = mergeAnthropicUsage(this.counts, readAnthropicUsage(event.usage));
    const delta = isRecord(event.delta) ? event.delta : {};
    const stopReason = delta.stop_reason;
    if (stopReason !== undefined && stopReason !== null && !this.finished) this.emitFinish(stopReason);
  }

  private emitFinish(stopReason: unknown): void {
    this.finished = true;
    const mapped = stopReason === undefined && !this.tools.called ? { finishReason: 'stop' as const } : mapStopReason(stopReason, this.tools.called);
    if (mapped.warning) this.out.warn(mapped.warning);
    this.out.chunk({}, mapped.finishReason);
  }

  private onError(error: unknown): void {
    const details = isRecord(error) ? error : {};
    const type = asString(details.type);
    this.out.fail({ status: statusForAnthropicErrorType(type), message: asString(details.message) ?? 'upstream stream error', type: type ?? 'api_error' });
  }
}
