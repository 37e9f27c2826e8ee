/**
 * google.protobuf.Struct in proto-loader object form <-> plain JSON values.
 * Dynamic metadata travels as a Struct whose top-level keys are namespaces.
 * (protobufjs' built-in well-known types use camelCase field names, even with keepCase.)
 */
import type { Struct, Value } from './ext-proc-types.js';

export type JsonLike = null | number | string | boolean | JsonLike[] | { [key: string]: JsonLike | undefined };

export function toStructValue(value: JsonLike): Value {
  if (value === null) return { nullValue: 'NULL_VALUE' };
  if (typeof value === 'number') return { numberValue: value };
  if (typeof value === 'string') return { stringValue: value };
  if (typeof value === 'boolean') return { boolValue: value };
  if (Array.isArray(value)) return { listValue: { values: value.map(toStructValue) } };
  return { structValue: toStruct(value) };
}

export function toStruct(object: { [key: string]: JsonLike | undefined }): Struct {
  const fields: Record<string, Value> = {};
  for (const key of Object.keys(object)) {
    const value = object[key];
    if (value !== undefined) fields[key] = toStructValue(value);
  }
  return { fields };
}

export function fromStructValue(value: Value | undefined): JsonLike {
  if (!value) return null;
  if (value.numberValue !== undefined && value.numberValue !== null) return value.numberValue;
  if (value.stringValue !== undefined && value.stringValue !== null) return value.stringValue;
  if (value.boolValue !== undefined && value.boolValue !== null) return value.boolValue;
  if (value.structValue) return fromStruct(value.structValue);
  if (value.listValue) return (value.listValue.values ?? []).map(fromStructValue);
  return null;
}

export function fromStruct(struct: Struct | undefined): { [key: string]: JsonLike } {
  const out: { [key: string]: JsonLike } = {};
  for (const [key, value] of Object.entries(struct?.fields ?? {})) out[key] = fromStructValue(value);
  return out;
}
