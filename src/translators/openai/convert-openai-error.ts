/**
 * Upstream non-2xx -> OpenAI error JSON. An OpenAI-shaped error (`{"error": {...}}`) passes unchanged; anything
 * else (HTML from a proxy, plain text, empty, other JSON) is wrapped with a short excerpt and the status kept.
 * @see https://platform.openai.com/docs/guides/error-codes
 */
import { errorSnippet } from '../../core/error-snippet.js';
import { asString, isRecord, safeParseJson, utf8 } from '../../core/json.js';
import { openAIErrorBody } from '../../core/errors.js';
import { readUpstreamErrorBody } from '../shared/upstream-error-body.js';
import type { ErrorResult, HeaderLookup } from '../types.js';

/** The message for a non-OpenAI error body: a JSON `error`/`message`/`detail` string, else what the body was. */
function describeBody(status: number, body: Uint8Array, headers: HeaderLookup | undefined): string {
  const { json, fallbackMessage } = readUpstreamErrorBody(status, body, headers);
  if (isRecord(json)) {
    const text = asString(json.error) ?? asString(json.message) ?? asString(json.detail);
    if (text !== undefined && text.trim() !== '') return `upstream returned HTTP ${status}: ${errorSnippet(text)}`;
  }
  return fallbackMessage;
}

/** The error body for a client of the OpenAI API, from any upstream error body. */
export function wrapUpstreamError(status: number, body: Uint8Array, headers?: HeaderLookup): Uint8Array {
  return utf8(openAIErrorBody({ status, message: describeBody(status, body, headers) }));
}

export function convertOpenAIError(status: number, body: Uint8Array, headers?: HeaderLookup): ErrorResult {
  const parsed = body.length === 0 ? undefined : safeParseJson(body);
  if (parsed?.ok && isRecord(parsed.value) && isRecord(parsed.value.error)) return { body, status };
  return { body: wrapUpstreamError(status, body, headers), status };
}
