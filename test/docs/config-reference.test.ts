/** docs/config-reference.md is generated from the config schema and must not drift from it. */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import { REFERENCE_PATH, renderConfigReference } from '../../scripts/config-reference.js';
import { SERVED_OPERATIONS_ANCHOR, SERVED_PATHS } from '../../scripts/served-operations.js';
import { SCHEMAS } from '../../src/config/schema.js';
import { createTranslatorTable, servedOperationsTable, type TranslatorTable } from '../../src/translators/table.js';

describe('docs/config-reference.md', () => {
  const { markdown, undocumented } = renderConfigReference();

  it('is up to date with src/config/schema.ts (else run npm run docs:config)', () => {
    assert.ok(readFileSync(REFERENCE_PATH, 'utf8') === markdown, 'docs/config-reference.md is stale: run npm run docs:config');
  });

  it('describes every field (a /** comment */ above it in schema.ts, or .describe())', () => {
    assert.deepEqual(undocumented, []);
  });

  it('has a target for every link', () => {
    const anchors = new Set([...markdown.matchAll(/<a id="([^"]+)"><\/a>/g)].map((match) => match[1]));
    const links = [...markdown.matchAll(/\]\(#([^)]+)\)/g)].map((match) => match[1]);
    assert.ok(links.length > 10);
    for (const link of links) assert.ok(anchors.has(link), `#${link} exists`);
  });

  it('says what each schema serves, from the translator table', () => {
    const table = servedOperationsTable(createTranslatorTable(), SERVED_PATHS);
    assert.ok(markdown.includes(`<a id="${SERVED_OPERATIONS_ANCHOR}"></a>What each schema serves`), 'the section heading is there');
    assert.ok(markdown.includes(table), 'the section holds servedOperationsTable(createTranslatorTable(), SERVED_PATHS)');
    for (const schema of SCHEMAS) assert.match(markdown, new RegExp(`^\\| ${schema} \\|`, 'm'), `a row for ${schema}`);
    for (const path of Object.values(SERVED_PATHS)) assert.ok(table.includes(`\`${path}\``), `a column for ${path}`);
  });

  it('goes stale when a translator leaves the table', () => {
    const shipped = createTranslatorTable();
    const { AzureOpenAI: _removed, ...embeddings } = shipped.openai.embeddings;
    const smaller: TranslatorTable = { ...shipped, openai: { ...shipped.openai, embeddings } };
    assert.notEqual(renderConfigReference(smaller).markdown, markdown);
  });
});
