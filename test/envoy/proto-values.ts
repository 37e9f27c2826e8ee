/**
 * Conversions between the proto-loader object form (src/server/ext-proc-types.ts) and plain values
 * (google.protobuf.Struct <-> JSON is src/server/struct.ts): HeaderMap <-> envoy.config.core.v3.HeaderMap (raw_value only),
 * envoy.type.v3.StatusCode names -> numbers, Duration -> milliseconds.
 */
import { extProcProtoRoot } from '../../src/server/proto.js';
import type { Duration, HeaderMap as ProtoHeaderMap } from '../../src/server/ext-proc-types.js';
import type { HeaderMap } from './header-map.js';

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
    const values = extProcProtoRoot().lookupEnum('envoy.type.v3.StatusCode').values;
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
