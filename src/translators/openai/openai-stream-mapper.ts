/**
 * A streamed OpenAI(-compatible) response. Bytes go through unchanged; every `data:` event is read for usage and
 * model, whatever shape the backend uses: a final `choices: []` usage chunk, usage on the last content chunk,
 * cumulative usage on every chunk (vLLM continuous_usage_stats, NIM; the latest wins), or none.
 *
 * When usage was forced upstream for a client that did not ask for it, the client must not see it: the usage-only
 * chunk is dropped and a `usage` field on a content chunk is removed (only that event is re-serialised). Output
 * always consists of whole events: the bytes of an event still arriving are held back until it is complete, so a
 * stream cut or refused mid-event (limits.maxStreamEventBytes) never sends the client part of one.
 * @see https://platform.openai.com/docs/api-reference/chat-streaming/streaming
 */
import { openAIErrorBody, type ErrorShape } from '../../core/errors.js';
import { asArray, isRecord, NEEDS_JSON_ESCAPE, safeParseJson, utf8 } from '../../core/json.js';
import { removeTopLevelKey } from '../../core/json-patch.js';
import { SseDecoder, encodeSseEvent, forwardWholeItems, type DecodedSseItem, type SseItem } from '../../core/sse.js';
import type { TokenUsage } from '../../core/usage.js';
import type { RequestContext, StreamStep, StreamTranslator } from '../types.js';
import { convertOpenAIUsage } from './convert-openai-usage.js';
import { embeddedOpenAIError, responseModelOf } from './convert-openai-response.js';

const EMPTY = new Uint8Array(0);

/** Content, reasoning, refusal and tool-argument text of one chunk (chat deltas or legacy completion `text`). */
export function deliveredTextOf(value: Record<string, unknown>): string {
  let text = '';
  for (const choice of asArray(value.choices) ?? []) {
    if (!isRecord(choice)) continue;
    if (typeof choice.text === 'string') text += choice.text;
    const delta = choice.delta;
    if (!isRecord(delta)) continue;
    for (const key of ['content', 'reasoning_content', 'reasoning', 'refusal']) {
      const part = delta[key];
      if (typeof part === 'string') text += part;
    }
    for (const call of asArray(delta.tool_calls) ?? []) {
      if (isRecord(call) && isRecord(call.function) && typeof call.function.arguments === 'string') text += call.function.arguments;
    }
    if (isRecord(delta.function_call) && typeof delta.function_call.arguments === 'string') text += delta.function_call.arguments;
  }
  return text;
}

/** A chunk that only carries usage: `choices` empty or absent and a `usage` object (Azure's filter chunk has none). */
function isUsageOnlyChunk(value: Record<string, unknown>): boolean {
  const choices = value.choices;
  const noChoices = choices === undefined || (Array.isArray(choices) && choices.length === 0);
  return noChoices && isRecord(value.usage);
}

interface StepState {
  out: Uint8Array[];
  text: string;
  error: ErrorShape | undefined;
  /** An event was dropped or re-serialised (usage hidden): the output is not the upstream's bytes. */
  rewritten: boolean;
  /** The items read, with their parsed JSON (handed on with the step while the output is the items' bytes). */
  decoded: DecodedSseItem[];
}

/**
 * A content-only chunk as the upstream writes it, around its content string: `prefix` ends with the string's
 * opening quote, `suffix` starts with its closing quote. The next chunk with the same prefix and suffix and a
 * content that needs no JSON escape parses to the same object but for the content, so it is read without parsing.
 */
interface ChunkTemplate {
  readonly prefix: string;
  readonly suffix: string;
  readonly index: number;
  readonly model: string | undefined;
}

