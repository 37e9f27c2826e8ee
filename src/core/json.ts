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
