import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { CostConfig } from '../../src/config/schema.js';
import {
  buildPlan,
  countOutputTokens,
  createTokenCounter,
  estimateInputTokens,
  estimateReserve,
  expectedOutputTokens,
  reservedByKey,
  settle,
  tokenizerFamily,
} from '../../src/costs/index.js';
import { CALIBRATION_CHARS, encodeCount, EXACT_CHARS_PER_ADD, PENDING_CHARS, TextTokenTally } from '../../src/costs/tokenizer.js';

const reserveConfig = { outputFraction: 0.25, defaultOutputTokens: 256 };
const scope = { model: 'gpt-4o', backend: 'openai' };

function cost(entry: Partial<CostConfig> & Pick<CostConfig, 'metadataKey' | 'type'>): CostConfig {
  return { reserve: false, ...entry };
}

describe('tokenizer family', () => {
  it('maps model names to encodings and families', () => {
    const cases: Record<string, string> = {
      'gpt-4o': 'openai-o200k',
      'gpt-4o-mini-2024-07-18': 'openai-o200k',
      'gpt-4.1-nano': 'openai-o200k',
      'gpt-5': 'openai-o200k',
      o1: 'openai-o200k',
      'o3-mini': 'openai-o200k',
      'o4-mini': 'openai-o200k',
      'openai/gpt-4o': 'openai-o200k',
      'gpt-4-turbo': 'openai-cl100k',
      'gpt-4': 'openai-cl100k',
      'gpt-3.5-turbo': 'openai-cl100k',
      'gpt-35-turbo': 'openai-cl100k',
      'text-embedding-3-small': 'openai-cl100k',
      'claude-sonnet-4-5': 'claude',
      'claude-sonnet-4-20250514': 'claude',
      'claude-3-5-sonnet-20240620': 'claude',
      'anthropic.claude-3-haiku-20240307-v1:0': 'claude',
      'claude-opus-4-7': 'claude-4.7+',
      'claude-sonnet-5': 'claude-4.7+',
      'gemini-2.5-pro': 'gemini',
      'models/gemini-1.5-flash': 'gemini',
      'meta.llama3-70b-instruct-v1:0': 'llama',
      'mistral-large-2407': 'mistral',
      'qwen2.5-72b': 'other',
    };
    for (const [model, family] of Object.entries(cases)) assert.equal(tokenizerFamily(model), family, model);
  });
});