export class OpenAIStreamMapper implements StreamTranslator {
  private readonly hideUsage: boolean;
  private readonly decoder: SseDecoder;
  private usage: TokenUsage | undefined;
  private model: string | undefined;
  /** Learned from the last parsed content-only chunk (most chunks of a stream share everything but the content). */
  private template: ChunkTemplate | undefined;
  /** `[DONE]`, a finish_reason or an error event was seen: the stream ended on purpose. */
  private completed = false;

  constructor(ctx: RequestContext) {
    this.hideUsage = ctx.forceIncludeUsage;
    this.decoder = new SseDecoder({ keepRaw: true, maxEventBytes: ctx.maxStreamEventBytes });
  }

  push(chunk: Uint8Array): StreamStep {
    const heldBefore = this.decoder.heldBytes;
    const state = this.handle(this.decoder.push(chunk));
    const body = state.rewritten ? joinBytes(state.out) : forwardWholeItems(chunk, state.out, heldBefore, this.decoder.heldBytes);
    return this.step(body, state, state.rewritten ? undefined : state.decoded);
  }

  /**
   * An item the upstream did not finish (an event without its blank line) is read (usage, [DONE]) but not forwarded:
   * clients discard it anyway, and a cut one must not run into the error event that follows.
   */
  end(): StreamStep {
    const items = this.decoder.end();
    const state = this.handle(items.filter((item) => !item.unterminated));
    const cut = this.handle(items.filter((item) => item.unterminated));
    state.text += cut.text;
    state.error ??= cut.error;
    const out = joinBytes(state.out);
    if (!this.completed && state.error === undefined) {
      // Cut off mid-answer (no finish_reason, no [DONE]): the client must not mistake it for a complete reply.
      state.error = { status: 502, message: 'upstream stream ended before the response was complete', code: 'upstream_stream_truncated' };
      return this.step(joinBytes([out, utf8(encodeSseEvent({ data: openAIErrorBody(state.error) }))]), state);
    }
    return this.step(out, state);
  }

  /** Called for every chunk: built by assignment, not by spreading optional parts into a literal. */
  private step(body: Uint8Array, state: StepState, events?: readonly DecodedSseItem[]): StreamStep {
    const step: { -readonly [K in keyof StreamStep]: StreamStep[K] } = { body, usage: this.usage };
    if (this.model !== undefined) step.responseModel = this.model;
    if (state.text !== '') step.deliveredText = state.text;
    if (state.error !== undefined) step.error = state.error;
    if (events !== undefined) step.events = events;
    return step;
  }

  private handle(items: readonly SseItem[]): StepState {
    const state: StepState = { out: [], text: '', error: undefined, rewritten: false, decoded: [] };
    for (const item of items) {
      const output = this.handleItem(item, state);
      if (output !== item.raw) state.rewritten = true;
      if (output !== undefined && output.length > 0) state.out.push(output);
    }
    return state;
  }

  /** Reads one item; returns the bytes the client gets for it (used only when hiding usage). */
  private handleItem(item: SseItem, state: StepState): Uint8Array | undefined {
    if (item.type === 'comment') {
      state.decoded.push(item);
      return item.raw;
    }
    const raw = item.raw ?? EMPTY;
    if (item.data === '[DONE]') {
      this.completed = true;
      state.decoded.push({ type: 'event', event: item.event, data: item.data, id: item.id, raw, json: undefined });
      return item.raw;
    }
    const content = this.templateContent(item.data);
    if (content !== undefined) {
      const template = this.template as ChunkTemplate;
      this.model = template.model ?? this.model;
      state.text += content;
      state.decoded.push({ type: 'event', event: item.event, data: item.data, id: item.id, raw, json: undefined, content: { index: template.index, text: content } });
      return item.raw;
    }
    const parsed = safeParseJson(item.data);
    state.decoded.push({ type: 'event', event: item.event, data: item.data, id: item.id, raw, json: parsed.ok ? parsed.value : undefined });
    // Not JSON (corrupt line, vendor text): forwarded untouched, never fatal.
    if (!parsed.ok || !isRecord(parsed.value)) {
      this.template = undefined;
      return item.raw;
    }
    const value = parsed.value;
    this.template = templateOf(item.data, value);
    // Groq reports stream usage in its `x_groq` extension on the last chunk
    const usage = convertOpenAIUsage(value.usage) ?? (isRecord(value.x_groq) ? convertOpenAIUsage(value.x_groq.usage) : undefined);
    if (usage !== undefined) this.usage = usage;
    this.model = responseModelOf(value) ?? this.model;
    state.text += deliveredTextOf(value);
    state.error ??= embeddedOpenAIError(value, 500);
    if (state.error !== undefined || hasFinishReason(value)) this.completed = true;
    if (!this.hideUsage || !('usage' in value)) return item.raw;
    if (isUsageOnlyChunk(value)) return undefined;
    const stripped = removeTopLevelKey(item.data, 'usage');
    if (stripped === undefined) return item.raw;
    return utf8(encodeSseEvent({ ...(item.event === undefined ? {} : { event: item.event }), ...(item.id === undefined ? {} : { id: item.id }), data: stripped }));
  }

