/**
 * Upstream non-2xx -> OpenAI error JSON. An OpenAI-shaped error (`{"error": {...}}`) passes unchanged; anything
 * else (HTML from a proxy, plain text, empty, other JSON) is wrapped with a short excerpt and the status kept.
 * @see https://platform.openai.com/docs/guides/error-codes
 */
import { errorSnippet } from '../../core/error-snippet.js';
import { asString, isRecord, safeParseJson, utf8 } from '../../core/json.js';
import { openAIErrorBody } from '../../core/errors.js';
import type { ErrorResult } from '../types.js';

/** The most useful text in a non-OpenAI error body: a JSON `error`/`message`/`detail` string, else an excerpt. */
function describeBody(body: Uint8Array): string {
  if (body.length === 0) return '';
  const parsed = safeParseJson(body);
  if (parsed.ok && isRecord(parsed.value)) {
    const value = parsed.value;
    const text = asString(value.error) ?? asString(value.message) ?? asString(value.detail);
    if (text !== undefined) return errorSnippet(text);
  }
  return errorSnippet(body);
}

/** The error body for a client of the OpenAI API, from any upstream error body. */
export function wrapUpstreamError(status: number, body: Uint8Array): Uint8Array {
  const excerpt = describeBody(body);
  const message = excerpt === '' ? `upstream returned HTTP ${status} with an empty body` : `upstream returned HTTP ${status}: ${excerpt}`;
  return utf8(openAIErrorBody({ status, message }));
}

export function convertOpenAIError(status: number, body: Uint8Array): ErrorResult {
  const parsed = body.length === 0 ? undefined : safeParseJson(body);
  if (parsed?.ok && isRecord(parsed.value) && isRecord(parsed.value.error)) return { body, status };
  return { body: wrapUpstreamError(status, body), status };
}
