/**
 * Bedrock error responses -> OpenAI error JSON, upstream status kept.
 *
 * Bedrock answers `{"message": "..."}` (sometimes `Message`) with the exception name in the `x-amzn-errortype`
 * header (`ValidationException:http://internal.amazon.com/...`, the part before ':' is kept) or in a `__type`
 * field. The OpenAI `type` is that exception name (else the type for the status); HTML, empty or other
 * non-JSON bodies keep short plain text in the message (HTML is not echoed).
 * Exception frames inside a 200 event stream use the same names (camel-cased) and map to the statuses AWS
 * documents for them.
 * @see https://docs.aws.amazon.com/bedrock/latest/APIReference/API_runtime_Converse.html#API_runtime_Converse_Errors
 * @see https://docs.aws.amazon.com/bedrock/latest/APIReference/API_runtime_ConverseStreamOutput.html
 */
import { openAIErrorBody, openAIErrorType, type ErrorShape } from '../../core/errors.js';
import { asString, isRecord, safeParseJson, utf8 } from '../../core/json.js';
import type { ErrorResult, HeaderLookup } from '../types.js';

const MAX_TEXT_IN_MESSAGE = 300;

/** HTTP status for an exception that arrives as an event-stream frame. */
const STATUS_BY_EXCEPTION: Readonly<Record<string, number>> = {
  validationexception: 400,
  accessdeniedexception: 403,
  resourcenotfoundexception: 404,
  modeltimeoutexception: 408,
  modelnotreadyexception: 429,
  modelerrorexception: 424,
  modelstreamerrorexception: 424,
  throttlingexception: 429,
  servicequotaexceededexception: 429,
  internalserverexception: 500,
  serviceunavailableexception: 503,
};

export function statusForBedrockException(name: string | undefined): number {
  const key = (name ?? '').toLowerCase();
  return Object.hasOwn(STATUS_BY_EXCEPTION, key) ? (STATUS_BY_EXCEPTION[key] ?? 500) : 500;
}

/** `ValidationException:http://...` -> `ValidationException`; `com.amazon...#X` -> `X`. */
export function cleanErrorType(value: string | undefined): string | undefined {
  if (!value) return undefined;
  const name = value.split(':')[0]?.split('#').pop()?.trim();
  return name === '' ? undefined : name;
}

function describeText(text: string, status: number): string {
  const trimmed = text.trim();
  const base = `upstream returned HTTP ${status}`;
  if (trimmed === '' || /^<(!doctype|html|\?xml|head|body)/i.test(trimmed)) return base;
  const short = trimmed.length > MAX_TEXT_IN_MESSAGE ? `${trimmed.slice(0, MAX_TEXT_IN_MESSAGE)}...` : trimmed;
  return `${base}: ${short}`;
}

/** The message of a Bedrock JSON error object, if the value is one. */
export function readBedrockMessage(value: unknown): string | undefined {
  if (!isRecord(value)) return undefined;
  return asString(value.message) ?? asString(value.Message) ?? (isRecord(value.error) ? asString(value.error.message) : undefined);
}

export function bedrockErrorShape(status: number, body: Uint8Array, headers: HeaderLookup): ErrorShape {
  const text = new TextDecoder('utf-8', { fatal: false }).decode(body);
  const parsed = text.trim() === '' ? undefined : safeParseJson(text);
  const json = parsed?.ok ? parsed.value : undefined;
  const awsType = cleanErrorType(headers.get('x-amzn-errortype')) ?? (isRecord(json) ? cleanErrorType(asString(json.__type)) : undefined);
  const message = readBedrockMessage(json) ?? describeText(parsed?.ok ? '' : text, status);
  return { status, message, type: awsType ?? openAIErrorType(status) };
}

export function translateBedrockError(status: number, body: Uint8Array, headers: HeaderLookup): ErrorResult {
  return { status, body: utf8(openAIErrorBody(bedrockErrorShape(status, body, headers))) };
}
