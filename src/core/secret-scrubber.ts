/**
 * Replaces known credential values in bytes and text with `[REDACTED]`.
 *
 * Each secret is looked for as sent and in the forms an echoing server may write it in: JSON-escaped, with `/`
 * escaped as `\/`, and URL-encoded. Matching runs on bytes, left to right, the longest secret first at each
 * position (so a whole `Bearer x` header value is replaced before the `x` inside it).
 *
 * For streams, `stream()` returns a scrubber that holds back the shortest tail that could still grow into a
 * secret (a proper prefix of one, at most the longest secret's length minus one), so a secret cut across
 * chunks is still found, and the output is the same bytes whatever the chunk boundaries are.
 *
 * Written here rather than taken from a library: a multi-needle byte search with a minimal held-back tail is
 * small, and none of the replace-in-stream packages guarantee split-independent output.
 */

export const REDACTED = '[REDACTED]';
const REDACTED_BYTES = Buffer.from(REDACTED, 'utf8');

/** Shorter values are not scrubbed: they could match ordinary text. */
export const MIN_SECRET_LENGTH = 8;

/** The forms one secret may take in an echo: as is, JSON-escaped, `\/`-escaped, URL-encoded. */
function variantsOf(secret: string): string[] {
  const json = JSON.stringify(secret).slice(1, -1);
  const forms = new Set([secret, json, json.replaceAll('/', '\\/'), encodeURIComponent(secret)]);
  return [...forms];
}

interface Match {
  readonly position: number;
  readonly length: number;
}

export class SecretScrubber {
  /** Longest first. */
  private readonly needles: readonly Buffer[];
  private readonly texts: readonly string[];
  /** needle byte lengths; the longest bounds the tail a stream holds back. */
  readonly maxLength: number;
  /** The needles by their first byte (a few groups: found with a native byte search, see undecidedPositions). */
  private readonly byFirstByte: ReadonlyMap<number, readonly Buffer[]>;
  /** The same for texts: their first UTF-16 code units, and the longest text's length. */
  private readonly firstChars = new Set<number>();
  private readonly maxTextLength: number;

  constructor(secrets: Iterable<string>) {
    const texts = new Set<string>();
    for (const secret of secrets) {
      if (secret.length < MIN_SECRET_LENGTH) continue;
      for (const form of variantsOf(secret)) texts.add(form);
    }
    this.texts = [...texts].sort((left, right) => Buffer.byteLength(right) - Buffer.byteLength(left));
    this.needles = this.texts.map((text) => Buffer.from(text, 'utf8'));
    this.maxLength = this.needles[0]?.length ?? 0;
    const groups = new Map<number, Buffer[]>();
    for (const needle of this.needles) {
      const group = groups.get(needle[0] as number);
      if (group) group.push(needle);
      else groups.set(needle[0] as number, [needle]);
    }
    this.byFirstByte = groups;
    for (const text of this.texts) this.firstChars.add(text.charCodeAt(0));
    this.maxTextLength = Math.max(0, ...this.texts.map((text) => text.length));
  }

  get isEmpty(): boolean {
    return this.needles.length === 0;
  }

  /** The bytes with every secret replaced; the very same object when none occurs. */
  scrub(bytes: Uint8Array): Uint8Array {
    if (this.isEmpty || bytes.length === 0) return bytes;
    const result = this.run(asBuffer(bytes), true);
    return result.changed ? result.out : bytes;
  }

  /** The text with every secret replaced (the same string when none occurs). */
  scrubText(text: string): string {
    if (this.isEmpty) return text;
    let out = text;
    for (const secret of this.texts) if (out.includes(secret)) out = out.split(secret).join(REDACTED);
    return out;
  }

  /**
   * One piece of a text that goes on in later pieces (a stream's delta): the piece with every secret replaced,
   * except its shortest tail that could still grow into a secret (a proper prefix of one), which is `held` for
   * the next piece. Joining every `out`, and the last `held`, gives `scrubText` of the joined pieces.
   */
  scrubTextPiece(text: string): { out: string; held: string } {
    if (this.isEmpty) return { out: text, held: '' };
    const scrubbed = this.scrubText(text);
    for (let at = Math.max(0, scrubbed.length - this.maxTextLength + 1); at < scrubbed.length; at += 1) {
      if (!this.firstChars.has(scrubbed.charCodeAt(at))) continue;
      const tail = scrubbed.slice(at);
      if (this.texts.some((secret) => secret.length > tail.length && secret.startsWith(tail))) return { out: scrubbed.slice(0, at), held: tail };
    }
    return { out: scrubbed, held: '' };
  }

  /** True when the text holds a secret in any of its forms. */
  containedIn(text: string): boolean {
    return this.texts.some((secret) => text.includes(secret));
  }

  /** A scrubber for one stream of chunks. */
  stream(): StreamScrubber {
    return new StreamScrubber(this);
  }

