/**
 * An ordered HTTP header map with Envoy's semantics: lower-case keys, pseudo headers first, `set` replaces the
 * first entry and drops the rest (setCopy), `add` comma-joins inline headers and duplicates the others (addCopy).
 * Values are byte strings held as latin1 so `raw_value` bytes round-trip exactly.
 */
import type { IncomingHttpHeaders } from 'node:http';

export type HeaderPair = [name: string, value: string];

/** Headers Envoy keeps in O(1) inline slots; appending to one of these joins with ','. */
const INLINE_HEADERS = new Set([
  ':authority', ':method', ':path', ':scheme', ':status', ':protocol',
  'accept', 'accept-encoding', 'authorization', 'cache-control', 'connection', 'content-encoding',
  'content-length', 'content-type', 'date', 'etag', 'expect', 'grpc-timeout', 'keep-alive', 'location',
  'proxy-connection', 'server', 'te', 'transfer-encoding', 'upgrade', 'user-agent', 'via',
  'x-forwarded-for', 'x-forwarded-host', 'x-forwarded-proto', 'x-request-id',
]);

/** Hop-by-hop headers Envoy's HTTP/1 codec and HCM never pass along. */
export const HOP_BY_HOP = new Set(['connection', 'keep-alive', 'proxy-connection', 'transfer-encoding', 'upgrade']);

export class HeaderMap {
  private entries: HeaderPair[] = [];

  static fromPairs(pairs: Iterable<readonly [string, string]>): HeaderMap {
    const map = new HeaderMap();
    for (const [name, value] of pairs) map.add(name, value);
    return map;
  }

  /** Node's rawHeaders ([k, v, k, v, ...]) minus hop-by-hop headers. */
  static fromRaw(raw: readonly string[], skip: ReadonlySet<string> = HOP_BY_HOP): HeaderPair[] {
    const pairs: HeaderPair[] = [];
    for (let index = 0; index + 1 < raw.length; index += 2) {
      const name = (raw[index] ?? '').toLowerCase();
      if (!skip.has(name)) pairs.push([name, raw[index + 1] ?? '']);
    }
    return pairs;
  }

  get(name: string): string | undefined {
    const key = name.toLowerCase();
    return this.entries.find(([entry]) => entry === key)?.[1];
  }

  getAll(name: string): string[] {
    const key = name.toLowerCase();
    return this.entries.filter(([entry]) => entry === key).map(([, value]) => value);
  }

  has(name: string): boolean {
    return this.get(name) !== undefined;
  }

  /** setCopy: overwrite the first entry in place, remove later duplicates; append when absent. */
  set(name: string, value: string): void {
    const key = name.toLowerCase();
    const index = this.entries.findIndex(([entry]) => entry === key);
    if (index < 0) {
      this.insert(key, value);
      return;
    }
    this.entries[index] = [key, value];
    this.entries = this.entries.filter(([entry], position) => entry !== key || position === index);
  }

  /** addCopy: inline headers are comma-joined, others get a duplicate entry. */
  add(name: string, value: string): void {
    const key = name.toLowerCase();
    const index = this.entries.findIndex(([entry]) => entry === key);
    if (index >= 0 && INLINE_HEADERS.has(key)) {
      const existing = this.entries[index]?.[1] ?? '';
      this.entries[index] = [key, existing === '' ? value : `${existing},${value}`];
      return;
    }
    this.insert(key, value);
  }

  /** Removes every entry of that name; returns how many were removed. */
  remove(name: string): number {
    const key = name.toLowerCase();
    const before = this.entries.length;
    this.entries = this.entries.filter(([entry]) => entry !== key);
    return before - this.entries.length;
  }

  pairs(): HeaderPair[] {
    return this.entries.map(([name, value]) => [name, value]);
  }

  /** Plain object view (duplicates joined with ','), for assertions. */
  toObject(): Record<string, string> {
    const out: Record<string, string> = {};
    for (const [name, value] of this.entries) out[name] = name in out ? `${out[name]},${value}` : value;
    return out;
  }

  get size(): number {
    return this.entries.length;
  }

  /** Bytes of keys plus values, as Envoy's byteSize() counts them. */
  byteSize(): number {
    let total = 0;
    for (const [name, value] of this.entries) total += name.length + value.length;
    return total;
  }

  clone(): HeaderMap {
    return HeaderMap.fromPairs(this.entries);
  }

  /** Pseudo headers stay ahead of regular ones, as in Envoy's header map. */
  private insert(key: string, value: string): void {
    if (!key.startsWith(':')) {
      this.entries.push([key, value]);
      return;
    }
    const firstRegular = this.entries.findIndex(([entry]) => !entry.startsWith(':'));
    if (firstRegular < 0) this.entries.push([key, value]);
    else this.entries.splice(firstRegular, 0, [key, value]);
  }
}

/** Node's parsed request headers -> content-length as a number when present and valid. */
export function contentLengthOf(headers: IncomingHttpHeaders | HeaderMap): number | undefined {
  const raw = headers instanceof HeaderMap ? headers.get('content-length') : headers['content-length'];
  if (raw === undefined || !/^\d+$/.test(raw)) return undefined;
  return Number(raw);
}
