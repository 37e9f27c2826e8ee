/**
 * TypeScript shapes of the ext_proc messages in the object form produced by
 * @grpc/proto-loader with {keepCase, longs: String, enums: String, defaults: false,
 * oneofs: true}: snake_case fields, bytes as Buffer (Uint8Array accepted when sending),
 * enums as their names, unset fields absent, and each oneof's discriminant set to the
 * name of the populated member. An enum value unknown to our protos arrives as a number.
 */

// ---- google.protobuf ------------------------------------------------------

export type NullValue = 'NULL_VALUE';

/** google.protobuf.Value (protobufjs field names). */
export interface Value {
  nullValue?: NullValue;
  numberValue?: number;
  stringValue?: string;
  boolValue?: boolean;
  structValue?: Struct;
  listValue?: ListValue;
  kind?: 'nullValue' | 'numberValue' | 'stringValue' | 'boolValue' | 'structValue' | 'listValue';
}

export interface ListValue {
  values?: Value[];
}

/** google.protobuf.Struct. */
export interface Struct {
  fields?: Record<string, Value>;
}

/** google.protobuf.Duration (seconds is an int64, a decimal string when decoded). */
export interface Duration {
  seconds?: string | number;
  nanos?: number;
}

/** google.protobuf.BoolValue. */
export interface BoolValue {
  value?: boolean;
}

/** google.protobuf.Any. */
export interface Any {
  type_url?: string;
  value?: Buffer | Uint8Array;
}

type Bytes = Buffer | Uint8Array;

// ---- envoy.config.core.v3 -------------------------------------------------

export interface HeaderValue {
  key?: string;
  /** Legacy string form; ext_proc uses raw_value. */
  value?: string;
  raw_value?: Bytes;
}

export type HeaderAppendAction =
  | 'APPEND_IF_EXISTS_OR_ADD'
  | 'ADD_IF_ABSENT'
  | 'OVERWRITE_IF_EXISTS_OR_ADD'
  | 'OVERWRITE_IF_EXISTS';

export interface HeaderValueOption {
  header?: HeaderValue;
  /** Deprecated in Envoy; prefer append_action. */
  append?: BoolValue;
  append_action?: HeaderAppendAction;
  keep_empty_value?: boolean;
}

export interface HeaderMap {
  headers?: HeaderValue[];
}

export interface Metadata {
  filter_metadata?: Record<string, Struct>;
  typed_filter_metadata?: Record<string, Any>;
}

// ---- envoy.type.v3 --------------------------------------------------------

/** envoy.type.v3.StatusCode enum name (e.g. 'OK', 'NotFound'), or a number for codes not in the enum. */
export type StatusCodeName = string | number;

export interface HttpStatus {
  code?: StatusCodeName;
}

// ---- envoy.extensions.filters.http.ext_proc.v3 ----------------------------

export type HeaderSendMode = 'DEFAULT' | 'SEND' | 'SKIP';
export type BodySendMode = 'NONE' | 'STREAMED' | 'BUFFERED' | 'BUFFERED_PARTIAL' | 'FULL_DUPLEX_STREAMED';

export interface ProcessingMode {
  request_header_mode?: HeaderSendMode;
  response_header_mode?: HeaderSendMode;
  request_body_mode?: BodySendMode;
  response_body_mode?: BodySendMode;
  request_trailer_mode?: HeaderSendMode;
  response_trailer_mode?: HeaderSendMode;
}

// ---- envoy.service.ext_proc.v3: requests (Envoy -> service) ---------------

export interface ProtocolConfiguration {
  request_body_mode?: BodySendMode;
  response_body_mode?: BodySendMode;
  send_body_without_waiting_for_header_response?: boolean;
}

export interface HttpHeaders {
  headers?: HeaderMap;
  /** Deprecated; attributes arrive in ProcessingRequest.attributes. */
  attributes?: Record<string, Struct>;
  end_of_stream?: boolean;
}

export interface HttpBody {
  body?: Bytes;
  end_of_stream?: boolean;
}

export interface HttpTrailers {
  trailers?: HeaderMap;
}

export type ProcessingRequestKind =
  | 'request_headers'
  | 'response_headers'
  | 'request_body'
  | 'response_body'
  | 'request_trailers'
  | 'response_trailers';

export interface ProcessingRequest {
  request_headers?: HttpHeaders;
  response_headers?: HttpHeaders;
  request_body?: HttpBody;
  response_body?: HttpBody;
  request_trailers?: HttpTrailers;
  response_trailers?: HttpTrailers;
  /** oneof discriminant (set on decode; ignored on encode). */
  request?: ProcessingRequestKind;
  metadata_context?: Metadata;
  attributes?: Record<string, Struct>;
  observability_mode?: boolean;
  protocol_config?: ProtocolConfiguration;
}

// ---- envoy.service.ext_proc.v3: responses (service -> Envoy) --------------

export type ResponseStatus = 'CONTINUE' | 'CONTINUE_AND_REPLACE';

export interface HeaderMutation {
  set_headers?: HeaderValueOption[];
  remove_headers?: string[];
}

export interface StreamedBodyResponse {
  body?: Bytes;
  end_of_stream?: boolean;
}

export interface BodyMutation {
  body?: Bytes;
  clear_body?: boolean;
  streamed_response?: StreamedBodyResponse;
  mutation?: 'body' | 'clear_body' | 'streamed_response';
}

export interface CommonResponse {
  status?: ResponseStatus;
  header_mutation?: HeaderMutation;
  body_mutation?: BodyMutation;
  trailers?: HeaderMap;
  clear_route_cache?: boolean;
}

export interface HeadersResponse {
  response?: CommonResponse;
}

export interface BodyResponse {
  response?: CommonResponse;
}

export interface TrailersResponse {
  header_mutation?: HeaderMutation;
}

export interface GrpcStatus {
  status?: number;
}

export interface ImmediateResponse {
  status?: HttpStatus;
  headers?: HeaderMutation;
  body?: Bytes;
  grpc_status?: GrpcStatus;
  details?: string;
}

export interface StreamedImmediateResponse {
  headers_response?: HttpHeaders;
  body_response?: StreamedBodyResponse;
  trailers_response?: HeaderMap;
  response?: 'headers_response' | 'body_response' | 'trailers_response';
}

export type ProcessingResponseKind =
  | 'request_headers'
  | 'response_headers'
  | 'request_body'
  | 'response_body'
  | 'request_trailers'
  | 'response_trailers'
  | 'immediate_response'
  | 'streamed_immediate_response';

export interface ProcessingResponse {
  request_headers?: HeadersResponse;
  response_headers?: HeadersResponse;
  request_body?: BodyResponse;
  response_body?: BodyResponse;
  request_trailers?: TrailersResponse;
  response_trailers?: TrailersResponse;
  immediate_response?: ImmediateResponse;
  streamed_immediate_response?: StreamedImmediateResponse;
  /** oneof discriminant (set on decode; ignored on encode). */
  response?: ProcessingResponseKind;
  dynamic_metadata?: Struct;
  mode_override?: ProcessingMode;
  override_message_timeout?: Duration;
  /** Deprecated in Envoy. */
  request_drain?: boolean;
}
