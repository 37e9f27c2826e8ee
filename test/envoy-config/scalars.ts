/** Proto3 JSON forms of scalars and well-known types, as Envoy's config loader accepts them. */

const INTEGER_RANGES: Record<string, [bigint, bigint]> = {
  int32: [-(2n ** 31n), 2n ** 31n - 1n],
  sint32: [-(2n ** 31n), 2n ** 31n - 1n],
  sfixed32: [-(2n ** 31n), 2n ** 31n - 1n],
  uint32: [0n, 2n ** 32n - 1n],
  fixed32: [0n, 2n ** 32n - 1n],
  int64: [-(2n ** 63n), 2n ** 63n - 1n],
  sint64: [-(2n ** 63n), 2n ** 63n - 1n],
  sfixed64: [-(2n ** 63n), 2n ** 63n - 1n],
  uint64: [0n, 2n ** 64n - 1n],
  fixed64: [0n, 2n ** 64n - 1n],
};

function show(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'a list';
  if (typeof value === 'object') return 'an object';
  return `${typeof value} ${JSON.stringify(value)}`;
}

/** A problem with `value` as a proto scalar of `type`, or undefined. Map keys always arrive as strings. */
export function checkScalar(type: string, value: unknown, isMapKey: boolean): string | undefined {
  const range = INTEGER_RANGES[type];
  if (range) {
    let integer: bigint | undefined;
    if (typeof value === 'number' && Number.isInteger(value)) integer = BigInt(value);
    else if (typeof value === 'string' && /^-?\d+$/.test(value)) integer = BigInt(value);
    if (integer === undefined) return `expected an integer (${type}), got ${show(value)}`;
    if (integer < range[0] || integer > range[1]) return `${integer} is out of range for ${type}`;
    return undefined;
  }
  switch (type) {
    case 'double':
    case 'float':
      if (typeof value === 'number') return undefined;
      if (typeof value === 'string' && (/^(NaN|-?Infinity)$/.test(value) || (value.trim() !== '' && Number.isFinite(Number(value))))) return undefined;
      return `expected a number (${type}), got ${show(value)}`;
    case 'bool':
      if (typeof value === 'boolean') return undefined;
      if (isMapKey && (value === 'true' || value === 'false')) return undefined;
      return `expected true or false, got ${show(value)}`;
    case 'string':
      return typeof value === 'string' ? undefined : `expected a string, got ${show(value)}`;
    case 'bytes':
      return typeof value === 'string' && /^[A-Za-z0-9+/_-]*={0,2}$/.test(value) ? undefined : `expected base64 bytes, got ${show(value)}`;
    default:
      return `unsupported scalar type ${type}`;
  }
}

const WRAPPERS: Record<string, string> = {
  'google.protobuf.DoubleValue': 'double',
  'google.protobuf.FloatValue': 'float',
  'google.protobuf.Int64Value': 'int64',
  'google.protobuf.UInt64Value': 'uint64',
  'google.protobuf.Int32Value': 'int32',
  'google.protobuf.UInt32Value': 'uint32',
  'google.protobuf.BoolValue': 'bool',
  'google.protobuf.StringValue': 'string',
  'google.protobuf.BytesValue': 'bytes',
};

/** Well-known types with a special JSON form (google.protobuf.Any is handled by the validator). */
export const WELL_KNOWN = new Set([
  ...Object.keys(WRAPPERS),
  'google.protobuf.Duration',
  'google.protobuf.Timestamp',
  'google.protobuf.Struct',
  'google.protobuf.Value',
  'google.protobuf.ListValue',
  'google.protobuf.Empty',
  'google.protobuf.FieldMask',
]);

const DURATION = /^-?\d+(\.\d{1,9})?s$/;
const TIMESTAMP = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{1,9})?(Z|[+-]\d{2}:\d{2})$/;

export function checkWellKnown(name: string, value: unknown): string | undefined {
  const wrapped = WRAPPERS[name];
  if (wrapped) return checkScalar(wrapped, value, false);
  switch (name) {
    case 'google.protobuf.Duration':
      return typeof value === 'string' && DURATION.test(value) ? undefined : `expected a duration such as "10s", got ${show(value)}`;
    case 'google.protobuf.Timestamp':
      return typeof value === 'string' && TIMESTAMP.test(value) ? undefined : `expected an RFC 3339 timestamp, got ${show(value)}`;
    case 'google.protobuf.Struct':
      return typeof value === 'object' && value !== null && !Array.isArray(value) ? undefined : `expected an object, got ${show(value)}`;
    case 'google.protobuf.ListValue':
      return Array.isArray(value) ? undefined : `expected a list, got ${show(value)}`;
    case 'google.protobuf.Empty':
      return typeof value === 'object' && value !== null && !Array.isArray(value) && Object.keys(value).length === 0
        ? undefined
        : `expected {}, got ${show(value)}`;
    case 'google.protobuf.FieldMask':
      return typeof value === 'string' ? undefined : `expected a comma-separated field mask, got ${show(value)}`;
    default:
      return undefined;
  }
}
