/**
 * The worked examples stay valid configs:
 * - config/default.yaml as shipped loads with no keys at all;
 * - every commented example block in it (`# --- example: NAME ---` ... `# --- end ---`, each line prefixed by
 *   one `# `) validates once uncommented, alone (with the blocks its `needs:` list names) and all together;
 * - every config/examples/*.yaml validates, and renders an Envoy bootstrap;
 * - the examples cover every backend schema, and each example block matches the same entry in config/examples/.
 * Secrets: each `{env: NAME}` gets a dummy value and each `{file: PATH}` a temporary file holding a dummy token.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { parse } from 'yaml';
import { parseConfig, type LoadResult } from '../../src/config/load.js';
import { SCHEMAS } from '../../src/config/schema.js';
import { parseConfigForEnvoy, renderEnvoyConfig } from '../../src/envoy/index.js';
import { VALIDATORS } from '../helpers/components.js';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const DEFAULT_CONFIG = join(ROOT, 'config/default.yaml');
const EXAMPLES_DIR = join(ROOT, 'config/examples');

const START = /^(\s*)# --- example: ([a-z0-9-]+)(?:; needs: ([a-z0-9, -]+))? ---\s*$/;
const END = /^(\s*)# --- end ---\s*$/;

interface ExampleBlock {
  readonly name: string;
  readonly needs: readonly string[];
  readonly indent: string;
  /** Line index of the start marker; the end marker's index. */
  readonly start: number;
  readonly end: number;
}

/** Finds the example blocks; a marker out of place is a test failure, not a skipped block. */
function findExampleBlocks(lines: readonly string[]): ExampleBlock[] {
  const blocks: ExampleBlock[] = [];
  let open: { name: string; needs: string[]; indent: string; start: number } | undefined;
  lines.forEach((line, index) => {
    const start = START.exec(line);
    if (start) {
      assert.equal(open, undefined, `line ${index + 1}: example "${start[2]}" starts inside example "${open?.name}"`);
      const needs = (start[3] ?? '').split(',').map((name) => name.trim()).filter((name) => name !== '');
      open = { name: start[2] ?? '', needs, indent: start[1] ?? '', start: index };
      return;
    }
    if (END.test(line)) {
      assert.ok(open, `line ${index + 1}: "# --- end ---" without an example`);
      blocks.push({ ...open, end: index });
      open = undefined;
      return;
    }
    if (open) {
      const prefix = `${open.indent}#`;
      assert.ok(line === prefix || line.startsWith(`${prefix} `), `line ${index + 1} in example "${open.name}" must start with "${prefix} "`);
    }
  });
  assert.equal(open, undefined, `example "${open?.name}" has no "# --- end ---"`);
  return blocks;
}

/** The file with the given blocks uncommented (one "# " removed per line; the marker lines stay comments). */
function uncomment(lines: readonly string[], blocks: readonly ExampleBlock[]): string {
  const out = [...lines];
  for (const block of blocks) {
    for (let index = block.start + 1; index < block.end; index++) {
      const line = lines[index] ?? '';
      out[index] = block.indent + line.slice(block.indent.length + 1).replace(/^ /, '');
    }
  }
  return out.join('\n');
}

/** Text between the markers, uncommented and de-indented, as YAML. */
function blockValue(lines: readonly string[], block: ExampleBlock): unknown {
  const body = lines.slice(block.start + 1, block.end).map((line) => line.slice(block.indent.length + 1).replace(/^ /, ''));
  return parse(body.join('\n'));
}

const tempDir = mkdtempSync(join(tmpdir(), 'llm-extproc-examples-'));
after(() => rmSync(tempDir, { recursive: true, force: true }));

interface SecretNames {
  env: Set<string>;
  /** Env secrets without `optional: true`. */
  required: Set<string>;
  files: Set<string>;
  /** auth.gcp.credentialsFile paths (these must hold JSON). */
  credentialFiles: Set<string>;
}

function secretRefs(value: unknown, found: SecretNames): void {
  if (Array.isArray(value)) for (const item of value) secretRefs(item, found);
  else if (typeof value === 'object' && value !== null) {
    const record = value as Record<string, unknown>;
    if (typeof record.env === 'string') found.env.add(record.env);
    if (typeof record.env === 'string' && record.optional !== true) found.required.add(record.env);
    if (typeof record.file === 'string') found.files.add(record.file);
    if (typeof record.credentialsFile === 'string') found.credentialFiles.add(record.credentialsFile);
    for (const child of Object.values(record)) secretRefs(child, found);
  }
}

