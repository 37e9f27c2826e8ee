/**
 * A non-2xx upstream body, read for translators that find the error inside it themselves (Anthropic, Bedrock):
 * the decoded text and its JSON, and the message to use when the body holds no error object. HTML, empty or other
 * non-JSON bodies become "upstream returned HTTP <status>", with short plain text kept (HTML is not echoed).
 */
import { safeParseJson } from '../../core/json.js';

const MAX_TEXT_IN_MESSAGE = 300;

export interface UpstreamErrorBody {
  /** The parsed JSON; undefined when the body is not JSON. */
  readonly json: unknown;
  /** The message for a body without a usable error object: a JSON body adds nothing, text adds an excerpt. */
  readonly fallbackMessage: string;
}

export function readUpstreamErrorBody(status: number, body: Uint8Array): UpstreamErrorBody {
  const text = new TextDecoder('utf-8', { fatal: false }).decode(body);
  const parsed = text.trim() === '' ? undefined : safeParseJson(text);
  if (parsed?.ok) return { json: parsed.value, fallbackMessage: describeText('', status) };
  return { json: undefined, fallbackMessage: describeText(text, status) };
}

function describeText(text: string, status: number): string {
  const trimmed = text.trim();
  const base = `upstream returned HTTP ${status}`;
  if (trimmed === '' || /^<(!doctype|html|\?xml|head|body)/i.test(trimmed)) return base;
  const short = trimmed.length > MAX_TEXT_IN_MESSAGE ? `${trimmed.slice(0, MAX_TEXT_IN_MESSAGE)}...` : trimmed;
  return `${base}: ${short}`;
}
