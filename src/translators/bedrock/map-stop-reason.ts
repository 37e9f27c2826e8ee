/**
 * Bedrock Converse `stopReason` -> OpenAI `finish_reason`.
 *
 * end_turn, stop_sequence -> stop; max_tokens, model_context_window_exceeded -> length; tool_use -> tool_calls;
 * content_filtered, guardrail_intervened -> content_filter; malformed_model_output, malformed_tool_use -> stop
 * (the output is not a content-filter verdict; the client sees what came). The one rule for anything else: an
 * unknown reason becomes "stop" plus an `unknown_finish_reason` warning (counted by the processor). Callers
 * report "tool_calls" whenever a tool was called, whatever the reason says.
 * @see https://docs.aws.amazon.com/bedrock/latest/APIReference/API_runtime_Converse.html#API_runtime_Converse_ResponseSyntax
 * @see https://docs.aws.amazon.com/bedrock/latest/APIReference/API_runtime_MessageStopEvent.html
 */
import { mapToOpenAIFinishReason, type MappedFinishReason, type OpenAIFinishReason } from '../shared/finish-reasons.js';

const STOP_REASONS: Readonly<Record<string, OpenAIFinishReason>> = {
  end_turn: 'stop',
  stop_sequence: 'stop',
  max_tokens: 'length',
  model_context_window_exceeded: 'length',
  tool_use: 'tool_calls',
  content_filtered: 'content_filter',
  guardrail_intervened: 'content_filter',
  malformed_model_output: 'stop',
  malformed_tool_use: 'stop',
};

export function mapStopReason(stopReason: unknown, toolCalled: boolean): MappedFinishReason {
  return mapToOpenAIFinishReason(STOP_REASONS, 'Bedrock stopReason', stopReason, toolCalled);
}
