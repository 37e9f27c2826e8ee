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

export interface Sampling {
  readonly temperature: number | undefined;
  readonly topP: number | undefined;
  readonly topK?: number | undefined;
}

/**
 * What Claude rejects, dropped with a warning each: top_p together with temperature (newer models), and while
 * thinking a temperature other than 1 and any top_k.
 */
export function claudeSampling(sampling: Sampling, thinking: boolean, warnings: Warning[]): Sampling {
  let { temperature, topP, topK } = sampling;
  if (temperature !== undefined && topP !== undefined) {
    warnings.push({ kind: 'unsupported_parameter', detail: 'top_p was not sent: Claude does not accept temperature and top_p together' });
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
