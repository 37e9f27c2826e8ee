/** The translator table (src/translators/table.ts): complete enough to serve every schema, and checked when it is not. */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { SCHEMAS } from '../../src/config/schema.js';
import { checkTranslatorTable, createTranslatorTable, lookupTranslator } from '../../src/translators/table.js';
import { withoutChatTranslator } from '../helpers/translator-table.js';

const OPTIONS = { timeout: 30_000 };

describe('translator table', OPTIONS, () => {
  const shipped = createTranslatorTable();

  it('passes its own check as shipped', OPTIONS, () => {
    assert.deepEqual(checkTranslatorTable(shipped), []);
  });

  it('has an OpenAI chat translator for every schema the config accepts', OPTIONS, () => {
    for (const schema of SCHEMAS) assert.ok(lookupTranslator(shipped, 'openai', 'chat', schema), `${schema} has an openai chat translator`);
  });

  it('names the one schema whose chat translator is missing', OPTIONS, () => {
    for (const schema of SCHEMAS) {
      const problems = checkTranslatorTable(withoutChatTranslator(shipped, schema));
      assert.equal(problems.length, 1, `one problem without ${schema}: ${problems.join('; ')}`);
      assert.match(problems[0] ?? '', new RegExp(`schema ${schema} has no openai chat translator`));
    }
    assert.deepEqual(checkTranslatorTable(shipped), [], 'the shipped table is not changed by the copies');
  });

  it('serves no embeddings on an Anthropic backend', OPTIONS, () => {
    assert.equal(lookupTranslator(shipped, 'openai', 'embeddings', 'Anthropic'), undefined);
  });
});
