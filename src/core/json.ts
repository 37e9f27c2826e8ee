/** JSON helpers: parse into `unknown` without throwing; narrow with guards. */
import { isAscii } from 'node:buffer';

export type ParseResult<T> = { ok: true; value: T } | { ok: false; error: string };

const decoder = new TextDecoder('utf-8', { fatal: false });

/**
 * UTF-8 bytes as a string. ASCII text (most JSON: clients send English or escape the rest) is copied byte for byte
 * into a one-byte string, about twice as fast as a UTF-8 decode; a byte-order mark is not ASCII, so the decoder
 * still strips it.
 */
export function decodeUtf8(bytes: Uint8Array): string {
  return isAscii(bytes) ? Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('latin1') : decoder.decode(bytes);
}

export function safeParseJson(input: string | Uint8Array): ParseResult<unknown> {
  try {
    const text = typeof input === 'string' ? input : decodeUtf8(input);
    return { ok: true, value: JSON.parse(text) as unknown };
  } catch (error) {
    return { ok: false, error: error instanceof Error ? error.message : String(error) };
  }
}

/**
 * The JSON object a text holds, or undefined (not JSON, or JSON that is not an object). Text whose first character
 * after JSON whitespace cannot open an object is not parsed at all: plain text (a tool result, say) costs no thrown
 * and caught SyntaxError.
 */
export function parseJsonObject(text: string): Record<string, unknown> | undefined {
  let at = 0;
  for (let code = text.charCodeAt(at); code === 0x20 || code === 0x09 || code === 0x0a || code === 0x0d; code = text.charCodeAt(at)) at += 1;
  if (text.charCodeAt(at) !== 0x7b) return undefined;
  const parsed = safeParseJson(text);
  return parsed.ok && isRecord(parsed.value) ? parsed.value : undefined;
}

/** A character a JSON string must escape: text without one is written between quotes as it is. */
export const NEEDS_JSON_ESCAPE = /["\\\u0000-\u001f]/;

/**
 * Reads `head`, a JSON array index (at most nine digits, no leading zero), `middle` and a JSON string's text up to its
 * closing quote, when that text has nothing escaped: the common event of a provider's stream written compactly,
 * without JSON.parse. `rest` is what follows the text, from its closing quote, for the caller to match. Undefined
 * when the text does not have that form.
 */
export function readCompactIndexedText(data: string, head: string, middle: string): { index: number; text: string; rest: string } | undefined {
  if (!data.startsWith(head)) return undefined;
  const digitsFrom = head.length;
  let at = digitsFrom;
  for (let code = data.charCodeAt(at); code >= 0x30 && code <= 0x39 && at - digitsFrom < 10; code = data.charCodeAt(at)) at += 1;
  const digits = at - digitsFrom;
  if (digits === 0 || digits > 9 || (digits > 1 && data.charCodeAt(digitsFrom) === 0x30)) return undefined;
  if (!data.startsWith(middle, at)) return undefined;
  const textFrom = at + middle.length;
  const textTo = data.indexOf('"', textFrom);
  if (textTo === -1) return undefined;
  const text = data.slice(textFrom, textTo);
  if (NEEDS_JSON_ESCAPE.test(text)) return undefined;
  return { index: Number(data.slice(digitsFrom, at)), text, rest: data.slice(textTo) };
}

export function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

export function asString(value: unknown): string | undefined {
  return typeof value === 'string' ? value : undefined;
}

export function asArray(value: unknown): unknown[] | undefined {
  return Array.isArray(value) ? value : undefined;
}

export function encodeJson(value: unknown): Uint8Array {
  return utf8(JSON.stringify(value));
}

/**
 * UTF-8 bytes of a string, for what is written once into an answer (translated chunks and bodies). Buffer.from is
 * about five times faster than TextEncoder for the few hundred characters of a stream event (0.2 against 1.2 µs):
 * a result under 4 KiB is a slice of Node's shared allocation pool instead of an ArrayBuffer of its own. A pool
 * slab lives as long as any slice of it, so bytes kept for the rest of an exchange (a pivot's request body) are
 * encoded otherwise.
 */
export function utf8(text: string): Uint8Array {
  return Buffer.from(text, 'utf8');
}

/**
 * True when arrays/objects in the JSON text nest deeper than `maxDepth`. One pass over the bytes, no recursion,
 * so a hostile body (100k levels) is rejected before any recursive code (translators, schema converters) sees it.
 */
export function nestsDeeperThan(bytes: Uint8Array, maxDepth: number): boolean {
  let depth = 0;
  for (let index = 0; index < bytes.length; index += 1) {
    const byte = bytes[index];
    if (byte === 0x22) {
      // Skip the string with a native search for its closing quote (bodies are mostly string content).
      const end = closingQuote(bytes, index);
      if (end === -1) return false;
      index = end;
    } else if (byte === 0x5b || byte === 0x7b) {
      depth += 1;
      if (depth > maxDepth) return true;
    } else if (byte === 0x5d || byte === 0x7d) {
      depth -= 1;
    }
  }
  return false;
}

/** JSON whitespace: space, tab, line feed, carriage return. */
export function isJsonSpace(byte: number | undefined): boolean {
  return byte === 0x20 || byte === 0x09 || byte === 0x0a || byte === 0x0d;
}

/** Offset of the first byte from `position` that is not JSON whitespace. */
export function skipSpace(bytes: Uint8Array, position: number): number {
  let index = position;
  while (isJsonSpace(bytes[index])) index += 1;
  return index;
}

/**
 * Offset of the quote closing the string opened at `open`, or -1 (an odd run of backslashes escapes a quote). Found
 * with indexOf, a native scan: JSON bodies are mostly string content.
 */
export function closingQuote(bytes: Uint8Array, open: number): number {
  let from = open + 1;
  for (;;) {
    const quote = bytes.indexOf(0x22, from);
    if (quote === -1) return -1;
    let backslashes = 0;
    for (let back = quote - 1; back > open && bytes[back] === 0x5c; back -= 1) backslashes += 1;
    if (backslashes % 2 === 0) return quote;
    from = quote + 1;
  }
}
