/**
 * Normalised token usage. `inputTokens` is the unified input: uncached + cache read + cache write.
 * `outputTokens` includes reasoning (Gemini thoughts count as output).
 */
export interface TokenUsage {
  inputTokens: number;
  outputTokens: number;
  totalTokens: number;
  /** Input tokens served from the provider's prompt cache (part of inputTokens). */
  cachedInputTokens: number;
  /** Input tokens written to the prompt cache (part of inputTokens). */
  cacheCreationInputTokens: number;
  /** Reasoning tokens (part of outputTokens). */
  reasoningTokens: number;
}

export function emptyUsage(): TokenUsage {
  return { inputTokens: 0, outputTokens: 0, totalTokens: 0, cachedInputTokens: 0, cacheCreationInputTokens: 0, reasoningTokens: 0 };
}

/** Builds a usage record; total defaults to input + output. */
export function makeUsage(parts: Partial<TokenUsage>): TokenUsage {
  const usage = { ...emptyUsage(), ...parts };
  if (parts.totalTokens === undefined) usage.totalTokens = usage.inputTokens + usage.outputTokens;
  return usage;
}

/** True when no token was counted. */
export function isEmptyUsage(usage: TokenUsage): boolean {
  return usage.inputTokens === 0 && usage.outputTokens === 0 && usage.totalTokens === 0;
}

/** A non-negative integer from an unknown JSON value, or undefined. */
export function tokenCount(value: unknown): number | undefined {
  return typeof value === 'number' && Number.isFinite(value) && value >= 0 ? Math.floor(value) : undefined;
}