/**
 * Validates config text with every env secret set to a dummy value, and every file secret and credentials file
 * pointing to a temp file.
 */
async function validateWithDummySecrets(text: string, source: string): Promise<{ result: LoadResult; text: string; secrets: SecretNames }> {
  const found: SecretNames = { env: new Set(), required: new Set(), files: new Set(), credentialFiles: new Set() };
  secretRefs(parse(text), found);
  let prepared = text;
  for (const [index, file] of [...found.files].entries()) {
    const temp = join(tempDir, `secret-${index}`);
    writeFileSync(temp, 'dummy-token\n');
    prepared = prepared.split(file).join(temp);
  }
  for (const [index, file] of [...found.credentialFiles].entries()) {
    const temp = join(tempDir, `credentials-${index}.json`);
    writeFileSync(temp, '{"type":"service_account"}\n');
    prepared = prepared.split(file).join(temp);
  }
  const env = Object.fromEntries([...found.env].map((name) => [name, `dummy-${name.toLowerCase()}`]));
  return { result: await parseConfig(prepared, source, env, VALIDATORS), text: prepared, secrets: found };
}

function errorsOf(result: LoadResult): string[] {
  return result.ok ? [] : result.errors;
}

interface ConfigEntries {
  backends: Record<string, unknown>[];
  models: Record<string, unknown>[];
  costs: Record<string, unknown>[];
}

function entries(value: unknown): ConfigEntries {
  const record = (typeof value === 'object' && value !== null ? value : {}) as Record<string, unknown>;
  const list = (key: string) => (Array.isArray(record[key]) ? (record[key] as Record<string, unknown>[]) : []);
  return { backends: list('backends'), models: list('models'), costs: list('costs') };
}

const defaultText = readFileSync(DEFAULT_CONFIG, 'utf8');
const defaultLines = defaultText.split('\n');
const blocks = findExampleBlocks(defaultLines);
const exampleNames = [...new Set(blocks.map((block) => block.name))];
const exampleFiles = readdirSync(EXAMPLES_DIR).filter((name) => name.endsWith('.yaml')).sort();

/** The blocks of one example plus those of the examples it needs. */
function blocksFor(name: string): ExampleBlock[] {
  const own = blocks.filter((block) => block.name === name);
  const needs = new Set(own.flatMap((block) => block.needs));
  for (const needed of needs) assert.ok(exampleNames.includes(needed), `example "${name}" needs unknown example "${needed}"`);
  return blocks.filter((block) => block.name === name || needs.has(block.name));
}

