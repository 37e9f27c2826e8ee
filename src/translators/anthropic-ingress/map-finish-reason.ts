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
import type { Warning } from '../types.js';

export type StopReason = 'end_turn' | 'max_tokens' | 'tool_use' | 'refusal';

const STOP_REASONS: Readonly<Record<string, StopReason>> = {
  stop: 'end_turn',
  length: 'max_tokens',
  tool_calls: 'tool_use',
  function_call: 'tool_use',
  content_filter: 'refusal',
};

export function mapFinishReason(finishReason: unknown, toolCalled: boolean): { stopReason: StopReason; warning?: Warning } {
  if (toolCalled) return { stopReason: 'tool_use' };
  const mapped = typeof finishReason === 'string' && Object.hasOwn(STOP_REASONS, finishReason) ? STOP_REASONS[finishReason] : undefined;
  if (mapped !== undefined) return { stopReason: mapped };
  return {
    stopReason: 'end_turn',
    warning: { kind: 'unknown_finish_reason', detail: `OpenAI finish_reason ${JSON.stringify(finishReason ?? null)} reported as "end_turn"` },
  };
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
