/**
 * Reserve, then settle.
 *
 * Request phase: for every applicable cost entry with `reserve: true`, `<metadataKey>_reserve` = the entry's
 * formula evaluated at (input = tokens counted locally, output = expected output). Keys that reserve in some
 * other scope are written as 0 here, so the request-phase rate-limit descriptor always finds a number and
 * stays a check (a missing value would drop the descriptor, and with it the budget check).
 * End: `<metadataKey>` = max(0, actual - reserved), so the total charged is max(actual, reserved).
 */
import type { ConfigFile } from '../config/schema.js';
import { asArray, isRecord } from '../core/json.js';
import { makeUsage } from '../core/usage.js';
import type { CostPlan, CostScope } from './costs.js';
import { estimateInputTokens } from './estimate-input.js';
import { tokenizerFamily } from './tokenizer.js';

export type ReserveConfig = ConfigFile['reserve'];

export type EstimateOperation = 'chat' | 'responses' | 'completion' | 'embeddings' | 'image_generation' | 'messages';

export interface ReserveRequest extends CostScope {
  /** The client's parsed body. */
  readonly body: Readonly<Record<string, unknown>>;
  /** The model name the upstream receives, if different (picks the tokenizer when the client name is an alias). */
  readonly upstreamModel?: string;
  /** When known; otherwise inferred (an embeddings request has no output). */
  readonly operation?: EstimateOperation;
  /** Largest token count an estimate may reach (limits.maxTokenCount); a huge `n` or max_tokens stops here. */
  readonly tokenCeiling?: number;
}

export interface RequestEstimate {
  readonly inputTokens: number;
  readonly outputTokens: number;
}

const RESERVE_SUFFIX = '_reserve';

/** The metadata key a reserve is written under. */
export function reserveKey(metadataKey: string): string {
  return `${metadataKey}${RESERVE_SUFFIX}`;
}

/** The upstream model name picks the tokenizer, unless it is unrecognisable (an Azure deployment name, say). */
function tokenizerModel(request: ReserveRequest): string {
  const upstream = request.upstreamModel;
  if (upstream && (tokenizerFamily(upstream) !== 'other' || tokenizerFamily(request.model) === 'other')) return upstream;
  return request.model;
}

function positiveInteger(value: unknown): number | undefined {
  return typeof value === 'number' && Number.isFinite(value) && value > 0 ? Math.floor(value) : undefined;
}

function isEmbeddings(request: ReserveRequest): boolean {
  if (request.operation) return request.operation === 'embeddings';
  const body = request.body;
  if (body.messages !== undefined || body.prompt !== undefined) return false;
  const input = asArray(body.input);
  if (input?.some(isRecord)) return false;
  return body.input !== undefined && (/embed/i.test(request.model) || body.encoding_format !== undefined || body.dimensions !== undefined);
}

/**
 * Expected output tokens: `outputFraction` x (max_completion_tokens ?? max_tokens ?? max_output_tokens), else
 * `defaultOutputTokens`; times `n` choices; 0 for embeddings.
 */
export function expectedOutputTokens(request: ReserveRequest, reserve: ReserveConfig): number {
  if (isEmbeddings(request)) return 0;
  const body = request.body;
  const limit = positiveInteger(body.max_completion_tokens) ?? positiveInteger(body.max_tokens) ?? positiveInteger(body.max_output_tokens);
  const choices = positiveInteger(body.n) ?? 1;
  const perChoice = limit === undefined ? reserve.defaultOutputTokens : Math.ceil(limit * reserve.outputFraction);
  return perChoice * choices;
}

/** The request-phase estimate (input counted locally, output expected). */
export function estimateRequest(request: ReserveRequest, reserve: ReserveConfig): RequestEstimate {
  const ceiling = request.tokenCeiling ?? Number.MAX_SAFE_INTEGER;
  return {
    inputTokens: Math.min(estimateInputTokens(tokenizerModel(request), request.body), ceiling),
    outputTokens: Math.min(expectedOutputTokens(request, reserve), ceiling),
  };
}

/**
 * `<key>_reserve` for every applicable reserve entry (the formula at the estimate), and 0 for keys that reserve
 * only in other scopes. Empty when no entry reserves (no counting work is done then).
 */
export function estimateReserve(plan: CostPlan, request: ReserveRequest, reserve: ReserveConfig): Record<string, number> {
  const values: Record<string, number> = {};
  if (plan.allReserveKeys.length === 0) return values;
  for (const key of plan.allReserveKeys) values[reserveKey(key)] = 0;
  if (plan.reserveKeys.length === 0) return values;
  const estimate = estimateRequest(request, reserve);
  const usage = makeUsage({ inputTokens: estimate.inputTokens, outputTokens: estimate.outputTokens });
  const evaluated = plan.evaluate(usage, { model: request.model, backend: request.backend }, undefined, request.tokenCeiling);
  for (const key of plan.reserveKeys) values[reserveKey(key)] = evaluated[key] ?? 0;
  return values;
}

/**
 * Final values: for keys in `reserved` (keyed by metadataKey, i.e. without the `_reserve` suffix), max(0,
 * actual - reserved); other keys unchanged. Use `reservedByKey` to convert estimateReserve's output.
 */
export function settle(actual: Readonly<Record<string, number>>, reserved: Readonly<Record<string, number>> | undefined): Record<string, number> {
  const settled: Record<string, number> = {};
  for (const [key, value] of Object.entries(actual)) {
    const held = reserved?.[key];
    settled[key] = held === undefined ? value : Math.max(0, value - held);
  }
  return settled;
}

/** estimateReserve's `<key>_reserve` record, re-keyed by metadataKey for `settle`. */
export function reservedByKey(reserves: Readonly<Record<string, number>>): Record<string, number> {
  const byKey: Record<string, number> = {};
  for (const [key, value] of Object.entries(reserves)) {
    if (key.endsWith(RESERVE_SUFFIX)) byKey[key.slice(0, -RESERVE_SUFFIX.length)] = value;
  }
  return byKey;
}
