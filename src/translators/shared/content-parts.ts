/**
 * Walking OpenAI message content (a string or an array of parts) for translators that build block lists
 * (Anthropic, Bedrock Converse): the checks and 422 messages are the same for both; the blocks are theirs.
 */
import { GatewayError } from '../../core/errors.js';
import { asString, isRecord } from '../../core/json.js';

/** A 422 for input the backend cannot take. */
export function invalidRequest(message: string, param?: string): GatewayError {
  return new GatewayError('ERR_INVALID_REQUEST', message, { param });
}

export type CacheControl = Record<string, unknown>;

/** `cache_control` as given (e.g. `{"type":"ephemeral","ttl":"1h"}`), or undefined. Anything but an object is a 422. */
export function readCacheControl(value: unknown, param: string): CacheControl | undefined {
  if (value === undefined || value === null) return undefined;
  if (!isRecord(value) || typeof value.type !== 'string') {
    throw invalidRequest(`${param} must be an object with a "type", e.g. {"type":"ephemeral"}`, param);
  }
  return value;
}

/** A text part's `text`; anything but a string is a 422. */
export function requireText(part: Record<string, unknown>, param: string): string {
  const text = asString(part.text);
  if (text === undefined) throw invalidRequest(`${param}.text must be a string`, param);
  return text;
}

export type PartVisitor = (part: Record<string, unknown>, partParam: string, cacheControl: CacheControl | undefined, index: number) => void;

/**
 * User content, part by part, in order: a string is visited as one `{type:"text"}` part; each array element must be
 * an object with a well-formed `cache_control` (if any). null/undefined visits nothing.
 */
export function forEachUserPart(content: unknown, param: string, visit: PartVisitor): void {
  if (content === undefined || content === null) return;
  if (typeof content === 'string') return visit({ type: 'text', text: content }, param, undefined, 0);
  if (!Array.isArray(content)) throw invalidRequest(`${param} must be a string or an array of content parts`, param);
  content.forEach((part, index) => {
    const partParam = `${param}[${index}]`;
    if (!isRecord(part)) throw invalidRequest(`${partParam} must be an object`, partParam);
    visit(part, partParam, readCacheControl(part.cache_control, `${partParam}.cache_control`), index);
  });
}

export interface TextPart {
  readonly text: string;
  readonly cacheControl: CacheControl | undefined;
}

/** Text-only content (system, developer, assistant, tool): a string or text parts (assistant `refusal` parts too). */
export function readTextParts(content: unknown, param: string): TextPart[] {
  if (content === undefined || content === null) return [];
  if (typeof content === 'string') return [{ text: content, cacheControl: undefined }];
  if (!Array.isArray(content)) throw invalidRequest(`${param} must be a string or an array of text parts`, param);
  return content.map((part, index) => {
    const partParam = `${param}[${index}]`;
    if (!isRecord(part)) throw invalidRequest(`${partParam} must be an object`, partParam);
    const cacheControl = readCacheControl(part.cache_control, `${partParam}.cache_control`);
    if (part.type === 'text') return { text: requireText(part, partParam), cacheControl };
    if (part.type === 'refusal') return { text: asString(part.refusal) ?? '', cacheControl };
    throw invalidRequest(`${partParam}: only text parts are allowed here (got "${String(part.type)}")`, partParam);
  });
}
