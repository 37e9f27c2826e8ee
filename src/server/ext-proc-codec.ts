/**
 * Hand-written protobuf codec for the two messages on the ext_proc hot path: ProcessingRequest (decoded, one per
 * Envoy message) and ProcessingResponse (encoded, one per answer). Hot path: proto-loader decodes into protobufjs
 * message instances and then copies them into plain objects (toObject), and encodes by building message instances
 * (fromObject) and then a list of writer operations; this codec reads and writes the object form directly, in one
 * pass (decode) or two (encode: sizes, then bytes into one exact buffer), with no proto parsing at start-up.
 *
 * The object form is exactly proto-loader's with PROTO_LOADER_OPTIONS (see ext-proc-types.ts): snake_case fields,
 * google.protobuf well-known types with protobufjs' camelCase names, enums as names (unknown numbers as numbers),
 * bytes as Buffer views of the received message, int64 as decimal strings, unset fields absent, each oneof's
 * discriminant set. On encode it accepts what protobufjs' fromObject accepts for these messages (enum names or
 * numbers, bytes as Buffer/Uint8Array or base64, null as unset) and writes fields in field-number order, as
 * protobufjs does. test/proto/ext-proc-codec.test.ts pins both directions to protobufjs reflection.
 *
 * The messages are described by the tables below (field numbers from proto/); unknown fields are skipped.
 */
import type { ServiceDefinition } from '@grpc/grpc-js';
import { internLatin1 } from '../core/intern.js';
import type { ProcessingRequest, ProcessingResponse } from './ext-proc-types.js';
import { WIRE_END_GROUP, WIRE_FIXED32, WIRE_FIXED64, WIRE_LENGTH, WIRE_START_GROUP, WIRE_VARINT } from './protobuf-wire.js';

export const EXT_PROC_SERVICE_NAME = 'envoy.service.ext_proc.v3.ExternalProcessor';

/** The HTTP/2 path Envoy calls. */
export const EXT_PROC_PROCESS_PATH = `/${EXT_PROC_SERVICE_NAME}/Process`;

type Kind = 'string' | 'bytes' | 'bool' | 'enum' | 'uint32' | 'int32' | 'int64' | 'double' | 'message' | 'map';

interface FieldSpec {
  readonly no: number;
  readonly name: string;
  readonly kind: Kind;
  readonly repeated?: boolean;
  /** Message type (kind 'message') or map value type (kind 'map'; keys are strings). */
  readonly type?: () => MessageSpec;
  readonly enumNames?: readonly string[];
  readonly oneof?: string;
}

/**
 * A field as the codec uses it. Every Field has the same properties in the same order (optional spec properties
 * filled with undefined), so the hot loops read them from one object shape rather than one per combination of
 * optional properties in the tables.
 */
interface Field {
  readonly no: number;
  readonly name: string;
  readonly kind: Kind;
  /** `kind` as a small integer, for the encoder's switches. */
  readonly code: number;
  readonly repeated: boolean;
  readonly type: (() => MessageSpec) | undefined;
  /** `type()`, resolved on first use (the tables refer to each other before they are all defined). */
  resolved: MessageSpec | undefined;
  readonly oneof: string | undefined;
  /** Declaration index in its message (protobufjs sets a oneof's discriminant to the last member present in this order). */
  readonly index: number;
  readonly enumNumbers: Map<string, number> | undefined;
  readonly enumByNumber: Map<number, string> | undefined;
  readonly wireType: number;
  /** The tag's varint bytes (field numbers here are below 2048: one or two bytes). */
  readonly tagSize: number;
  readonly tag0: number;
  readonly tag1: number;
}

interface MessageSpec {
  readonly name: string;
  /** In field-number order (the encode order). */
  readonly fields: readonly Field[];
  readonly byNumber: readonly (Field | undefined)[];
  readonly indexByName: ReadonlyMap<string, number>;
  readonly byName: ReadonlyMap<string, Field>;
}

function enumOf(pairs: readonly (readonly [string, number])[]): readonly string[] {
  const names: string[] = [];
  for (const [name, number] of pairs) names[number] = name;
  return names;
}


function wireTypeOf(spec: FieldSpec): number {
  if (spec.kind === 'double') return WIRE_FIXED64;
  if (spec.kind === 'bool' || spec.kind === 'enum' || spec.kind === 'uint32' || spec.kind === 'int32' || spec.kind === 'int64') return WIRE_VARINT;
  return WIRE_LENGTH;
}

const KIND_CODES: Readonly<Record<Kind, number>> = { string: 0, bytes: 1, bool: 2, enum: 3, uint32: 4, int32: 5, int64: 6, double: 7, message: 8, map: 9 };
const STRING = 0;
const BYTES = 1;
const BOOL = 2;
const ENUM = 3;
const UINT32 = 4;
const INT32 = 5;
const INT64 = 6;
const DOUBLE = 7;
const MESSAGE = 8;
const MAP = 9;
/** Not a proto kind: a google.protobuf.Struct field written by the direct Struct path (structSize / writeStruct). */
const DIRECT_STRUCT = 10;

function message(name: string, specs: readonly FieldSpec[]): MessageSpec {
  const fields: Field[] = specs.map((spec, index) => {
    const enumNames = spec.enumNames;
    const enumNumbers = enumNames ? new Map<string, number>() : undefined;
    const enumByNumber = enumNames ? new Map<number, string>() : undefined;
    enumNames?.forEach((enumName, number) => {
      enumNumbers?.set(enumName, number);
      enumByNumber?.set(number, enumName);
    });
    const wireType = wireTypeOf(spec);
    const tag = (spec.no << 3) | wireType;
    if (spec.no >= 2048) throw new Error(`${name}.${spec.name}: field number ${spec.no} needs a tag longer than two bytes`);
    return {
      no: spec.no,
      name: spec.name,
      kind: spec.kind,
      code: KIND_CODES[spec.kind],
      repeated: spec.repeated === true,
      type: spec.type,
      resolved: undefined,
      oneof: spec.oneof,
      index,
      enumNumbers,
      enumByNumber,
      wireType,
      tagSize: tag < 0x80 ? 1 : 2,
      tag0: tag < 0x80 ? tag : (tag & 0x7f) | 0x80,
      tag1: tag >>> 7,
    };
  });
  fields.sort((left, right) => left.no - right.no);
  const byNumber: (Field | undefined)[] = [];
  for (const field of fields) byNumber[field.no] = field;
  return { name, fields, byNumber, indexByName: new Map(fields.map((field) => [field.name, field.index])), byName: new Map(fields.map((field) => [field.name, field])) };
}

/** The message type of a 'message' or 'map' field. */
function typeOf(field: Field): MessageSpec {
  return (field.resolved ??= (field.type as () => MessageSpec)());
}

// ---- the message tables (proto/ and protobufjs' google/protobuf definitions) ------------------------------