describe('estimateInputTokens', () => {
  it('OpenAI chat follows the published recipe exactly', () => {
    const body = { messages: [{ role: 'user', content: 'Hello there' }] };
    // 3 per message + role + content + 3 priming
    const expected = 3 + encodeCount('o200k_base', 'user') + encodeCount('o200k_base', 'Hello there') + 3;
    assert.equal(estimateInputTokens('gpt-4o', body), expected);
  });

  it('counts system prompts, names, tool definitions, tool calls and tool results', () => {
    const base = { messages: [{ role: 'user', content: 'What is the weather in Paris?' }] };
    const baseCount = estimateInputTokens('gpt-4o', base);
    const withToolCall = {
      messages: [
        ...base.messages,
        { role: 'assistant', content: null, tool_calls: [{ id: 'c1', type: 'function', function: { name: 'get_weather', arguments: '{"city":"Paris"}' } }] },
        { role: 'tool', tool_call_id: 'c1', content: '{"temperature": 21, "sky": "clear"}' },
      ],
    };
    assert.ok(estimateInputTokens('gpt-4o', withToolCall) > baseCount + 20);
    const withTools = { ...base, tools: [{ type: 'function', function: { name: 'get_weather', description: 'Weather.', parameters: { type: 'object', properties: { city: { type: 'string' } } } } }] };
    assert.ok(estimateInputTokens('gpt-4o', withTools) > baseCount + 10);
  });

  it('counts Anthropic Messages bodies: system blocks, tool_use, tool_result, tools with input_schema', () => {
    const base = { system: [{ type: 'text', text: 'You are terse.' }], messages: [{ role: 'user', content: 'Weather in Paris?' }] };
    const baseCount = estimateInputTokens('claude-sonnet-4-5', base);
    const full = {
      ...base,
      tools: [{ name: 'get_weather', description: 'Get the weather', input_schema: { type: 'object', properties: { city: { type: 'string' } } } }],
      messages: [
        ...base.messages,
        { role: 'assistant', content: [{ type: 'tool_use', id: 't1', name: 'get_weather', input: { city: 'Paris' } }] },
        { role: 'user', content: [{ type: 'tool_result', tool_use_id: 't1', content: [{ type: 'text', text: 'Sunny, 21 degrees' }] }] },
      ],
    };
    // the tool-use system prompt alone is 346 tokens
    assert.ok(estimateInputTokens('claude-sonnet-4-5', full) > baseCount + 346 + 20);
  });

  it('images count a flat estimate per part (85 with detail low on OpenAI)', () => {
    const text = { messages: [{ role: 'user', content: [{ type: 'text', text: 'Describe' }] }] };
    const high = { messages: [{ role: 'user', content: [{ type: 'text', text: 'Describe' }, { type: 'image_url', image_url: { url: 'data:image/png;base64,AAAA' } }] }] };
    const low = { messages: [{ role: 'user', content: [{ type: 'text', text: 'Describe' }, { type: 'image_url', image_url: { url: 'x', detail: 'low' } }] }] };
    const textCount = estimateInputTokens('gpt-4o', text);
    assert.equal(estimateInputTokens('gpt-4o', high) - textCount, 765);
    assert.equal(estimateInputTokens('gpt-4o', low) - textCount, 85);
    assert.equal(estimateInputTokens('gemini-2.0-flash', high) - estimateInputTokens('gemini-2.0-flash', text), 258);
  });

  it('completions and embeddings inputs: strings, lists and token arrays (counted exactly)', () => {
    assert.equal(estimateInputTokens('gpt-3.5-turbo-instruct', { prompt: 'Say this is a test' }), encodeCount('cl100k_base', 'Say this is a test'));
    assert.equal(estimateInputTokens('text-embedding-3-small', { input: [[1, 2, 3], [4, 5]] }), 5);
    assert.equal(
      estimateInputTokens('text-embedding-3-small', { input: ['alpha beta', 'gamma'] }),
      encodeCount('cl100k_base', 'alpha beta') + encodeCount('cl100k_base', 'gamma'),
    );
  });

  it('non-OpenAI families scale the cl100k count by their factor', () => {
    const long = 'The committee reviewed the quarterly budget and approved the revised plan. '.repeat(50);
    const raw = encodeCount('cl100k_base', long);
    assert.equal(estimateInputTokens('claude-sonnet-4-5', { prompt: long }), Math.round(raw * 1.2));
    assert.equal(estimateInputTokens('claude-opus-4-7', { prompt: long }), Math.round(raw * 1.56));
  });

  it('malformed bodies never throw', () => {
    for (const body of [{}, { messages: 'x' }, { messages: [null, 3, { content: { nested: true } }] }, { tools: 'x', messages: [] }, { input: {} }]) {
      assert.equal(typeof estimateInputTokens('gpt-4o', body as Record<string, unknown>), 'number');
    }
  });
});

describe('bounded counting', () => {
  it('beyond the exact budget, text is extrapolated from the observed ratio', () => {
    const tally = new TextTokenTally('cl100k_base', 1000);
    const text = 'hello world '.repeat(500);
    tally.add(text);
    const exact = encodeCount('cl100k_base', text);
    assert.ok(Math.abs(tally.raw - exact) / exact < 0.02, `${tally.raw} vs ${exact}`);
  });
});

