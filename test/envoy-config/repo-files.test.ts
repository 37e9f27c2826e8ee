/**
 * Every Envoy config in the repository (any YAML bootstrap outside node_modules, and bootstraps embedded in
 * Kubernetes ConfigMaps) validates against the Envoy API protos, and every generated file matches its source config.
 */
import assert from 'node:assert/strict';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { describe, it } from 'node:test';
import { parse, parseAllDocuments } from 'yaml';
import { GENERATED_FILES, REPO_ROOT } from '../../scripts/envoy-generate.js';
import { checkReferences } from './references.js';
import { validateEnvoyConfig } from './validate.js';

const SKIP = new Set(['node_modules', '.git']);

function yamlFiles(dir: string): string[] {
  const out: string[] = [];
  for (const name of readdirSync(dir)) {
    if (SKIP.has(name)) continue;
    const full = join(dir, name);
    if (statSync(full).isDirectory()) out.push(...yamlFiles(full));
    else if (/\.ya?ml$/.test(name)) out.push(full);
  }
  return out.sort();
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** Envoy bootstraps found in a YAML file: the file itself, or ConfigMap data entries that are bootstraps. */
function bootstrapsIn(file: string): { where: string; config: unknown }[] {
  const found: { where: string; config: unknown }[] = [];
  const text = readFileSync(file, 'utf8');
  const where = relative(REPO_ROOT, file);
  for (const [index, document] of parseAllDocuments(text).entries()) {
    if (document.errors.length > 0) continue;
    const value: unknown = document.toJS();
    if (isRecord(value) && 'static_resources' in value) found.push({ where, config: value });
    if (isRecord(value) && value['kind'] === 'ConfigMap' && isRecord(value['data'])) {
      for (const [key, data] of Object.entries(value['data'])) {
        const embedded: unknown = typeof data === 'string' ? parse(data) : undefined;
        if (isRecord(embedded) && 'static_resources' in embedded) found.push({ where: `${where} (document ${index}, ${key})`, config: embedded });
      }
    }
  }
  return found;
}

describe('Envoy configs in the repository', () => {
  const bootstraps = yamlFiles(REPO_ROOT).flatMap(bootstrapsIn);

  it('finds the shipped bootstraps', () => {
    const places = bootstraps.map((entry) => entry.where.split(' ')[0]);
    for (const expected of ['envoy/envoy.yaml', 'envoy/compose-envoy.yaml', 'envoy/kubernetes/sidecar/configmaps.yaml']) {
      assert.ok(places.includes(expected), `${expected} holds an Envoy bootstrap`);
    }
  });

  for (const { where, config } of bootstraps) {
    it(`${where} validates against the Envoy API protos`, () => {
      assert.deepEqual(validateEnvoyConfig(config), []);
      assert.deepEqual(checkReferences(config), []);
    });
  }

  for (const file of GENERATED_FILES) {
    it(`${file.path} is up to date with ${file.source} (else run npm run envoy:generate)`, async () => {
      const expected = await file.render();
      const actual = readFileSync(join(REPO_ROOT, file.path), 'utf8');
      assert.ok(actual === expected, `${file.path} is stale: run npm run envoy:generate`);
    });
  }
});
