/**
 * Bedrock `usage` -> normalised TokenUsage and OpenAI `usage`.
 *
 * Bedrock reports cache reads and writes on top of `inputTokens` (as Anthropic does), so the unified input is
 * inputTokens + cacheReadInputTokens + cacheWriteInputTokens; Bedrock's own `totalTokens` is not used (total =
 * unified input + output). Reasoning tokens are not reported separately (they are inside outputTokens).
 * @see https://docs.aws.amazon.com/bedrock/latest/APIReference/API_runtime_TokenUsage.html
 */
import { isRecord } from '../../core/json.js';
import { makeUsage, tokenCount, type TokenUsage } from '../../core/usage.js';

export { toOpenAIUsage } from '../shared/openai-usage.js';

/** TokenUsage from a Bedrock usage object, or undefined when it holds no count. */
export function readBedrockUsage(value: unknown): TokenUsage | undefined {
  if (!isRecord(value)) return undefined;
  const input = tokenCount(value.inputTokens);
  const output = tokenCount(value.outputTokens);
  const cacheRead = tokenCount(value.cacheReadInputTokens);
  const cacheWrite = tokenCount(value.cacheWriteInputTokens);
  if (input === undefined && output === undefined && cacheRead === undefined && cacheWrite === undefined) return undefined;
  return makeUsage({
    inputTokens: (input ?? 0) + (cacheRead ?? 0) + (cacheWrite ?? 0),
    outputTokens: output ?? 0,
    cachedInputTokens: cacheRead ?? 0,
    cacheCreationInputTokens: cacheWrite ?? 0,
  });
}
