/**
 * Server-sent events: an incremental, byte-level decoder and a canonical encoder.
 *
 * The decoder splits lines on bytes (LF, CRLF or CR; a CR at the end of a chunk waits for the next byte) and
 * decodes only complete lines as UTF-8. UTF-8 continuation bytes never equal CR or LF, so a multi-byte character
 * split across chunks is always reassembled before it is decoded. Consumed bytes are released as soon as their
 * event is dispatched: memory is bounded by the largest event, and `maxEventBytes` bounds that: an event (or
 * comment) still growing past it makes `push` throw a LimitExceededError, and the decoder then ignores the rest.
 *
 * @see https://html.spec.whatwg.org/multipage/server-sent-events.html#event-stream-interpretation
 */
import { describeBytes, LimitExceededError } from './limit-error.js';

const LF = 0x0a;
const CR = 0x0d;
const BOM = [0xef, 0xbb, 0xbf] as const;
const EMPTY = new Uint8Array(0);

/** A dispatched event (a block with at least one `data` field). */
export interface SseEvent {
  readonly type: 'event';
  /** The `event:` field, undefined when absent (the spec's default "message"). */
  readonly event: string | undefined;
  /** The `data:` lines joined with "\n". */
  readonly data: string;
  /** The `id:` field of this block, if any. */
  readonly id: string | undefined;
  /** With `keepRaw`: the exact upstream bytes of this event (see SseDecoderOptions). */
  readonly raw: Uint8Array | undefined;
  /** Set by `end()` when the stream stopped before the event's blank line: clients discard such an event. */
  readonly unterminated?: true;
}

/** A comment line (`: text`): upstream keepalive. */
export interface SseComment {
  readonly type: 'comment';
  /** The text after the colon, one leading space removed. */
  readonly text: string;
  /** With `keepRaw`: the bytes of the comment (empty when the comment sits inside an event's block). */
  readonly raw: Uint8Array | undefined;
  /** Set by `end()` when the stream stopped before the comment's line end. */
  readonly unterminated?: true;
}

export type SseItem = SseEvent | SseComment;

/**
 * An event with its `data` parsed as JSON (`json` undefined: not JSON), or a comment. An event's `raw` may be left
 * out when its bytes are exactly `encodeSseEvent` of it (a translator's own output).
 */
export type DecodedSseItem = SseComment | (SseEvent & { readonly json: unknown; readonly content?: ContentOnlyChunk });

/**
 * Marks an OpenAI chat chunk whose only text a client joins is `text`, the content delta of choice `index`; it has no
 * finish reason, usage or error. Set instead of `json` (then undefined) on a chunk read without parsing, and beside
 * `json` on a chunk a translator wrote.
 */
export interface ContentOnlyChunk {
  readonly index: number;
  readonly text: string;
}

export interface SseDecoderOptions {
  /**
   * Keep each item's raw bytes so it can be re-emitted unchanged. Concatenating the `raw` of every item in order
   * reproduces the input, except blank lines or field-only blocks (no `data`) left over at the end of the stream.
   * Bytes that precede an item (extra blank lines, a BOM) belong to that item.
   */
  readonly keepRaw?: boolean;
  /**
   * Largest event, in bytes as received (field names, line endings and comments inside it included). `push`
   * throws a LimitExceededError (`upstream_event_too_large`) as soon as an event grows past it. Default: no limit.
   */
  readonly maxEventBytes?: number;
}

function concatBytes(parts: readonly Uint8Array[], total: number): Uint8Array {
  if (parts.length === 1) return parts[0] as Uint8Array;
  const out = new Uint8Array(total);
  let offset = 0;
  for (const part of parts) {
    out.set(part, offset);
    offset += part.length;
  }
  return out;
}