const HEADER_SEND_MODE = enumOf([['DEFAULT', 0], ['SEND', 1], ['SKIP', 2]]);
const BODY_SEND_MODE = enumOf([['NONE', 0], ['STREAMED', 1], ['BUFFERED', 2], ['BUFFERED_PARTIAL', 3], ['FULL_DUPLEX_STREAMED', 4]]);
const APPEND_ACTION = enumOf([['APPEND_IF_EXISTS_OR_ADD', 0], ['ADD_IF_ABSENT', 1], ['OVERWRITE_IF_EXISTS_OR_ADD', 2], ['OVERWRITE_IF_EXISTS', 3]]);
const RESPONSE_STATUS = enumOf([['CONTINUE', 0], ['CONTINUE_AND_REPLACE', 1]]);
const NULL_VALUE = enumOf([['NULL_VALUE', 0]]);
/** envoy.type.v3.StatusCode. */
const STATUS_CODE = enumOf([
  ['Empty', 0], ['Continue', 100], ['OK', 200], ['Created', 201], ['Accepted', 202], ['NonAuthoritativeInformation', 203],
  ['NoContent', 204], ['ResetContent', 205], ['PartialContent', 206], ['MultiStatus', 207], ['AlreadyReported', 208],
  ['IMUsed', 226], ['MultipleChoices', 300], ['MovedPermanently', 301], ['Found', 302], ['SeeOther', 303],
  ['NotModified', 304], ['UseProxy', 305], ['TemporaryRedirect', 307], ['PermanentRedirect', 308], ['BadRequest', 400],
  ['Unauthorized', 401], ['PaymentRequired', 402], ['Forbidden', 403], ['NotFound', 404], ['MethodNotAllowed', 405],
  ['NotAcceptable', 406], ['ProxyAuthenticationRequired', 407], ['RequestTimeout', 408], ['Conflict', 409], ['Gone', 410],
  ['LengthRequired', 411], ['PreconditionFailed', 412], ['PayloadTooLarge', 413], ['URITooLong', 414],
  ['UnsupportedMediaType', 415], ['RangeNotSatisfiable', 416], ['ExpectationFailed', 417], ['MisdirectedRequest', 421],
  ['UnprocessableEntity', 422], ['Locked', 423], ['FailedDependency', 424], ['UpgradeRequired', 426],
  ['PreconditionRequired', 428], ['TooManyRequests', 429], ['RequestHeaderFieldsTooLarge', 431],
  ['InternalServerError', 500], ['NotImplemented', 501], ['BadGateway', 502], ['ServiceUnavailable', 503],
  ['GatewayTimeout', 504], ['HTTPVersionNotSupported', 505], ['VariantAlsoNegotiates', 506], ['InsufficientStorage', 507],
  ['LoopDetected', 508], ['NotExtended', 510], ['NetworkAuthenticationRequired', 511],
]);

const VALUE: MessageSpec = message('google.protobuf.Value', [
  { no: 1, name: 'nullValue', kind: 'enum', enumNames: NULL_VALUE, oneof: 'kind' },
  { no: 2, name: 'numberValue', kind: 'double', oneof: 'kind' },
  { no: 3, name: 'stringValue', kind: 'string', oneof: 'kind' },
  { no: 4, name: 'boolValue', kind: 'bool', oneof: 'kind' },
  { no: 5, name: 'structValue', kind: 'message', type: () => STRUCT, oneof: 'kind' },
  { no: 6, name: 'listValue', kind: 'message', type: () => LIST_VALUE, oneof: 'kind' },
]);
const STRUCT: MessageSpec = message('google.protobuf.Struct', [{ no: 1, name: 'fields', kind: 'map', type: () => VALUE }]);
const LIST_VALUE: MessageSpec = message('google.protobuf.ListValue', [{ no: 1, name: 'values', kind: 'message', repeated: true, type: () => VALUE }]);
const ANY = message('google.protobuf.Any', [
  { no: 1, name: 'type_url', kind: 'string' },
  { no: 2, name: 'value', kind: 'bytes' },
]);
const BOOL_VALUE = message('google.protobuf.BoolValue', [{ no: 1, name: 'value', kind: 'bool' }]);
const DURATION = message('google.protobuf.Duration', [
  { no: 1, name: 'seconds', kind: 'int64' },
  { no: 2, name: 'nanos', kind: 'int32' },
]);

const HEADER_VALUE = message('envoy.config.core.v3.HeaderValue', [
  { no: 1, name: 'key', kind: 'string' },
  { no: 2, name: 'value', kind: 'string' },
  { no: 3, name: 'raw_value', kind: 'bytes' },
]);
const HEADER_VALUE_OPTION = message('envoy.config.core.v3.HeaderValueOption', [
  { no: 1, name: 'header', kind: 'message', type: () => HEADER_VALUE },
  { no: 2, name: 'append', kind: 'message', type: () => BOOL_VALUE },
  { no: 3, name: 'append_action', kind: 'enum', enumNames: APPEND_ACTION },
  { no: 4, name: 'keep_empty_value', kind: 'bool' },
]);
const HEADER_MAP = message('envoy.config.core.v3.HeaderMap', [{ no: 1, name: 'headers', kind: 'message', repeated: true, type: () => HEADER_VALUE }]);
const METADATA = message('envoy.config.core.v3.Metadata', [
  { no: 1, name: 'filter_metadata', kind: 'map', type: () => STRUCT },
  { no: 2, name: 'typed_filter_metadata', kind: 'map', type: () => ANY },
]);
const HTTP_STATUS = message('envoy.type.v3.HttpStatus', [{ no: 1, name: 'code', kind: 'enum', enumNames: STATUS_CODE }]);
const PROCESSING_MODE = message('envoy.extensions.filters.http.ext_proc.v3.ProcessingMode', [
  { no: 1, name: 'request_header_mode', kind: 'enum', enumNames: HEADER_SEND_MODE },
  { no: 2, name: 'response_header_mode', kind: 'enum', enumNames: HEADER_SEND_MODE },
  { no: 3, name: 'request_body_mode', kind: 'enum', enumNames: BODY_SEND_MODE },
  { no: 4, name: 'response_body_mode', kind: 'enum', enumNames: BODY_SEND_MODE },
  { no: 5, name: 'request_trailer_mode', kind: 'enum', enumNames: HEADER_SEND_MODE },
  { no: 6, name: 'response_trailer_mode', kind: 'enum', enumNames: HEADER_SEND_MODE },
]);

