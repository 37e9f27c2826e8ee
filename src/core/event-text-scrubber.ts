/**
 * Keeps a backend credential out of a client's stream when the upstream splits it across events.
 *
 * The byte-level scrubber (secret-scrubber.ts) finds a secret in the bytes, also across chunk boundaries. But a
 * streamed answer carries its text in pieces, one per event (`choices[i].delta.content`, Anthropic's
 * `content_block_delta`), and the client joins the pieces: `"sk-se"` in one event and `"cret…"` in the next never
 * hold the secret as bytes, yet the client ends up with it. So the text of each channel (a choice's content,
 * reasoning or refusal, one tool call's arguments, one Anthropic content block) is scrubbed as the client will
 * join it: the tail of a piece that could be the start of a secret is held back and sent with the channel's next
 * piece, where the whole secret, if it is one, is replaced. A held tail is sent on its own (in an event of the
 * same shape) when the channel ends (OpenAI `finish_reason`, Anthropic `content_block_stop`), before a final or
 * error event, and at the end of the stream. What the client joins is then the same text with every secret
 * replaced, however the upstream split it into events and the events into chunks.
 *
 * Events whose text needs no change go out as their own bytes; a changed event is written again from its JSON.
 */
import { asArray, isRecord, safeParseJson } from './json.js';
import type { SecretScrubber } from './secret-scrubber.js';
import { encodeSseEvent, forwardWholeItems, SseDecoder, type ContentOnlyChunk, type DecodedSseItem, type SseEvent } from './sse.js';

/** `event()` parses the data itself. */
const UNPARSED: unique symbol = Symbol('unparsed');

/** OpenAI chat chunks, Anthropic Messages events, or OpenAI Responses events. */
export type StreamApi = 'openai' | 'anthropic' | 'responses';

/** The text fields of OpenAI chunks and Anthropic deltas that the client concatenates. */
const OPENAI_DELTA_FIELDS = ['content', 'reasoning_content', 'reasoning', 'refusal'] as const;
const ANTHROPIC_DELTA_FIELDS: Record<string, string> = { text_delta: 'text', input_json_delta: 'partial_json', thinking_delta: 'thinking' };
/** Responses events whose `delta` a client joins, and the event that ends each one's channel. */
const RESPONSES_DELTA_DONE: Record<string, string> = {
  'response.output_text.delta': 'response.output_text.done',
  'response.refusal.delta': 'response.refusal.done',
  'response.function_call_arguments.delta': 'response.function_call_arguments.done',
  'response.reasoning_text.delta': 'response.reasoning_text.done',
  'response.reasoning_summary_text.delta': 'response.reasoning_summary_text.done',
};
const RESPONSES_CHANNEL_ENDS = new Set(Object.values(RESPONSES_DELTA_DONE));

/** One place in the stream whose pieces a client joins, and how to send a held tail there on its own. */
interface Channel {
  held: string;
  /** A complete event that carries `text` (the held tail) in this channel. */
  readonly standalone: (text: string) => string;
}

type Json = Record<string, unknown>;

export class EventTextScrubber {
  private readonly decoder = new SseDecoder({ keepRaw: true });
  private readonly channels = new Map<string, Channel>();
  /** Responses: events this scrubber inserted so far; every later event's sequence_number moves up by as many. */
  private inserted = 0;
  /** Responses: the upstream sequence_number of the event being read (after the last one, at the end). */
  private nextSequence = 0;

  constructor(
    private readonly scrubber: SecretScrubber,
    private readonly api: StreamApi,
  ) {}

  /** The bytes to send for one chunk of the client-bound stream; the chunk itself when nothing changed. */
  push(chunk: Uint8Array): Uint8Array {
    if (this.scrubber.isEmpty) return chunk;
    const heldBefore = this.decoder.heldBytes;
    const items = this.decoder.push(chunk);
    const parts: Uint8Array[] = [];
    let changed = false;
    for (const item of items) {
      const out = item.type === 'event' ? this.event(item) : undefined;
      if (out === undefined) {
        parts.push(item.raw ?? new Uint8Array(0));
      } else {
        parts.push(Buffer.from(out, 'utf8'));
        changed = true;
      }
    }
    if (!changed) return forwardWholeItems(chunk, parts, heldBefore, this.decoder.heldBytes);
    return Buffer.concat(parts);
  }

  /**
   * The same for a chunk whose items the translator already decoded (`items` are exactly the chunk's bytes, with
   * each event's parsed JSON): the chunk is not decoded and parsed a second time.
   */
  pushDecoded(chunk: Uint8Array, items: readonly DecodedSseItem[]): Uint8Array {
    if (this.scrubber.isEmpty) return chunk;
    // Bytes of an event the decoder holds from an earlier chunk come first: read this chunk the slow way.
    if (this.decoder.heldBytes > 0) return this.push(chunk);
    this.decoder.assumeStarted();
    let parts: Uint8Array[] | undefined;
    for (const [index, item] of items.entries()) {
      let out: string | undefined;
      // A content-only chunk read without parsing has no `json` (a translator's own chunk has both).
      if (item.type === 'event' && !this.leavesUnchanged(item.content)) out = this.event(item, item.json === undefined ? UNPARSED : item.json);
      if (out !== undefined) parts ??= items.slice(0, index).map(rawOf);
      if (parts) parts.push(out === undefined ? rawOf(item) : Buffer.from(out, 'utf8'));
    }
    return parts ? Buffer.concat(parts) : chunk;
  }

