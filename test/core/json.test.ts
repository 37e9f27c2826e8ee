import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { isRecord, parseJsonObject, safeParseJson } from '../../src/core/json.js';

/** The definition parseJsonObject short-cuts: parse, keep an object. */
function slowJsonObject(text: string): Record<string, unknown> | undefined {
  const parsed = safeParseJson(text);
  return parsed.ok && isRecord(parsed.value) ? parsed.value : undefined;
}

describe('parseJsonObject', () => {
  it('gives what parsing and keeping an object gives, whatever the text', () => {
    const texts = [
      '', ' ', '{}', ' \n\t\r{"a":1}', '{"a":[1,{"b":"}"}]}  \n', '\uFEFF{}', '\u00a0{}', '\v{}', '[1]', ' [ {"a":1} ]', '"{}"', 'null',
      '1', '{', '{bad', '{"a":1} trailing', 'temperature 18C, sky sunny', 'The result: {"a":1}', '  {"a":1}}', '{"a":1}',
    ];
    for (const text of texts) assert.deepEqual(parseJsonObject(text), slowJsonObject(text), JSON.stringify(text));
  });
});