describe('reserve and settle', () => {
  const plan = buildPlan(
    [
      cost({ metadataKey: 'total', type: 'TotalToken', reserve: true }),
      cost({ metadataKey: 'weighted', type: 'CEL', cel: 'input_tokens + output_tokens * 4', reserve: true }),
      cost({ metadataKey: 'other_scope', type: 'TotalToken', reserve: true, models: ['gpt-4o-mini'] }),
      cost({ metadataKey: 'plain', type: 'InputToken' }),
    ],
    scope,
  );
  const body = { messages: [{ role: 'user', content: 'Write a haiku about budgets.' }], max_tokens: 400 };

  it('expected output: fraction of max_completion_tokens ?? max_tokens, default otherwise, times n, 0 for embeddings', () => {
    assert.equal(expectedOutputTokens({ ...scope, body }, reserveConfig), 100);
    assert.equal(expectedOutputTokens({ ...scope, body: { ...body, max_completion_tokens: 1000 } }, reserveConfig), 250);
    assert.equal(expectedOutputTokens({ ...scope, body: { messages: [] } }, reserveConfig), 256);
    assert.equal(expectedOutputTokens({ ...scope, body: { ...body, n: 3 } }, reserveConfig), 300);
    assert.equal(expectedOutputTokens({ model: 'text-embedding-3-small', backend: 'openai', body: { input: 'x' } }, reserveConfig), 0);
    assert.equal(expectedOutputTokens({ ...scope, body: { input: 'x' }, operation: 'embeddings' }, reserveConfig), 0);
  });

  it('writes <key>_reserve for reserve entries of the scope (formula at the estimate) and 0 for other scopes', () => {
    const input = estimateInputTokens('gpt-4o', body);
    const reserves = estimateReserve(plan, { ...scope, body }, reserveConfig);
    assert.deepEqual(reserves, { total_reserve: input + 100, weighted_reserve: input + 400, other_scope_reserve: 0 });
  });

  it('an estimate never passes the token ceiling (a huge n or max_tokens cannot reserve 1e300 tokens)', () => {
    const reserves = estimateReserve(plan, { ...scope, body: { ...body, n: 1e300 }, tokenCeiling: 1e9 }, reserveConfig);
    // The output estimate stops at the ceiling, and so does each reserved value (a formula cannot multiply past it).
    assert.equal(reserves['total_reserve'], 1e9);
    assert.equal(reserves['weighted_reserve'], 1e9);
  });

  it('writes nothing when no entry reserves', () => {
    const noReserve = buildPlan([cost({ metadataKey: 'plain', type: 'InputToken' })], scope);
    assert.deepEqual(estimateReserve(noReserve, { ...scope, body }, reserveConfig), {});
  });

  it('settle charges max(0, actual - reserved) for reserved keys and actual otherwise', () => {
    const reserved = reservedByKey({ total_reserve: 500, weighted_reserve: 100 });
    assert.deepEqual(reserved, { total: 500, weighted: 100 });
    assert.deepEqual(settle({ total: 420, weighted: 900, plain: 30 }, reserved), { total: 0, weighted: 800, plain: 30 });
    assert.deepEqual(settle({ total: 420 }, undefined), { total: 420 });
  });
});

