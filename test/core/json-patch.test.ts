import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  getTopLevelValue,
  removeTopLevelKey,
  replaceTopLevelValue,
  scanObject,
  setTopLevelValue,
} from '../../src/core/json-patch.js';
import { nestsDeeperThan } from '../../src/core/json.js';

const encoder = new TextEncoder();
const decoder = new TextDecoder();

describe('json-patch', () => {
  const body = `{
  "messages": [{"role": "user", "content": "say \\"model\\": no, {\\"model\\":1}"}],
  "metadata": {"model": "nested-must-not-match", "list": [{"model": 2}]},
  "model"  :  "gpt-4o",
  "temperature": 0.50,
  "x": "unicode \\u00e9 ✓"
}`;

  it('replaces only the top-level value and keeps every other byte', () => {
    const out = replaceTopLevelValue(body, 'model', '"gpt-4o-mini-2024-07-18"');
    assert.equal(out, body.replace('"model"  :  "gpt-4o"', '"model"  :  "gpt-4o-mini-2024-07-18"'));
    assert.equal(JSON.parse(out as string).metadata.model, 'nested-must-not-match');
  });

  it('works on bytes, including multi-byte UTF-8 around the edit', () => {
    const raw = encoder.encode('{"émoji":"🎉","model":"a","z":"你好"}');
    const out = replaceTopLevelValue(raw, 'model', '"b"');
    assert.ok(out instanceof Uint8Array);
    assert.equal(decoder.decode(out), '{"émoji":"🎉","model":"b","z":"你好"}');
  });

  it('matches keys written with unicode escapes and leaves strings containing the key alone', () => {
    assert.equal(replaceTopLevelValue('{"mod\\u0065l":"a","s":"\\"model\\":\\"x\\""}', 'model', '"b"'), '{"mod\\u0065l":"b","s":"\\"model\\":\\"x\\""}');
    assert.equal(replaceTopLevelValue('{"a":"model","b":{"model":1}}', 'model', '2'), '{"a":"model","b":{"model":1}}');
  });

  it('edits every duplicate key', () => {
    assert.equal(replaceTopLevelValue('{"model":"a","x":1,"model":"b"}', 'model', '"c"'), '{"model":"c","x":1,"model":"c"}');
    assert.equal(removeTopLevelKey('{"model":"a","x":1,"model":"b"}', 'model'), '{"x":1}');
  });

  it('returns the input unchanged when the key is absent and undefined when not an object', () => {
    const raw = '{"a":1}';
    assert.equal(replaceTopLevelValue(raw, 'model', '"x"'), raw);
    assert.equal(removeTopLevelKey(raw, 'model'), raw);
    for (const bad of ['[1]', '"s"', '{"a":1', '{"a":1} x', '{"a" 1}', '{"a":[1}', 'null', '']) {
      assert.equal(replaceTopLevelValue(bad, 'a', '2'), undefined, bad);
      assert.equal(setTopLevelValue(bad, 'a', '2'), undefined, bad);
    }
  });

  it('appends a member when absent, also to an empty object', () => {
    assert.equal(setTopLevelValue('{"a":1}', 'stream_options', '{"include_usage":true}'), '{"a":1,"stream_options":{"include_usage":true}}');
    assert.equal(setTopLevelValue(' { } ', 'k', 'true'), ' {"k":true } ');
    assert.equal(setTopLevelValue('{\n  "a": [1, {"b": "}"}]\n}\n', 'c', 'null'), '{\n  "a": [1, {"b": "}"}],"c":null\n}\n');
    assert.equal(setTopLevelValue('{"a":1}', 'a', '2'), '{"a":2}');
  });

  it('removes first, middle, last and only members with their commas', () => {
    assert.equal(removeTopLevelKey('{"usage":null,"a":1}', 'usage'), '{"a":1}');
    assert.equal(removeTopLevelKey('{"a":1, "usage": {"x":[1,2]}, "b":2}', 'usage'), '{"a":1, "b":2}');
    assert.equal(removeTopLevelKey('{"a":1 , "usage":{}}', 'usage'), '{"a":1}');
    assert.equal(removeTopLevelKey('{ "usage":{} }', 'usage'), '{  }');
    for (const raw of ['{"usage":null,"a":1}', '{"a":1, "usage": {"x":[1,2]}, "b":2}', '{"a":1 , "usage":{}}']) {
      const parsed = JSON.parse(removeTopLevelKey(raw, 'usage') as string);
      assert.equal('usage' in parsed, false);
    }
  });

  it('reads the raw text of a value (the last one for duplicates)', () => {
    assert.equal(getTopLevelValue('{"stream_options": {"x": 1} ,"a":2}', 'stream_options'), '{"x": 1}');
    assert.equal(getTopLevelValue('{"a":1,"a":-2.5e3}', 'a'), '-2.5e3');
    assert.equal(getTopLevelValue('{"a":1}', 'b'), undefined);
  });

  it('scans members with escaped quotes and backslashes in strings', () => {
    const scan = scanObject(encoder.encode('{"a\\\\":"x\\\\","b":"q\\"}","c":[]}'));
    assert.deepStrictEqual(scan?.members.map((member) => member.key), ['a\\', 'b', 'c']);
  });
});

