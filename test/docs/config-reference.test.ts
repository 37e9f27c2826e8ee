/** docs/config-reference.md is generated from the config schema and must not drift from it. */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import { REFERENCE_PATH, renderConfigReference } from '../../scripts/config-reference.js';

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
});
