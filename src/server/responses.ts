/**
 * Builders for ProcessingResponse messages. Only the processors call these; every answer names the
 * same oneof case as the request it answers (or is an immediate response).
 */
import { errorBodyFor, type ClientApi, type ErrorShape, type GatewayError } from '../core/errors.js';
import type {
  BodyMutation,
  CommonResponse,
  HeaderMutation,
  ProcessingMode,
  ProcessingResponse,
  Struct,
} from './ext-proc-types.js';
import { HeaderChanges } from './headers.js';
import { toStruct, type JsonLike } from './struct.js';

/** The dynamic metadata namespace Envoy AI Gateway uses; the rate-limit filter and access logs read it. */
export const METADATA_NAMESPACE = 'io.envoy.ai_gateway';

export type MetadataValues = Record<string, JsonLike | undefined>;

export function metadataStruct(values: MetadataValues): Struct {
  return { fields: { [METADATA_NAMESPACE]: { structValue: toStruct(values) } } };
}

export type Phase = 'request_headers' | 'request_body' | 'response_headers' | 'response_body' | 'request_trailers' | 'response_trailers';

export interface AnswerParts {
  headers?: HeaderChanges;
  body?: Uint8Array;
  /** Drop the body (STREAMED: drop this chunk). */
  clearBody?: boolean;
  replace?: boolean;
  clearRouteCache?: boolean;
  metadata?: MetadataValues;
  modeOverride?: ProcessingMode;
}

/** An answer of the same oneof case as the request phase. */
export function answer(phase: Phase, parts: AnswerParts = {}): ProcessingResponse {
  const message: ProcessingResponse = {};
  if (parts.metadata) message.dynamic_metadata = metadataStruct(parts.metadata);
  if (parts.modeOverride) message.mode_override = parts.modeOverride;
  if (phase === 'request_trailers' || phase === 'response_trailers') {
    message[phase] = parts.headers && !parts.headers.isEmpty ? { header_mutation: parts.headers.toMutation() } : {};
    return message;
  }
  const common: CommonResponse = {};
  if (parts.replace) common.status = 'CONTINUE_AND_REPLACE';
  // clear_route_cache is honoured only when a header_mutation is present (even an empty one).
  if (parts.headers && !parts.headers.isEmpty) common.header_mutation = parts.headers.toMutation();
  else if (parts.clearRouteCache) common.header_mutation = {} as HeaderMutation;
  if (parts.clearRouteCache) common.clear_route_cache = true;
  const body = bodyMutation(parts);
  if (body) common.body_mutation = body;
  message[phase] = { response: common };
  return message;
}

function bodyMutation(parts: AnswerParts): BodyMutation | undefined {
  if (parts.clearBody) return { clear_body: true };
  if (parts.body === undefined) return undefined;
  // An empty replacement drains the chunk; clear_body says so explicitly on the wire.
  if (parts.body.length === 0) return { clear_body: true };
  return { body: Buffer.from(parts.body.buffer, parts.body.byteOffset, parts.body.byteLength) };
}

/** gRPC status codes Envoy maps a local reply to, for gRPC downstreams. */
function grpcStatusFor(status: number): number {
  if (status === 400 || status === 422) return 3; // INVALID_ARGUMENT
  if (status === 401) return 16; // UNAUTHENTICATED
  if (status === 403) return 7; // PERMISSION_DENIED
  if (status === 404) return 5; // NOT_FOUND
  if (status === 413) return 8; // RESOURCE_EXHAUSTED
  if (status === 429) return 8;
  return 13; // INTERNAL
}

export interface ImmediateOptions {
  /** Extra headers for the reply. */
  headers?: Record<string, string>;
  metadata?: MetadataValues;
  /** %RESPONSE_CODE_DETAILS%; no whitespace. */
  details?: string;
}

/** A local reply with a JSON body. */
export function immediateJson(status: number, body: string, options: ImmediateOptions = {}): ProcessingResponse {
  const headers = new HeaderChanges().set('content-type', 'application/json');
  for (const [name, value] of Object.entries(options.headers ?? {})) headers.set(name, value);
  const message: ProcessingResponse = {
    immediate_response: {
      status: { code: status },
      headers: headers.toMutation(),
      body: Buffer.from(body, 'utf8'),
      grpc_status: { status: grpcStatusFor(status) },
      details: (options.details ?? `llm_extproc_${status}`).replace(/\s+/g, '_'),
    },
  };
  if (options.metadata) message.dynamic_metadata = metadataStruct(options.metadata);
  return message;
}

/** A local reply carrying an error in the client's API format. */
export function immediateError(api: ClientApi, error: ErrorShape, options: ImmediateOptions = {}): ProcessingResponse {
  return immediateJson(error.status, errorBodyFor(api, error), options);
}

/** The service's own error (bad input, untranslatable request) as a local reply in the client's format. */
export function gatewayErrorReply(api: ClientApi, error: GatewayError, metadata?: MetadataValues): ProcessingResponse {
  const code = error.code === 'ERR_INVALID_REQUEST' ? 'invalid_request_body' : error.code.toLowerCase().replace(/^err_/, '');
  return immediateError(api, { status: error.status, message: error.message, param: error.param ?? null, code }, { metadata, details: `llm_extproc_${code}` });
}

/** A failure inside the service: a generic 500, never the cause's text. */
export function internalErrorReply(api: ClientApi, metadata?: MetadataValues): ProcessingResponse {
  return immediateError(api, { status: 500, message: 'internal error in llm-extproc', code: 'internal_error' }, { metadata, details: 'llm_extproc_internal_error' });
}

/** Response body switched to STREAMED; both body modes always set (an unset one would mean NONE). */
export const STREAMED_RESPONSE_MODE: ProcessingMode = {
  request_body_mode: 'BUFFERED',
  response_body_mode: 'STREAMED',
};
