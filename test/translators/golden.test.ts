/**
 * Runs every fixture under test/fixtures/<pair>/<case>/ through its registered translator and compares the result
 * with the golden files. Stream fixtures also run byte by byte and at seeded random cuts: output bytes, usage and
 * metadata must be identical to the whole run. UPDATE_GOLDEN=1 rewrites the goldens (review the diff).
 */
import assert from 'node:assert/strict';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { createRandom, splitEvery, splitRandom } from '../helpers/chunking.js';
import { listFixtureCases, runFixture, upstreamBodyOf, type FixtureCase } from '../helpers/fixtures.js';

const update = process.env.UPDATE_GOLDEN === '1';
/** GOLDEN_ONLY=pair[,pair/case...] limits the run (and UPDATE_GOLDEN) to matching cases. */
const only = (process.env.GOLDEN_ONLY ?? '').split(',').filter((part) => part !== '');
const RANDOM_SPLITS = 5;

/** Golden names the runner owns; a stale one left over from an older shape of the case is reported. */
const GOLDEN_NAMES = [
  'upstream-request.json',
  'upstream-request.txt',
  'upstream-request.meta.json',
  'request-error.json',
  'client-response.json',
  'client-stream.sse',
  'usage.json',
  'error.json',
  'response.meta.json',
];

/** Compared when present, created by UPDATE_GOLDEN=1: {responseModel, deliveredText | passthrough, error?, warnings?}. */
const OPTIONAL_GOLDENS = new Set(['response.meta.json']);

function checkGoldens(fixture: FixtureCase, files: Record<string, string>): void {
  for (const [name, content] of Object.entries(files)) {
    const path = join(fixture.dir, name);
    if (update) {
      if (!existsSync(path) || readFileSync(path, 'utf8') !== content) writeFileSync(path, content);
      continue;
    }
    if (OPTIONAL_GOLDENS.has(name) && !existsSync(path)) continue;
    assert.ok(existsSync(path), `${fixture.pair}/${fixture.name}: missing golden ${name} (run with UPDATE_GOLDEN=1 and review)`);
    assert.equal(content, readFileSync(path, 'utf8'), `${fixture.pair}/${fixture.name}: ${name} differs from the golden`);
  }
  for (const name of GOLDEN_NAMES) {
    if (!(name in files) && existsSync(join(fixture.dir, name))) {
      assert.fail(`${fixture.pair}/${fixture.name}: stale golden ${name} is no longer produced; delete it`);
    }
  }
}

/** Damaged copies of a stream: truncated mid-way, seeded byte flips, a broken SSE event spliced in. */
function corruptions(bytes: Uint8Array): [string, Uint8Array][] {
  const random = createRandom(bytes.length);
  const flipped = bytes.slice();
  for (let count = 0; count < 12 && flipped.length > 0; count += 1) {
    const index = Math.floor(random() * flipped.length);
    flipped[index] = (flipped[index] as number) ^ (1 + Math.floor(random() * 255));
  }
  const middle = Math.floor(bytes.length / 2);
  const spliced = new Uint8Array([...bytes.subarray(0, middle), ...new TextEncoder().encode('\n\ndata: {"broken\n\n'), ...bytes.subarray(middle)]);
  return [
    ['truncated', bytes.slice(0, middle)],
    ['truncated by one byte', bytes.slice(0, Math.max(0, bytes.length - 1))],
    ['flipped bytes', flipped],
    ['spliced broken event', spliced],
  ];
}

const cases = listFixtureCases().filter(
  (fixture) => only.length === 0 || only.some((part) => `${fixture.pair}/${fixture.name}`.includes(part)),
);

describe('golden fixtures', () => {
  it('finds fixture directories', () => {
    assert.ok(cases.length > 0, 'no fixtures under test/fixtures');
  });

  for (const fixture of cases) {
    it(`${fixture.pair}/${fixture.name}`, async () => {
      const whole = await runFixture(fixture);
      const upstream = upstreamBodyOf(fixture);
      if (upstream?.kind === 'stream' && 'client-stream.sse' in whole) {
        const splittings: [string, (bytes: Uint8Array) => Uint8Array[]][] = [['every byte', (bytes) => splitEvery(bytes, 1)]];
        for (let seed = 1; seed <= RANDOM_SPLITS; seed += 1) {
          splittings.push([`random cuts (seed ${seed})`, (bytes) => splitRandom(bytes, seed, 4 * seed)]);
        }
        for (const [name, split] of splittings) {
          assert.deepStrictEqual(await runFixture(fixture, split), whole, `${fixture.pair}/${fixture.name}: ${name} differs from the whole stream`);
        }
      }
      checkGoldens(fixture, whole);
      if (upstream?.kind === 'stream' && fixture.config.responseEncoding === undefined) {
        // damaged upstream streams must never make a translator throw
        for (const [name, damaged] of corruptions(upstream.bytes)) {
          for (const split of [(bytes: Uint8Array) => [bytes], (bytes: Uint8Array) => splitRandom(bytes, 7, 8)]) {
            await assert.doesNotReject(runFixture(fixture, () => split(damaged)), `${fixture.pair}/${fixture.name}: ${name}`);
          }
        }
      }
    });
  }
});
