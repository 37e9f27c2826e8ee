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
 *   A stream that ends without message_stop gets no invented finish_reason (a `stream_truncated` warning).
 * - ping -> an empty-delta chunk (keeps bytes flowing for clients that ignore SSE comments as activity).
 * - error -> `data: {"error":{...}}`, StreamStep.error set; everything after it is ignored, no [DONE].
 * - finish(): the usage chunk `{"choices":[],"usage":...}` only when the client asked
 *   (stream_options.include_usage; a forced include is not shown), then `data: [DONE]`.
 * @see https://platform.claude.com/docs/en/build-with-claude/streaming
 */
import { openAIErrorBody, type ErrorShape } from '../../core/errors.js';
import { asString, isRecord, utf8 } from '../../core/json.js';
import { SSE_DONE } from '../../core/sse.js';
import type { TokenUsage } from '../../core/usage.js';
import type { RequestContext, StreamStep, Warning } from '../types.js';
import { statusForAnthropicErrorType } from './convert-error.js';
import { hasCounts, mergeAnthropicUsage, readAnthropicUsage, toOpenAIUsage, toTokenUsage, type AnthropicUsageCounts } from './convert-usage.js';
import { mapStopReason } from './map-stop-reason.js';

type BlockState =
  | { kind: 'text' }
  | { kind: 'tool'; toolIndex: number; sentArguments: boolean; startInput: unknown }
  | { kind: 'thinking'; text: string; signature: string }
  | { kind: 'other' };

const EMPTY = new Uint8Array(0);

export class AnthropicStreamMapper {
  private readonly ctx: RequestContext;
  private readonly created: number;
  private readonly includeUsage: boolean;
  private id: string | undefined;
  private model: string;
  private counts: AnthropicUsageCounts = {};
  private readonly blocks = new Map<number, BlockState>();
  private toolCount = 0;
  private finished = false;
  private stopped = false;
  private failed = false;
  private done = false;
  // per call
  private out = '';
  private delivered = '';
  private warnings: Warning[] = [];
  private error: ErrorShape | undefined;

  constructor(ctx: RequestContext) {
    this.ctx = ctx;
    this.created = Math.floor(ctx.now() / 1000);
    this.model = ctx.upstreamModel;
    const streamOptions = ctx.body.stream_options;
    this.includeUsage = isRecord(streamOptions) && streamOptions.include_usage === true;
  }

  /** One Anthropic event (`type` from the payload, else the SSE event name). */
  onEvent(type: string, data: unknown): StreamStep {
    if (this.failed || this.done) return this.step();
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
        this.emitDelta({});
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
    if (this.failed || this.done) return this.step();
    this.done = true;
    if (!this.stopped) this.warnings.push({ kind: 'stream_truncated', detail: 'the Anthropic stream ended without message_stop' });
    if (this.includeUsage && hasCounts(this.counts)) {
      const chunk = { id: this.chunkId(), object: 'chat.completion.chunk', created: this.created, model: this.model, choices: [], usage: toOpenAIUsage(toTokenUsage(this.counts)) };
      this.out += `data: ${JSON.stringify(chunk)}\n\n`;
    }
    this.out += SSE_DONE;
    return this.step();
  }

  /** Nothing new: an empty step with the current usage. */
  idle(): StreamStep {
    return this.step();
  }

  /** Injects an error that did not come as an Anthropic `error` event (undecodable stream, exception frame). */
  fail(error: ErrorShape): StreamStep {
    if (this.failed || this.done) return this.step();
    this.emitError(error);
    return this.step();
  }

  private usage(): TokenUsage | undefined {
    return hasCounts(this.counts) ? toTokenUsage(this.counts) : undefined;
  }

  private step(): StreamStep {
    const step: StreamStep = {
      body: this.out === '' ? EMPTY : utf8(this.out),
      usage: this.usage(),
      responseModel: this.model,
      deliveredText: this.delivered,
      ...(this.error ? { error: this.error } : {}),
      ...(this.warnings.length > 0 ? { warnings: this.warnings } : {}),
    };
    this.out = '';
    this.delivered = '';
    this.warnings = [];
    this.error = undefined;
    return step;
  }

  private chunkId(): string {
    if (this.id === undefined) this.id = `chatcmpl-${this.ctx.generateId()}`;
    return this.id;
  }

  private emitChunk(delta: Record<string, unknown>, finishReason: string | null): void {
    const chunk = {
      id: this.chunkId(),
      object: 'chat.completion.chunk',
      created: this.created,
      model: this.model,
      choices: [{ index: 0, delta, logprobs: null, finish_reason: finishReason }],
    };
    this.out += `data: ${JSON.stringify(chunk)}\n\n`;
  }