/** Incremental SSE decoder. Feed it chunks split anywhere; `end()` flushes a final event. */
export class SseDecoder {
  private readonly keepRaw: boolean;
  private readonly maxEventBytes: number;
  /** Bytes of the item in progress (the current block, or a comment line outside one). */
  private itemBytes = 0;
  /** The size limit was passed: everything after is ignored. */
  private failed = false;
  private readonly text = new TextDecoder('utf-8', { fatal: false, ignoreBOM: true });
  // start of stream: bytes held while deciding whether they are a BOM
  private started = false;
  private startHeld: number[] = [];
  // the current (incomplete) line
  private lineParts: Uint8Array[] = [];
  private lineLength = 0;
  /** The current line ended with CR at the end of the last chunk; a LF may follow. */
  private crPending = false;
  // raw bytes since the last item boundary: earlier chunks' in rawParts; the chunk being scanned from rawFrom on
  private rawParts: Uint8Array[] = [];
  private rawLength = 0;
  /** While scanning: the chunk, where its bytes not yet in rawParts start, and where the line just read ends. */
  private scanning: Uint8Array = EMPTY;
  private rawFrom = 0;
  private rawTo = 0;
  // the current block
  private dataLines: string[] = [];
  private hasData = false;
  private hasFields = false;
  private eventName: string | undefined;
  private eventId: string | undefined;
  private ended = false;

  constructor(options: SseDecoderOptions = {}) {
    this.keepRaw = options.keepRaw === true;
    this.maxEventBytes = options.maxEventBytes ?? Number.POSITIVE_INFINITY;
  }

  /**
   * With keepRaw: bytes received that belong to no item yet (the event still arriving). Pass-through callers
   * forward the raw bytes of completed items only, so a client never sees part of an event (a stream cut or
   * refused mid-event would otherwise glue that part to the error event that ends it).
   */
  get heldBytes(): number {
    return this.startHeld.length + this.rawLength;
  }

  /** Items were read elsewhere from the start of this stream: a byte-order mark can no longer come. */
  assumeStarted(): void {
    if (this.started || this.startHeld.length > 0) return;
    this.started = true;
  }

  /** Consumes one chunk; returns the items it completed. */
  push(chunk: Uint8Array): SseItem[] {
    const items: SseItem[] = [];
    if (this.ended || this.failed || chunk.length === 0) return items;
    let bytes = chunk;
    if (!this.started) {
      const stripped = this.stripBom(bytes);
      if (stripped === undefined) return items;
      bytes = stripped;
    }
    this.scan(bytes, items);
    return items;
  }

  /** End of the stream: processes an unterminated last line and dispatches a pending event. */
  end(): SseItem[] {
    const items: SseItem[] = [];
    if (this.ended || this.failed) return items;
    if (!this.started) {
      this.started = true;
      const held = Uint8Array.from(this.startHeld);
      this.startHeld = [];
      if (held.length > 0) this.scan(held, items);
    }
    this.ended = true;
    if (this.crPending) {
      // A line ended by CR at the very end: complete, only its LF could not be ruled out until now.
      this.crPending = false;
      this.completeLine(items);
    }
    const terminated = items.length;
    if (this.lineLength > 0) this.completeLine(items);
    if (this.hasData) this.dispatch(items);
    this.rawParts = [];
    this.rawLength = 0;
    // What the stream left unfinished (a line without its end, an event without its blank line) is marked.
    for (let index = terminated; index < items.length; index += 1) items[index] = { ...(items[index] as SseItem), unterminated: true };
    return items;
  }

  /** Returns the bytes after a BOM, or undefined while the first bytes could still be one. */
  private stripBom(chunk: Uint8Array): Uint8Array | undefined {
    let index = 0;
    while (index < chunk.length && this.startHeld.length < BOM.length) {
      this.startHeld.push(chunk[index] as number);
      index += 1;
      const position = this.startHeld.length - 1;
      if (this.startHeld[position] !== BOM[position]) break;
    }
    const held = this.startHeld;
    const isBomPrefix = held.every((byte, position) => byte === BOM[position]);
    if (isBomPrefix && held.length < BOM.length) return undefined;
    this.started = true;
    this.startHeld = [];
    const rest = chunk.subarray(index);
    if (isBomPrefix) {
      this.addRaw(Uint8Array.from(held));
      return rest;
    }
    const out = new Uint8Array(held.length + rest.length);
    out.set(held, 0);
    out.set(rest, held.length);
    return out;
  }

