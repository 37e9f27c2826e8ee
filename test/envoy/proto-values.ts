/**
 * Conversions between the proto-loader object form (src/server/ext-proc-types.ts) and plain values:
 * google.protobuf.Struct <-> JSON, HeaderMap <-> envoy.config.core.v3.HeaderMap (raw_value only),
 * envoy.type.v3.StatusCode names -> numbers, Duration -> milliseconds.
 */
import { protoRoot } from '../../src/server/proto.js';
import type {
  Duration,
  HeaderMap as ProtoHeaderMap,
  Struct,
  Value,
} from '../../src/server/ext-proc-types.js';
import type { HeaderMap } from './header-map.js';

export type JsonValue = null | boolean | number | string | JsonValue[] | { [key: string]: JsonValue };

export function valueToJson(value: Value | undefined): JsonValue {
  if (!value) return null;
  if (value.structValue !== undefined) return structToJson(value.structValue);
  if (value.listValue !== undefined) return (value.listValue.values ?? []).map(valueToJson);
  if (value.stringValue !== undefined) return value.stringValue;
  if (value.numberValue !== undefined) return value.numberValue;
  if (value.boolValue !== undefined) return value.boolValue;
  return null;
}

export function structToJson(struct: Struct | undefined): { [key: string]: JsonValue } {
  const out: { [key: string]: JsonValue } = {};
  for (const [key, value] of Object.entries(struct?.fields ?? {})) out[key] = valueToJson(value);
  return out;
}

export function jsonToValue(value: unknown): Value {
  if (value === null || value === undefined) return { nullValue: 'NULL_VALUE' };
  if (typeof value === 'string') return { stringValue: value };
  if (typeof value === 'number') return { numberValue: value };
  if (typeof value === 'boolean') return { boolValue: value };
  if (Array.isArray(value)) return { listValue: { values: value.map(jsonToValue) } };
  if (typeof value === 'object') return { structValue: jsonToStruct(value as Record<string, unknown>) };
  return { stringValue: String(value) };
}

export function jsonToStruct(object: Record<string, unknown>): Struct {
  const fields: Record<string, Value> = {};
  for (const [key, value] of Object.entries(object)) fields[key] = jsonToValue(value);
  return { fields };
}

/** Envoy's headersToProto: one HeaderValue per entry, key lower-case, bytes in raw_value, value empty. */
export function headersToProto(headers: HeaderMap): ProtoHeaderMap {
  return { headers: headers.pairs().map(([key, value]) => ({ key, raw_value: Buffer.from(value, 'latin1') })) };
}

/** Bytes (Buffer/Uint8Array/string) -> latin1 string, the header map's value form. */
export function bytesToLatin1(bytes: Uint8Array | string | undefined): string {
  if (bytes === undefined) return '';
  if (typeof bytes === 'string') return bytes;
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('latin1');
}

export function toBuffer(bytes: Uint8Array | string | undefined): Buffer {
  if (bytes === undefined) return Buffer.alloc(0);
  if (typeof bytes === 'string') return Buffer.from(bytes, 'utf8');
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}

let statusCodes: Map<string, number> | undefined;

/** envoy.type.v3.StatusCode: enum name ('NotFound') or number -> HTTP status number (0 when unset/unknown). */
export function statusCodeToNumber(code: string | number | undefined): number {
  if (code === undefined) return 0;
  if (typeof code === 'number') return code;
  if (/^\d+$/.test(code)) return Number(code);
  if (!statusCodes) {
    const values = protoRoot.lookupEnum('envoy.type.v3.StatusCode').values;
    statusCodes = new Map(Object.entries(values));
  }
  return statusCodes.get(code) ?? 0;
}

/** google.protobuf.Duration -> milliseconds (may be fractional). */
export function durationToMs(duration: Duration | undefined): number {
  if (!duration) return 0;
  const seconds = Number(duration.seconds ?? 0);
  const nanos = Number(duration.nanos ?? 0);
  return seconds * 1000 + nanos / 1e6;
}

/** StringUtil::replaceAllEmptySpace, used on response code details. */
export function replaceWhitespace(text: string): string {
  return text.replace(/\s/g, '_');
}
