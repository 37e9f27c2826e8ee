/** Which Claude models get temperature and top_p together (claude-thinking.ts), by model id and by override. */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { claudeSampling, claudeVersion, dropsTopPWithTemperature } from '../../src/translators/shared/claude-thinking.js';
import type { Warning } from '../../src/translators/types.js';

describe('Claude temperature with top_p', () => {
  it('reads the Claude version from first-party, Bedrock and Vertex model ids', () => {
    const versions: Array<[string, number | undefined]> = [
      ['claude-sonnet-4-5-20250929', 4.5],
      ['claude-sonnet-4-5', 4.5],
      ['claude-haiku-4-5@20251001', 4.5],
      ['us.anthropic.claude-opus-4-1-20250805-v1:0', 4.1],
      ['claude-sonnet-4-20250514', 4],
      ['claude-opus-4-6', 4.6],
      ['anthropic.claude-3-5-sonnet-20240620-v1:0', 3.5],
      ['claude-3-7-sonnet@20250219', 3.7],
      ['claude-3-haiku-20240307', 3],
      ['arn:aws:bedrock:us-east-1:123456789012:application-inference-profile/abc', undefined],
      ['gpt-4o', undefined],
    ];
    for (const [model, version] of versions) assert.equal(claudeVersion(model), version, model);
  });

  it('drops top_p from Claude 4.5 on, keeps it before and for unknown ids, unless the config says otherwise', () => {
    assert.equal(dropsTopPWithTemperature('claude-sonnet-4-5-20250929', undefined), true);
    assert.equal(dropsTopPWithTemperature('claude-opus-4-1-20250805', undefined), false);
    assert.equal(dropsTopPWithTemperature('custom-profile', undefined), false);
    assert.equal(dropsTopPWithTemperature('claude-opus-4-1-20250805', 'drop'), true);
    assert.equal(dropsTopPWithTemperature('claude-sonnet-4-5', 'keep'), false);
  });

  it('only ever drops top_p when both are set', () => {
    const warnings: Warning[] = [];
    assert.deepEqual(claudeSampling({ temperature: undefined, topP: 0.5 }, false, warnings, true), { temperature: undefined, topP: 0.5, topK: undefined });
    assert.deepEqual(claudeSampling({ temperature: 0.2, topP: 0.5 }, false, warnings, false), { temperature: 0.2, topP: 0.5, topK: undefined });
    assert.deepEqual(warnings, []);
    assert.deepEqual(claudeSampling({ temperature: 0.2, topP: 0.5 }, false, warnings, true), { temperature: 0.2, topP: undefined, topK: undefined });
    assert.equal(warnings.length, 1);
  });
});
