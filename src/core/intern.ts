/**
 * Short strings read from bytes again and again (header names and common values, metadata keys) as one string per
 * byte sequence, instead of a new string per message: less work per message, and an exchange that waits for its
 * response holds shared strings instead of its own copies.
 *
 * A direct-mapped table (a slot per hash, the newest string wins) needs no eviction policy and stays bounded;
 * Map-based interning would first have to build the string it looks up, which is the cost this avoids.
 */

/** Longest byte sequence interned; longer ones are rarely repeated (ids, dates, tokens). */
export const INTERN_MAX_BYTES = 32;
const SLOTS = 1024;
/** Made on the first read (nothing is done at import). */
let table: (string | undefined)[] | undefined;

/**
 * `bytes[start, stop)` read one character per byte (Latin-1; for ASCII bytes the same as UTF-8), from the table
 * when the same bytes were read before. Undefined (the caller decodes the bytes itself) for more than
 * INTERN_MAX_BYTES bytes, and with `asciiOnly` for a byte of 0x80 or above (UTF-8 text).
 */
export function internLatin1(bytes: Uint8Array, start: number, stop: number, asciiOnly = false): string | undefined {
  const length = stop - start;
  if (length > INTERN_MAX_BYTES) return undefined;
  let hash = length;
  for (let index = start; index < stop; index += 1) {
    const byte = bytes[index] as number;
    if (asciiOnly && byte >= 0x80) return undefined;
    hash = Math.imul(hash ^ byte, 0x01000193);
  }
  const slot = (hash ^ (hash >>> 15)) & (SLOTS - 1);
  table ??= new Array<string | undefined>(SLOTS).fill(undefined);
  const cached = table[slot];
  if (cached !== undefined && cached.length === length && sameLatin1(cached, bytes, start)) return cached;
  let text = '';
  for (let index = start; index < stop; index += 1) text += String.fromCharCode(bytes[index] as number);
  table[slot] = text;
  return text;
}

function sameLatin1(text: string, bytes: Uint8Array, start: number): boolean {
  for (let index = 0; index < text.length; index += 1) {
    if (text.charCodeAt(index) !== bytes[start + index]) return false;
  }
  return true;
}
