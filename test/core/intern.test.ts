/**
 * Interned short strings (src/core/intern.ts): whatever the table holds (hits, slots taken by other strings, bytes
 * that share a prefix), the string read is always the bytes' own Latin-1 text; non-ASCII bytes with `asciiOnly`
 * and sequences over the length bound are left to the caller.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { INTERN_MAX_BYTES, internLatin1 } from '../../src/core/intern.js';
import { readHeaderMap } from '../../src/server/headers.js';
import { createRandom } from '../helpers/chunking.js';

describe('internLatin1', () => {
  it('reads every byte sequence as its Latin-1 text, over 20,000 random reads that fill and reuse the table', () => {
    const random = createRandom(7);
    // A small alphabet and short lengths: many repeats, many near misses, and slots shared by different strings.
    const pool = Array.from({ length: 3000 }, () => Buffer.from(Array.from({ length: Math.floor(random() * (INTERN_MAX_BYTES + 1)) }, () => [0x61, 0x62, 0x2d, 0x3a, 0xe9, 0x00][Math.floor(random() * 6)] as number)));
    for (let round = 0; round < 20_000; round += 1) {
      const bytes = pool[Math.floor(random() * pool.length)] as Buffer;
      // Inside a larger buffer, as the codec reads it.
      const framed = Buffer.concat([Buffer.from('xx'), bytes, Buffer.from('yy')]);
      assert.equal(internLatin1(framed, 2, 2 + bytes.length), bytes.toString('latin1'));
    }
  });

  it('leaves non-ASCII bytes to the caller when asked for ASCII, and sequences over the bound always', () => {
    assert.equal(internLatin1(Buffer.from('content-type'), 0, 12, true), 'content-type');
    assert.equal(internLatin1(Buffer.from('caf\u00e9', 'utf8'), 0, 5, true), undefined);
    assert.equal(internLatin1(Buffer.from('caf\u00e9', 'latin1'), 0, 4), 'caf\u00e9');
    const long = Buffer.alloc(INTERN_MAX_BYTES + 1, 0x61);
    assert.equal(internLatin1(long, 0, long.length), undefined);
    assert.equal(internLatin1(long, 0, INTERN_MAX_BYTES), 'a'.repeat(INTERN_MAX_BYTES));
  });

  it('header maps read short and long values, repeated or not, as their bytes', () => {
    const value = (text: string) => ({ key: 'x-test', raw_value: Buffer.from(text, 'latin1') });
    for (const text of ['application/json', 'application/jsoN', 'a'.repeat(INTERN_MAX_BYTES), 'b'.repeat(INTERN_MAX_BYTES + 5), '\u00ff\u0080ok', 'application/json']) {
      assert.equal(readHeaderMap({ headers: [value(text)] }).get('x-test'), text);
    }
  });
});
