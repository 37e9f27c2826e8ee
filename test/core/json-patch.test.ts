import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  getTopLevelValue,
  removeTopLevelKey,
  replaceTopLevelValue,
  scanObject,
  setTopLevelValue,
} from '../../src/core/json-patch.js';

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
