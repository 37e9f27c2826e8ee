/** Header maps as Envoy sends them (raw_value bytes) and header mutations as Envoy reads them (raw_value only). */
import { internLatin1 } from '../core/intern.js';
import type { HeaderMap, HeaderMutation, HeaderValueOption } from './ext-proc-types.js';

/** A header value's bytes as Latin-1 (one character per byte); short, repeated values are shared. */
function latin1(bytes: Uint8Array): string {
  return internLatin1(bytes, 0, bytes.length) ?? Buffer.from(bytes.buffer, bytes.byteOffset, bytes.length).toString('latin1');
}

/** Lower-case name -> value. Repeated headers are joined with ", " (as Envoy's inline headers are). */
export function readHeaderMap(map: HeaderMap | undefined): Map<string, string> {
  const headers = new Map<string, string>();
  for (const entry of map?.headers ?? []) {
    if (!entry.key) continue;
    const key = entry.key.toLowerCase();
    // Envoy 1.32+ sends only raw_value; `value` is read as a fallback for older builds.
    const value = entry.raw_value && entry.raw_value.length > 0 ? latin1(entry.raw_value) : (entry.value ?? '');
    const previous = headers.get(key);
    headers.set(key, previous === undefined ? value : `${previous}, ${value}`);
  }
  return headers;
}

/** Collects header sets (overwrite) and removes, and renders them with raw_value only. */
export class HeaderChanges {
  private readonly sets = new Map<string, string>();
  private readonly removes = new Set<string>();

  set(name: string, value: string): this {
    const key = name.toLowerCase();
    this.removes.delete(key);
    this.sets.set(key, value);
    return this;
  }

  remove(name: string): this {
    const key = name.toLowerCase();
    this.sets.delete(key);
    // Envoy never removes pseudo headers or host; asking would be a refused mutation.
    if (!key.startsWith(':') && key !== 'host') this.removes.add(key);
    return this;
  }

  has(name: string): boolean {
    const key = name.toLowerCase();
    return this.sets.has(key) || this.removes.has(key);
  }

  get isEmpty(): boolean {
    return this.sets.size === 0 && this.removes.size === 0;
  }

  /** Names this change sets. */
  setNames(): string[] {
    return [...this.sets.keys()];
  }

  toMutation(): HeaderMutation {
    const setHeaders: HeaderValueOption[] = [];
    for (const [key, value] of this.sets) {
      // append unset means overwrite in ext_proc; value stays empty, raw_value carries the bytes.
      setHeaders.push({ header: { key, raw_value: Buffer.from(value, 'latin1') } });
    }
    return { set_headers: setHeaders, remove_headers: [...this.removes] };
  }
}

/** True for a value Envoy accepts in a header (no CR, LF or NUL). */
export function isSafeHeaderValue(value: string): boolean {
  return !/[\r\n\0]/.test(value);
}
