/**
 * A JSON body's outline: its text with every long string below the top level cut to `""`. JSON.parse of the
 * outline builds the same structure (every key, array, number, literal and top-level value, short strings) without
 * the bulk: a 2 MB chat request is mostly message text, and routing, the request caps and a model override read
 * none of it.
 *
 * The outline parses exactly when the whole body does: everything it keeps is checked by JSON.parse itself, and
 * each string it cuts is checked here the way JSON.parse checks strings (no raw control character, only JSON's
 * escapes). The caller checks UTF-8 beforehand. When in doubt (a byte-order mark, which the UTF-8 decoder strips
 * but the outline would keep), there is no outline and the caller parses the whole body.
 *
 * Written here rather than taken from a library: a streaming JSON parser builds every string it passes, and the
 * point is to build none of the long ones.
 */
import { skipSpace } from './json.js';

const QUOTE = 0x22;
const BACKSLASH = 0x5c;
const COLON = 0x3a;

/** Strings with fewer bytes between their quotes are kept: they cost less than the cut. */
export const OUTLINE_MIN_CUT_BYTES = 256;

const decoder = new TextDecoder('utf-8', { fatal: false, ignoreBOM: true });

/** The characters JSON allows after a backslash besides `u`: " \\ / b f n r t. */
function isSimpleEscape(byte: number | undefined): boolean {
  return byte === 0x22 || byte === 0x5c || byte === 0x2f || byte === 0x62 || byte === 0x66 || byte === 0x6e || byte === 0x72 || byte === 0x74;
}

function isHexDigit(byte: number | undefined): boolean {
  return byte !== undefined && ((byte >= 0x30 && byte <= 0x39) || ((byte | 0x20) >= 0x61 && (byte | 0x20) <= 0x66));
}

/** No byte below 0x20 in bytes[from, to). Four bytes at a time over an aligned Uint32Array view. */
export function freeOfControlBytes(bytes: Uint8Array, from: number, to: number): boolean {
  let index = from;
  while (index < to && ((bytes.byteOffset + index) & 3) !== 0) {
    if ((bytes[index] as number) < 0x20) return false;
    index += 1;
  }
  const words = (to - index) >>> 2;
  if (words > 0) {
    const view = new Uint32Array(bytes.buffer, bytes.byteOffset + index, words);
    for (let word = 0; word < words; word += 1) {
      const value = view[word] as number;
      // Non-zero exactly when some byte of the word is below 0x20 ("has a byte less than n", n <= 128).
      if (((value - 0x20202020) & ~value & 0x80808080) !== 0) return false;
    }
    index += words << 2;
  }
  for (; index < to; index += 1) if ((bytes[index] as number) < 0x20) return false;
  return true;
}

/**
 * Finds string ends and checks their escapes. The next quote and the next backslash are each searched for once
 * and kept until passed, so a body with many escapes, or with none until its end, is still read in one pass.
 */
class StringReader {
  private nextQuote = -1;
  private nextBackslash = -1;
  private backslashesLeft = true;

  constructor(private readonly bytes: Uint8Array) {}

  /** Offset of the quote closing the string opened at `open`; -1 when it is unterminated or has a bad escape. */
  close(open: number): number {
    const bytes = this.bytes;
    let from = open + 1;
    for (;;) {
      if (this.nextQuote < from) this.nextQuote = bytes.indexOf(QUOTE, from);
      if (this.nextQuote === -1) return -1;
      if (this.backslashesLeft && this.nextBackslash < from) {
        this.nextBackslash = bytes.indexOf(BACKSLASH, from);
        if (this.nextBackslash === -1) this.backslashesLeft = false;
      }
      if (!this.backslashesLeft || this.nextBackslash > this.nextQuote) return this.nextQuote;
      const escape = this.nextBackslash;
      const kind = bytes[escape + 1] as number | undefined;
      if (kind === 0x75) {
        if (!(isHexDigit(bytes[escape + 2]) && isHexDigit(bytes[escape + 3]) && isHexDigit(bytes[escape + 4]) && isHexDigit(bytes[escape + 5]))) return -1;
        from = escape + 6;
      } else if (isSimpleEscape(kind)) {
        from = escape + 2;
      } else {
        return -1;
      }
    }
  }
}

/**
 * The outline's text, or undefined (no outline: parse the whole body). `bytes` must be valid UTF-8. Strings at depth
 * two or more (inside a top-level member's array or object) with at least `minCutBytes` bytes are cut, unless they
 * are object keys; the returned text is the kept bytes, decoded.
 */
export function outlineJson(bytes: Uint8Array, minCutBytes = OUTLINE_MIN_CUT_BYTES): string | undefined {
  if (bytes[0] === 0xef && bytes[1] === 0xbb && bytes[2] === 0xbf) return undefined;
  const reader = new StringReader(bytes);
  const kept: Uint8Array[] = [];
  let keptFrom = 0;
  let keptBytes = 0;
  let depth = 0;
  const length = bytes.length;
  for (let index = 0; index < length; index += 1) {
    const byte = bytes[index] as number;
    if (byte === QUOTE) {
      const close = reader.close(index);
      if (close === -1) return undefined;
      // Object keys are kept: a key is followed by a colon.
      if (depth >= 2 && close - index - 1 >= minCutBytes && bytes[skipSpace(bytes, close + 1)] !== COLON) {
        if (!freeOfControlBytes(bytes, index + 1, close)) return undefined;
        kept.push(bytes.subarray(keptFrom, index + 1));
        keptBytes += index + 1 - keptFrom;
        keptFrom = close;
      }
      index = close;
    } else if (byte === 0x7b || byte === 0x5b) {
      depth += 1;
    } else if (byte === 0x7d || byte === 0x5d) {
      depth -= 1;
    }
  }
  if (kept.length === 0) return decoder.decode(bytes);
  kept.push(bytes.subarray(keptFrom));
  keptBytes += length - keptFrom;
  return decoder.decode(Buffer.concat(kept, keptBytes));
}
