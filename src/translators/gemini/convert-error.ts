/**
 * Google error bodies -> OpenAI error JSON, upstream status kept.
 *
 * `{"error":{"code":429,"message":"...","status":"RESOURCE_EXHAUSTED"}}` (also wrapped in a one-element array, as
 * streamGenerateContent without SSE sends it) -> `{"error":{"message","type":<status>,"param":null,"code":"<code>"}}`.
 * HTML, plain text or empty bodies -> an OpenAI error typed by HTTP status, with a short plain-text excerpt
 * (never markup).
 *
 * @see https://cloud.google.com/apis/design/errors#http_mapping
 * @see https://ai.google.dev/gemini-api/docs/troubleshooting#error-codes
 */
import { openAIErrorBody, openAIErrorType, type ErrorShape } from '../../core/errors.js';
import { safeParseJson, utf8 } from '../../core/json.js';
import type { ErrorResult } from '../types.js';
import { readGoogleError, type GoogleError } from './gemini-types.js';

const EXCERPT_CHARS = 200;

/** ErrorShape for a Google error object; `status` is the HTTP status to report. */
export function googleErrorShape(error: GoogleError, status: number): ErrorShape {
  return {
    status,
    message: error.message || `Gemini returned HTTP ${status}`,
    type: error.status ?? openAIErrorType(status),
    code: String(error.code ?? status),
  };
}

function nonJsonShape(status: number, text: string): ErrorShape {
  const looksLikeMarkup = /^\s*</.test(text);
  const excerpt = looksLikeMarkup ? '' : text.replace(/\s+/g, ' ').trim().slice(0, EXCERPT_CHARS);
  const message = excerpt ? `Gemini returned HTTP ${status}: ${excerpt}` : `Gemini returned HTTP ${status} with no usable error body`;
  return { status, message, type: openAIErrorType(status), code: String(status) };
}

/** The ErrorShape for any upstream error body. */
export function upstreamErrorShape(status: number, body: Uint8Array): ErrorShape {
  const text = new TextDecoder('utf-8', { fatal: false }).decode(body);
  const parsed = safeParseJson(text);
  const error = parsed.ok ? readGoogleError(parsed.value) : undefined;
  return error ? googleErrorShape(error, status) : nonJsonShape(status, text);
}

export function convertError(status: number, body: Uint8Array): ErrorResult {
  return { body: utf8(openAIErrorBody(upstreamErrorShape(status, body))), status };
}
