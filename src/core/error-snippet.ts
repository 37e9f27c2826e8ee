/**
 * A short, readable excerpt of an upstream body for error messages: HTML tags, scripts and styles stripped,
 * whitespace collapsed, at most ~500 characters. Never the full body (it may be huge or echo the request).
 */
const MAX_SCAN = 16 * 1024;
const MAX_SNIPPET = 500;

const ENTITIES: Readonly<Record<string, string>> = { amp: '&', lt: '<', gt: '>', quot: '"', apos: "'", nbsp: ' ', '#39': "'" };

export function errorSnippet(body: Uint8Array | string, maxLength = MAX_SNIPPET): string {
  const text = typeof body === 'string' ? body.slice(0, MAX_SCAN) : new TextDecoder('utf-8', { fatal: false }).decode(body.subarray(0, MAX_SCAN));
  const stripped = text
    .replace(/<(script|style)\b[^>]*>[\s\S]*?<\/\1\s*>/gi, ' ')
    .replace(/<!--[\s\S]*?-->/g, ' ')
    .replace(/<[^>]*>/g, ' ')
    .replace(/&(amp|lt|gt|quot|apos|nbsp|#39);/g, (_match, name: string) => ENTITIES[name] ?? ' ')
    // control characters (keeps the text log- and JSON-friendly)
    .replace(/[\u0000-\u001f\u007f]+/g, ' ')
    .replace(/\s+/g, ' ')
    .trim();
  if (stripped.length <= maxLength) return stripped;
  return `${stripped.slice(0, maxLength).trimEnd()}…`;
}