describe('config/default.yaml', () => {
  it('loads as shipped with no environment at all (OPENAI_API_KEY is optional)', async () => {
    const result = await parseConfig(defaultText, DEFAULT_CONFIG, {}, VALIDATORS);
    assert.deepEqual(errorsOf(result), []);
    assert.ok(result.ok);
    assert.deepEqual([...result.config.backends.keys()], ['openai', 'ollama']);
  });

  it('holds a commented example per provider, covering every backend schema', () => {
    const schemas = new Set<string>();
    for (const block of blocks) {
      const value = blockValue(defaultLines, block);
      assert.ok(Array.isArray(value) && value.length > 0, `example "${block.name}" at line ${block.start + 1} is a YAML list item`);
      for (const item of value as Record<string, unknown>[]) if (typeof item.schema === 'string') schemas.add(item.schema);
    }
    assert.deepEqual([...schemas].sort(), [...SCHEMAS].sort());
    for (const expected of ['azure-openai', 'azure-openai-entra', 'bedrock', 'bedrock-default-chain', 'vllm', 'groq', 'fallback-chain', 'cel-cost']) {
      assert.ok(exampleNames.includes(expected), `example "${expected}" exists`);
    }
  });

  for (const name of exampleNames) {
    it(`example "${name}" validates when uncommented`, async () => {
      const chosen = blocksFor(name);
      const text = uncomment(defaultLines, chosen);
      const { result } = await validateWithDummySecrets(text, `default.yaml (${name})`);
      assert.deepEqual(errorsOf(result), []);
      assert.ok(result.ok);
      // what the blocks define is really in the loaded config
      for (const block of chosen) {
        for (const item of blockValue(defaultLines, block) as Record<string, unknown>[]) {
          const key = String(item.name ?? item.metadataKey);
          const present = result.config.backends.has(key) || result.config.models.has(key) || result.config.costs.some((cost) => cost.metadataKey === key);
          assert.ok(present, `${key} from example "${block.name}" is in the loaded config`);
        }
      }
    });
  }

  it('validates with every example uncommented at once', async () => {
    const { result } = await validateWithDummySecrets(uncomment(defaultLines, blocks), 'default.yaml (all examples)');
    assert.deepEqual(errorsOf(result), []);
    assert.ok(result.ok);
    assert.ok(result.config.backends.size > 2 + exampleNames.length / 2);
  });

  it('reports the missing secret when an uncommented example runs without its variable', async () => {
    const result = await parseConfig(uncomment(defaultLines, blocksFor('anthropic')), 'default.yaml (anthropic)', {}, VALIDATORS);
    assert.equal(result.ok, false);
    assert.ok(errorsOf(result).some((error) => error.includes('ANTHROPIC_API_KEY')), errorsOf(result).join('\n'));
  });

  it('uncommenting keeps nested comments as comments and the markers in place', () => {
    const lines = ['a:', '  # --- example: x ---', '  # - k: 1', '  #   # note', '  #', '  # --- end ---'];
    const found = findExampleBlocks(lines);
    assert.deepEqual(found.map((block) => [block.name, block.start, block.end]), [['x', 1, 5]]);
    assert.equal(uncomment(lines, found), ['a:', '  # --- example: x ---', '  - k: 1', '    # note', '  ', '  # --- end ---'].join('\n'));
    assert.deepEqual(parse(uncomment(lines, found)), { a: [{ k: 1 }] });
    assert.throws(() => findExampleBlocks(['# --- example: y ---', 'key: 1', '# --- end ---']), /must start with/);
    assert.throws(() => findExampleBlocks(['# --- example: y ---']), /has no/);
  });
});

describe('config/examples', () => {
  it('has one file per provider, covering every backend schema', () => {
    const schemas = new Set<string>();
    for (const file of exampleFiles) {
      for (const backend of entries(parse(readFileSync(join(EXAMPLES_DIR, file), 'utf8'))).backends) schemas.add(String(backend.schema));
    }
    assert.deepEqual([...schemas].sort(), [...SCHEMAS].sort());
  });

  for (const file of exampleFiles) {
    it(`${file} validates with its secrets set, fails without them, and renders an Envoy config`, async () => {
      const text = readFileSync(join(EXAMPLES_DIR, file), 'utf8');
      const { result, text: prepared, secrets } = await validateWithDummySecrets(text, file);
      assert.deepEqual(errorsOf(result), []);
      assert.ok(result.ok);
      assert.ok(result.config.models.size > 0);
      if (secrets.required.size > 0) {
        const missing = errorsOf(await parseConfig(prepared, file, {}, VALIDATORS));
        for (const name of secrets.required) assert.ok(missing.some((error) => error.includes(name)), `${file} reports ${name} missing`);
      }
      const forEnvoy = await parseConfigForEnvoy(text, file, VALIDATORS);
      assert.ok(forEnvoy.ok, errorsOf(forEnvoy).join('\n'));
      const rendered = renderEnvoyConfig(forEnvoy.config, {}, { source: file, command: 'test' });
      assert.ok(rendered.ok, rendered.ok ? '' : rendered.errors.join('\n'));
    });
  }

  it('each commented example in default.yaml is the same entry as in config/examples', () => {
    const inFiles: ConfigEntries = { backends: [], models: [], costs: [] };
    for (const file of exampleFiles) {
      const found = entries(parse(readFileSync(join(EXAMPLES_DIR, file), 'utf8')));
      inFiles.backends.push(...found.backends);
      inFiles.models.push(...found.models);
      inFiles.costs.push(...found.costs);
    }
    for (const block of blocks) {
      for (const item of blockValue(defaultLines, block) as Record<string, unknown>[]) {
        const pool = 'schema' in item ? inFiles.backends : 'metadataKey' in item ? inFiles.costs : inFiles.models;
        const key = 'metadataKey' in item ? 'metadataKey' : 'name';
        const twins = pool.filter((entry) => entry[key] === item[key]);
        assert.ok(twins.length > 0, `example "${block.name}": ${String(item[key])} is in a config/examples file`);
        for (const twin of twins) assert.deepEqual(twin, item, `example "${block.name}": ${String(item[key])} matches config/examples`);
      }
    }
  });
});
