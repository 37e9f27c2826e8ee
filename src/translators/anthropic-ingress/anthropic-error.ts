/**
 * Errors for a client of the Anthropic Messages API, from any upstream.
 *
 * An Anthropic-shaped body (`{"type":"error","error":{"type","message"}}`) passes through byte for byte. Anything
 * else (OpenAI `{"error":{...}}`, Google `{"error":{"code","message","status"}}`, Bedrock `{"message"}` with an
 * `x-amzn-errortype` header, HTML from a proxy, plain text, empty) becomes Anthropic error JSON typed by the
 * HTTP status, with the upstream message (or a short excerpt) kept. The status is always kept, so SDK retry logic
 * (429, 529, 5xx) keeps working.
 * @see https://platform.claude.com/docs/en/api/errors
 */
import { errorSnippet } from '../../core/error-snippet.js';
import { anthropicErrorBody, anthropicErrorType, type ErrorShape } from '../../core/errors.js';
import { asString, isRecord, safeParseJson, utf8 } from '../../core/json.js';
import { encodeSseEvent } from '../../core/sse.js';
import { statusForAnthropicErrorType } from '../anthropic/convert-error.js';
import { describeUnusableBody } from '../shared/upstream-error-body.js';
import type { ErrorResult, HeaderLookup } from '../types.js';

/** True for `{"type":"error","error":{"type": string, ...}}`. */
export function isAnthropicErrorBody(value: unknown): boolean {
  return isRecord(value) && value.type === 'error' && isRecord(value.error) && typeof value.error.type === 'string';
}

/** The most useful message in a non-Anthropic error body. */
function messageOf(value: unknown): string | undefined {
  const candidate = Array.isArray(value) ? value[0] : value;
  if (!isRecord(candidate)) return undefined;
  const inner = candidate.error;
  if (isRecord(inner)) return asString(inner.message) ?? asString(inner.status) ?? asString(inner.code);
  return asString(inner) ?? asString(candidate.message) ?? asString(candidate.Message) ?? asString(candidate.detail);
}

/** Bedrock names the error in `x-amzn-errortype` (`ThrottlingException:http://...`). */
function awsErrorType(headers: HeaderLookup): string | undefined {
  const value = headers.get('x-amzn-errortype');
  const name = value?.split(':')[0]?.trim();
  return name === undefined || name === '' ? undefined : name;
}

export function anthropicClientError(status: number, body: Uint8Array, headers: HeaderLookup): ErrorResult {
  const parsed = body.length === 0 ? undefined : safeParseJson(body);
  if (parsed?.ok && isAnthropicErrorBody(parsed.value)) return { status, body };
  const found = parsed?.ok ? messageOf(parsed.value) : undefined;
  let message = found !== undefined && found.trim() !== '' ? errorSnippet(found) : describeUnusableBody(status, body, headers);
  const awsType = awsErrorType(headers);
  if (awsType !== undefined) message = `${awsType}: ${message}`;
  return { status, body: utf8(anthropicErrorBody({ status, message })) };
}

/** An error inside a stream, as Anthropic sends it: `event: error` with the error JSON. */
export function anthropicErrorEvent(error: ErrorShape): string {
  return encodeSseEvent({ event: 'error', data: anthropicErrorBody(error) });
}

/** The ErrorShape of an Anthropic `error` stream event (`{type:"error", error:{type, message}}`). */
export function errorShapeOfEvent(event: Readonly<Record<string, unknown>>): ErrorShape {
  const inner = isRecord(event.error) ? event.error : {};
  const type = asString(inner.type);
  return {
    status: statusForAnthropicErrorType(type),
    message: asString(inner.message) ?? 'upstream stream reported an error',
    type: type ?? anthropicErrorType(500),
  };
}
