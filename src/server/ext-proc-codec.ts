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
import type { ProcessingRequest, ProcessingResponse } from './ext-proc-types.js';

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

interface Field extends FieldSpec {
  /** Declaration index in its message (protobufjs sets a oneof's discriminant to the last member present in this order). */
  readonly index: number;
  readonly enumNumbers: Map<string, number> | undefined;
  readonly enumByNumber: Map<number, string> | undefined;
  readonly wireType: number;
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

const WIRE_VARINT = 0;
const WIRE_FIXED64 = 1;
const WIRE_LENGTH = 2;
const WIRE_START_GROUP = 3;
const WIRE_END_GROUP = 4;
const WIRE_FIXED32 = 5;

function wireTypeOf(spec: FieldSpec): number {
  if (spec.kind === 'double') return WIRE_FIXED64;
  if (spec.kind === 'bool' || spec.kind === 'enum' || spec.kind === 'uint32' || spec.kind === 'int32' || spec.kind === 'int64') return WIRE_VARINT;
  return WIRE_LENGTH;
}

function message(name: string, specs: readonly FieldSpec[]): MessageSpec {
  const fields: Field[] = specs.map((spec, index) => {
    const enumNames = spec.enumNames;
    const enumNumbers = enumNames ? new Map<string, number>() : undefined;
    const enumByNumber = enumNames ? new Map<number, string>() : undefined;
    enumNames?.forEach((enumName, number) => {
      enumNumbers?.set(enumName, number);
      enumByNumber?.set(number, enumName);
    });
    return { ...spec, index, enumNumbers, enumByNumber, wireType: wireTypeOf(spec) };
  });
  fields.sort((left, right) => left.no - right.no);
  const byNumber: (Field | undefined)[] = [];
  for (const field of fields) byNumber[field.no] = field;
  return { name, fields, byNumber, indexByName: new Map(fields.map((field) => [field.name, field.index])), byName: new Map(fields.map((field) => [field.name, field])) };
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

/** Header names and metadata keys are short ASCII: building those directly beats a native call per string. */
function readUtf8(start: number, stop: number): string {
  if (stop - start > 24) return input.toString('utf8', start, stop);
  let text = '';
  for (let index = start; index < stop; index += 1) {
    const byte = input[index] as number;
    if (byte >= 0x80) return input.toString('utf8', start, stop);
    text += String.fromCharCode(byte);
  }
  return text;
}

function decodeScalar(field: Field, end: number): unknown {
  switch (field.kind) {
    case 'string': {
      const stop = lengthDelimitedEnd(end);
      const text = readUtf8(position, stop);
      position = stop;
      return text;
    }
    case 'bytes': {
      const stop = lengthDelimitedEnd(end);
      const bytes = input.subarray(position, stop);
      position = stop;
      return bytes;
    }
    case 'bool':
      return readVarint32() !== 0;
    case 'enum': {
      const number = readVarint32() | 0;
      return field.enumByNumber?.get(number) ?? number;
    }
    case 'uint32':
      return readVarint32();
    case 'int32':
      return readVarint32() | 0;
    case 'int64':
      return readInt64String();
    case 'double': {
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
    if (field.kind === 'message') {
      const stop = lengthDelimitedEnd(end);
      value = decodeFields((field.type as () => MessageSpec)(), stop);
      position = stop;
    } else if (field.kind === 'map') {
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
      value = decodeFields((field.type as () => MessageSpec)(), stop);
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

/** grpc-js requestDeserialize for the Process stream. */
export function decodeProcessingRequest(bytes: Buffer): ProcessingRequest {
  return decodeMessage(PROCESSING_REQUEST, bytes) as ProcessingRequest;
}

/** The reverse direction (test clients); ProcessingResponse in the same object form. */
export function decodeProcessingResponse(bytes: Buffer): ProcessingResponse {
  return decodeMessage(PROCESSING_RESPONSE, bytes) as ProcessingResponse;
}

// ---- encode ------------------------------------------------------------------------------------------------

/**
 * Encoder state. The size pass records, in visiting order, the byte length of every sub-message and string and
 * every base64 string converted to bytes; the write pass visits the same values in the same order and reads them
 * back. Encoding is synchronous, so the arrays are reused.
 */
const lengths: number[] = [];
let lengthCursor = 0;
const converted: Buffer[] = [];
let convertedCursor = 0;
let output: Buffer = EMPTY;

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

function bytesOf(value: unknown): Uint8Array {
  if (typeof value === 'string') {
    const bytes = Buffer.from(value, 'base64');
    converted.push(bytes);
    return bytes;
  }
  return value as Uint8Array;
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

/** Size of one value without its tag. */
function valueSize(field: Field, value: unknown): number {
  switch (field.kind) {
    case 'string': {
      const length = Buffer.byteLength(typeof value === 'string' ? value : String(value));
      lengths.push(length);
      return varintSize(length) + length;
    }
    case 'bytes': {
      const length = bytesOf(value).length;
      return varintSize(length) + length;
    }
    case 'bool':
      return 1;
    case 'enum':
    case 'int32': {
      const number = field.kind === 'enum' ? (enumNumber(field, value) as number) : Number(value) | 0;
      return number < 0 ? 10 : varintSize(number);
    }
    case 'uint32':
      return varintSize(Number(value) >>> 0);
    case 'int64': {
      const [low, high] = int64Parts(value);
      return varint64Size(low, high);
    }
    case 'double':
      return 8;
    case 'message': {
      checkObject(field, value);
      const length = messageSize((field.type as () => MessageSpec)(), value);
      return varintSize(length) + length;
    }
    default:
      throw new Error(`unexpected kind ${field.kind}`);
  }
}

/**
 * The fields set in `object`, in field-number order. Objects set few of their message's fields, so this walks the
 * object's own keys rather than every field of the message.
 */
function presentFields(spec: MessageSpec, object: Plain): Field[] {
  const present: Field[] = [];
  let sorted = true;
  for (const name in object) {
    const field = spec.byName.get(name);
    if (field === undefined) continue;
    const value = object[name];
    if (value === undefined || value === null) continue;
    if (field.kind === 'enum' && enumNumber(field, value) === undefined) continue;
    if (present.length > 0 && (present[present.length - 1] as Field).no > field.no) sorted = false;
    present.push(field);
  }
  if (!sorted) present.sort((left, right) => left.no - right.no);
  return present;
}

function messageSize(spec: MessageSpec, object: Plain): number {
  const slot = lengths.length;
  lengths.push(0);
  let size = 0;
  for (const field of presentFields(spec, object)) {
    const value = object[field.name];
    const tagSize = field.no < 16 ? 1 : 2;
    if (field.kind === 'map') {
      checkObject(field, value);
      const valueSpec = (field.type as () => MessageSpec)();
      for (const key of Object.keys(value)) {
        const entryValue = value[key];
        if (typeof entryValue !== 'object' || entryValue === null) throw new TypeError(`.${field.name}: object expected`);
        const keyLength = Buffer.byteLength(key);
        lengths.push(keyLength);
        const entrySlot = lengths.length;
        lengths.push(0);
        const valueLength = messageSize(valueSpec, entryValue as Plain);
        const entryLength = 1 + varintSize(keyLength) + keyLength + 1 + varintSize(valueLength) + valueLength;
        lengths[entrySlot] = entryLength;
        size += tagSize + varintSize(entryLength) + entryLength;
      }
    } else if (field.repeated) {
      if (!Array.isArray(value)) throw new TypeError(`.${field.name}: array expected`);
      for (const element of value) size += tagSize + valueSize(field, element);
    } else {
      size += tagSize + valueSize(field, value);
    }
  }
  lengths[slot] = size;
  return size;
}

function writeVarint(value: number): void {
  while (value > 0x7f) {
    output[position++] = (value & 0x7f) | 0x80;
    value >>>= 7;
  }
  output[position++] = value;
}

function writeVarint64(low: number, high: number): void {
  low >>>= 0;
  high >>>= 0;
  while (high !== 0 || low > 0x7f) {
    output[position++] = (low & 0x7f) | 0x80;
    low = ((low >>> 7) | (high << 25)) >>> 0;
    high >>>= 7;
  }
  output[position++] = low;
}

function writeTag(field: Field, wireType: number): void {
  writeVarint((field.no << 3) | wireType);
}

function writeValue(field: Field, value: unknown): void {
  switch (field.kind) {
    case 'string': {
      const length = lengths[lengthCursor++] as number;
      writeVarint(length);
      position += output.write(typeof value === 'string' ? value : String(value), position, length, 'utf8');
      return;
    }
    case 'bytes': {
      const bytes = typeof value === 'string' ? (converted[convertedCursor++] as Buffer) : (value as Uint8Array);
      writeVarint(bytes.length);
      output.set(bytes, position);
      position += bytes.length;
      return;
    }
    case 'bool':
      output[position++] = value ? 1 : 0;
      return;
    case 'enum':
    case 'int32': {
      const number = field.kind === 'enum' ? (enumNumber(field, value) as number) : Number(value) | 0;
      if (number < 0) writeVarint64(number, -1);
      else writeVarint(number);
      return;
    }
    case 'uint32':
      writeVarint(Number(value) >>> 0);
      return;
    case 'int64': {
      const [low, high] = int64Parts(value);
      writeVarint64(low, high);
      return;
    }
    case 'double':
      output.writeDoubleLE(Number(value), position);
      position += 8;
      return;
    case 'message':
      writeMessage((field.type as () => MessageSpec)(), value as Plain);
      return;
    default:
      throw new Error(`unexpected kind ${field.kind}`);
  }
}

/** Writes a message's length prefix and fields. */
function writeMessage(spec: MessageSpec, object: Plain): void {
  writeVarint(lengths[lengthCursor++] as number);
  writeFields(spec, object);
}

function writeFields(spec: MessageSpec, object: Plain): void {
  for (const field of presentFields(spec, object)) {
    const value = object[field.name];
    if (field.kind === 'map') {
      const valueSpec = (field.type as () => MessageSpec)();
      for (const key of Object.keys(value as Plain)) {
        const keyLength = lengths[lengthCursor++] as number;
        writeTag(field, WIRE_LENGTH);
        writeVarint(lengths[lengthCursor++] as number);
        output[position++] = 10;
        writeVarint(keyLength);
        position += output.write(key, position, keyLength, 'utf8');
        output[position++] = 18;
        writeMessage(valueSpec, (value as Plain)[key] as Plain);
      }
    } else if (field.repeated) {
      for (const element of value as unknown[]) {
        writeTag(field, field.wireType);
        writeValue(field, element);
      }
    } else {
      writeTag(field, field.wireType);
      writeValue(field, value);
    }
  }
}

function encodeMessage(spec: MessageSpec, object: object): Buffer {
  lengths.length = 0;
  converted.length = 0;
  try {
    const size = messageSize(spec, object as Plain);
    output = Buffer.allocUnsafe(size);
    position = 0;
    lengthCursor = 1;
    convertedCursor = 0;
    writeFields(spec, object as Plain);
    if (position !== size) throw new Error(`ext_proc encoder wrote ${position} bytes, sized ${size}`);
    return output;
  } finally {
    output = EMPTY;
    lengths.length = 0;
    converted.length = 0;
  }
}

/** grpc-js responseSerialize for the Process stream. */
export function encodeProcessingResponse(response: ProcessingResponse): Buffer {
  return encodeMessage(PROCESSING_RESPONSE, response);
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
      responseSerialize: encodeProcessingResponse,
      responseDeserialize: decodeProcessingResponse,
      originalName: 'process',
    },
  } as ServiceDefinition;
}