describe('output counting', () => {
  const text = 'Budgets hold when every token is charged. '.repeat(400) + 'Fin.';

  it('countOutputTokens is an exact tiktoken count for OpenAI models', () => {
    assert.equal(countOutputTokens('gpt-4o', text), encodeCount('o200k_base', text));
    assert.equal(countOutputTokens('claude-sonnet-4-5', text), Math.round(encodeCount('cl100k_base', text) * 1.2));
  });

  it('counts a huge single delivery with bounded work: exactly up to EXACT_CHARS_PER_ADD, extrapolated after', () => {
    const huge = text.repeat(Math.ceil(2_000_000 / text.length));
    const counter = createTokenCounter('gpt-4o');
    counter.add('Hello there. ');
    counter.add(huge);
    const exact = encodeCount('o200k_base', `Hello there. ${huge}`);
    assert.ok(huge.length > EXACT_CHARS_PER_ADD * 10);
    assert.ok(Math.abs(counter.tokens - exact) <= Math.ceil(exact * 0.02), `${counter.tokens} vs ${exact}`);
    // Small deliveries after it are still counted exactly on top.
    counter.add(' and more words');
    assert.ok(counter.tokens > 0);
  });

  it('the incremental counter matches a one-shot count of the concatenated text', () => {
    const counter = createTokenCounter('gpt-4o');
    for (let index = 0; index < text.length; index += 7) counter.add(text.slice(index, index + 7));
    const exact = encodeCount('o200k_base', text);
    assert.ok(Math.abs(counter.tokens - exact) <= Math.ceil(exact * 0.01), `${counter.tokens} vs ${exact}`);
  });

  it('reading the exact count as the text grows (running usage) still matches a one-shot count', () => {
    const counter = createTokenCounter('gpt-4o');
    const reads: number[] = [];
    for (let index = 0; index < text.length; index += 7) {
      counter.add(text.slice(index, index + 7));
      if (index % 700 === 0) reads.push(counter.tokens);
    }
    const exact = encodeCount('o200k_base', text);
    assert.ok(Math.abs(counter.tokens - exact) <= Math.ceil(exact * 0.01), `${counter.tokens} vs ${exact}`);
    assert.deepEqual([...reads].sort((a, b) => a - b), reads, 'the count only grows');
  });

  it('the running estimate costs no tokenizer work for short text and is calibrated on the first characters after that', () => {
    const short = createTokenCounter('gpt-4o');
    short.add('Hello there, ');
    short.add('gateway.');
    // 21 characters at the default 0.3 tokens per character (the exact count, 5, is what `tokens` gives).
    assert.equal(short.estimate, 7);
    assert.equal(short.tokens, encodeCount('o200k_base', 'Hello there, gateway.'));
    const claude = createTokenCounter('claude-sonnet-4-5');
    claude.add('Hello there, gateway.');
    assert.equal(claude.estimate, Math.round(7 * 1.2), 'the model family factor applies to the default ratio too');

    // English prose and text without spaces (about one token per character) are both estimated from their own ratio.
    const cjk = '\u6f22\u5b57\u306e\u6587\u7ae0\u3067\u3059\u3002'.repeat(300);
    for (const [model, sample, encoding] of [['gpt-4o', text, 'o200k_base'], ['claude-sonnet-4-5', cjk, 'cl100k_base']] as const) {
      const counter = createTokenCounter(model);
      for (let index = 0; index < sample.length; index += 5) counter.add(sample.slice(index, index + 5));
      assert.ok(sample.length > CALIBRATION_CHARS * 4);
      const exact = counter.tokens;
      const fresh = createTokenCounter(model);
      for (let index = 0; index < sample.length; index += 5) fresh.add(sample.slice(index, index + 5));
      assert.ok(Math.abs(fresh.estimate - exact) <= Math.ceil(exact * 0.05), `${model}: estimate ${fresh.estimate} vs exact ${exact}`);
      assert.ok(Math.abs(exact - Math.round(encodeCount(encoding, sample) * (model === 'gpt-4o' ? 1 : 1.2))) <= Math.ceil(exact * 0.01));
    }
  });

  it('text without token boundaries, more than PENDING_CHARS of it, is counted close to a one-shot count', () => {
    const blob = 'x'.repeat(PENDING_CHARS * 3);
    const counter = createTokenCounter('gpt-4o');
    for (let index = 0; index < blob.length; index += 100) counter.add(blob.slice(index, index + 100));
    // Counted in slices as it arrived: the exact count then encodes little, and stays close to a one-shot count.
    const exact = encodeCount('o200k_base', blob);
    assert.ok(Math.abs(counter.tokens - exact) <= Math.ceil(exact * 0.02) + 4, `${counter.tokens} vs ${exact}`);
    assert.ok(counter.estimate >= counter.tokens * 0.95);
  });
});