const PROTOCOL_CONFIGURATION = message('envoy.service.ext_proc.v3.ProtocolConfiguration', [
  { no: 1, name: 'request_body_mode', kind: 'enum', enumNames: BODY_SEND_MODE },
  { no: 2, name: 'response_body_mode', kind: 'enum', enumNames: BODY_SEND_MODE },
  { no: 3, name: 'send_body_without_waiting_for_header_response', kind: 'bool' },
]);
const HTTP_HEADERS = message('envoy.service.ext_proc.v3.HttpHeaders', [
  { no: 1, name: 'headers', kind: 'message', type: () => HEADER_MAP },
  { no: 2, name: 'attributes', kind: 'map', type: () => STRUCT },
  { no: 3, name: 'end_of_stream', kind: 'bool' },
]);
const HTTP_BODY = message('envoy.service.ext_proc.v3.HttpBody', [
  { no: 1, name: 'body', kind: 'bytes' },
  { no: 2, name: 'end_of_stream', kind: 'bool' },
]);
const HTTP_TRAILERS = message('envoy.service.ext_proc.v3.HttpTrailers', [{ no: 1, name: 'trailers', kind: 'message', type: () => HEADER_MAP }]);

export const PROCESSING_REQUEST: MessageSpec = message('envoy.service.ext_proc.v3.ProcessingRequest', [
  { no: 2, name: 'request_headers', kind: 'message', type: () => HTTP_HEADERS, oneof: 'request' },
  { no: 3, name: 'response_headers', kind: 'message', type: () => HTTP_HEADERS, oneof: 'request' },
  { no: 4, name: 'request_body', kind: 'message', type: () => HTTP_BODY, oneof: 'request' },
  { no: 5, name: 'response_body', kind: 'message', type: () => HTTP_BODY, oneof: 'request' },
  { no: 6, name: 'request_trailers', kind: 'message', type: () => HTTP_TRAILERS, oneof: 'request' },
  { no: 7, name: 'response_trailers', kind: 'message', type: () => HTTP_TRAILERS, oneof: 'request' },
  { no: 8, name: 'metadata_context', kind: 'message', type: () => METADATA },
  { no: 9, name: 'attributes', kind: 'map', type: () => STRUCT },
  { no: 10, name: 'observability_mode', kind: 'bool' },
  { no: 11, name: 'protocol_config', kind: 'message', type: () => PROTOCOL_CONFIGURATION },
]);

const HEADER_MUTATION = message('envoy.service.ext_proc.v3.HeaderMutation', [
  { no: 1, name: 'set_headers', kind: 'message', repeated: true, type: () => HEADER_VALUE_OPTION },
  { no: 2, name: 'remove_headers', kind: 'string', repeated: true },
]);
const STREAMED_BODY_RESPONSE = message('envoy.service.ext_proc.v3.StreamedBodyResponse', [
  { no: 1, name: 'body', kind: 'bytes' },
  { no: 2, name: 'end_of_stream', kind: 'bool' },
]);
const BODY_MUTATION = message('envoy.service.ext_proc.v3.BodyMutation', [
  { no: 1, name: 'body', kind: 'bytes', oneof: 'mutation' },
  { no: 2, name: 'clear_body', kind: 'bool', oneof: 'mutation' },
  { no: 3, name: 'streamed_response', kind: 'message', type: () => STREAMED_BODY_RESPONSE, oneof: 'mutation' },
]);
const COMMON_RESPONSE = message('envoy.service.ext_proc.v3.CommonResponse', [
  { no: 1, name: 'status', kind: 'enum', enumNames: RESPONSE_STATUS },
  { no: 2, name: 'header_mutation', kind: 'message', type: () => HEADER_MUTATION },
  { no: 3, name: 'body_mutation', kind: 'message', type: () => BODY_MUTATION },
  { no: 4, name: 'trailers', kind: 'message', type: () => HEADER_MAP },
  { no: 5, name: 'clear_route_cache', kind: 'bool' },
]);
const HEADERS_RESPONSE = message('envoy.service.ext_proc.v3.HeadersResponse', [{ no: 1, name: 'response', kind: 'message', type: () => COMMON_RESPONSE }]);
const BODY_RESPONSE = message('envoy.service.ext_proc.v3.BodyResponse', [{ no: 1, name: 'response', kind: 'message', type: () => COMMON_RESPONSE }]);
const TRAILERS_RESPONSE = message('envoy.service.ext_proc.v3.TrailersResponse', [{ no: 1, name: 'header_mutation', kind: 'message', type: () => HEADER_MUTATION }]);
const GRPC_STATUS = message('envoy.service.ext_proc.v3.GrpcStatus', [{ no: 1, name: 'status', kind: 'uint32' }]);
const IMMEDIATE_RESPONSE = message('envoy.service.ext_proc.v3.ImmediateResponse', [
  { no: 1, name: 'status', kind: 'message', type: () => HTTP_STATUS },
  { no: 2, name: 'headers', kind: 'message', type: () => HEADER_MUTATION },
  { no: 3, name: 'body', kind: 'bytes' },
  { no: 4, name: 'grpc_status', kind: 'message', type: () => GRPC_STATUS },
  { no: 5, name: 'details', kind: 'string' },
]);
const STREAMED_IMMEDIATE_RESPONSE = message('envoy.service.ext_proc.v3.StreamedImmediateResponse', [
  { no: 1, name: 'headers_response', kind: 'message', type: () => HTTP_HEADERS, oneof: 'response' },
  { no: 2, name: 'body_response', kind: 'message', type: () => STREAMED_BODY_RESPONSE, oneof: 'response' },
  { no: 3, name: 'trailers_response', kind: 'message', type: () => HEADER_MAP, oneof: 'response' },
]);

export const PROCESSING_RESPONSE: MessageSpec = message('envoy.service.ext_proc.v3.ProcessingResponse', [
  { no: 1, name: 'request_headers', kind: 'message', type: () => HEADERS_RESPONSE, oneof: 'response' },
  { no: 2, name: 'response_headers', kind: 'message', type: () => HEADERS_RESPONSE, oneof: 'response' },
  { no: 3, name: 'request_body', kind: 'message', type: () => BODY_RESPONSE, oneof: 'response' },
  { no: 4, name: 'response_body', kind: 'message', type: () => BODY_RESPONSE, oneof: 'response' },
  { no: 5, name: 'request_trailers', kind: 'message', type: () => TRAILERS_RESPONSE, oneof: 'response' },
  { no: 6, name: 'response_trailers', kind: 'message', type: () => TRAILERS_RESPONSE, oneof: 'response' },
  { no: 7, name: 'immediate_response', kind: 'message', type: () => IMMEDIATE_RESPONSE, oneof: 'response' },
  { no: 11, name: 'streamed_immediate_response', kind: 'message', type: () => STREAMED_IMMEDIATE_RESPONSE, oneof: 'response' },
  { no: 8, name: 'dynamic_metadata', kind: 'message', type: () => STRUCT },
  { no: 9, name: 'mode_override', kind: 'message', type: () => PROCESSING_MODE },
  { no: 10, name: 'override_message_timeout', kind: 'message', type: () => DURATION },
  { no: 12, name: 'request_drain', kind: 'bool' },
]);

// ---- decode ------------------------------------------------------------------------------------------------

type Plain = Record<string, unknown>;

/** Decoder state: decoding is synchronous, so one buffer and one position serve every call. */
let input: Buffer = Buffer.alloc(0);
let position = 0;