/**
 * The byte-level model rewrite (the fast path: no parse, no re-serialisation) against the slow path it replaces:
 * JSON.parse, set `model`, JSON.stringify. Both must give the same JSON value; every other byte is kept.
 */
describe('json-patch: model rewrite pinned to parse + replace + stringify', () => {
  const slowPath = (text: string, model: string) => ({ ...(JSON.parse(text) as Record<string, unknown>), model });
  const tricky: Array<[string, string]> = [
    ['plain', '{"model":"gpt-4o","messages":[]}'],
    ['whitespace everywhere', ' \n{ \t"model" \r\n: \n "gpt-4o" , "n" : 1 }\n '],
    ['"model" inside nested objects and strings', '{"messages":[{"role":"user","content":"{\\"model\\":\\"x\\"}"}],"metadata":{"model":"inner"},"model":"outer"}'],
    ['escaped key spelling', '{"mod\\u0065l":"escaped","x":1}'],
    ['duplicate keys (last wins in JSON.parse)', '{"model":"first","x":[1,2],"model":"second"}'],
    ['escaped quotes and backslashes before the key', '{"a":"\\\\","b":"\\\\\\"model\\":1","model":"m"}'],
    ['unicode around the edit', '{"é":"✓ 🎉","model":"模型","z":"\\ud83c\\udf89"}'],
    ['model not a string (the router refuses it; the rewrite still matches)', '{"model":{"nested":["a",{"b":"}"}]},"k":null}'],
    ['absent model is appended', '{"messages":[{"content":"hi"}]}'],
    ['empty object', '{}'],
  ];
  for (const [name, text] of tricky) {
    it(name, () => {
      for (const model of ['gpt-4o-2024-08-06', 'quote " and \\ backslash', 'ünï 🎉']) {
        const out = setTopLevelValue(encoder.encode(text), 'model', JSON.stringify(model));
        assert.ok(out !== undefined);
        assert.deepStrictEqual(JSON.parse(decoder.decode(out)), slowPath(text, model));
      }
    });
  }

  it('a 2 MB body: same value as the slow path, one splice', () => {
    const filler = 'lorem \\"ipsum\\" dolor {sit} [amet] \\\\ '.repeat(40);
    const messages = Array.from({ length: 1400 }, (_, index) => `{"role":"user","content":"${filler}${index}","model":"not-this"}`).join(',');
    const text = `{"messages":[${messages}],"model":"big","stream":false}`;
    assert.ok(text.length > 2_000_000);
    const out = setTopLevelValue(encoder.encode(text), 'model', JSON.stringify('gpt-4o'));
    assert.ok(out !== undefined);
    assert.deepStrictEqual(JSON.parse(decoder.decode(out)), slowPath(text, 'gpt-4o'));
    assert.equal(out.length, text.length + '"gpt-4o"'.length - '"big"'.length);
  });

  it('malformed JSON is refused (undefined), never patched', () => {
    for (const text of ['{"model":"x"', '{"model":"x}', '{"model" "x"}', '["model","x"]', '{"model":"x"} trailing', '{"a":"\\"}']) {
      assert.equal(setTopLevelValue(encoder.encode(text), 'model', '"y"'), undefined, text);
    }
  });
});

describe('nestsDeeperThan: the string-skipping scan matches a byte-by-byte scan', () => {
  const reference = (bytes: Uint8Array, maxDepth: number): boolean => {
    let depth = 0;
    let inString = false;
    for (let index = 0; index < bytes.length; index += 1) {
      const byte = bytes[index];
      if (inString) {
        if (byte === 0x5c) index += 1;
        else if (byte === 0x22) inString = false;
      } else if (byte === 0x22) inString = true;
      else if (byte === 0x5b || byte === 0x7b) {
        depth += 1;
        if (depth > maxDepth) return true;
      } else if (byte === 0x5d || byte === 0x7d) depth -= 1;
    }
    return false;
  };
  it('on random bracket/quote/backslash soups', () => {
    let seed = 7;
    const random = () => ((seed = (seed * 1103515245 + 12345) % 2147483648) / 2147483648);
    const alphabet = ['[', ']', '{', '}', '"', '\\', 'a', ' ', ':'];
    for (let round = 0; round < 3000; round += 1) {
      const text = Array.from({ length: Math.floor(random() * 40) }, () => alphabet[Math.floor(random() * alphabet.length)]).join('');
      const bytes = encoder.encode(text);
      for (const depth of [0, 1, 2, 3]) assert.equal(nestsDeeperThan(bytes, depth), reference(bytes, depth), `${JSON.stringify(text)} depth ${depth}`);
    }
  });
});
