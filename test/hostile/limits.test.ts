/**
 * Unit level for the guards the hostile suite relies on: the non-recursive JSON depth check, the tokenizer's
 * bounded runs (one huge "word" must neither trap the WASM module nor go quadratic). The scrubbing of
 * credentials has its own tests (test/core/secret-scrubber.test.ts).
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { nestsDeeperThan } from '../../src/core/json.js';
import { encodeCount, encoderFor, MAX_RUN_CHARS } from '../../src/costs/tokenizer.js';

const bytes = (text: string) => Buffer.from(text, 'utf8');

describe('nestsDeeperThan', () => {
  it('counts arrays and objects, and allows exactly the limit', () => {
    assert.equal(nestsDeeperThan(bytes('{"a":[[1]]}'), 3), false);
    assert.equal(nestsDeeperThan(bytes('{"a":[[[1]]]}'), 3), true);
    assert.equal(nestsDeeperThan(bytes('[]'), 1), false);
    assert.equal(nestsDeeperThan(bytes('1'), 0), false);
  });

  it('ignores brackets inside strings, escaped quotes included', () => {
    assert.equal(nestsDeeperThan(bytes(`{"a":"${'['.repeat(500)}"}`), 2), false);
    assert.equal(nestsDeeperThan(bytes(`{"a":"\\"${'{'.repeat(500)}\\\\"}`), 2), false);
    assert.equal(nestsDeeperThan(bytes(`{"a":"\\\\",${'['.repeat(5)}`), 3), true, 'an escaped backslash closes nothing');
  });

  it('handles 100k levels (and unbalanced input) in one pass without recursion', () => {
    assert.equal(nestsDeeperThan(bytes('['.repeat(100_000) + ']'.repeat(100_000)), 128), true);
    assert.equal(nestsDeeperThan(bytes(']'.repeat(100_000) + '['.repeat(100)), 128), false);
    assert.equal(nestsDeeperThan(bytes('{"a":'.repeat(129)), 128), true);
  });
});

describe('encodeCount with hostile text', () => {
  it('prose (no run longer than MAX_RUN_CHARS) counts exactly as one tiktoken call', () => {
    const prose = 'Budgets hold when every token is charged, even in naïve café prose. '.repeat(2000);
    for (const encoding of ['cl100k_base', 'o200k_base'] as const) {
      assert.equal(encodeCount(encoding, prose), encoderFor(encoding).encode_ordinary(prose).length);
    }
  });

  it('one 2M-character "word" is counted (it used to trap the WASM module), as the sum of bounded slices', () => {
    const word = 'z'.repeat(2_000_000);
    const slice = encoderFor('cl100k_base').encode_ordinary('z'.repeat(MAX_RUN_CHARS)).length;
    assert.equal(encodeCount('cl100k_base', word), slice * (2_000_000 / MAX_RUN_CHARS));
    assert.ok(encodeCount('o200k_base', ' '.repeat(1_000_000)) > 0);
  });

  it('long runs of any class are cut, never inside a surrogate pair', () => {
    for (const text of ['😀'.repeat(50_000), '\u3000'.repeat(50_000), ` \u0085`.repeat(25_000), '.\u0301'.repeat(25_000), '7'.repeat(50_000)]) {
      const count = encodeCount('cl100k_base', text);
      assert.ok(Number.isInteger(count) && count > 0, `${JSON.stringify(text.slice(0, 4))}: ${count}`);
    }
    // A cut inside a pair would turn both halves into U+FFFD and change the count of a surrogate-only text.
    const emoji = '😀'.repeat(MAX_RUN_CHARS);
    assert.equal(encodeCount('o200k_base', emoji), 2 * encodeCount('o200k_base', '😀'.repeat(MAX_RUN_CHARS / 2)));
  });

  it('a cut changes the count of a long base64 blob by about one token per cut', () => {
    const blob = Buffer.alloc(30_000, 7).toString('base64');
    const exact = encoderFor('cl100k_base').encode_ordinary(blob).length;
    const bounded = encodeCount('cl100k_base', blob);
    assert.ok(Math.abs(bounded - exact) <= Math.ceil(blob.length / MAX_RUN_CHARS) + 1, `${bounded} vs ${exact}`);
  });
});