function truncated(): never {
  throw new RangeError(`ext_proc message truncated or malformed at byte ${position}`);
}

/** A varint's low 32 bits as an unsigned number (protobufjs' uint32); longer varints are read to their end. */
function readVarint32(): number {
  let byte = input[position++] ?? truncated();
  let value = byte & 0x7f;
  if (byte < 0x80) return value;
  byte = input[position++] ?? truncated();
  value |= (byte & 0x7f) << 7;
  if (byte < 0x80) return value;
  byte = input[position++] ?? truncated();
  value |= (byte & 0x7f) << 14;
  if (byte < 0x80) return value;
  byte = input[position++] ?? truncated();
  value |= (byte & 0x7f) << 21;
  if (byte < 0x80) return value;
  byte = input[position++] ?? truncated();
  value = (value | ((byte & 0x0f) << 28)) >>> 0;
  if (byte < 0x80) return value;
  for (let extra = 0; extra < 5; extra += 1) if ((input[position++] ?? truncated()) < 0x80) return value;
  return truncated();
}

/** A varint as a signed 64-bit decimal string (protobufjs int64 with longs: String). */
function readInt64String(): string {
  let result = 0n;
  let shift = 0n;
  for (let count = 0; count < 10; count += 1) {
    const byte = input[position++] ?? truncated();
    result |= BigInt(byte & 0x7f) << shift;
    if (byte < 0x80) return BigInt.asIntN(64, result).toString();
    shift += 7n;
  }
  return truncated();
}

function lengthDelimitedEnd(limit: number): number {
  const length = readVarint32();
  const end = position + length;
  if (end > limit) truncated();
  return end;
}

function skipField(wireType: number, limit: number): void {
  switch (wireType) {
    case WIRE_VARINT:
      while ((input[position++] ?? truncated()) >= 0x80);
      return;
    case WIRE_FIXED64:
      position += 8;
      break;
    case WIRE_LENGTH:
      position = lengthDelimitedEnd(limit);
      return;
    case WIRE_START_GROUP:
      for (;;) {
        const tag = readVarint32();
        if ((tag & 7) === WIRE_END_GROUP) return;
        skipField(tag & 7, limit);
      }
    case WIRE_FIXED32:
      position += 4;
      break;
    default:
      throw new Error(`invalid wire type ${wireType} at byte ${position}`);
  }
  if (position > limit) truncated();
}

/** Header names and metadata keys are short ASCII, the same in every message: interned (src/core/intern.ts). */
function readUtf8(start: number, stop: number): string {
  return internLatin1(input, start, stop, true) ?? input.toString('utf8', start, stop);
}

function decodeScalar(field: Field, end: number): unknown {
  switch (field.code) {
    case STRING: {
      const stop = lengthDelimitedEnd(end);
      const text = readUtf8(position, stop);
      position = stop;
      return text;
    }
    case BYTES: {
      const stop = lengthDelimitedEnd(end);
      const bytes = input.subarray(position, stop);
      position = stop;
      return bytes;
    }
    case BOOL:
      return readVarint32() !== 0;
    case ENUM: {
      const number = readVarint32() | 0;
      return field.enumByNumber?.get(number) ?? number;
    }
    case UINT32:
      return readVarint32();
    case INT32:
      return readVarint32() | 0;
    case INT64:
      return readInt64String();
    case DOUBLE: {
      if (position + 8 > end) truncated();
      const number = input.readDoubleLE(position);
      position += 8;
      return number;
    }
    default:
      throw new Error(`not a scalar: ${field.kind}`);
  }
}

function decodeFields(spec: MessageSpec, end: number): Plain {
  const out: Plain = {};
  while (position < end) {
    const tag = readVarint32();
    const field = spec.byNumber[tag >>> 3];
    const wireType = tag & 7;
    if (field === undefined || field.wireType !== wireType) {
      skipField(wireType, end);
      continue;
    }
    let value: unknown;
    if (field.code === MESSAGE) {
      const stop = lengthDelimitedEnd(end);
      value = decodeFields(typeOf(field), stop);
      position = stop;
    } else if (field.code === MAP) {
      decodeMapEntry(field, out, lengthDelimitedEnd(end));
      continue;
    } else {
      value = decodeScalar(field, end);
    }
    if (field.repeated) {
      const list = out[field.name] as unknown[] | undefined;
      if (list === undefined) out[field.name] = [value];
      else list.push(value);
    } else {
      out[field.name] = value;
    }
    if (field.oneof !== undefined) {
      const current = out[field.oneof] as string | undefined;
      const currentIndex = current === undefined ? -1 : (spec.indexByName.get(current) as number);
      if (field.index > currentIndex) out[field.oneof] = field.name;
    }
  }
  if (position > end) truncated();
  return out;
}

function decodeMapEntry(field: Field, out: Plain, end: number): void {
  let key = '';
  let value: Plain | undefined;
  while (position < end) {
    const tag = readVarint32();
    if (tag === 10) {
      const stop = lengthDelimitedEnd(end);
      key = readUtf8(position, stop);
      position = stop;
    } else if (tag === 18) {
      const stop = lengthDelimitedEnd(end);
      value = decodeFields(typeOf(field), stop);
      position = stop;
    } else {
      skipField(tag & 7, end);
    }
  }
  const map = (out[field.name] ??= {}) as Plain;
  map[key] = value ?? {};
}

function decodeMessage(spec: MessageSpec, bytes: Buffer): Plain {
  input = bytes;
  position = 0;
  try {
    return decodeFields(spec, bytes.length);
  } finally {
    input = EMPTY;
  }
}

const EMPTY = Buffer.alloc(0);

/** The varint at `at` in `bytes` (at most 28 bits, as lengths here are) and the position after it; undefined past that or past the end. */
function smallVarintAt(bytes: Buffer, at: number): [value: number, next: number] | undefined {
  let value = 0;
  for (let shift = 0; shift < 28; shift += 7) {
    const byte = bytes[at++];
    if (byte === undefined) return undefined;
    value |= (byte & 0x7f) << shift;
    if (byte < 0x80) return [value, at];
  }
  return undefined;
}

/**
 * `request_body` or `response_body` (fields 4 and 5) holding `body` then `end_of_stream`, each at most once and in
 * that order, and nothing else: a body chunk as Envoy sends it, the most frequent message. Read directly into the
 * general path's object form; anything else (other fields, other orders, truncation) is left to the general path,
 * which test/proto/ext-proc-codec.test.ts pins this to.
 */