  /** The content of a chunk that matches the template, read without parsing; undefined when it does not match. */
  private templateContent(data: string): string | undefined {
    const template = this.template;
    if (template === undefined || data.length < template.prefix.length + template.suffix.length) return undefined;
    if (!data.startsWith(template.prefix) || !data.endsWith(template.suffix)) return undefined;
    const content = data.slice(template.prefix.length, data.length - template.suffix.length);
    return NEEDS_JSON_ESCAPE.test(content) ? undefined : content;
  }
}

/**
 * The template of a parsed chunk whose only text is one choice's `delta.content` (no finish reason, usage, error or
 * other text), when that content appears in the data exactly as JSON.stringify writes it, under the one `"content"`
 * key of the chunk; undefined for any other chunk.
 */
function templateOf(data: string, value: Record<string, unknown>): ChunkTemplate | undefined {
  if ('usage' in value || 'x_groq' in value || value.error !== undefined) return undefined;
  const choices = value.choices;
  if (!Array.isArray(choices) || choices.length !== 1) return undefined;
  const choice: unknown = choices[0];
  if (!isRecord(choice) || !isRecord(choice.delta) || choice.text !== undefined) return undefined;
  if (choice.finish_reason !== null && choice.finish_reason !== undefined) return undefined;
  const delta = choice.delta;
  const content = delta.content;
  if (typeof content !== 'string' || deliveredTextOf(value) !== content) return undefined;
  const key = '"content"';
  const keyAt = data.indexOf(key);
  if (keyAt === -1 || data.lastIndexOf(key) !== keyAt) return undefined;
  const encoded = JSON.stringify(content);
  let valueAt = keyAt + key.length;
  while (data[valueAt] === ' ') valueAt += 1;
  if (data[valueAt] !== ':') return undefined;
  valueAt += 1;
  while (data[valueAt] === ' ') valueAt += 1;
  if (!data.startsWith(encoded, valueAt)) return undefined;
  const index = typeof choice.index === 'number' ? choice.index : 0;
  return { prefix: data.slice(0, valueAt + 1), suffix: data.slice(valueAt + encoded.length - 1), index, model: responseModelOf(value) };
}

function hasFinishReason(value: Record<string, unknown>): boolean {
  return (asArray(value.choices) ?? []).some((choice) => isRecord(choice) && typeof choice.finish_reason === 'string' && choice.finish_reason !== '');
}

function joinBytes(parts: readonly Uint8Array[]): Uint8Array {
  if (parts.length === 0) return EMPTY;
  if (parts.length === 1) return parts[0] as Uint8Array;
  const out = new Uint8Array(parts.reduce((sum, part) => sum + part.length, 0));
  let offset = 0;
  for (const part of parts) {
    out.set(part, offset);
    offset += part.length;
  }
  return out;
}
