/**
 * What an exchange tells about itself when it ends, besides the metrics: its spans (tracing on only: request-header
 * attributes at the start; the request's and its last attempt's span ended with the status, usage, models and
 * timings), and the optional completion log line. Neither ever holds content or a credential.
 */
import type { Logger } from '../logging.js';
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
    // Built only when content was captured (textScrubber makes a new scrubber on each call).
    scrubber: {
      scrubText: (text) => exchange.textScrubber.scrubText(text),
      scrubTextPiece: (text) => exchange.textScrubber.scrubTextPiece(text),
    },
  });
}

const millis = (value: number) => Math.round(value * 10) / 10;

/** One info line per completed request (observability.completionLog): ids, routing, outcome, tokens, timings. */
export function logCompletion(logger: Logger, exchange: Exchange, charged: ChargedUsage, errorType: string | undefined): void {
  // The line's object is built only when it is written.
  if (!logger.isLevelEnabled('info')) return;
  const attempt = exchange.attempt;
  const usage = charged.usage;
  const ttft = exchange.firstChunkAt !== undefined && attempt ? millis(exchange.firstChunkAt - attempt.startedAt) : undefined;
  logger.info(
    {
      requestId: exchange.id,
      operation: exchange.endpoint?.operationName,
      model: exchange.request?.requestModel,
      backend: attempt?.backend.name,
      upstreamModel: attempt?.ctx.upstreamModel,
      responseModel: exchange.responseModel,
      status: exchange.responseStatus,
      errorType,
      stream: exchange.request?.stream,
      attempts: exchange.attemptCount,
      inputTokens: usage.inputTokens,
      outputTokens: usage.outputTokens,
      cachedInputTokens: usage.cachedInputTokens,
      reasoningTokens: usage.reasoningTokens,
      usageEstimated: charged.estimated,
      durationMs: millis(performance.now() - exchange.startedAt),
      timeToFirstTokenMs: ttft,
    },
    'request completed',
  );
}
