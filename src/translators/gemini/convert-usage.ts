/**
 * Gemini `usageMetadata` -> TokenUsage and the OpenAI `usage` object.
 *
 * - input = promptTokenCount; cachedContentTokenCount is part of it (Gemini reports cached tokens inside the
 *   prompt count), so cached = cachedContentTokenCount;
 * - output = candidatesTokenCount + thoughtsTokenCount (thoughts are billed as output; Gemini reports them apart);
 * - reasoning = thoughtsTokenCount; total = input + output.
 * In a stream every event may carry usageMetadata; each replaces the last (the final one is complete).
 *
 * @see https://ai.google.dev/api/generate-content#UsageMetadata
 */
import { makeUsage, tokenCount, type TokenUsage } from '../../core/usage.js';
import type { GeminiUsageMetadata } from './gemini-types.js';

export function convertUsage(metadata: GeminiUsageMetadata | undefined): TokenUsage | undefined {
  if (!metadata) return undefined;
  const input = tokenCount(metadata.promptTokenCount) ?? 0;
  const thoughts = tokenCount(metadata.thoughtsTokenCount) ?? 0;
  const output = (tokenCount(metadata.candidatesTokenCount) ?? 0) + thoughts;
  const cached = Math.min(tokenCount(metadata.cachedContentTokenCount) ?? 0, input);
  return makeUsage({ inputTokens: input, outputTokens: output, cachedInputTokens: cached, reasoningTokens: thoughts });
}

/** The OpenAI `usage` object for a TokenUsage. */
export function openAIUsage(usage: TokenUsage): Record<string, unknown> {
  return {
    prompt_tokens: usage.inputTokens,
    completion_tokens: usage.outputTokens,
    total_tokens: usage.totalTokens,
    prompt_tokens_details: { cached_tokens: usage.cachedInputTokens },
    completion_tokens_details: { reasoning_tokens: usage.reasoningTokens },
  };
}