function decodeBodyChunk(bytes: Buffer): ProcessingRequest | undefined {
  const tag = bytes[0];
  const phase = tag === ((4 << 3) | WIRE_LENGTH) ? 'request_body' : tag === ((5 << 3) | WIRE_LENGTH) ? 'response_body' : undefined;
  if (phase === undefined) return undefined;
  const outer = smallVarintAt(bytes, 1);
  if (outer === undefined || outer[1] + outer[0] !== bytes.length) return undefined;
  let at = outer[1];
  let body: Buffer | undefined;
  let endOfStream: boolean | undefined;
  if (bytes[at] === ((1 << 3) | WIRE_LENGTH)) {
    const length = smallVarintAt(bytes, at + 1);
    if (length === undefined || length[1] + length[0] > bytes.length) return undefined;
    body = bytes.subarray(length[1], length[1] + length[0]);
    at = length[1] + length[0];
  }
  if (bytes[at] === ((2 << 3) | WIRE_VARINT)) {
    const flag = bytes[at + 1];
    // A one-byte varint (0 or 1 as Envoy writes it); longer ones take the general path.
    if (flag === undefined || flag >= 0x80) return undefined;
    endOfStream = flag !== 0;
    at += 2;
  }
  if (at !== bytes.length) return undefined;
  // Literals of fixed shapes (a computed key would build the outer object by a slower path).
  const inner = body === undefined ? (endOfStream === undefined ? {} : { end_of_stream: endOfStream }) : endOfStream === undefined ? { body } : { body, end_of_stream: endOfStream };
  return (phase === 'request_body' ? { request_body: inner, request: phase } : { response_body: inner, request: phase }) as ProcessingRequest;
}

/** grpc-js requestDeserialize for the Process stream. */
export function decodeProcessingRequest(bytes: Buffer): ProcessingRequest {
  return decodeBodyChunk(bytes) ?? (decodeMessage(PROCESSING_REQUEST, bytes) as ProcessingRequest);
}

/** The reverse direction (test clients); ProcessingResponse in the same object form. */
export function decodeProcessingResponse(bytes: Buffer): ProcessingResponse {
  return decodeMessage(PROCESSING_RESPONSE, bytes) as ProcessingResponse;
}

// ---- encode ------------------------------------------------------------------------------------------------

/**
 * Encoder state. The size pass walks the object once and records, in write order, every value to write as an op:
 * the field (its tag and kind) and the value in the form the write pass needs (enum names as numbers, base64
 * strings as bytes, a map entry's key), plus in `lengths` the byte length of every sub-message, map entry and
 * string. A message's op comes before the ops of its fields, so the write pass is one loop over the ops that never
 * reads the objects again. Encoding is synchronous, so the arrays are reused (and only grow).
 */
const ops: Field[] = [];
const opValues: unknown[] = [];
let opCount = 0;
const lengths: number[] = [];
let lengthCount = 0;
/**
 * The size pass's stack of the present fields of the messages being sized (and their values), so a message's
 * fields can be put in field-number order before they are sized; a nested message uses the slots above its parent's.
 */
const presentFields: Field[] = [];
const presentValues: unknown[] = [];
let presentCount = 0;

function varintSize(value: number): number {
  return value < 0x80 ? 1 : value < 0x4000 ? 2 : value < 0x200000 ? 3 : value < 0x10000000 ? 4 : 5;
}

function checkObject(field: Field, value: unknown): asserts value is Plain {
  if (typeof value !== 'object') throw new TypeError(`.${field.name}: object expected`);
}

function enumNumber(field: Field, value: unknown): number | undefined {
  if (typeof value === 'number') return value;
  return field.enumNumbers?.get(value as string);
}

function int64Parts(value: unknown): [number, number] {
  const big = BigInt.asUintN(64, typeof value === 'bigint' ? value : BigInt(typeof value === 'string' ? value : Math.trunc(Number(value))));
  return [Number(big & 0xffffffffn), Number(big >> 32n)];
}

function varint64Size(low: number, high: number): number {
  if (high === 0) return varintSize(low >>> 0);
  let size = 5;
  let rest = high >>> 3;
  while (rest !== 0) {
    size += 1;
    rest >>>= 7;
  }
  return size;
}

/**
 * Strings up to this length that are all ASCII are measured and written here: header names, metadata keys and
 * values are short, and a loop over their characters beats a native call per string. Longer or non-ASCII strings
 * go to Buffer (whose UTF-8, lone surrogates included, is what the fast path never sees).
 */
const SHORT_STRING = 64;

/** UTF-8 byte length; equal to `text.length` exactly when the text is all ASCII. */
function utf8Length(text: string): number {
  const length = text.length;
  if (length > SHORT_STRING) return Buffer.byteLength(text);
  for (let index = 0; index < length; index += 1) if (text.charCodeAt(index) >= 0x80) return Buffer.byteLength(text);
  return length;
}

/** Records one op; returns its index. */
function pushOp(field: Field, value: unknown): number {
  const op = opCount++;
  ops[op] = field;
  opValues[op] = value;
  return op;
}

function pushLength(length: number): number {
  const slot = lengthCount++;
  lengths[slot] = length;
  return slot;
}

/** Reserves a map entry's three lengths (the entry, its key, its value), in write order; returns the first slot. */
function pushEntryLengths(keyLength: number): number {
  const slot = pushLength(0);
  pushLength(keyLength);
  pushLength(0);
  return slot;
}

/** Fills in a map entry's lengths once its value is sized; returns the entry's length. */
function settleEntryLengths(slot: number, valueLength: number): number {
  const keyLength = lengths[slot + 1] as number;
  const entryLength = 1 + varintSize(keyLength) + keyLength + 1 + varintSize(valueLength) + valueLength;
  lengths[slot] = entryLength;
  lengths[slot + 2] = valueLength;
  return entryLength;
}

/** Size of one value without its tag; records its op. */
function valueSize(field: Field, value: unknown): number {
  switch (field.code) {
    case STRING: {
      const text = typeof value === 'string' ? value : String(value);
      pushOp(field, text);
      const length = utf8Length(text);
      pushLength(length);
      return varintSize(length) + length;
    }
    case BYTES: {
      const bytes = typeof value === 'string' ? Buffer.from(value, 'base64') : (value as Uint8Array);
      pushOp(field, bytes);
      return varintSize(bytes.length) + bytes.length;
    }
    case BOOL:
      pushOp(field, value);
      return 1;
    case ENUM:
    case INT32: {
      const number = field.code === ENUM ? (enumNumber(field, value) as number) : Number(value) | 0;
      pushOp(field, number);
      return number < 0 ? 10 : varintSize(number);
    }
    case UINT32: {
      const number = Number(value) >>> 0;
      pushOp(field, number);
      return varintSize(number);
    }
    case INT64: {
      const [low, high] = int64Parts(value);
      pushOp(field, undefined);
      pushLength(low);
      pushLength(high);
      return varint64Size(low, high);
    }
    case DOUBLE:
      pushOp(field, Number(value));
      return 8;
    case MESSAGE: {
      checkObject(field, value);
      const spec = typeOf(field);
      if (spec === STRUCT) {
        const structSlot = pushLength(0);
        const structLength = structSize(value);
        if (structLength >= 0) {
          // One op for the whole Struct; its nested lengths follow the slot, in the order writeStruct reads them.
          pushOp(directStructField(field), value);
          lengths[structSlot] = structLength;
          return varintSize(structLength) + structLength;
        }
        // Not the plain shape: forget what it recorded, and take the general path.
        lengthCount = structSlot;
      }
      pushOp(field, undefined);
      const slot = pushLength(0);
      const length = fieldsSize(spec, value);
      lengths[slot] = length;
      return varintSize(length) + length;
    }
    default:
      throw new Error(`unexpected kind ${field.kind}`);
  }
}

