/** JSON helpers: parse into `unknown` without throwing; narrow with guards. */
export type ParseResult<T> = { ok: true; value: T } | { ok: false; error: string };

const decoder = new TextDecoder('utf-8', { fatal: false });

export function safeParseJson(input: string | Uint8Array): ParseResult<unknown> {
  try {
    const text = typeof input === 'string' ? input : decoder.decode(input);
    return { ok: true, value: JSON.parse(text) as unknown };
  } catch (error) {
    return { ok: false, error: error instanceof Error ? error.message : String(error) };
  }
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

const encoder = new TextEncoder();
export function encodeJson(value: unknown): Uint8Array {
  return encoder.encode(JSON.stringify(value));
}
export function utf8(text: string): Uint8Array {
  return encoder.encode(text);
}

/**
 * True when arrays/objects in the JSON text nest deeper than `maxDepth`. One pass over the bytes, no recursion,
 * so a hostile body (100k levels) is rejected before any recursive code (translators, schema converters) sees it.
 */
export function nestsDeeperThan(bytes: Uint8Array, maxDepth: number): boolean {
  let depth = 0;
  let inString = false;
  for (let index = 0; index < bytes.length; index += 1) {
    const byte = bytes[index];
    if (inString) {
      if (byte === 0x5c) index += 1;
      else if (byte === 0x22) inString = false;
    } else if (byte === 0x22) {
      inString = true;
    } else if (byte === 0x5b || byte === 0x7b) {
      depth += 1;
      if (depth > maxDepth) return true;
    } else if (byte === 0x5d || byte === 0x7d) {
      depth -= 1;
    }
  }
  return false;
}