  private addRaw(bytes: Uint8Array): void {
    if (!this.keepRaw || bytes.length === 0) return;
    this.rawParts.push(bytes);
    this.rawLength += bytes.length;
  }

  /**
   * The raw bytes of the item just completed: up to `rawTo` in the chunk being scanned. An item that lies within
   * one chunk is a view of it (no copy).
   */
  private takeRaw(): Uint8Array | undefined {
    if (!this.keepRaw) return undefined;
    const current = this.scanning.subarray(this.rawFrom, this.rawTo);
    this.rawFrom = this.rawTo;
    if (this.rawLength === 0) return current.length === 0 ? EMPTY : current;
    if (current.length > 0) {
      this.rawParts.push(current);
      this.rawLength += current.length;
    }
    const raw = concatBytes(this.rawParts, this.rawLength);
    this.rawParts = [];
    this.rawLength = 0;
    return raw;
  }

  private scan(bytes: Uint8Array, items: SseItem[]): void {
    this.scanning = bytes;
    this.rawFrom = 0;
    this.rawTo = 0;
    try {
      this.scanLines(bytes, items);
    } finally {
      // What is left of the chunk belongs to the item still arriving.
      if (this.keepRaw && !this.failed) this.addRaw(bytes.subarray(this.rawFrom));
      this.scanning = EMPTY;
      this.rawFrom = 0;
      this.rawTo = 0;
    }
  }

  private scanLines(bytes: Uint8Array, items: SseItem[]): void {
    let position = 0;
    if (this.crPending) {
      this.crPending = false;
      if (bytes[0] === LF) position = 1;
      this.rawTo = position;
      this.completeLine(items);
    }
    let nextLf = bytes.indexOf(LF, position);
    let nextCr = bytes.indexOf(CR, position);
    while (position < bytes.length) {
      if (nextLf !== -1 && nextLf < position) nextLf = bytes.indexOf(LF, position);
      if (nextCr !== -1 && nextCr < position) nextCr = bytes.indexOf(CR, position);
      const lineEnd = nextLf === -1 ? nextCr : nextCr === -1 ? nextLf : Math.min(nextLf, nextCr);
      if (lineEnd === -1) {
        this.addLinePart(bytes.subarray(position));
        return;
      }
      if (lineEnd > position) this.addLinePart(bytes.subarray(position, lineEnd));
      if (bytes[lineEnd] === CR && lineEnd === bytes.length - 1) {
        // CR at the end of the chunk: the line is complete, but a LF may follow in the next chunk.
        this.crPending = true;
        return;
      }
      const terminatorEnd = bytes[lineEnd] === CR && bytes[lineEnd + 1] === LF ? lineEnd + 2 : lineEnd + 1;
      this.rawTo = terminatorEnd;
      this.completeLine(items);
      position = terminatorEnd;
    }
  }

  private addLinePart(part: Uint8Array): void {
    this.itemBytes += part.length;
    if (this.itemBytes > this.maxEventBytes) this.overflow();
    this.lineParts.push(part);
    this.lineLength += part.length;
  }

  /** Releases everything held and throws: the event in progress is larger than maxEventBytes. */
  private overflow(): never {
    this.failed = true;
    this.lineParts = [];
    this.lineLength = 0;
    this.rawParts = [];
    this.rawLength = 0;
    this.resetBlock();
    throw new LimitExceededError(
      'upstream_event_too_large',
      this.maxEventBytes,
      `an upstream stream event grew past ${describeBytes(this.maxEventBytes)}`,
    );
  }

  private completeLine(items: SseItem[]): void {
    const line = this.lineLength === 0 ? '' : this.text.decode(concatBytes(this.lineParts, this.lineLength));
    this.lineParts = [];
    this.lineLength = 0;
    this.processLine(line, items);
  }

