/**
 * Claude's extended thinking and sampling rules, the same whether Claude is reached through the Messages API
 * (Anthropic, Vertex, Bedrock InvokeModel) or through Bedrock Converse.
 * @see https://platform.claude.com/docs/en/build-with-claude/extended-thinking
 */
import type { Warning } from '../types.js';
import { invalidRequest } from './content-parts.js';

/** max_tokens when the client sets none; with thinking, the budget plus this. */
export const DEFAULT_MAX_TOKENS = 4096;
/** Smallest thinking budget Claude accepts. */
export const MIN_THINKING_BUDGET = 1024;
/** reasoning_effort -> thinking.budget_tokens ("none" disables thinking). */
export const REASONING_BUDGETS: Readonly<Record<string, number>> = {
  minimal: 1024,
  low: 1024,
  medium: 4096,
  high: 16384,
  xhigh: 32768,
};

/** The thinking budget for a `reasoning_effort` other than "none"; any other value is a 422. */
export function reasoningBudget(effort: unknown): number {
  const wanted = typeof effort === 'string' && Object.hasOwn(REASONING_BUDGETS, effort) ? REASONING_BUDGETS[effort] : undefined;
  if (wanted === undefined) {
    throw invalidRequest(`reasoning_effort must be one of none, ${Object.keys(REASONING_BUDGETS).join(', ')}`, 'reasoning_effort');
  }
  return wanted;
}

export interface ClaudeThinking {
  readonly thinking: { type: 'enabled'; budget_tokens: number };
  readonly maxTokens: number;
}

/**
 * `thinking` for a wanted budget: without a client max, max tokens become budget + DEFAULT_MAX_TOKENS; with one,
 * the budget stays below it, and a max too small for MIN_THINKING_BUDGET is a 422 ("... on <models>").
 */
export function thinkingForBudget(wanted: number, clientMax: number | undefined, models: string): ClaudeThinking {
  if (clientMax === undefined) return { thinking: { type: 'enabled', budget_tokens: wanted }, maxTokens: wanted + DEFAULT_MAX_TOKENS };
  const budget = Math.min(wanted, clientMax - 1);
  if (budget < MIN_THINKING_BUDGET) {
    throw invalidRequest(`reasoning_effort needs max_completion_tokens above ${MIN_THINKING_BUDGET} on ${models}`, 'reasoning_effort');
  }
  return { thinking: { type: 'enabled', budget_tokens: budget }, maxTokens: clientMax };
}

/**
 * Claude models documented to refuse `temperature` and `top_p` in one request (HTTP 400), as a version floor: the
 * Claude 4.5 generation and every later one. Anthropic's "Migrating to Claude 4.5" guide (Sonnet 4.5: "use only
 * temperature OR top_p, not both"), "Migrating to Claude Haiku 4.5" ("setting both returns a 400 error") and the
 * Claude 4.6 migration guide (the same rule for moves from Opus 4.1, Sonnet 4 or earlier). Claude 3.x, Sonnet 4,
 * Opus 4 and Opus 4.1 accept both. The per-model config key `topPWithTemperature: keep | drop` overrides this.
 * @see https://platform.claude.com/docs/en/about-claude/models/migrating-to-claude-4
 * @see https://platform.claude.com/docs/en/models/haiku-4-5/migration-guide
 * @see https://platform.claude.com/docs/en/about-claude/models/migration-guide
 */
export const FIRST_VERSION_REFUSING_TOP_P_WITH_TEMPERATURE = 4.5;

/**
 * The Claude version a model id names (`claude-sonnet-4-5-20250929`, `us.anthropic.claude-haiku-4-5-...-v1:0`,
 * `claude-opus-4-1@20250805`, `claude-3-7-sonnet-20250219`, `claude-sonnet-4-20250514` -> 4.5, 4.5, 4.1, 3.7, 4),
 * or undefined when the id names none (an inference-profile ARN, a custom name).
 */
export function claudeVersion(model: string): number | undefined {
  const id = model.toLowerCase();
  const current = /claude-(?:opus|sonnet|haiku)-(\d+)(?:[-.](\d{1,2}))?(?!\d)/.exec(id);
  if (current) return Number(current[1]) + (current[2] === undefined ? 0 : Number(current[2]) / 10);
  const legacy = /claude-(\d+)(?:[-.](\d{1,2}))?-(?:opus|sonnet|haiku)/.exec(id);
  if (legacy) return Number(legacy[1]) + (legacy[2] === undefined ? 0 : Number(legacy[2]) / 10);
  return undefined;
}

export type TopPWithTemperature = 'keep' | 'drop';

/** Whether `top_p` is dropped when `temperature` is set too: the config override, else the documented model rule. */
export function dropsTopPWithTemperature(model: string, override: TopPWithTemperature | undefined): boolean {
  if (override !== undefined) return override === 'drop';
  const version = claudeVersion(model);
  return version !== undefined && version >= FIRST_VERSION_REFUSING_TOP_P_WITH_TEMPERATURE;
}

export interface Sampling {
  readonly temperature: number | undefined;
  readonly topP: number | undefined;
  readonly topK?: number | undefined;
}

/**
 * What Claude rejects, dropped with a warning each: top_p together with temperature (only when `dropTopP`: the
 * models of dropsTopPWithTemperature), and while thinking a temperature other than 1 and any top_k.
 */
export function claudeSampling(sampling: Sampling, thinking: boolean, warnings: Warning[], dropTopP: boolean): Sampling {
  let { temperature, topP, topK } = sampling;
  if (dropTopP && temperature !== undefined && topP !== undefined) {
    warnings.push({ kind: 'unsupported_parameter', detail: 'top_p was not sent: this Claude model does not accept temperature and top_p together' });
    topP = undefined;
  }
  if (thinking) {
    if (temperature !== undefined && temperature !== 1) {
      warnings.push({ kind: 'unsupported_parameter', detail: 'temperature was not sent: Claude does not accept it with thinking' });
      temperature = undefined;
    }
    if (topK !== undefined) {
      warnings.push({ kind: 'unsupported_parameter', detail: 'top_k was not sent: Claude does not accept it with thinking' });
      topK = undefined;
    }
  }
  return { temperature, topP, topK };
}
