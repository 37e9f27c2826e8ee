/**
 * The exchange's spans (tracing on only): request-header attributes at the start, and the end of the request's
 * span and of its last attempt's span with what the exchange learnt (status, usage, models, timings).
 */
import { providerNameForSchema } from '../metrics/metrics.js';
import type { ChargedUsage } from './accounting.js';
import type { Exchange } from './exchange.js';

/** Longest request-header value kept as a span attribute. */
const MAX_HEADER_ATTRIBUTE_CHARS = 128;

/** The configured request headers present in a request, as span attributes (name -> value, capped). */
export function headerAttributes(entries: ReadonlyArray<{ header: string; name: string }>, headers: ReadonlyMap<string, string>): Record<string, string> {
  const attributes: Record<string, string> = {};
  for (const entry of entries) {
    const value = headers.get(entry.header.toLowerCase());
    if (value !== undefined) attributes[entry.name] = value.slice(0, MAX_HEADER_ATTRIBUTE_CHARS);
  }
  return attributes;
}

/** host and port of a backend endpoint (scheme://host[:port]). */
export function serverOf(endpoint: string): { address: string; port: number } {
  const url = new URL(endpoint);
  const port = url.port === '' ? (url.protocol === 'https:' ? 443 : 80) : Number(url.port);
  return { address: url.hostname.replace(/^\[(.*)\]$/, '$1'), port };
}

/** Ends the request's span and its last attempt's span, once. */
export function endSpans(exchange: Exchange, charged: ChargedUsage, errorType: string | undefined): void {
  const span = exchange.span;
  if (!span) return;
  exchange.span = undefined;
  const status = exchange.responseStatus ?? 0;
  exchange.attemptSpan?.end({ outcome: status > 0 ? 'response' : 'abandoned', status, errorType });
  exchange.attemptSpan = undefined;
  const attempt = exchange.attempt;
  const server = attempt ? serverOf(attempt.backend.endpoint) : undefined;
  span.end({
    status,
    errorType,
    usage: charged.usage,
    usageEstimated: charged.estimated,
    responseModel: exchange.responseModel,
    providerName: attempt ? providerNameForSchema(attempt.backend.schema) : undefined,
    backend: attempt?.backend.name,
    serverAddress: server?.address,
    serverPort: server?.port,
    attemptStartedAt: attempt?.startedAt,
    firstChunkAt: exchange.firstChunkAt,
    attempts: exchange.attemptCount,
  });
}