  /**
   * A content-only OpenAI chunk the translator did not parse needs no change: no channel holds a tail, and its text
   * neither holds a secret nor ends with the start of one (what `openAIEvent` would find, without parsing).
   */
  private leavesUnchanged(content: ContentOnlyChunk | undefined): boolean {
    if (content === undefined || this.api !== 'openai' || this.channels.size > 0 || this.inserted > 0) return false;
    const { out, held } = this.scrubber.scrubTextPiece(content.text);
    return held === '' && out === content.text;
  }

  /** The end of the stream: an unfinished event as received, then every held tail. */
  end(): Uint8Array {
    if (this.scrubber.isEmpty) return new Uint8Array(0);
    const parts: Uint8Array[] = [];
    for (const item of this.decoder.end()) parts.push(item.raw ?? new Uint8Array(0));
    const flushed = this.flush(() => true);
    if (flushed) parts.push(Buffer.from(flushed, 'utf8'));
    return Buffer.concat(parts);
  }

  /** The event's new text, or undefined to send it as received. */
  private event(event: SseEvent, json: unknown = UNPARSED): string | undefined {
    if (event.data === '[DONE]') return this.prefixed(this.flush(() => true), event);
    const parsed = json === UNPARSED ? parseOrUndefined(event.data) : json;
    if (!isRecord(parsed)) return undefined;
    if (this.api === 'responses') return this.responsesEvent(event, parsed);
    return this.api === 'anthropic' ? this.anthropicEvent(event, parsed) : this.openAIEvent(event, parsed);
  }

  /** Held tails sent before the event, which itself is unchanged. */
  private prefixed(flushed: string, event: SseEvent): string | undefined {
    if (flushed === '') return undefined;
    return flushed + Buffer.from(rawOf(event)).toString('utf8');
  }

  private openAIEvent(event: SseEvent, chunk: Json): string | undefined {
    if (chunk['error'] !== undefined) return this.prefixed(this.flush(() => true), event);
    const choices = asArray(chunk['choices']);
    if (!choices) return undefined;
    let changed = false;
    let before = '';
    for (const choice of choices) {
      if (!isRecord(choice)) continue;
      const index = typeof choice['index'] === 'number' ? choice['index'] : 0;
      const standaloneFor = (inner: (text: string) => Json) => (text: string) =>
        encodeSseEvent({ data: JSON.stringify({ ...withoutUsage(chunk), choices: [{ index, ...inner(text), finish_reason: null }] }) });
      if (typeof choice['text'] === 'string') changed = this.piece(`${index}/text`, choice, 'text', standaloneFor((text) => ({ text }))) || changed;
      const delta = choice['delta'];
      if (isRecord(delta)) {
        for (const field of OPENAI_DELTA_FIELDS) {
          if (typeof delta[field] !== 'string') continue;
          changed = this.piece(`${index}/${field}`, delta, field, standaloneFor((text) => ({ delta: { [field]: text } }))) || changed;
        }
        for (const call of asArray(delta['tool_calls']) ?? []) {
          const fn = isRecord(call) ? call['function'] : undefined;
          if (!isRecord(call) || !isRecord(fn) || typeof fn['arguments'] !== 'string') continue;
          const callIndex = typeof call['index'] === 'number' ? call['index'] : 0;
          const toolDelta = (text: string) => ({ delta: { tool_calls: [{ index: callIndex, function: { arguments: text } }] } });
          changed = this.piece(`${index}/tool/${callIndex}`, fn, 'arguments', standaloneFor(toolDelta)) || changed;
        }
      }
      // The choice ends: what it still holds goes out before this event.
      if (choice['finish_reason'] !== null && choice['finish_reason'] !== undefined) before += this.flush((key) => key.startsWith(`${index}/`));
    }
    if (!changed) return this.prefixed(before, event);
    return before + encodeSseEvent({ ...(event.event === undefined ? {} : { event: event.event }), ...(event.id === undefined ? {} : { id: event.id }), data: JSON.stringify(chunk) });
  }

