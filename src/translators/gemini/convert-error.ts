/**
 * Google error bodies -> OpenAI error JSON, upstream status kept.
 *
 * `{"error":{"code":429,"message":"...","status":"RESOURCE_EXHAUSTED"}}` (also wrapped in a one-element array, as
 * streamGenerateContent without SSE sends it) -> `{"error":{"message","type":<status>,"param":null,"code":"<code>"}}`.
 * HTML, plain text or empty bodies -> an OpenAI error typed by HTTP status, with a message saying what the body
 * was (shared/upstream-error-body.ts).
 *
 * @see https://cloud.google.com/apis/design/errors#http_mapping
 * @see https://ai.google.dev/gemini-api/docs/troubleshooting#error-codes
 */
import { openAIErrorBody, openAIErrorType, type ErrorShape } from '../../core/errors.js';
import { utf8 } from '../../core/json.js';
import { readUpstreamErrorBody } from '../shared/upstream-error-body.js';
import type { ErrorResult, HeaderLookup } from '../types.js';
import { readGoogleError, type GoogleError } from './gemini-types.js';

/** ErrorShape for a Google error object; `status` is the HTTP status to report. */
export function googleErrorShape(error: GoogleError, status: number): ErrorShape {
  return {
    status,
    message: error.message || `Gemini returned HTTP ${status}`,
    type: error.status ?? openAIErrorType(status),
    code: String(error.code ?? status),
  };
}

/** The ErrorShape for any upstream error body. */
export function upstreamErrorShape(status: number, body: Uint8Array, headers?: HeaderLookup): ErrorShape {
  const upstream = readUpstreamErrorBody(status, body, headers);
  const error = readGoogleError(upstream.json);
  if (error) return googleErrorShape(error, status);
  return { status, message: upstream.fallbackMessage, type: openAIErrorType(status), code: String(status) };
}

export function convertError(status: number, body: Uint8Array, headers?: HeaderLookup): ErrorResult {
  return { body: utf8(openAIErrorBody(upstreamErrorShape(status, body, headers))), status };
}