/*
 * The direct Struct path. Dynamic metadata is a google.protobuf.Struct in every answer that carries usage or costs:
 * a map of Value messages, each with one field set. The general path sizes each entry as a map entry holding a
 * message, walking each Value's keys through the field table; here a Value is read by its six property names and
 * its tag is a constant. Only the shape toStruct builds is taken (every Value sets exactly one field, with a value
 * of that field's JavaScript type); anything else returns -1 and the general path encodes it, with its own checks.
 * Both passes record or read the nested lengths in the same order (an entry: its length, its key's, its value's;
 * a string: its length; a struct or list value: its length, then its own). test/proto/ext-proc-codec.test.ts pins
 * the bytes to the general path and to reflection.
 */

const DIRECT_FIELDS = new Map<Field, Field>();

/** `field` with the DIRECT_STRUCT code (the same object shape: every property, in the same order). */
function directStructField(field: Field): Field {
  let direct = DIRECT_FIELDS.get(field);
  if (direct === undefined) {
    direct = { ...field, code: DIRECT_STRUCT };
    DIRECT_FIELDS.set(field, direct);
  }
  return direct;
}

/** Size of a Struct's fields; -1 when the object is not the plain shape (see above). Records nested lengths. */
function structSize(struct: Plain): number {
  const fields = struct['fields'];
  if (fields === undefined || fields === null) return 0;
  if (typeof fields !== 'object') return -1;
  // for-in with a plain prototype: the same keys as the general path's Object.keys, read through V8's enum cache.
  if (Object.getPrototypeOf(fields) !== Object.prototype) return -1;
  let size = 0;
  for (const key in fields) {
    const value = (fields as Plain)[key];
    if (typeof value !== 'object' || value === null) return -1;
    const entrySlot = pushEntryLengths(utf8Length(key));
    const valueLength = valueMessageSize(value as Plain);
    if (valueLength < 0) return -1;
    const entryLength = settleEntryLengths(entrySlot, valueLength);
    size += 1 + varintSize(entryLength) + entryLength;
  }
  return size;
}

/** Size of a google.protobuf.Value with exactly one field set; -1 otherwise. Records nested lengths. */
function valueMessageSize(value: Plain): number {
  const number = value['numberValue'];
  const text = value['stringValue'];
  const flag = value['boolValue'];
  const nested = value['structValue'];
  const list = value['listValue'];
  const none = value['nullValue'];
  const set = (number == null ? 0 : 1) + (text == null ? 0 : 1) + (flag == null ? 0 : 1) + (nested == null ? 0 : 1) + (list == null ? 0 : 1) + (none == null ? 0 : 1);
  if (set !== 1) return -1;
  if (number != null) return typeof number === 'number' ? 9 : -1;
  if (text != null) {
    if (typeof text !== 'string') return -1;
    const length = utf8Length(text);
    pushLength(length);
    return 1 + varintSize(length) + length;
  }
  if (flag != null) return typeof flag === 'boolean' ? 2 : -1;
  if (none != null) return none === 'NULL_VALUE' || none === 0 ? 2 : -1;
  const slot = pushLength(0);
  let length: number;
  if (nested != null) length = typeof nested === 'object' ? structSize(nested as Plain) : -1;
  else length = typeof list === 'object' ? listSize(list as Plain) : -1;
  if (length < 0) return -1;
  lengths[slot] = length;
  return 1 + varintSize(length) + length;
}

/** Size of a google.protobuf.ListValue's values; -1 when one of them is not the plain shape. */
function listSize(list: Plain): number {
  const values = list['values'];
  if (values === undefined || values === null) return 0;
  if (!Array.isArray(values)) return -1;
  let size = 0;
  for (const element of values) {
    if (typeof element !== 'object' || element === null) return -1;
    const slot = pushLength(0);
    const length = valueMessageSize(element as Plain);
    if (length < 0) return -1;
    lengths[slot] = length;
    size += 1 + varintSize(length) + length;
  }
  return size;
}

/** The write pass's position in `lengths` while the direct Struct path writes. */
let directCursor = 0;

/** Struct.fields (1): entries of key (1) and Value (2). */
function writeStruct(out: Buffer, at: number, struct: Plain): number {
  const fields = struct['fields'];
  if (fields === undefined || fields === null) return at;
  for (const key in fields) {
    out[at++] = (1 << 3) | WIRE_LENGTH;
    at = writeEntryHead(out, at, key, directCursor);
    directCursor += 3;
    at = writeValue(out, at, (fields as Plain)[key] as Plain);
  }
  return at;
}

/** Value: null_value (1), number_value (2), string_value (3), bool_value (4), struct_value (5), list_value (6). */
function writeValue(out: Buffer, at: number, value: Plain): number {
  const number = value['numberValue'];
  if (number != null) {
    out[at++] = (2 << 3) | WIRE_FIXED64;
    return out.writeDoubleLE(number as number, at);
  }
  const text = value['stringValue'];
  if (text != null) {
    const length = lengths[directCursor++] as number;
    out[at++] = (3 << 3) | WIRE_LENGTH;
    return writeString(out, writeVarint(out, at, length), text as string, length);
  }
  const flag = value['boolValue'];
  if (flag != null) {
    out[at++] = (4 << 3) | WIRE_VARINT;
    out[at++] = flag ? 1 : 0;
    return at;
  }
  const nested = value['structValue'];
  if (nested != null) {
    out[at++] = (5 << 3) | WIRE_LENGTH;
    at = writeVarint(out, at, lengths[directCursor++] as number);
    return writeStruct(out, at, nested as Plain);
  }
  const list = value['listValue'];
  if (list != null) {
    out[at++] = (6 << 3) | WIRE_LENGTH;
    at = writeVarint(out, at, lengths[directCursor++] as number);
    const values = (list as Plain)['values'];
    if (values == null) return at;
    for (const element of values as Plain[]) {
      out[at++] = (1 << 3) | WIRE_LENGTH;
      at = writeVarint(out, at, lengths[directCursor++] as number);
      at = writeValue(out, at, element);
    }
    return at;
  }
  out[at++] = (1 << 3) | WIRE_VARINT;
  out[at++] = 0;
  return at;
}

/**
 * Size of a message's fields, in field-number order; records their ops. Objects set few of their message's fields,
 * so this walks the object's keys rather than every field of the message.
 */
