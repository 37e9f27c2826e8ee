/**
 * Credentials the service injected into an upstream request must not come back to the client: some proxies and
 * misconfigured servers echo the request headers in their error pages. Error bodies are scrubbed of those
 * values before they are passed on.
 */
import { REDACTED } from '../logging.js';

/** Shorter values are not scrubbed: they could match ordinary text. */
const MIN_SECRET_LENGTH = 8;
const AUTH_SCHEME = /^(?:Bearer|Basic)\s+(\S+)$/i;

/** The credential values inside auth header values (`Bearer x` yields `x` too). */
export function secretValuesOf(headerValues: Iterable<string>): string[] {
  const secrets = new Set<string>();
  for (const value of headerValues) {
    const token = AUTH_SCHEME.exec(value)?.[1];
    for (const candidate of [value, token]) if (candidate && candidate.length >= MIN_SECRET_LENGTH) secrets.add(candidate);
  }
  // Longest first, so a whole header value is replaced before the token inside it.
  return [...secrets].sort((left, right) => right.length - left.length);
}

/** The body with every secret replaced by [REDACTED]; the very same bytes when none occurs. */
export function scrubSecrets(body: Uint8Array, secrets: readonly string[]): Uint8Array {
  if (secrets.length === 0 || body.length === 0) return body;
  const buffer = Buffer.from(body.buffer, body.byteOffset, body.byteLength);
  if (!secrets.some((secret) => buffer.includes(secret))) return body;
  let text = buffer.toString('utf8');
  for (const secret of secrets) text = text.split(secret).join(REDACTED);
  return Buffer.from(text, 'utf8');
}
