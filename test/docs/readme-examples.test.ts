/** The README's worked backend examples stay valid config. */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import { parse } from 'yaml';
import { parseConfig } from '../../src/config/load.js';
import { VALIDATORS } from '../helpers/components.js';

const README = readFileSync(new URL('../../README.md', import.meta.url), 'utf8');

describe('README', () => {
  it('worked examples: every backend entry validates and covers every schema', async () => {
    const section = README.slice(README.indexOf('### Worked examples'));
    const match = /```yaml\n([\s\S]*?)```/.exec(section);
    assert.ok(match?.[1], 'the worked examples block is present');
    const backends = (parse(match[1]) as { backends: Array<{ name: string; schema: string }> }).backends;
    const models = [{ name: 'm', backends: backends.map((backend, index) => ({ backend: backend.name, priority: index })) }];
    const text = `${match[1]}models: ${JSON.stringify(models)}\n`;
    // The files the examples name (key files, tokens) are not on this machine: the shape is what is checked.
    const loaded = await parseConfig(text, 'README.md', {}, VALIDATORS, { secrets: 'skip' });
    assert.ok(loaded.ok, loaded.ok ? '' : loaded.errors.join('\n'));
    const schemas = new Set(backends.map((backend) => backend.schema));
    for (const schema of ['OpenAI', 'AzureOpenAI', 'Anthropic', 'AWSBedrock', 'AWSAnthropic', 'GCPVertexAI', 'GCPAnthropic', 'GoogleAI']) {
      assert.ok(schemas.has(schema), `an example for ${schema}`);
    }
  });
});
