/**
 * Anthropic `stop_reason` -> OpenAI `finish_reason`.
 *
 * end_turn, stop_sequence, pause_turn -> stop; max_tokens, model_context_window_exceeded -> length;
 * tool_use -> tool_calls; refusal -> content_filter.
 * The one rule for anything else: an unknown reason becomes "stop" plus an `unknown_finish_reason` warning
 * (counted by the processor). Callers report "tool_calls" whenever a tool was called, whatever the reason says.
 * @see https://platform.claude.com/docs/en/build-with-claude/handling-stop-reasons
 */
import { mapToOpenAIFinishReason, type MappedFinishReason, type OpenAIFinishReason } from '../shared/finish-reasons.js';

const STOP_REASONS: Readonly<Record<string, OpenAIFinishReason>> = {
  end_turn: 'stop',
  stop_sequence: 'stop',
  pause_turn: 'stop',
  max_tokens: 'length',
  model_context_window_exceeded: 'length',
  tool_use: 'tool_calls',
  refusal: 'content_filter',
};

export function mapStopReason(stopReason: unknown, toolCalled: boolean): MappedFinishReason {
  return mapToOpenAIFinishReason(STOP_REASONS, 'Anthropic stop_reason', stopReason, toolCalled);
}
