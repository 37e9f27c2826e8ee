/**
 * A buffered 2xx OpenAI(-compatible) response: the body passes through unchanged; usage and model are read.
 * @see https://platform.openai.com/docs/api-reference/chat/object
 */
import { errorSnippet } from '../../core/error-snippet.js';
import type { ErrorShape } from '../../core/errors.js';
import { asString, isRecord, safeParseJson } from '../../core/json.js';
import type { ResponseResult } from '../types.js';
import { convertOpenAIUsage } from './convert-openai-usage.js';

/** `{"error": {...}}` in place of a result (some OpenAI-compatible servers answer errors with 2xx or inside a stream). */
export function embeddedOpenAIError(value: Record<string, unknown>, fallbackStatus: number): ErrorShape | undefined {
  const error = value.error;
  if (!isRecord(error) && typeof error !== 'string') return undefined;
  if (typeof error === 'string') return { status: fallbackStatus, message: error };
  const code = error.code;
  const status = typeof code === 'number' && code >= 400 && code <= 599 ? code : fallbackStatus;
  return {
    status,
    message: asString(error.message) ?? 'upstream reported an error',
    ...(typeof error.type === 'string' ? { type: error.type } : {}),
    ...(typeof code === 'string' ? { code } : {}),
  };
}

/** A non-empty `model` string (Azure sends `""` on its content-filter chunk). */
export function responseModelOf(value: Record<string, unknown>): string | undefined {
  const model = value.model;
  return typeof model === 'string' && model !== '' ? model : undefined;
}

export function convertOpenAIResponse(body: Uint8Array): ResponseResult {
  // A 2xx without a JSON body (empty, an HTML login page from a proxy, plain text) is a failure, not a result.
  if (body.length === 0) return { body: undefined, usage: undefined, error: { status: 502, message: 'upstream answered with an empty body', code: 'upstream_invalid_response' } };
  const parsed = safeParseJson(body);
  if (!parsed.ok) {
    return {
      body: undefined,
      usage: undefined,
      warnings: [{ kind: 'invalid_upstream_json', detail: parsed.error }],
      error: { status: 502, message: `upstream answered with a body that is not JSON: ${errorSnippet(body)}`, code: 'upstream_invalid_response' },
    };
  }
  if (!isRecord(parsed.value)) return { body: undefined, usage: undefined };
  const value = parsed.value;
  const model = responseModelOf(value);
  const error = value.choices === undefined && value.data === undefined ? embeddedOpenAIError(value, 502) : undefined;
  return {
    body: undefined,
    usage: convertOpenAIUsage(value.usage),
    ...(model === undefined ? {} : { responseModel: model }),
    ...(error === undefined ? {} : { error }),
  };
}
