/**
 * The outline of a JSON body (src/core/json-outline.ts) is pinned to JSON.parse of the whole body: it parses exactly
 * when the body does, and parses to the body's structure with the long nested strings cut to "".
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { freeOfControlBytes, outlineJson } from '../../src/core/json-outline.js';
import { createRandom } from '../helpers/chunking.js';

const CUT = 64;

function parses(text: string | undefined): boolean {
  if (text === undefined) return false;
  try {
    JSON.parse(text);
    return true;
  } catch {
    return false;
  }
}

/** JSON.parse's view of the body with what the outline cuts replaced by "" (strings built long or short, never near CUT). */
function expectedOutline(value: unknown, depth: number): unknown {
  if (typeof value === 'string') return depth >= 2 && Buffer.byteLength(JSON.stringify(value)) - 2 >= CUT ? '' : value;
  if (Array.isArray(value)) return value.map((item) => expectedOutline(item, depth + 1));
  if (value !== null && typeof value === 'object') return Object.fromEntries(Object.entries(value).map(([key, item]) => [key, expectedOutline(item, depth + 1)]));
  return value;
}

const long = (seed: string) => `${seed} ${'lorem ipsum dolor sit amet '.repeat(8)}`;

const VALID: unknown[] = [
  { model: 'gpt-4o', messages: [{ role: 'user', content: long('hello') }] },
  { model: long('a top-level value is never cut'), stream: true, stream_options: { include_usage: true } },
  { model: 'm', messages: [{ role: 'user', content: [{ type: 'text', text: long('part') }, { type: 'image_url', image_url: { url: `data:image/png;base64,${'QUJD'.repeat(40)}` } }] }] },
  { model: 'm', tools: [{ type: 'function', function: { name: 'f', description: long('tool'), parameters: { type: 'object', properties: { [long('a long key is kept')]: { type: 'string' } } } } }] },
  { model: 'm', messages: [{ role: 'user', content: `${long('escapes')} "quoted" \\ back\\slash \n\t\r\b\f / \u0001 \u001f` }] },
  { model: 'm', messages: [{ role: 'user', content: `${long('unicode')} 漢字 😀 é ü \u2028 \u2029` }] },
  { model: 'm', input: [long('embedding input one'), long('two'), 'short'], max_tokens: 12, n: 2, temperature: 0.5 },
  { model: 'm', nested: [[[[long('deep')]]]], empty: {}, list: [], nothing: null, yes: true, no: false, number: -1.5e-3 },
];

describe('outlineJson', () => {
  it('parses to the body with its long nested strings cut to "" (top-level values and keys kept)', () => {
    for (const body of VALID) {
      for (const spacing of [undefined, 2]) {
        const text = JSON.stringify(body, null, spacing);
        const outline = outlineJson(Buffer.from(text), CUT);
        assert.ok(outline !== undefined, text.slice(0, 80));
        assert.deepEqual(JSON.parse(outline), expectedOutline(body, 0));
        assert.ok(outline.length < text.length || text.length < 400, 'something was cut');
      }
    }
  });

  it('keeps duplicate keys, so JSON.parse picks the same (last) one', () => {
    const text = `{"model":"a","messages":[{"content":"${'x'.repeat(100)}"}],"model":"b"}`;
    assert.equal(JSON.parse(outlineJson(Buffer.from(text), CUT) as string).model, 'b');
  });

  it('gives no outline for a byte-order mark (the decoder strips it; the whole parse decides)', () => {
    const text = JSON.stringify(VALID[0]);
    assert.equal(outlineJson(Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), Buffer.from(text)]), CUT), undefined);
  });

  it('a body with an invalid long string has no outline that parses', () => {
    const head = `{"model":"m","messages":[{"role":"user","content":"${'a'.repeat(200)}`;
    for (const bad of ['\n', '\u0000', '\u001f', '\t', '\\x', '\\u12G4', '\\u1Z', '\\a', '\\ ', '\\U0041', '\\\u0001']) {
      const text = `${head}${bad}${'b'.repeat(200)}"}]}`;
      assert.equal(parses(text), false, JSON.stringify(bad));
      assert.equal(parses(outlineJson(Buffer.from(text), CUT)), false, JSON.stringify(bad));
    }
    assert.equal(parses(outlineJson(Buffer.from(head), CUT)), false, 'unterminated');
    assert.equal(parses(outlineJson(Buffer.from(`${head}\\"}]}`), CUT)), false, 'a backslash escaping the closing quote');
  });

  it('random byte edits of valid bodies: the outline parses exactly when the body does', () => {
    const random = createRandom(20261207);
    const alphabet = ['"', '\\', '\n', '\u0001', '{', '}', '[', ']', ',', ':', 'u', '0', 'x', ' ', 'é'];
    let agreed = 0;
    for (let round = 0; round < 3000; round += 1) {
      const base = JSON.stringify(VALID[Math.floor(random() * VALID.length)]);
      let text = base;
      const edits = 1 + Math.floor(random() * 3);
      for (let edit = 0; edit < edits; edit += 1) {
        const at = Math.floor(random() * text.length);
        const char = alphabet[Math.floor(random() * alphabet.length)] as string;
        const mode = random();
        text = mode < 0.4 ? text.slice(0, at) + char + text.slice(at + 1) : mode < 0.8 ? text.slice(0, at) + char + text.slice(at) : text.slice(0, at) + text.slice(at + 1);
      }
      const outline = outlineJson(Buffer.from(text), CUT);
      assert.equal(parses(outline), parses(text), `round ${round}: ${JSON.stringify(text)}`);
      if (parses(text)) assert.deepEqual(JSON.parse(outline as string), expectedOutline(JSON.parse(text), 0));
      agreed += 1;
    }
    assert.equal(agreed, 3000);
  });

  it('reads a body with thousands of escapes, or one escape at its very end, in one pass', () => {
    const escapes = JSON.stringify({ model: 'm', messages: Array.from({ length: 2000 }, () => ({ role: 'user', content: 'line\\n'.repeat(40) })) });
    assert.deepEqual(JSON.parse(outlineJson(Buffer.from(escapes), CUT) as string).messages.length, 2000);
    const lateEscape = JSON.stringify({ model: 'm', messages: Array.from({ length: 20_000 }, () => ({ role: 'user', content: 'x'.repeat(70) })), tail: '\n' });
    assert.equal(JSON.parse(outlineJson(Buffer.from(lateEscape), CUT) as string).tail, '\n');
  });
});

describe('freeOfControlBytes', () => {
  it('agrees with a byte-by-byte check at every alignment and length', () => {
    const random = createRandom(7);
    const backing = Buffer.alloc(200);
    for (let round = 0; round < 4000; round += 1) {
      for (let index = 0; index < backing.length; index += 1) backing[index] = 0x20 + Math.floor(random() * 0xe0);
      if (random() < 0.5) backing[Math.floor(random() * backing.length)] = Math.floor(random() * 0x20);
      const offset = Math.floor(random() * 8);
      const view = new Uint8Array(backing.buffer, backing.byteOffset + offset, backing.length - offset);
      const from = Math.floor(random() * 40);
      const to = from + Math.floor(random() * (view.length - from));
      let expected = true;
      for (let index = from; index < to; index += 1) if ((view[index] as number) < 0x20) expected = false;
      assert.equal(freeOfControlBytes(view, from, to), expected, `round ${round}`);
    }
  });
});
