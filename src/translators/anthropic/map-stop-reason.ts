/**
 * Anthropic `stop_reason` -> OpenAI `finish_reason`.
 *
 * end_turn, stop_sequence, pause_turn -> stop; max_tokens, model_context_window_exceeded -> length;
 * tool_use -> tool_calls; refusal -> content_filter.
 * The one rule for anything else: an unknown reason becomes "stop" plus an `unknown_finish_reason` warning
 * (counted by the processor). Callers report "tool_calls" whenever a tool was called, whatever the reason says.
 * @see https://platform.claude.com/docs/en/build-with-claude/handling-stop-reasons
 */
import type { Warning } from '../types.js';

export type FinishReason = 'stop' | 'length' | 'tool_calls' | 'content_filter';

const STOP_REASONS: Readonly<Record<string, FinishReason>> = {
  end_turn: 'stop',
  stop_sequence: 'stop',
  pause_turn: 'stop',
  max_tokens: 'length',
  model_context_window_exceeded: 'length',
  tool_use: 'tool_calls',
  refusal: 'content_filter',
};

export interface MappedFinishReason {
  readonly finishReason: FinishReason;
  readonly warning?: Warning;
}

export function mapStopReason(stopReason: unknown, toolCalled: boolean): MappedFinishReason {
  if (toolCalled) return { finishReason: 'tool_calls' };
  const mapped = typeof stopReason === 'string' && Object.hasOwn(STOP_REASONS, stopReason) ? STOP_REASONS[stopReason] : undefined;
  if (mapped !== undefined) return { finishReason: mapped };
  return {
    finishReason: 'stop',
    warning: { kind: 'unknown_finish_reason', detail: `Anthropic stop_reason ${JSON.stringify(stopReason ?? null)} reported as "stop"` },
  };
}
