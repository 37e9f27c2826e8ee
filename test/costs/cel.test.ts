import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { parseConfig } from '../../src/config/load.js';
import { compileCel, evaluateCel, type CelVariables } from '../../src/costs/index.js';
import { VALIDATORS } from '../helpers/components.js';

const usage: CelVariables = {
  model: 'gpt-4o',
  backend: 'openai',
  input_tokens: 100,
  cached_input_tokens: 40,
  cache_creation_input_tokens: 10,
  output_tokens: 30,
  reasoning_tokens: 5,
  total_tokens: 130,
};

function compiled(expression: string) {
  const result = compileCel(expression);
  assert.ok(result.ok, result.ok ? '' : result.error);
  return result.compiled;
}

function configWithCel(cel: string): string {
  return [
    'backends:',
    '  - {name: openai, schema: OpenAI, endpoint: "https://api.openai.com"}',
    'models:',
    '  - {name: gpt-4o, backends: [{backend: openai}]}',
    'costs:',
    '  - {metadataKey: llm_total_token, type: TotalToken}',
    `  - {metadataKey: weighted, type: CEL, cel: ${JSON.stringify(cel)}}`,
  ].join('\n');
}

describe('CEL cost expressions', () => {
  it('evaluates every variable, int and double results', () => {
    const all = compiled(
      'input_tokens + cached_input_tokens + cache_creation_input_tokens + output_tokens + reasoning_tokens + total_tokens',
    );
    assert.equal(evaluateCel(all, usage, 'k'), 100 + 40 + 10 + 30 + 5 + 130);
    const byModel = compiled('model == "gpt-4o" && backend == "openai" ? output_tokens * 4 : input_tokens');
    assert.equal(evaluateCel(byModel, usage, 'k'), 120);
    assert.equal(evaluateCel(byModel, { ...usage, backend: 'azure' }, 'k'), 100);
    const cachedDiscount = compiled('double(input_tokens - cached_input_tokens) + double(cached_input_tokens) * 0.25');
    assert.equal(evaluateCel(cachedDiscount, usage, 'k'), 70);
    assert.equal(evaluateCel(compiled('uint(total_tokens) * 2u'), usage, 'k'), 260);
  });

  it('clamps negative to 0 and floors fractions, reporting each to the listener', () => {
    const seen: string[] = [];
    const onClamp = (key: string, reason: string) => void seen.push(`${key}:${reason}`);
    assert.equal(evaluateCel(compiled('output_tokens - input_tokens'), usage, 'neg', onClamp), 0);
    assert.equal(evaluateCel(compiled('double(output_tokens) / 4.0'), usage, 'frac', onClamp), 7);
    assert.equal(evaluateCel(compiled('input_tokens / (output_tokens - 30)'), { ...usage }, 'err', onClamp), 0);
    assert.equal(evaluateCel(compiled('input_tokens'), usage, 'fine', onClamp), 100);
    assert.deepEqual(seen, ['neg:negative', 'frac:non_integer', 'err:error']);
  });

  it('caps a result above the ceiling (limits.maxTokenCount), reporting too_large', () => {
    const seen: string[] = [];
    const onClamp = (key: string, reason: string) => void seen.push(`${key}:${reason}`);
    assert.equal(evaluateCel(compiled('input_tokens * 1000'), usage, 'big', onClamp, 50_000), 50_000);
    assert.equal(evaluateCel(compiled('double(input_tokens) * 1e250'), usage, 'huge', onClamp, 1_000_000_000), 1_000_000_000);
    assert.equal(evaluateCel(compiled('input_tokens * 1000'), usage, 'within', onClamp, 100_000), 100_000);
    assert.equal(evaluateCel(compiled('input_tokens * 1000'), usage, 'below', onClamp, 100_001), 100_000);
    assert.deepEqual(seen, ['big:too_large', 'huge:too_large']);
  });

  it('a throwing listener does not break evaluation', () => {
    const throwing = () => {
      throw new Error('boom');
    };
    assert.equal(evaluateCel(compiled('output_tokens - input_tokens'), usage, 'neg', throwing), 0);
  });

  it('rejects parse errors, unknown variables, non-numeric results and formulas that fail on zero usage', () => {
    for (const [expression, message] of [
      ['input_tokens +', /Unexpected/],
      ['prompt_tokens * 2', /Unknown variable: prompt_tokens/],
      ['route_name == "x" ? 1 : 2', /Unknown variable/],
      ['model', /must evaluate to a number/],
      ['input_tokens > 3', /must evaluate to a number/],
      ['input_tokens * 1.5', /no such overload/],
      ['output_tokens / input_tokens', /all-zero usage.*division by zero/],
    ] as const) {
      const result = compileCel(expression);
      assert.equal(result.ok, false, expression);
      if (!result.ok) assert.match(result.error, message, expression);
    }
  });

  it('caches compiled programs per expression string', () => {
    const first = compileCel('total_tokens * 3');
    const second = compileCel('total_tokens * 3');
    assert.ok(first.ok && second.ok);
    assert.equal(first.compiled, second.compiled);
  });

  it('a bad expression is a config error with the cost path', async () => {
    const bad = await parseConfig(configWithCel('input_tokens * unknown_var'), 'test.yaml', {}, VALIDATORS);
    assert.equal(bad.ok, false);
    if (!bad.ok) {
      assert.equal(bad.errors.length, 1);
      assert.match(bad.errors[0] ?? '', /^costs\[1\]\.cel: .*weighted.*Unknown variable: unknown_var/);
    }
    const good = await parseConfig(configWithCel('input_tokens + output_tokens * 4'), 'test.yaml', {}, VALIDATORS);
    assert.equal(good.ok, true, good.ok ? '' : good.errors.join('\n'));
  });
});
