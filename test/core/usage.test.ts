/** Usage sanity at the source: tokenCount flags invalid upstream values, makeUsage and clampUsage clamp and mark them. */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { clampUsage, makeUsage, tokenCount } from '../../src/core/usage.js';
import { convertOpenAIUsage } from '../../src/translators/openai/convert-openai-usage.js';
import { readAnthropicUsage, toTokenUsage } from '../../src/translators/anthropic/convert-usage.js';
import { readBedrockUsage } from '../../src/translators/bedrock/convert-usage.js';
import { convertUsage } from '../../src/translators/gemini/convert-usage.js';

describe('tokenCount', () => {
  it('absent is undefined; a non-negative number is kept as sent; anything else is NaN (flagged later)', () => {
    assert.equal(tokenCount(undefined), undefined);
    assert.equal(tokenCount(null), undefined);
    assert.equal(tokenCount(0), 0);
    assert.equal(tokenCount(12), 12);
    assert.equal(tokenCount(1e308), 1e308);
    assert.equal(tokenCount(2.5), 2.5);
    for (const value of [-1, '12', true, {}, [], Number.NaN]) assert.ok(Number.isNaN(tokenCount(value)), JSON.stringify(value));
  });
});

describe('makeUsage', () => {
  it('keeps valid counts and adds no flag', () => {
    const usage = makeUsage({ inputTokens: 7, outputTokens: 3 });
    assert.deepEqual(usage, { inputTokens: 7, outputTokens: 3, totalTokens: 10, cachedInputTokens: 0, cacheCreationInputTokens: 0, reasoningTokens: 0 });
  });

  it('clamps NaN and negatives to 0, floors fractions, caps at the largest safe integer, and marks the usage', () => {
    const usage = makeUsage({ inputTokens: Number.NaN, outputTokens: 2.7, cachedInputTokens: -4, reasoningTokens: 1e308 });
    assert.deepEqual(usage, {
      inputTokens: 0,
      outputTokens: 2,
      totalTokens: 0,
      cachedInputTokens: 0,
      cacheCreationInputTokens: 0,
      reasoningTokens: Number.MAX_SAFE_INTEGER,
      clamped: true,
    });
  });
});

describe('clampUsage', () => {
  it('applies a ceiling and reports whether anything changed', () => {
    const fine = makeUsage({ inputTokens: 5, outputTokens: 5 });
    assert.deepEqual(clampUsage(fine, 1000), { usage: fine, clamped: false });
    const huge = makeUsage({ inputTokens: 5e12, outputTokens: 1 });
    const result = clampUsage(huge, 1e9);
    assert.equal(result.clamped, true);
    assert.equal(result.usage.inputTokens, 1e9);
    assert.equal(result.usage.totalTokens, 1e9);
    assert.equal(result.usage.outputTokens, 1);
    assert.equal(huge.inputTokens, 5e12, 'the input is not modified');
  });

  it('keeps an earlier clamp flag even when the numbers are now in range', () => {
    const flagged = makeUsage({ inputTokens: -1 });
    assert.equal(clampUsage(flagged, 1e9).clamped, true);
  });
});

describe('every provider usage reader flags out-of-range counts', () => {
  const cases = [
    { name: 'OpenAI 1e308', usage: convertOpenAIUsage({ prompt_tokens: 1e308, completion_tokens: 3, total_tokens: 1e308 }) },
    { name: 'OpenAI negative', usage: convertOpenAIUsage({ prompt_tokens: -5, completion_tokens: 3 }) },
    { name: 'OpenAI string', usage: convertOpenAIUsage({ prompt_tokens: '12', completion_tokens: 3 }) },
    { name: 'Anthropic', usage: toTokenUsage(readAnthropicUsage({ input_tokens: 1e308, output_tokens: 2 })) },
    { name: 'Anthropic negative cache read', usage: toTokenUsage(readAnthropicUsage({ input_tokens: 10, cache_read_input_tokens: -3, output_tokens: 2 })) },
    { name: 'Bedrock', usage: readBedrockUsage({ inputTokens: 'x', outputTokens: 2 }) },
    { name: 'Gemini', usage: convertUsage({ promptTokenCount: -1, candidatesTokenCount: 2.5 }) },
  ];
  for (const item of cases) {
    it(item.name, () => {
      assert.ok(item.usage, 'usage is reported, not dropped');
      assert.equal(item.usage.clamped, true);
      for (const value of [item.usage.inputTokens, item.usage.outputTokens, item.usage.totalTokens, item.usage.cachedInputTokens, item.usage.reasoningTokens]) {
        assert.ok(Number.isSafeInteger(value) && value >= 0, `${item.name}: ${value}`);
      }
    });
  }
});