  private emitDelta(delta: Record<string, unknown>): void {
    this.emitChunk(delta, null);
  }

  private onMessageStart(message: unknown): void {
    if (!isRecord(message)) return;
    const id = asString(message.id);
    if (this.id === undefined && id) this.id = id;
    const model = asString(message.model);
    if (model) this.model = model;
    this.counts = mergeAnthropicUsage(this.counts, readAnthropicUsage(message.usage));
    this.emitDelta({ role: 'assistant', content: '' });
  }

  private onBlockStart(index: unknown, block: unknown): void {
    if (typeof index !== 'number' || !isRecord(block)) return;
    switch (block.type) {
      case 'text': {
        this.blocks.set(index, { kind: 'text' });
        const text = asString(block.text);
        if (text) this.emitText('content', text);
        return;
      }
      case 'tool_use': {
        const toolIndex = this.toolCount++;
        this.blocks.set(index, { kind: 'tool', toolIndex, sentArguments: false, startInput: block.input });
        const id = asString(block.id) ?? `call_${this.ctx.generateId()}`;
        const name = asString(block.name) ?? '';
        this.emitDelta({ tool_calls: [{ index: toolIndex, id, type: 'function', function: { name, arguments: '' } }] });
        return;
      }
      case 'thinking': {
        const text = asString(block.thinking) ?? '';
        this.blocks.set(index, { kind: 'thinking', text, signature: asString(block.signature) ?? '' });
        if (text) this.emitText('reasoning_content', text);
        return;
      }
      case 'redacted_thinking':
        this.blocks.set(index, { kind: 'other' });
        this.emitDelta({ thinking_blocks: [{ type: 'redacted_thinking', data: asString(block.data) ?? '' }] });
        return;
      default:
        this.blocks.set(index, { kind: 'other' });
        this.warnings.push({ kind: 'unsupported_content_block', detail: `Anthropic content block "${String(block.type)}" was not translated` });
    }
  }

  private emitText(field: 'content' | 'reasoning_content', text: string): void {
    this.emitDelta({ [field]: text });
    this.delivered += text;
  }

  private onBlockDelta(index: unknown, delta: unknown): void {
    if (typeof index !== 'number' || !isRecord(delta)) return;
    const block = this.blocks.get(index);
    switch (delta.type) {
      case 'text_delta': {
        const text = asString(delta.text);
        if (text) this.emitText('content', text);
        return;
      }
      case 'thinking_delta': {
        const text = asString(delta.thinking);
        if (!text) return;
        if (block?.kind === 'thinking') block.text += text;
        this.emitText('reasoning_content', text);
        return;
      }
      case 'signature_delta':
        if (block?.kind === 'thinking') block.signature += asString(delta.signature) ?? '';
        return;
      case 'input_json_delta': {
        const partial = asString(delta.partial_json);
        if (!partial || block?.kind !== 'tool') return;
        block.sentArguments = true;
        this.emitDelta({ tool_calls: [{ index: block.toolIndex, function: { arguments: partial } }] });
        this.delivered += partial;
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
    if (block?.kind === 'tool' && !block.sentArguments) {
      const start = block.startInput;
      const args = isRecord(start) && Object.keys(start).length > 0 ? JSON.stringify(start) : '{}';
      this.emitDelta({ tool_calls: [{ index: block.toolIndex, function: { arguments: args } }] });
      this.delivered += args;
    } else if (block?.kind === 'thinking' && block.signature !== '') {
      this.emitDelta({ thinking_blocks: [{ type: 'thinking', thinking: block.text, signature: block.signature }] });
    }
  }

  private onMessageDelta(event: Record<string, unknown>): void {
    this.counts = mergeAnthropicUsage(this.counts, readAnthropicUsage(event.usage));
    const delta = isRecord(event.delta) ? event.delta : {};
    const stopReason = delta.stop_reason;
    if (stopReason !== undefined && stopReason !== null && !this.finished) this.emitFinish(stopReason);
  }

  private emitFinish(stopReason: unknown): void {
    this.finished = true;
    const mapped = stopReason === undefined && this.toolCount === 0 ? { finishReason: 'stop' as const } : mapStopReason(stopReason, this.toolCount > 0);
    if (mapped.warning) this.warnings.push(mapped.warning);
    this.emitChunk({}, mapped.finishReason);
  }

  private onError(error: unknown): void {
    const details = isRecord(error) ? error : {};
    const type = asString(details.type);
    this.emitError({ status: statusForAnthropicErrorType(type), message: asString(details.message) ?? 'upstream stream error', type: type ?? 'api_error' });
  }

  private emitError(error: ErrorShape): void {
    this.failed = true;
    this.error = error;
    this.out += `data: ${openAIErrorBody(error)}\n\n`;
  }
}
