/**
 * Gemini thought signatures ride on the OpenAI tool call so the next turn can send them back.
 *
 * Two carriers, because clients differ in what they keep:
 * - `extra_content.google.thought_signature` on the tool call: the convention of Google's own OpenAI-compatible
 *   endpoint, kept by clients that echo the assistant message as received;
 * - the tool call id, as `<id>__thought__<signature in base64url>`: kept by agent frameworks that rebuild tool calls
 *   from id, name and arguments only. base64url keeps the id within `[A-Za-z0-9_-]`, which other providers
 *   (Anthropic) require of tool ids.
 * On the way back the vendor field wins; the id suffix is the fallback; the suffix is always removed before the id
 * reaches Gemini.
 *
 * @see https://ai.google.dev/gemini-api/docs/thought-signatures
 * @see https://ai.google.dev/gemini-api/docs/openai#thinking
 */
import { asString, isRecord } from '../../core/json.js';

const MARKER = '__thought__';

/** Documented placeholder that tells Gemini 3 to skip signature validation for calls it did not produce. */
export const SKIP_SIGNATURE = 'skip_thought_signature_validator';

function toBase64Url(signature: string): string {
  return signature.replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '');
}

function fromBase64Url(text: string): string {
  const standard = text.replace(/-/g, '+').replace(/_/g, '/');
  const padding = (4 - (standard.length % 4)) % 4;
  return standard + '='.repeat(padding);
}

/** The OpenAI tool call id for a Gemini call id (or a generated one) and its signature. */
export function encodeToolCallId(baseId: string, signature: string | undefined): string {
  return signature ? `${baseId}${MARKER}${toBase64Url(signature)}` : baseId;
}

export interface DecodedToolCallId {
  /** The id without the signature suffix. */
  readonly id: string;
  readonly signature: string | undefined;
}

export function decodeToolCallId(id: string): DecodedToolCallId {
  const at = id.indexOf(MARKER);
  if (at < 0) return { id, signature: undefined };
  const encoded = id.slice(at + MARKER.length);
  if (!/^[A-Za-z0-9_-]+$/.test(encoded)) return { id, signature: undefined };
  return { id: id.slice(0, at), signature: fromBase64Url(encoded) };
}

/** `extra_content.google.thought_signature` of an OpenAI tool call, if any. */
export function vendorSignature(toolCall: Record<string, unknown>): string | undefined {
  const extra = isRecord(toolCall.extra_content) ? toolCall.extra_content : undefined;
  const google = extra && isRecord(extra.google) ? extra.google : undefined;
  return (google && asString(google.thought_signature)) || undefined;
}

/** The vendor field carrying a signature on an OpenAI tool call. */
export function signatureExtraContent(signature: string): { google: { thought_signature: string } } {
  return { google: { thought_signature: signature } };
}
