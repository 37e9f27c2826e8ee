/**
 * TokenUsage -> the OpenAI `usage` object, for backends that report prompt caching (Anthropic, Bedrock):
 * prompt_tokens is the unified input; cache reads in prompt_tokens_details.cached_tokens, cache writes beside them.
 */
import type { TokenUsage } from '../../core/usage.js';

export function toOpenAIUsage(usage: TokenUsage): Record<string, unknown> {
  return {
    prompt_tokens: usage.inputTokens,
    completion_tokens: usage.outputTokens,
    total_tokens: usage.totalTokens,
    prompt_tokens_details: { cached_tokens: usage.cachedInputTokens, cache_creation_tokens: usage.cacheCreationInputTokens },
  };
}
