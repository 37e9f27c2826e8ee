/**
 * Anthropic (and Claude on Vertex / Bedrock) error bodies -> OpenAI error JSON, upstream status kept.
 *
 * Anthropic: `{"type":"error","error":{"type":"rate_limit_error","message":"..."}}` -> OpenAI `type` = the
 * Anthropic type, message kept. Vertex wraps some errors the Google way (`{"error":{"code","message","status"}}`,
 * sometimes inside an array): the type follows the HTTP status and the Google `status` becomes the `code`. HTML, empty or other non-JSON bodies become an OpenAI
 * error typed by the HTTP status, with short plain text kept in the message (HTML is not echoed).
 * @see https://platform.claude.com/docs/en/api/errors
 */
import { openAIErrorBody, openAIErrorType, type ErrorShape } from '../../core/errors.js';
import { asString, isRecord, utf8 } from '../../core/json.js';
import { readUpstreamErrorBody } from '../shared/upstream-error-body.js';
import type { ErrorResult, HeaderLookup } from '../types.js';

/** HTTP status Anthropic uses for an error type (for errors that arrive inside a 200 stream). */
const STATUS_BY_TYPE: Readonly<Record<string, number>> = {
  invalid_request_error: 400,
  authentication_error: 401,
  billing_error: 402,
  permission_error: 403,
  not_found_error: 404,
  request_too_large: 413,
  rate_limit_error: 429,
  api_error: 500,
  timeout_error: 504,
  overloaded_error: 529,
};

export function statusForAnthropicErrorType(type: string | undefined): number {
  return type !== undefined && Object.hasOwn(STATUS_BY_TYPE, type) ? (STATUS_BY_TYPE[type] ?? 500) : 500;
}

export interface FoundError {
  /** Anthropic error type (`rate_limit_error`, ...), when the body has one. */
  readonly type: string | undefined;
  /** Google status (`RESOURCE_EXHAUSTED`, ...) from a Vertex-style body, used as the OpenAI `code`. */
  readonly code: string | undefined;
  readonly message: string | undefined;
}

/** Reads an Anthropic (`{type:"error",error:{type,message}}`) or Google-style (`{error:{code,message,status}}`) error. */
export function readAnthropicError(value: unknown): FoundError | undefined {
  const candidate = Array.isArray(value) ? value[0] : value;
  if (!isRecord(candidate)) return undefined;
  const inner = isRecord(candidate.error) ? candidate.error : candidate.type === 'error' ? undefined : candidate;
  if (!inner) return undefined;
  const found = { type: asString(inner.type), code: asString(inner.status), message: asString(inner.message) };
  return found.type === undefined && found.code === undefined && found.message === undefined ? undefined : found;
}

export function anthropicErrorShape(status: number, body: Uint8Array, headers?: HeaderLookup): ErrorShape {
  const upstream = readUpstreamErrorBody(status, body, headers);
  const found = readAnthropicError(upstream.json);
  if (!found) return { status, message: upstream.fallbackMessage, type: openAIErrorType(status) };
  return {
    status,
    message: found.message ?? upstream.fallbackMessage,
    type: found.type ?? openAIErrorType(status),
    code: found.code ?? null,
  };
}

export function translateAnthropicError(status: number, body: Uint8Array, headers: HeaderLookup): ErrorResult {
  return { status, body: utf8(openAIErrorBody(anthropicErrorShape(status, body, headers))) };
}
