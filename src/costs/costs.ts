/**
 * Which cost entries apply to a request, and their values for a usage record.
 *
 * Scoping: an entry with `models` applies only to those client model names, one with `backends` only to those
 * backends; an entry with neither applies everywhere. For each metadataKey the most specific applicable entry
 * wins: models+backends (2) > models or backends (1) > unscoped (0); on a tie the entry listed first in the
 * config file wins. So each request is charged by its own scope's formula, never by another route's.
 */
import type { RuntimeConfig } from '../config/load.js';
import type { CostConfig, CostType } from '../config/schema.js';
import type { TokenUsage } from '../core/usage.js';
import { clampCost, compileCel, evaluateCel, type CelVariables, type CompiledCel, type CostClampListener } from './cel.js';

export interface CostScope {
  /** The model name the client asked for. */
  readonly model: string;
  /** The backend chosen for the request. */
  readonly backend: string;
}

export interface CostPlan {
  readonly scope: CostScope;
  /** The winning entry per metadataKey for this scope, in config order. */
  readonly entries: readonly CostConfig[];
  /** metadataKeys of `entries` that set `reserve: true`. */
  readonly reserveKeys: readonly string[];
  /** Every metadataKey any entry defines (any scope), so every key is always written as a number. */
  readonly allKeys: readonly string[];
  /** Every metadataKey that sets `reserve: true` in some scope (their `<key>_reserve` is always written). */
  readonly allReserveKeys: readonly string[];
  /**
   * Values of the applicable entries for a usage record: non-negative integers, none above `ceiling`
   * (limits.maxTokenCount) when given; clamped values are reported to onClamp. Written into `into` when given.
   */
  evaluate(usage: TokenUsage, scope?: CostScope, onClamp?: CostClampListener, ceiling?: number, into?: Record<string, number>): Record<string, number>;
  /** Every key in `allKeys` as 0. */
  zeros(): Record<string, number>;
}

/** Plans per config, then per model, then per backend (looked up several times per request: no key string is built). */
const plansByConfig = new WeakMap<RuntimeConfig, Map<string, Map<string, CostPlan>>>();

/** The cost plan for one scope; cached per config and scope. */
export function costsFor(config: RuntimeConfig, scope: CostScope): CostPlan {
  let byModel = plansByConfig.get(config);
  if (!byModel) {
    byModel = new Map();
    plansByConfig.set(config, byModel);
  }
  let byBackend = byModel.get(scope.model);
  if (!byBackend) {
    byBackend = new Map();
    byModel.set(scope.model, byBackend);
  }
  let plan = byBackend.get(scope.backend);
  if (!plan) {
    plan = buildPlan(config.costs, { model: scope.model, backend: scope.backend });
    byBackend.set(scope.backend, plan);
  }
  return plan;
}

function specificity(cost: CostConfig): number {
  return (cost.models ? 1 : 0) + (cost.backends ? 1 : 0);
}

function applies(cost: CostConfig, scope: CostScope): boolean {
  if (cost.models && !cost.models.includes(scope.model)) return false;
  if (cost.backends && !cost.backends.includes(scope.backend)) return false;
  return true;
}

/** Picks the winning entry per key. Exported for tests and for callers holding a plain cost list. */
export function buildPlan(costs: readonly CostConfig[], scope: CostScope): CostPlan {
  const winners = new Map<string, CostConfig>();
  const allKeys: string[] = [];
  const allReserveKeys: string[] = [];
  for (const cost of costs) {
    if (!allKeys.includes(cost.metadataKey)) allKeys.push(cost.metadataKey);
    if (cost.reserve && !allReserveKeys.includes(cost.metadataKey)) allReserveKeys.push(cost.metadataKey);
    if (!applies(cost, scope)) continue;
    const current = winners.get(cost.metadataKey);
    if (!current || specificity(cost) > specificity(current)) winners.set(cost.metadataKey, cost);
  }
  const entries = costs.filter((cost) => winners.get(cost.metadataKey) === cost);
  const programs = new Map<string, CompiledCel>();
  for (const entry of entries) {
    if (entry.type !== 'CEL' || !entry.cel) continue;
    const compiled = compileCel(entry.cel);
    // Config load rejects bad expressions; a plan built from an unvalidated list just charges 0 for them.
    if (compiled.ok) programs.set(entry.metadataKey, compiled.compiled);
  }
  const reserveKeys = entries.filter((entry) => entry.reserve).map((entry) => entry.metadataKey);

  return {
    scope,
    entries,
    reserveKeys,
    allKeys,
    allReserveKeys,
    evaluate(usage, evaluationScope = scope, onClamp, ceiling, into) {
      const values: Record<string, number> = into ?? {};
      for (const entry of entries) values[entry.metadataKey] = costValue(entry, usage, evaluationScope, programs.get(entry.metadataKey), onClamp, ceiling);
      return values;
    },
    zeros() {
      const values: Record<string, number> = {};
      for (const key of allKeys) values[key] = 0;
      return values;
    },
  };
}

const TOKEN_FIELD: Record<Exclude<CostType, 'CEL'>, keyof Omit<TokenUsage, 'clamped'>> = {
  InputToken: 'inputTokens',
  CachedInputToken: 'cachedInputTokens',
  CacheCreationInputToken: 'cacheCreationInputTokens',
  OutputToken: 'outputTokens',
  ReasoningToken: 'reasoningTokens',
  TotalToken: 'totalTokens',
};

/** CEL variables for a usage record. */
export function celVariables(usage: TokenUsage, scope: CostScope): CelVariables {
  return {
    model: scope.model,
    backend: scope.backend,
    input_tokens: usage.inputTokens,
    cached_input_tokens: usage.cachedInputTokens,
    cache_creation_input_tokens: usage.cacheCreationInputTokens,
    output_tokens: usage.outputTokens,
    reasoning_tokens: usage.reasoningTokens,
    total_tokens: usage.totalTokens,
  };
}

function costValue(
  entry: CostConfig,
  usage: TokenUsage,
  scope: CostScope,
  program: CompiledCel | undefined,
  onClamp: CostClampListener | undefined,
  ceiling: number | undefined,
): number {
  if (entry.type === 'CEL') return program ? evaluateCel(program, celVariables(usage, scope), entry.metadataKey, onClamp, ceiling) : 0;
  return clampCost(usage[TOKEN_FIELD[entry.type]], entry.metadataKey, onClamp, ceiling);
}
