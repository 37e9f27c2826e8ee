/**
 * Byte-preserving edits of a JSON object's top-level members. A small scanner finds each member's key and value
 * span (strings with escapes, nested objects and arrays); an edit splices only those bytes, so everything else
 * (whitespace, key order, number spelling, unknown fields) reaches the upstream unchanged.
 *
 * Works on UTF-8 bytes: JSON's structural characters are ASCII and never occur inside a multi-byte sequence.
 * Duplicate keys: every occurrence is edited (JSON parsers disagree on which one wins).
 * The value text passed in must be valid JSON; it is inserted as given.
 */
import { closingQuote, isJsonSpace, safeParseJson, skipSpace } from './json.js';

export interface MemberSpan {
  /** Decoded key. */
  readonly key: string;
  /** Offset of the key's opening quote. */
  readonly keyStart: number;
  readonly valueStart: number;
  /** Offset just past the value. */
  readonly valueEnd: number;
}

export interface ObjectScan {
  /** Offset of `{`. */
  readonly open: number;
  /** Offset of `}`. */
  readonly close: number;
  readonly members: readonly MemberSpan[];
}

const QUOTE = 0x22;
const BACKSLASH = 0x5c;
const encoder = new TextEncoder();
const decoder = new TextDecoder('utf-8', { fatal: false, ignoreBOM: true });

/** Offset just past the string starting at `position` (a quote), or -1. */
function scanString(bytes: Uint8Array, position: number): number {
  const quote = closingQuote(bytes, position);
  return quote === -1 ? -1 : quote + 1;
}

/** Offset just past the value starting at `position`, or -1. Validates only nesting and strings. */
function scanValue(bytes: Uint8Array, position: number): number {
  const first = bytes[position];
  if (first === undefined) return -1;
  if (first === QUOTE) return scanString(bytes, position);
  if (first === 0x7b || first === 0x5b) {
    const stack: number[] = [first === 0x7b ? 0x7d : 0x5d];
    let index = position + 1;
    while (index < bytes.length) {
      const byte = bytes[index] as number;
      if (byte === QUOTE) {
        index = scanString(bytes, index);
        if (index === -1) return -1;
        continue;
      }
      if (byte === 0x7b) stack.push(0x7d);
      else if (byte === 0x5b) stack.push(0x5d);
      else if (byte === 0x7d || byte === 0x5d) {
        if (stack.pop() !== byte) return -1;
        if (stack.length === 0) return index + 1;
      }
      index += 1;
    }
    return -1;
  }
  // number, true, false, null
  let index = position;
  while (index < bytes.length) {
    const byte = bytes[index] as number;
    if (byte === 0x2c || byte === 0x7d || byte === 0x5d || isJsonSpace(byte)) break;
    index += 1;
  }
  return index === position ? -1 : index;
}

function decodeKey(bytes: Uint8Array, start: number, end: number): string | undefined {
  const slice = bytes.subarray(start, end);
  if (!slice.includes(BACKSLASH)) return decoder.decode(slice.subarray(1, slice.length - 1));
  const parsed = safeParseJson(slice);
  return parsed.ok && typeof parsed.value === 'string' ? parsed.value : undefined;
}

/** Scans a JSON object (optionally surrounded by whitespace). Undefined when the bytes are not one object. */
export function scanObject(bytes: Uint8Array): ObjectScan | undefined {
  const open = skipSpace(bytes, 0);
  if (bytes[open] !== 0x7b) return undefined;
  const members: MemberSpan[] = [];
  let index = skipSpace(bytes, open + 1);
  if (bytes[index] !== 0x7d) {
    for (;;) {
      if (bytes[index] !== QUOTE) return undefined;
      const keyEnd = scanString(bytes, index);
      if (keyEnd === -1) return undefined;
      const key = decodeKey(bytes, index, keyEnd);
      if (key === undefined) return undefined;
      const colon = skipSpace(bytes, keyEnd);
      if (bytes[colon] !== 0x3a) return undefined;
      const valueStart = skipSpace(bytes, colon + 1);
      const valueEnd = scanValue(bytes, valueStart);
      if (valueEnd === -1) return undefined;
      members.push({ key, keyStart: index, valueStart, valueEnd });
      index = skipSpace(bytes, valueEnd);
      if (bytes[index] === 0x2c) {
        index = skipSpace(bytes, index + 1);
        continue;
      }
      if (bytes[index] === 0x7d) break;
      return undefined;
    }
  }
  const close = index;
  if (skipSpace(bytes, close + 1) !== bytes.length) return undefined;
  return { open, close, members };
}

