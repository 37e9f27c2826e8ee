/**
 * OpenAI `finish_reason` -> Anthropic `stop_reason`, and TokenUsage -> Anthropic `usage`.
 *
 * stop -> end_turn; length -> max_tokens; tool_calls, function_call -> tool_use; content_filter -> refusal.
 * A response that called a tool reports tool_use whatever the reason says (some servers say "stop").
 * Anything else becomes end_turn plus an `unknown_finish_reason` warning (counted by the processor).
 * OpenAI does not say which stop sequence matched, so `stop_sequence` is always null.
 * @see https://platform.claude.com/docs/en/build-with-claude/handling-stop-reasons
 */
import type { TokenUsage } from '../../core/usage.js';
import { mapReason, type ReasonMapping } from '../shared/finish-reasons.js';
import type { Warning } from '../types.js';

export type StopReason = 'end_turn' | 'max_tokens' | 'tool_use' | 'refusal';

const STOP_REASONS: Readonly<Record<string, StopReason>> = {
  stop: 'end_turn',
  length: 'max_tokens',
  tool_calls: 'tool_use',
  function_call: 'tool_use',
  content_filter: 'refusal',
};

const MAPPING: ReasonMapping<StopReason> = { table: STOP_REASONS, toolReason: 'tool_use', fallback: 'end_turn', source: 'OpenAI finish_reason' };

export function mapFinishReason(finishReason: unknown, toolCalled: boolean): { stopReason: StopReason; warning?: Warning } {
  const { reason, warning } = mapReason(MAPPING, finishReason, toolCalled);
  return warning ? { stopReason: reason, warning } : { stopReason: reason };
}

/** Anthropic `usage`: `input_tokens` excludes cache reads and writes, which are reported beside it. */
export function anthropicUsageOf(usage: TokenUsage): Record<string, number> {
  return {
    input_tokens: Math.max(0, usage.inputTokens - usage.cachedInputTokens - usage.cacheCreationInputTokens),
    cache_creation_input_tokens: usage.cacheCreationInputTokens,
    cache_read_input_tokens: usage.cachedInputTokens,
    output_tokens: usage.outputTokens,
  };
}