  private processLine(line: string, items: SseItem[]): void {
    if (line === '') {
      if (this.hasData) this.dispatch(items);
      else this.resetBlock();
      return;
    }
    const colon = line.indexOf(':');
    if (colon === 0) {
      const text = line.charCodeAt(1) === 0x20 ? line.slice(2) : line.slice(1);
      const raw = this.hasFields ? (this.keepRaw ? EMPTY : undefined) : this.takeRaw();
      if (!this.hasFields) this.itemBytes = 0;
      items.push({ type: 'comment', text, raw });
      return;
    }
    const field = colon === -1 ? line : line.slice(0, colon);
    let value = colon === -1 ? '' : line.slice(colon + 1);
    if (value.charCodeAt(0) === 0x20) value = value.slice(1);
    this.hasFields = true;
    switch (field) {
      case 'data':
        this.dataLines.push(value);
        this.hasData = true;
        break;
      case 'event':
        this.eventName = value;
        break;
      case 'id':
        if (!value.includes('\u0000')) this.eventId = value;
        break;
      default:
        // `retry` and unknown fields are ignored, as the spec says
        break;
    }
  }

  private dispatch(items: SseItem[]): void {
    items.push({ type: 'event', event: this.eventName, data: this.dataLines.join('\n'), id: this.eventId, raw: this.takeRaw() });
    this.resetBlock();
  }

  private resetBlock(): void {
    this.itemBytes = 0;
    this.dataLines = [];
    this.hasData = false;
    this.hasFields = false;
    this.eventName = undefined;
    this.eventId = undefined;
  }
}

/**
 * What a pass-through stream forwards for one pushed chunk: the raw bytes of the items it completed (`parts`).
 * That is the chunk itself (the same object, meaning "unchanged") when it carried exactly whole items.
 */
export function forwardWholeItems(chunk: Uint8Array, parts: readonly Uint8Array[], heldBefore: number, heldAfter: number): Uint8Array {
  let length = 0;
  for (const part of parts) length += part.length;
  if (heldBefore === 0 && heldAfter === 0 && length === chunk.length) return chunk;
  return parts.length === 1 ? (parts[0] as Uint8Array) : concatBytes(parts, length);
}

export interface SseOutEvent {
  /** Event name; must not contain CR or LF. */
  readonly event?: string;
  /** Event id; must not contain CR or LF. */
  readonly id?: string;
  /** Event data (usually JSON text); embedded newlines become several `data:` lines. */
  readonly data: string;
}

/**
 * Canonical SSE text for one event: `event: x\n` (when named), `id: y\n` (when given), `data: <line>\n` per line,
 * then a blank line. Throws TypeError for CR or LF in the event name or id (they would inject fields).
 */
export function encodeSseEvent(out: SseOutEvent): string {
  let text = '';
  if (out.event !== undefined) {
    if (/[\r\n]/.test(out.event)) throw new TypeError('SSE event name must not contain CR or LF');
    text += `event: ${out.event}\n`;
  }
  if (out.id !== undefined) {
    if (/[\r\n]/.test(out.id)) throw new TypeError('SSE event id must not contain CR or LF');
    text += `id: ${out.id}\n`;
  }
  const data = out.data;
  // One line (JSON text always is): no split, which allocates an array per event.
  if (!data.includes('\n') && !data.includes('\r')) return `${text}data: ${data}\n\n`;
  for (const line of data.split(/\r\n|\r|\n/)) text += `data: ${line}\n`;
  return `${text}\n`;
}

/** A comment line, used as a keepalive (`: text\n\n`). Newlines in the text are replaced by spaces. */
export function encodeSseComment(text = ''): string {
  const clean = text.replace(/[\r\n]+/g, ' ');
  return clean === '' ? ':\n\n' : `: ${clean}\n\n`;
}

/** The OpenAI stream terminator. */
export const SSE_DONE = 'data: [DONE]\n\n';