function fieldsSize(spec: MessageSpec, object: Plain): number {
  const base = presentCount;
  let sorted = true;
  let lastNo = 0;
  for (const name in object) {
    const value = object[name];
    if (value === undefined || value === null) continue;
    const field = spec.byName.get(name);
    if (field === undefined) continue;
    if (field.code === ENUM && enumNumber(field, value) === undefined) continue;
    if (field.no < lastNo) sorted = false;
    lastNo = field.no;
    const slot = presentCount++;
    presentFields[slot] = field;
    presentValues[slot] = value;
  }
  const end = presentCount;
  if (!sorted) sortPresent(base, end);
  let size = 0;
  for (let slot = base; slot < end; slot += 1) {
    const field = presentFields[slot] as Field;
    const value = presentValues[slot];
    if (field.code === MAP) {
      checkObject(field, value);
      const valueSpec = typeOf(field);
      for (const key of Object.keys(value)) {
        const entryValue = value[key];
        if (typeof entryValue !== 'object' || entryValue === null) throw new TypeError(`.${field.name}: object expected`);
        pushOp(field, key);
        const entrySlot = pushEntryLengths(utf8Length(key));
        const entryLength = settleEntryLengths(entrySlot, fieldsSize(valueSpec, entryValue as Plain));
        size += field.tagSize + varintSize(entryLength) + entryLength;
      }
    } else if (field.repeated) {
      if (!Array.isArray(value)) throw new TypeError(`.${field.name}: array expected`);
      for (const element of value) size += field.tagSize + valueSize(field, element);
    } else {
      size += field.tagSize + valueSize(field, value);
    }
  }
  presentCount = base;
  return size;
}

/** Insertion sort of the present fields [start, end) by field number (a message has a handful). */
function sortPresent(start: number, end: number): void {
  for (let index = start + 1; index < end; index += 1) {
    const field = presentFields[index] as Field;
    const value = presentValues[index];
    let to = index;
    while (to > start && (presentFields[to - 1] as Field).no > field.no) {
      presentFields[to] = presentFields[to - 1] as Field;
      presentValues[to] = presentValues[to - 1];
      to -= 1;
    }
    presentFields[to] = field;
    presentValues[to] = value;
  }
}

/*
 * The write pass keeps the output buffer and position in locals (module-level `let`s cost a context load and a
 * check per byte): these helpers take both and return the new position.
 */

function writeVarint(out: Buffer, at: number, value: number): number {
  while (value > 0x7f) {
    out[at++] = (value & 0x7f) | 0x80;
    value >>>= 7;
  }
  out[at++] = value;
  return at;
}

function writeVarint64(out: Buffer, at: number, low: number, high: number): number {
  low >>>= 0;
  high >>>= 0;
  while (high !== 0 || low > 0x7f) {
    out[at++] = (low & 0x7f) | 0x80;
    low = ((low >>> 7) | (high << 25)) >>> 0;
    high >>>= 7;
  }
  out[at++] = low;
  return at;
}

/** Writes a string of `length` UTF-8 bytes (measured by utf8Length). */
function writeString(out: Buffer, at: number, text: string, length: number): number {
  if (length === text.length && length <= SHORT_STRING) {
    for (let index = 0; index < length; index += 1) out[at++] = text.charCodeAt(index);
    return at;
  }
  return at + out.write(text, at, length, 'utf8');
}

/**
 * After its tag: a map entry's length, its key (field 1) and its value's tag and length (field 2), from the three
 * lengths pushEntryLengths reserved at `slot`. The value's bytes follow.
 */
function writeEntryHead(out: Buffer, at: number, key: string, slot: number): number {
  at = writeVarint(out, at, lengths[slot] as number);
  const keyLength = lengths[slot + 1] as number;
  out[at++] = (1 << 3) | WIRE_LENGTH;
  at = writeString(out, writeVarint(out, at, keyLength), key, keyLength);
  out[at++] = (2 << 3) | WIRE_LENGTH;
  return writeVarint(out, at, lengths[slot + 2] as number);
}

/** The write pass: the recorded ops, in order, into `out`; returns the end position. */
function writeOps(out: Buffer): number {
  let at = 0;
  let lengthCursor = 0;
  for (let op = 0; op < opCount; op += 1) {
    const field = ops[op] as Field;
    const value = opValues[op];
    out[at++] = field.tag0;
    if (field.tagSize === 2) out[at++] = field.tag1;
    switch (field.code) {
      case STRING: {
        const length = lengths[lengthCursor++] as number;
        at = writeString(out, writeVarint(out, at, length), value as string, length);
        break;
      }
      case BYTES: {
        const bytes = value as Uint8Array;
        const length = bytes.length;
        at = writeVarint(out, at, length);
        // Header values are a few bytes: a loop beats set()'s call overhead there.
        if (length <= SHORT_STRING) for (let index = 0; index < length; index += 1) out[at++] = bytes[index] as number;
        else {
          out.set(bytes, at);
          at += length;
        }
        break;
      }
      case BOOL:
        out[at++] = value ? 1 : 0;
        break;
      case ENUM:
      case INT32: {
        const number = value as number;
        at = number < 0 ? writeVarint64(out, at, number, -1) : writeVarint(out, at, number);
        break;
      }
      case UINT32:
        at = writeVarint(out, at, value as number);
        break;
      case INT64: {
        const low = lengths[lengthCursor++] as number;
        at = writeVarint64(out, at, low, lengths[lengthCursor++] as number);
        break;
      }
      case DOUBLE:
        at = out.writeDoubleLE(value as number, at);
        break;
      case MESSAGE:
        // Its fields are the ops that follow.
        at = writeVarint(out, at, lengths[lengthCursor++] as number);
        break;
      case DIRECT_STRUCT:
        at = writeVarint(out, at, lengths[lengthCursor++] as number);
        directCursor = lengthCursor;
        at = writeStruct(out, at, value as Plain);
        lengthCursor = directCursor;
        break;
      case MAP:
        // The value message's fields are the ops that follow.
        at = writeEntryHead(out, at, value as string, lengthCursor);
        lengthCursor += 3;
        break;
      default:
        throw new Error(`unexpected kind ${field.kind}`);
    }
  }
  return at;
}

/** Answers from this size are written into the reused scratch buffer by serializeProcessingResponse. */
const SCRATCH_FROM_BYTES = 8 * 1024;
/** The scratch buffer is kept up to this size; a larger answer gets a buffer of its own. */
const SCRATCH_MAX_BYTES = 8 * 1024 * 1024;
let scratch: Buffer | undefined;

/** A buffer for `size` bytes: a view of the scratch buffer when `reuse` and the size fits, else a new one. */
function outputFor(size: number, reuse: boolean): Buffer {
  if (!reuse || size < SCRATCH_FROM_BYTES || size > SCRATCH_MAX_BYTES) return Buffer.allocUnsafe(size);
  if (scratch === undefined || scratch.length < size) scratch = Buffer.allocUnsafeSlow(Math.min(SCRATCH_MAX_BYTES, Math.max(size, scratch === undefined ? 0 : scratch.length * 2)));
  return scratch.subarray(0, size);
}

