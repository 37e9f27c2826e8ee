/**
 * Anthropic usage -> normalised TokenUsage and OpenAI `usage`.
 *
 * Anthropic reports cache reads and writes on top of `input_tokens`, so the unified input is
 * input_tokens + cache_read_input_tokens + cache_creation_input_tokens. In a stream, `message_start` carries
 * the baseline and `message_delta` cumulative counts: each field present overwrites the previous value (never
 * added), so nothing is counted twice and a backend that reports only in `message_delta` still counts.
 * Anthropic does not report reasoning tokens separately (they are inside output_tokens).
 * @see https://platform.claude.com/docs/en/build-with-claude/prompt-caching#tracking-cache-performance
 */
import { isRecord } from '../../core/json.js';
import { makeUsage, tokenCount, type TokenUsage } from '../../core/usage.js';

export { toOpenAIUsage } from '../shared/openai-usage.js';

export interface AnthropicUsageCounts {
  readonly input?: number;
  readonly output?: number;
  readonly cacheRead?: number;
  readonly cacheCreation?: number;
}

/** The counts present in an Anthropic `usage` object (absent or null fields are left out). */
export function readAnthropicUsage(value: unknown): AnthropicUsageCounts {
  if (!isRecord(value)) return {};
  const counts: { input?: number; output?: number; cacheRead?: number; cacheCreation?: number } = {};
  const input = tokenCount(value.input_tokens);
  const output = tokenCount(value.output_tokens);
  const cacheRead = tokenCount(value.cache_read_input_tokens);
  const cacheCreation = tokenCount(value.cache_creation_input_tokens);
  if (input !== undefined) counts.input = input;
  if (output !== undefined) counts.output = output;
  if (cacheRead !== undefined) counts.cacheRead = cacheRead;
  if (cacheCreation !== undefined) counts.cacheCreation = cacheCreation;
  return counts;
}

export function hasCounts(counts: AnthropicUsageCounts): boolean {
  return counts.input !== undefined || counts.output !== undefined || counts.cacheRead !== undefined || counts.cacheCreation !== undefined;
}

/** Field-wise overwrite: `update` wins where it has a value. */
export function mergeAnthropicUsage(base: AnthropicUsageCounts, update: AnthropicUsageCounts): AnthropicUsageCounts {
  return {
    input: update.input ?? base.input,
    output: update.output ?? base.output,
    cacheRead: update.cacheRead ?? base.cacheRead,
    cacheCreation: update.cacheCreation ?? base.cacheCreation,
  };
}

/**
 * toTokenUsage for counts a stream replaces on every change (a new object each time) and reads on every event: the
 * usage is made once per change of the counts, not once per read.
 */
export function usageOfCounts(): (counts: AnthropicUsageCounts) => TokenUsage | undefined {
  let last: AnthropicUsageCounts | undefined;
  let usage: TokenUsage | undefined;
  return (counts) => {
    if (counts !== last) {
      last = counts;
      usage = hasCounts(counts) ? toTokenUsage(counts) : undefined;
    }
    return usage;
  };
}

export function toTokenUsage(counts: AnthropicUsageCounts): TokenUsage {
  const cacheRead = counts.cacheRead ?? 0;
  const cacheCreation = counts.cacheCreation ?? 0;
  return makeUsage({
    inputTokens: (counts.input ?? 0) + cacheRead + cacheCreation,
    outputTokens: counts.output ?? 0,
    cachedInputTokens: cacheRead,
    cacheCreationInputTokens: cacheCreation,
  });
}