  /**
   * Scrubs `buffer`. Unless `final`, stops at the first position where a secret may begin but the buffer ends
   * too soon to tell; `held` is the rest, to be prefixed to the next chunk.
   */
  run(buffer: Buffer, final: boolean): { out: Buffer; held: Buffer; changed: boolean } {
    const length = buffer.length;
    const matches = this.matchesIn(buffer);
    const holds = final ? [] : this.undecidedPositions(buffer);
    const pieces: Buffer[] = [];
    let cursor = 0;
    let holdIndex = 0;
    let cut = length;
    const nextHold = (): number | undefined => {
      while (holdIndex < holds.length && (holds[holdIndex] as number) < cursor) holdIndex += 1;
      return holds[holdIndex];
    };
    for (const match of matches) {
      if (match.position < cursor) continue;
      const hold = nextHold();
      // A longer secret may still start at or before this match: undecided until more bytes arrive.
      if (hold !== undefined && hold <= match.position) {
        cut = hold;
        break;
      }
      pieces.push(buffer.subarray(cursor, match.position), REDACTED_BYTES);
      cursor = match.position + match.length;
    }
    if (cut === length) cut = nextHold() ?? length;
    if (pieces.length === 0 && cut === length) return { out: buffer, held: EMPTY, changed: false };
    pieces.push(buffer.subarray(cursor, cut));
    return { out: Buffer.concat(pieces), held: Buffer.from(buffer.subarray(cut)), changed: true };
  }

  /** Every occurrence of every needle, by position, the longest first at one position. */
  private matchesIn(buffer: Buffer): Match[] {
    const matches: Match[] = [];
    for (const [byte, needles] of this.byFirstByte) {
      // Most chunks hold no needle's first byte at all: one byte search rules out the whole group.
      const first = buffer.indexOf(byte);
      if (first === -1) continue;
      for (const needle of needles) {
        for (let at = buffer.indexOf(needle, first); at !== -1; at = buffer.indexOf(needle, at + 1)) {
          matches.push({ position: at, length: needle.length });
        }
      }
    }
    return matches.sort((left, right) => left.position - right.position || right.length - left.length);
  }

  /**
   * Positions near the end where the rest of the buffer is a proper prefix of some needle, in order. The window is
   * the longest needle's length, which with a SigV4 Authorization header among the secrets is a whole stream chunk:
   * its candidates are found by searching for each needle's first byte, not by visiting every position.
   */
  private undecidedPositions(buffer: Buffer): number[] {
    const from = Math.max(0, buffer.length - this.maxLength + 1);
    const positions: number[] = [];
    for (const [byte, needles] of this.byFirstByte) {
      for (let position = buffer.indexOf(byte, from); position !== -1; position = buffer.indexOf(byte, position + 1)) {
        if (someNeedleStartsWith(needles, buffer, position)) positions.push(position);
      }
    }
    if (this.byFirstByte.size > 1) positions.sort((left, right) => left - right);
    return positions;
  }
}

/** True when buffer[position..] (to its end) is a proper prefix of one of `needles`. Compared in place: this runs for every chunk. */
function someNeedleStartsWith(needles: readonly Buffer[], buffer: Buffer, position: number): boolean {
  const rest = buffer.length - position;
  for (const needle of needles) {
    if (needle.length <= rest) continue;
    let index = 0;
    while (index < rest && needle[index] === buffer[position + index]) index += 1;
    if (index === rest) return true;
  }
  return false;
}

const EMPTY = Buffer.alloc(0);

function asBuffer(bytes: Uint8Array): Buffer {
  return Buffer.isBuffer(bytes) ? bytes : Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}

/** Scrubs a stream chunk by chunk; the concatenated output equals `scrub` of the whole stream. */
export class StreamScrubber {
  private held: Buffer = EMPTY;

  constructor(private readonly scrubber: SecretScrubber) {}

  /** Bytes held back for the next chunk (a possible start of a secret). */
  get heldBytes(): number {
    return this.held.length;
  }

  /** The scrubbed bytes that can go out now; the chunk itself when nothing changed and nothing is held. */
  push(chunk: Uint8Array): Uint8Array {
    if (this.scrubber.isEmpty) return chunk;
    if (chunk.length === 0 && this.held.length === 0) return chunk;
    const input = this.held.length === 0 ? asBuffer(chunk) : Buffer.concat([this.held, chunk]);
    const fresh = this.held.length === 0;
    const result = this.scrubber.run(input, false);
    this.held = result.held;
    if (!result.changed) return fresh ? chunk : result.out;
    return result.out;
  }

  /** The end of the stream: whatever was held back, scrubbed. */
  end(): Uint8Array {
    const held = this.held;
    this.held = EMPTY;
    if (held.length === 0) return held;
    return this.scrubber.run(held, true).out;
  }
}
