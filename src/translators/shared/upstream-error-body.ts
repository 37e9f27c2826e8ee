/**
 * A non-2xx upstream body, read for the error translators (every client API, every backend): the decoded JSON, and
 * the message to use when the body holds no usable error object. The message always says what happened, so a
 * client never sees an empty or unreadable error:
 * - an empty body: "upstream returned HTTP 500 with an empty body";
 * - an HTML page (a load balancer, a proxy): "upstream returned HTTP 503 with an HTML page: <its title, else its
 *   text>" (markup, scripts and styles stripped, at most ~200 characters);
 * - other text: "upstream returned HTTP 502 with a text/plain body: <excerpt>";
 * - JSON without a message: "upstream returned HTTP 500 with a JSON body that holds no error message: <excerpt>".
 */
import { errorSnippet } from '../../core/error-snippet.js';
import { safeParseJson } from '../../core/json.js';
import type { HeaderLookup } from '../types.js';

/** Longest excerpt of an unusable body put in a message. */
const MAX_EXCERPT = 200;

export interface UpstreamErrorBody {
  /** The parsed JSON; undefined when the body is not JSON. */
  readonly json: unknown;
  /** The message for a body without a usable error object. */
  readonly fallbackMessage: string;
}

function mediaTypeOf(headers: HeaderLookup | undefined): string | undefined {
  const value = headers?.get('content-type')?.split(';')[0]?.trim().toLowerCase();
  return value === undefined || value === '' ? undefined : value;
}

function looksLikeHtml(text: string, mediaType: string | undefined): boolean {
  if (mediaType === 'text/html' || mediaType === 'application/xhtml+xml') return true;
  return /^\s*<(!doctype|html|head|body|\?xml|title|h1|center|div|p)\b/i.test(text);
}

/** What an upstream error body without a usable error object held, as a message for the client. */
export function describeUnusableBody(status: number, body: Uint8Array, headers?: HeaderLookup): string {
  const base = `upstream returned HTTP ${status}`;
  const text = new TextDecoder('utf-8', { fatal: false }).decode(body);
  if (text.trim() === '') return `${base} with an empty body`;
  const mediaType = mediaTypeOf(headers);
  const excerpt = errorSnippet(text, MAX_EXCERPT);
  if (looksLikeHtml(text, mediaType)) {
    // A page's title says what it is (and usually repeats its heading); otherwise its text.
    const title = errorSnippet(/<title[^>]*>([\s\S]*?)<\/title>/i.exec(text)?.[1] ?? '', MAX_EXCERPT);
    const summary = title === '' ? excerpt : title;
    return summary === '' ? `${base} with an HTML page` : `${base} with an HTML page: ${summary}`;
  }
  const parsed = safeParseJson(text);
  if (parsed.ok) return `${base} with a JSON body that holds no error message: ${excerpt}`;
  return `${base} with a ${mediaType ?? 'non-JSON'} body: ${excerpt}`;
}

export function readUpstreamErrorBody(status: number, body: Uint8Array, headers?: HeaderLookup): UpstreamErrorBody {
  const text = new TextDecoder('utf-8', { fatal: false }).decode(body);
  const parsed = text.trim() === '' ? undefined : safeParseJson(text);
  return { json: parsed?.ok ? parsed.value : undefined, fallbackMessage: describeUnusableBody(status, body, headers) };
}
