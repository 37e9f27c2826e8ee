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
import type { EventStreamDecodeError } from '../../core/aws-eventstream.js';
import { openAIErrorBody, openAIErrorType, type ErrorShape } from '../../core/errors.js';
import { asString, isRecord, utf8 } from '../../core/json.js';
import { readUpstreamErrorBody } from '../shared/upstream-error-body.js';
import type { ErrorResult, HeaderLookup } from '../types.js';

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

/** Corrupt AWS event-stream framing (`atEnd`: the stream was cut off inside a frame) as a 502. */
export function eventStreamFramingError(error: EventStreamDecodeError, atEnd: boolean): ErrorShape {
  const message = atEnd ? `Bedrock stream was cut off: ${error.message}` : `Bedrock sent a ${error.message}`;
  return { status: 502, message, type: 'upstream_error' };
}

/** `ValidationException:http://...` -> `ValidationException`; `com.amazon...#X` -> `X`. */
export function cleanErrorType(value: string | undefined): string | undefined {
  if (!value) return undefined;
  const name = value.split(':')[0]?.split('#').pop()?.trim();
  return name === '' ? undefined : name;
}

/** The message of a Bedrock JSON error object, if the value is one. */
export function readBedrockMessage(value: unknown): string | undefined {
  if (!isRecord(value)) return undefined;
  return asString(value.message) ?? asString(value.Message) ?? (isRecord(value.error) ? asString(value.error.message) : undefined);
}

export function bedrockErrorShape(status: number, body: Uint8Array, headers: HeaderLookup): ErrorShape {
  const { json, fallbackMessage } = readUpstreamErrorBody(status, body, headers);
  const awsType = cleanErrorType(headers.get('x-amzn-errortype')) ?? (isRecord(json) ? cleanErrorType(asString(json.__type)) : undefined);
  const message = readBedrockMessage(json) ?? fallbackMessage;
  return { status, message, type: awsType ?? openAIErrorType(status) };
}

export function translateBedrockError(status: number, body: Uint8Array, headers: HeaderLookup): ErrorResult {
  return { status, body: utf8(openAIErrorBody(bedrockErrorShape(status, body, headers))) };
}
