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
  /** Set (true) when a reported count was not a non-negative integer and was clamped to one. */
  clamped?: true;
}

const COUNT_FIELDS = ['inputTokens', 'outputTokens', 'totalTokens', 'cachedInputTokens', 'cacheCreationInputTokens', 'reasoningTokens'] as const;

/** A count as a non-negative integer no larger than `ceiling`: NaN and negatives become 0, fractions are floored. */
function clampCount(value: number, ceiling: number): number {
  if (!(value > 0)) return 0;
  return Math.min(Math.floor(value), ceiling);
}

/**
 * Every count clamped to a non-negative integer no larger than `ceiling`; `clamped` is true when any count
 * changed, or the usage was already marked clamped. The input is not modified.
 */
export function clampUsage(usage: TokenUsage, ceiling: number): { usage: TokenUsage; clamped: boolean } {
  let clamped = usage.clamped === true;
  const out: TokenUsage = { ...usage };
  for (const field of COUNT_FIELDS) {
    const value = clampCount(usage[field], ceiling);
    if (value !== usage[field]) clamped = true;
    out[field] = value;
  }
  if (clamped) out.clamped = true;
  return { usage: out, clamped };
}

export function emptyUsage(): TokenUsage {
  return { inputTokens: 0, outputTokens: 0, totalTokens: 0, cachedInputTokens: 0, cacheCreationInputTokens: 0, reasoningTokens: 0 };
}

/**
 * Builds a usage record; total defaults to input + output. Counts that are not non-negative safe integers (NaN
 * from an invalid upstream value, a negative, a fraction, 1e308) are clamped to one and the record is marked
 * `clamped`, so a translated body never carries such a number. The configured ceiling is applied later
 * (clampUsage, in the server's accounting).
 */
export function makeUsage(parts: Partial<TokenUsage>): TokenUsage {
  const usage = { ...emptyUsage(), ...parts };
  if (parts.totalTokens === undefined) usage.totalTokens = usage.inputTokens + usage.outputTokens;
  return clampUsage(usage, Number.MAX_SAFE_INTEGER).usage;
}

/** True when no token was counted. */
export function isEmptyUsage(usage: TokenUsage): boolean {
  return usage.inputTokens === 0 && usage.outputTokens === 0 && usage.totalTokens === 0;
}

/**
 * A token count from an upstream JSON value: undefined when absent (undefined or null); NaN when present but not
 * a non-negative number (a string, a negative count); otherwise the number as sent. makeUsage clamps NaN,
 * fractions and huge values and marks the usage `clamped`, so an invalid count is flagged, never silently dropped.
 */
export function tokenCount(value: unknown): number | undefined {
  if (value === undefined || value === null) return undefined;
  return typeof value === 'number' && value >= 0 ? value : Number.NaN;
}