function encodeMessage(spec: MessageSpec, object: object, reuse = false): Buffer {
  opCount = 0;
  lengthCount = 0;
  presentCount = 0;
  try {
    const size = fieldsSize(spec, object as Plain);
    const output = outputFor(size, reuse);
    const written = writeOps(output);
    if (written !== size) throw new Error(`ext_proc encoder wrote ${written} bytes, sized ${size}`);
    return output;
  } finally {
    // Hold no references to this message's values (bodies) until the next encode overwrites them.
    opValues.fill(undefined, 0, opCount);
    presentValues.fill(undefined);
    opCount = 0;
    presentCount = 0;
  }
}

/**
 * Answers with nothing to change, `{ <phase>: { response: {} } }` or `{ <phase>: {} }` (most streamed chunks), are
 * the same bytes every time: encoded once by the general path and handed out shared. The buffer is never written
 * again, and grpc-js copies a serialized message into its frame (server-interceptors.js `serializeMessage`), so
 * sharing is safe there; test/proto/ext-proc-codec.test.ts pins both. Callers must not write into the result.
 */
const CONSTANT_ANSWERS = new Map<string, { empty: Buffer | undefined; emptyResponse: Buffer | undefined }>(
  ['request_headers', 'response_headers', 'request_body', 'response_body', 'request_trailers', 'response_trailers'].map((phase) => [phase, { empty: undefined, emptyResponse: undefined }]),
);

/** True when `object` has no enumerable property (own or inherited), as the general path walks it. */
function isBare(object: object): boolean {
  for (const _ in object) return false;
  return true;
}

/** The only enumerable key of `object` (own or inherited, as the general path walks it); undefined for none or several. */
function onlyKey(object: object): string | undefined {
  let only: string | undefined;
  for (const name in object) {
    if (only !== undefined) return undefined;
    only = name;
  }
  return only;
}

function constantAnswer(response: Plain): Buffer | undefined {
  const phase = onlyKey(response);
  if (phase === undefined) return undefined;
  const cached = CONSTANT_ANSWERS.get(phase);
  const inner = response[phase];
  if (cached === undefined || typeof inner !== 'object' || inner === null) return undefined;
  if (isBare(inner)) return (cached.empty ??= encodeMessage(PROCESSING_RESPONSE, { [phase]: {} }));
  const only = onlyKey(inner);
  if (only === undefined) return undefined;
  const common = (inner as Plain)[only];
  // The trailers phases have no `response` field: the general path would drop it, but such answers are not built.
  if (only !== 'response' || phase.endsWith('_trailers') || typeof common !== 'object' || common === null || !isBare(common)) return undefined;
  return (cached.emptyResponse ??= encodeMessage(PROCESSING_RESPONSE, { [phase]: { response: {} } }));
}

/** ProcessingResponse tags of the body phases (fields 3 and 4, length-delimited). */
const BODY_PHASE_TAGS: Readonly<Record<string, number>> = { request_body: (3 << 3) | WIRE_LENGTH, response_body: (4 << 3) | WIRE_LENGTH };

/**
 * `{ request_body | response_body: { response: { body_mutation: { body } } } }` with nothing else set: a translated
 * stream chunk, the most frequent answer that is not a constant. Written directly (its tags are fixed) rather than
 * by the general path's two passes over four nested messages; the same bytes, which
 * test/proto/ext-proc-codec.test.ts pins to the general path and to reflection.
 */
function bodyOnlyAnswer(response: Plain, reuse: boolean): Buffer | undefined {
  const phase = onlyKey(response);
  const phaseTag = phase === undefined ? undefined : BODY_PHASE_TAGS[phase];
  if (phaseTag === undefined) return undefined;
  const inner = response[phase as string];
  if (typeof inner !== 'object' || inner === null || onlyKey(inner) !== 'response') return undefined;
  const common = (inner as Plain)['response'];
  if (typeof common !== 'object' || common === null || onlyKey(common) !== 'body_mutation') return undefined;
  const mutation = (common as Plain)['body_mutation'];
  if (typeof mutation !== 'object' || mutation === null || onlyKey(mutation) !== 'body') return undefined;
  const body = (mutation as Plain)['body'];
  if (!(body instanceof Uint8Array)) return undefined;
  const mutationSize = 1 + varintSize(body.length) + body.length;
  const commonSize = 1 + varintSize(mutationSize) + mutationSize;
  const bodyResponseSize = 1 + varintSize(commonSize) + commonSize;
  const size = 1 + varintSize(bodyResponseSize) + bodyResponseSize;
  const out = outputFor(size, reuse);
  out[0] = phaseTag;
  let at = writeVarint(out, 1, bodyResponseSize);
  // BodyResponse.response (1), CommonResponse.body_mutation (3), BodyMutation.body (1).
  out[at++] = (1 << 3) | WIRE_LENGTH;
  at = writeVarint(out, at, commonSize);
  out[at++] = (3 << 3) | WIRE_LENGTH;
  at = writeVarint(out, at, mutationSize);
  out[at++] = (1 << 3) | WIRE_LENGTH;
  at = writeVarint(out, at, body.length);
  out.set(body, at);
  return out;
}

/** An answer's bytes, in a buffer of its own (or a shared constant one, which callers must not write into). */
export function encodeProcessingResponse(response: ProcessingResponse): Buffer {
  return constantAnswer(response as Plain) ?? bodyOnlyAnswer(response as Plain, false) ?? encodeMessage(PROCESSING_RESPONSE, response);
}

/**
 * grpc-js responseSerialize for the Process stream: as encodeProcessingResponse, but an answer of 8 KiB or more (a
 * replaced body) is written into one reused buffer instead of a new one. grpc-js copies the serialized message into
 * its frame before it returns (server-interceptors.js `serializeMessage`), so the buffer is free again at once. A new
 * 2 MB buffer per answer was memory outside V8's heap, whose growth sets off full garbage collections.
 * test/proto/ext-proc-codec.test.ts pins grpc-js's copy.
 */
export function serializeProcessingResponse(response: ProcessingResponse): Buffer {
  return constantAnswer(response as Plain) ?? bodyOnlyAnswer(response as Plain, true) ?? encodeMessage(PROCESSING_RESPONSE, response, true);
}

/** The reverse direction (test clients). */
export function encodeProcessingRequest(request: ProcessingRequest): Buffer {
  return encodeMessage(PROCESSING_REQUEST, request);
}

/**
 * The ExternalProcessor service for `server.addService(...)`, (de)serialised with this codec: same path and
 * stream shape as proto-loader's definition, without parsing proto/ at start-up.
 */
export function leanExtProcService(): ServiceDefinition {
  return {
    Process: {
      path: EXT_PROC_PROCESS_PATH,
      requestStream: true,
      responseStream: true,
      requestSerialize: encodeProcessingRequest,
      requestDeserialize: decodeProcessingRequest,
      responseSerialize: serializeProcessingResponse,
      responseDeserialize: decodeProcessingResponse,
      originalName: 'process',
    },
  } as ServiceDefinition;
}