function splice(bytes: Uint8Array, start: number, end: number, insert: Uint8Array): Uint8Array {
  const out = new Uint8Array(bytes.length - (end - start) + insert.length);
  out.set(bytes.subarray(0, start), 0);
  out.set(insert, start);
  out.set(bytes.subarray(end), start + insert.length);
  return out;
}

function toBytes(raw: Uint8Array | string): Uint8Array {
  return typeof raw === 'string' ? encoder.encode(raw) : raw;
}

function fromBytes<T extends Uint8Array | string>(like: T, bytes: Uint8Array): T {
  return (typeof like === 'string' ? decoder.decode(bytes) : bytes) as T;
}

/** The raw text of the last occurrence of a top-level key's value, or undefined (absent or not an object). */
export function getTopLevelValue<T extends Uint8Array | string>(raw: T, key: string): T | undefined {
  const bytes = toBytes(raw);
  const scan = scanObject(bytes);
  const member = scan?.members.filter((entry) => entry.key === key).at(-1);
  return member === undefined ? undefined : fromBytes(raw, bytes.subarray(member.valueStart, member.valueEnd));
}

/** Replaces the value of every member named `key` of an object already scanned; `bytes` itself when none is. */
function replaceMembers(bytes: Uint8Array, scan: ObjectScan, key: string, jsonText: string): Uint8Array {
  const matches = scan.members.filter((member) => member.key === key);
  if (matches.length === 0) return bytes;
  const insert = encoder.encode(jsonText);
  if (matches.length === 1) {
    const member = matches[0] as MemberSpan;
    return splice(bytes, member.valueStart, member.valueEnd, insert);
  }
  // Duplicates: one output buffer, the spans copied in order (at most two copies of the body alive).
  const removed = matches.reduce((total, member) => total + member.valueEnd - member.valueStart, 0);
  const out = new Uint8Array(bytes.length - removed + insert.length * matches.length);
  let from = 0;
  let to = 0;
  for (const member of matches) {
    out.set(bytes.subarray(from, member.valueStart), to);
    to += member.valueStart - from;
    out.set(insert, to);
    to += insert.length;
    from = member.valueEnd;
  }
  out.set(bytes.subarray(from), to);
  return out;
}

/**
 * Replaces the value of every occurrence of a top-level key. Returns the input unchanged when the key is absent,
 * undefined when `raw` is not a JSON object.
 */
export function replaceTopLevelValue<T extends Uint8Array | string>(raw: T, key: string, jsonText: string): T | undefined {
  const bytes = toBytes(raw);
  const scan = scanObject(bytes);
  if (scan === undefined) return undefined;
  const out = replaceMembers(bytes, scan, key, jsonText);
  return out === bytes ? raw : fromBytes(raw, out);
}

/**
 * Replaces the key's value (every occurrence: whichever one a parser keeps, it gets the new value), or appends
 * `"key":value` as the last member when absent. One scan of the body. Undefined when not an object.
 */
export function setTopLevelValue<T extends Uint8Array | string>(raw: T, key: string, jsonText: string): T | undefined {
  const bytes = toBytes(raw);
  const scan = scanObject(bytes);
  if (scan === undefined) return undefined;
  if (scan.members.some((member) => member.key === key)) return fromBytes(raw, replaceMembers(bytes, scan, key, jsonText));
  const last = scan.members.at(-1);
  const member = `${JSON.stringify(key)}:${jsonText}`;
  const out =
    last === undefined
      ? splice(bytes, scan.open + 1, scan.open + 1, encoder.encode(member))
      : splice(bytes, last.valueEnd, last.valueEnd, encoder.encode(`,${member}`));
  return fromBytes(raw, out);
}

/** Removes every occurrence of a top-level key with its comma. Input unchanged when absent; undefined when not an object. */
export function removeTopLevelKey<T extends Uint8Array | string>(raw: T, key: string): T | undefined {
  let bytes = toBytes(raw);
  let removed = false;
  for (;;) {
    const scan = scanObject(bytes);
    if (scan === undefined) return undefined;
    const members = scan.members;
    let index = members.length - 1;
    while (index >= 0 && (members[index] as MemberSpan).key !== key) index -= 1;
    if (index === -1) break;
    const member = members[index] as MemberSpan;
    const next = members[index + 1];
    const previous = members[index - 1];
    if (next !== undefined) bytes = splice(bytes, member.keyStart, next.keyStart, new Uint8Array(0));
    else if (previous !== undefined) bytes = splice(bytes, previous.valueEnd, member.valueEnd, new Uint8Array(0));
    else bytes = splice(bytes, member.keyStart, member.valueEnd, new Uint8Array(0));
    removed = true;
  }
  return removed ? fromBytes(raw, bytes) : raw;
}
