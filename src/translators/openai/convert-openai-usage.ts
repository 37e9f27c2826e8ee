/**
 * OpenAI `usage` -> TokenUsage. `prompt_tokens` already includes cached tokens and `completion_tokens` includes
 * reasoning tokens, which is this project's convention, so no arithmetic is needed.
 * @see https://platform.openai.com/docs/api-reference/chat/object#chat/object-usage
 */
import { isRecord } from '../../core/json.js';
import { makeUsage, tokenCount, type TokenUsage } from '../../core/usage.js';

/** Undefined when `value` is not a usage object with at least one token count (e.g. `"usage": null`). */
export function convertOpenAIUsage(value: unknown): TokenUsage | undefined {
  if (!isRecord(value)) return undefined;
  const input = tokenCount(value.prompt_tokens);
  const output = tokenCount(value.completion_tokens);
  const total = tokenCount(value.total_tokens);
  if (input === undefined && output === undefined && total === undefined) return undefined;
  const promptDetails = isRecord(value.prompt_tokens_details) ? value.prompt_tokens_details : {};
  const completionDetails = isRecord(value.completion_tokens_details) ? value.completion_tokens_details : {};
  // DeepSeek-style OpenAI-compatible servers report cache hits at the top level
  const cached = tokenCount(promptDetails.cached_tokens) ?? tokenCount(value.prompt_cache_hit_tokens) ?? 0;
  return makeUsage({
    inputTokens: input ?? 0,
    outputTokens: output ?? 0,
    ...(total === undefined ? {} : { totalTokens: total }),
    cachedInputTokens: cached,
    reasoningTokens: tokenCount(completionDetails.reasoning_tokens) ?? 0,
  });
}