  private anthropicEvent(event: SseEvent, body: Json): string | undefined {
    const type = body['type'];
    if (type === 'content_block_delta') {
      const delta = body['delta'];
      const field = isRecord(delta) && typeof delta['type'] === 'string' ? ANTHROPIC_DELTA_FIELDS[delta['type']] : undefined;
      if (!isRecord(delta) || field === undefined || typeof delta[field] !== 'string') return undefined;
      const index = body['index'];
      const deltaType = delta['type'] as string;
      const standalone = (text: string) =>
        encodeSseEvent({ event: 'content_block_delta', data: JSON.stringify({ type: 'content_block_delta', index, delta: { type: deltaType, [field]: text } }) });
      if (!this.piece(`${String(index)}`, delta, field, standalone)) return undefined;
      return encodeSseEvent({ ...(event.event === undefined ? {} : { event: event.event }), ...(event.id === undefined ? {} : { id: event.id }), data: JSON.stringify(body) });
    }
    if (type === 'content_block_stop') return this.prefixed(this.flush((key) => key === String(body['index'])), event);
    if (type === 'message_delta' || type === 'message_stop' || type === 'error') return this.prefixed(this.flush(() => true), event);
    return undefined;
  }

  /**
   * Responses events: each delta event's `delta` is a piece of its channel (item, content or summary part, event
   * kind). A held tail goes out as a delta event of its own just before the channel's `.done` event (or the end of
   * the response); the events after it get their `sequence_number` moved up, so the numbering stays 0, 1, 2...
   */
  private responsesEvent(event: SseEvent, body: Json): string | undefined {
    const type = typeof body['type'] === 'string' ? body['type'] : '';
    const sequence = typeof body['sequence_number'] === 'number' ? body['sequence_number'] : undefined;
    if (sequence !== undefined) this.nextSequence = sequence;
    const key = `${String(body['item_id'])}/${String(body['content_index'] ?? body['summary_index'] ?? '')}/${type.replace(/\.(delta|done)$/, '')}`;
    let before = '';
    let changed = false;
    if (type in RESPONSES_DELTA_DONE && typeof body['delta'] === 'string') {
      const template = { ...body };
      changed = this.piece(key, body, 'delta', (text) => this.responsesStandalone(type, { ...template, delta: text }));
    } else if (RESPONSES_CHANNEL_ENDS.has(type)) {
      before = this.flush((held) => held === key);
    } else if (type === 'error' || type === 'response.completed' || type === 'response.incomplete' || type === 'response.failed') {
      before = this.flush(() => true);
    }
    if (sequence !== undefined) this.nextSequence = sequence + 1;
    if (this.inserted > 0 && sequence !== undefined) {
      body['sequence_number'] = sequence + this.inserted;
      changed = true;
    }
    if (!changed) return this.prefixed(before, event);
    return before + encodeSseEvent({ ...(event.event === undefined ? {} : { event: event.event }), ...(event.id === undefined ? {} : { id: event.id }), data: JSON.stringify(body) });
  }

  /** A delta event carrying a held tail, numbered where the event that released it (or the end) would have been. */
  private responsesStandalone(type: string, body: Json): string {
    const numbered = { ...body, sequence_number: this.nextSequence + this.inserted };
    this.inserted += 1;
    return encodeSseEvent({ event: type, data: JSON.stringify(numbered) });
  }

  /**
   * One piece of a channel's text, in `holder[field]`: prefixed with what the channel held, scrubbed, and its
   * possible secret start held back. True when `holder[field]` was changed.
   */
  private piece(key: string, holder: Json, field: string, standalone: (text: string) => string): boolean {
    const value = holder[field] as string;
    const channel = this.channels.get(key);
    const text = channel && channel.held !== '' ? channel.held + value : value;
    const { out, held } = this.scrubber.scrubTextPiece(text);
    if (held !== '') this.channels.set(key, { held, standalone });
    else if (channel) this.channels.delete(key);
    if (out === value) return false;
    holder[field] = out;
    return true;
  }

  /** The held tails of the channels `which` selects, each as an event of its own; those channels are released. */
  private flush(which: (key: string) => boolean): string {
    let out = '';
    for (const [key, channel] of this.channels) {
      if (!which(key)) continue;
      this.channels.delete(key);
      // A held tail is a proper prefix of a secret, never a whole one; scrubbed all the same.
      if (channel.held !== '') out += channel.standalone(this.scrubber.scrubText(channel.held));
    }
    return out;
  }
}

const EMPTY = new Uint8Array(0);

/** An item's bytes as received, or as encodeSseEvent writes it (a translator's own event). */
function rawOf(item: DecodedSseItem | SseEvent): Uint8Array {
  if (item.raw !== undefined) return item.raw;
  if (item.type === 'comment') return EMPTY;
  return Buffer.from(encodeSseEvent({ ...(item.event === undefined ? {} : { event: item.event }), ...(item.id === undefined ? {} : { id: item.id }), data: item.data }), 'utf8');
}

function parseOrUndefined(data: string): unknown {
  const parsed = safeParseJson(data);
  return parsed.ok ? parsed.value : undefined;
}

function withoutUsage(chunk: Json): Json {
  const { usage: _usage, ...rest } = chunk;
  return rest;
}
