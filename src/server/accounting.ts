/**
 * Token accounting for one exchange: the cost values written as dynamic metadata (every configured key,
 * always a number), reserve-then-settle, local counting when a backend reports no usage, and metrics.
 */
import { providerNameForSchema, type GatewayMetrics } from '../metrics/metrics.js';
import { costsFor, createTokenCounter, estimateInputTokens, estimateReserve, reservedByKey, settle, type CostClampListener } from '../costs/index.js';
import { clampUsage, makeUsage, type TokenUsage } from '../core/usage.js';
import type { Exchange } from './exchange.js';
import type { MetadataValues } from './responses.js';

/** Every configured cost key as 0: written in the request phase so a request cut short still leaves numbers. */
export function zeroCosts(exchange: Exchange): Record<string, number> {
  return costsFor(exchange.config, scopeOf(exchange)).zeros();
}

function scopeOf(exchange: Exchange): { model: string; backend: string } {
  return { model: exchange.request?.requestModel ?? '', backend: exchange.attempt?.backend.name ?? '' };
}

/** Request phase: zeros for every key plus `<key>_reserve` estimates for reserve entries. */
export function requestPhaseCosts(exchange: Exchange, backendName?: string): Record<string, number> {
  const request = exchange.request;
  const operation = exchange.endpoint?.operation;
  const scope = { model: request?.requestModel ?? '', backend: backendName ?? '' };
  const plan = costsFor(exchange.config, scope);
  // Every plan of a config lists every configured key (allKeys): these are the zeros zeroCosts gives.
  const values = plan.zeros();
  // A token count consumes no tokens: nothing is reserved for it.
  if (!request || operation === 'count_tokens' || operation === 'input_tokens') return values;
  // No entry of any scope reserves (the common config): the zeros are the whole request-phase metadata.
  if (plan.allReserveKeys.length === 0) return values;
  const tokenCeiling = exchange.config.file.limits.maxTokenCount;
  // The body is parsed only if a reserve entry applies.
  const reserveRequest = {
    ...scope,
    get body() {
      return request.body;
    },
    operation,
    tokenCeiling,
  };
  const reserves = estimateReserve(plan, reserveRequest, exchange.config.file.reserve);
  exchange.reserved = reservedByKey(reserves);
  return { ...values, ...reserves };
}

/** Delivered text, counted incrementally for when the backend reports no usage. */
export function countDelivered(exchange: Exchange, text: string): void {
  const model = exchange.attempt?.ctx.upstreamModel ?? exchange.request?.requestModel ?? '';
  exchange.outputCounter ??= createTokenCounter(model);
  exchange.outputCounter.add(text);
}

/** The usage to charge, and whether any of it was counted locally rather than reported, or clamped. */
export interface ChargedUsage {
  readonly usage: TokenUsage;
  readonly estimated: boolean;
  /** A count was out of range (negative, not an integer, not a number, above limits.maxTokenCount) and was clamped. */
  readonly clamped: boolean;
}

/**
 * The usage to charge: what the backend reported; where it reported no output (no usage chunk, a cut stream,
 * a server without usage), output counted locally from the delivered text and input from the request. Every
 * count is a non-negative integer no larger than limits.maxTokenCount, whatever the upstream sent.
 *
 * `running`: the figure written while a stream is still going (only Envoy's copy after a cut uses it). Local
 * counts are then cheap estimates (tokenizer.ts `estimate`, ROUGH_INPUT_CHARS); the final figure is exact.
 */
export function effectiveUsage(exchange: Exchange, running = false): ChargedUsage {
  const { usage, estimated } = unclampedUsage(exchange, running);
  const clamped = clampUsage(usage, exchange.config.file.limits.maxTokenCount);
  return { usage: clamped.usage, estimated, clamped: clamped.clamped };
}

/** Request text counted exactly for a running input estimate; the rest is extrapolated (bounded work per stream). */
export const ROUGH_INPUT_CHARS = 128;

