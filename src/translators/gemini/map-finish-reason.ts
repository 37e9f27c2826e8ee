/**
 * Gemini `finishReason` -> OpenAI `finish_reason`. The one table for buffered and streamed responses.
 *
 * - Any candidate that produced a functionCall finishes with `tool_calls`, whatever Gemini says (it says STOP),
 *   including when the call and the reason arrive in different stream events: the client has calls to run.
 * - STOP -> stop; MAX_TOKENS -> length.
 * - SAFETY, RECITATION, BLOCKLIST, PROHIBITED_CONTENT, SPII and the IMAGE_* safety reasons -> content_filter.
 * - MALFORMED_FUNCTION_CALL, UNEXPECTED_TOOL_CALL, TOO_MANY_TOOL_CALLS -> stop, deliberately: the model tried to
 *   call a tool and produced no usable call, so there is nothing for the client to run (tool_calls would make
 *   agents look for calls that do not exist) and nothing was filtered (content_filter would be a false safety
 *   signal). A `malformed_function_call` warning makes it visible in metrics.
 * - LANGUAGE (unsupported language) -> stop.
 * - Anything else (OTHER, FINISH_REASON_UNSPECIFIED, values added later) -> stop with an `unknown_finish_reason`
 *   warning carrying the raw value; the processor counts it.
 *
 * @see https://ai.google.dev/api/generate-content#FinishReason
 * @see https://cloud.google.com/vertex-ai/generative-ai/docs/reference/rest/v1/GenerateContentResponse#FinishReason
 */
import type { Warning } from '../types.js';

export type OpenAIFinishReason = 'stop' | 'length' | 'tool_calls' | 'content_filter';

const KNOWN: Readonly<Record<string, OpenAIFinishReason>> = {
  STOP: 'stop',
  MAX_TOKENS: 'length',
  SAFETY: 'content_filter',
  RECITATION: 'content_filter',
  BLOCKLIST: 'content_filter',
  PROHIBITED_CONTENT: 'content_filter',
  SPII: 'content_filter',
  IMAGE_SAFETY: 'content_filter',
  IMAGE_PROHIBITED_CONTENT: 'content_filter',
  IMAGE_RECITATION: 'content_filter',
  LANGUAGE: 'stop',
  MALFORMED_FUNCTION_CALL: 'stop',
  UNEXPECTED_TOOL_CALL: 'stop',
  TOO_MANY_TOOL_CALLS: 'stop',
};

const TOOL_FAILURES = new Set(['MALFORMED_FUNCTION_CALL', 'UNEXPECTED_TOOL_CALL', 'TOO_MANY_TOOL_CALLS']);

export interface MappedFinishReason {
  readonly reason: OpenAIFinishReason;
  readonly warning: Warning | undefined;
}

export function mapFinishReason(reason: string, calledTool: boolean): MappedFinishReason {
  const known = Object.hasOwn(KNOWN, reason) ? KNOWN[reason] : undefined;
  let warning: Warning | undefined;
  if (known === undefined) warning = { kind: 'unknown_finish_reason', detail: reason };
  else if (TOOL_FAILURES.has(reason)) warning = { kind: 'malformed_function_call', detail: reason };
  return { reason: calledTool ? 'tool_calls' : (known ?? 'stop'), warning };
}