function unclampedUsage(exchange: Exchange, running: boolean): { usage: TokenUsage; estimated: boolean } {
  const reported = exchange.usage;
  const translatorEstimated = exchange.usageEstimated;
  // A final report needs no local count (the delivered text is only counted when it may be charged).
  if (reported && reported.outputTokens > 0 && exchange.streamCompleted) return { usage: reported, estimated: translatorEstimated };
  const counter = exchange.outputCounter;
  const counted = counter ? (running ? counter.estimate : counter.tokens) : 0;
  // A reported output count stands when it is final (the stream completed) or covers what was delivered. A stream
  // cut or failed after a provisional count (Claude's message_start reports 1) is charged the delivered text.
  if (reported && reported.outputTokens > 0 && reported.outputTokens >= counted) {
    return { usage: reported, estimated: translatorEstimated };
  }
  if (counted === 0) return { usage: reported ?? makeUsage({}), estimated: translatorEstimated };
  const inputTokens = reported && reported.inputTokens > 0 ? reported.inputTokens : requestInputTokens(exchange, running);
  return { usage: makeUsage({ ...reported, inputTokens, outputTokens: counted, totalTokens: inputTokens + counted }), estimated: true };
}

/** The request's input tokens counted locally (exactly, or roughly for a running figure); cached on the exchange. */
function requestInputTokens(exchange: Exchange, running: boolean): number {
  const request = exchange.request;
  if (!request) return 0;
  const model = exchange.attempt?.ctx.upstreamModel ?? request.requestModel;
  if (exchange.estimatedInputTokens !== undefined) return exchange.estimatedInputTokens;
  if (!running) return (exchange.estimatedInputTokens = estimateInputTokens(model, request.body));
  return (exchange.roughInputTokens ??= estimateInputTokens(model, request.body, ROUGH_INPUT_CHARS));
}

/**
 * Cost values for the usage so far, settled against what was reserved. No value exceeds limits.maxTokenCount:
 * a CEL formula can multiply valid counts into any number; `capped` says one was cut down to the ceiling.
 */
export function costValues(exchange: Exchange, usage: TokenUsage, onClamp?: CostClampListener): { values: Record<string, number>; capped: boolean } {
  const scope = scopeOf(exchange);
  const plan = costsFor(exchange.config, scope);
  let capped = false;
  const listener: CostClampListener = (metadataKey, reason) => {
    if (reason === 'too_large') capped = true;
    onClamp?.(metadataKey, reason);
  };
  // Zeros for every key, the scope's entries evaluated over them, the reservation settled: all in one object.
  const values = plan.evaluate(usage, scope, listener, exchange.config.file.limits.maxTokenCount, plan.zeros());
  return { values: exchange.reserved === undefined ? values : settle(values, exchange.reserved), capped };
}

/** The metadata written with the last answer of the exchange (and, as it grows, during a stream). */
export function usageMetadata(exchange: Exchange, charged: ChargedUsage, onClamp?: CostClampListener): MetadataValues {
  const attempt = exchange.attempt;
  const costs = costValues(exchange, charged.usage, onClamp);
  // costValues' object is this call's own: the other values are added to it rather than copied with it.
  const metadata: MetadataValues = costs.values;
  metadata['backend_name'] = attempt?.backend.name;
  metadata['model_name_override'] = attempt?.ctx.upstreamModel;
  metadata['response_model'] = exchange.responseModel;
  metadata['usage_estimated'] = charged.estimated;
  // A token count or a cost value was out of range and was clamped.
  metadata['usage_clamped'] = charged.clamped || costs.capped;
  return metadata;
}

/** Records the exchange in the metrics once, however it ended. */
export function recordMetrics(exchange: Exchange, metrics: GatewayMetrics, charged: ChargedUsage, errorType: string | undefined): void {
  const { usage, estimated } = charged;
  const attempt = exchange.attempt;
  const labels = {
    operationName: exchange.endpoint?.operationName ?? 'unknown',
    providerName: attempt ? providerNameForSchema(attempt.backend.schema) : 'unknown',
    requestModel: exchange.request?.requestModel ?? '',
    responseModel: exchange.responseModel ?? attempt?.ctx.upstreamModel ?? '',
    headers: exchange.originalHeaders,
  };
  const end = performance.now();
  const start = attempt?.startedAt ?? exchange.startedAt;
  metrics.recordRequest(labels, (end - start) / 1000, errorType);
  if (!errorType || usage.inputTokens > 0 || usage.outputTokens > 0) metrics.recordTokens(labels, usage, estimated);
  if (exchange.request?.stream && exchange.firstChunkAt !== undefined) {
    const ttft = (exchange.firstChunkAt - start) / 1000;
    metrics.recordTimeToFirstToken(labels, ttft);
    if (usage.outputTokens > 1) metrics.recordTimePerOutputToken(labels, (end - exchange.firstChunkAt) / 1000 / (usage.outputTokens - 1));
  }
}
