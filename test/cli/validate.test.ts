/** `llm-extproc validate` in-process (main(argv, io)): no models is an error unless allowed, and every error is reported at once. */
import assert from 'node:assert/strict';
import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { NO_MODELS_ERROR } from '../../src/cli/validate.js';
import { createComponents, type Components } from '../../src/components.js';
import { main } from '../../src/main.js';
import { withoutChatTranslator } from '../helpers/translator-table.js';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const OPTIONS = { timeout: 30_000 };

interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

async function validate(args: string[], env: NodeJS.ProcessEnv = {}, components: Components = createComponents()): Promise<Run> {
  let stdout = '';
  let stderr = '';
  const io = { stdout: (text: string) => void (stdout += text), stderr: (text: string) => void (stderr += text), env };
  const code = await main(['validate', ...args], io, components);
  return { code, stdout, stderr };
}

/** The error lines after the "<path>: N errors" header. */
function errorLines(run: Run): string[] {
  return run.stderr.trim().split('\n').slice(1).map((line) => line.trim());
}

const BACKEND = 'backends: [{ name: b, schema: OpenAI, endpoint: "http://127.0.0.1:2" }]';
const MODEL = 'models: [{ name: m, backends: [{ backend: b }] }]';

describe('llm-extproc validate: models', OPTIONS, () => {
  let dir = '';
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'llm-extproc-validate-'));
  });
  after(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  async function configFile(name: string, lines: string[]): Promise<string> {
    const path = join(dir, name);
    await writeFile(path, lines.join('\n'));
    return path;
  }

  it('rejects an empty file, no models key and an empty models list; --allow-no-models accepts them', OPTIONS, async () => {
    const paths = [
      await configFile('empty.yaml', []),
      await configFile('no-models-key.yaml', [BACKEND]),
      await configFile('empty-models.yaml', [BACKEND, 'models: []']),
    ];
    for (const path of paths) {
      const run = await validate(['--config', path]);
      assert.deepEqual(run, { code: 1, stdout: '', stderr: `${path}: 1 error\n  ${NO_MODELS_ERROR}\n` }, path);
      assert.deepEqual(await validate(['--config', path, '--allow-no-models']), { code: 0, stdout: 'ok\n', stderr: '' }, `${path} with --allow-no-models`);
    }
    const bare = await configFile('null-models.yaml', [BACKEND, 'models:']);
    assert.deepEqual(errorLines(await validate(['--config', bare])), ['models: Expected array, received null'], 'a bare models: is the schema error alone');
  });

  it('reports every other error in the same pass', OPTIONS, async () => {
    const crossReference = await configFile('cross-reference.yaml', [
      'backends:',
      '  - { name: b, schema: OpenAI, endpoint: "http://127.0.0.1:2", auth: { apiKey: { env: LLM_EXTPROC_UNSET } } }',
      '  - { name: b, schema: OpenAI, endpoint: "http://127.0.0.1:3" }',
    ]);
    const run = await validate(['--config', crossReference]);
    assert.equal(run.code, 1);
    assert.match(run.stderr, /: 3 errors\n/);
    assert.deepEqual(errorLines(run), [
      'backends[0].auth.apiKey: environment variable LLM_EXTPROC_UNSET is not set',
      'backends[1].name: duplicate backend name "b"',
      NO_MODELS_ERROR,
    ]);
    const allowed = await validate(['--config', crossReference, '--allow-no-models']);
    assert.equal(allowed.code, 1);
    assert.equal(errorLines(allowed).length, 2, 'the other errors stay errors');

    const schemaError = await configFile('schema-error.yaml', ['backends: [{ name: b, schema: OpenAI, endpoint: "http://127.0.0.1:2", colour: red }]']);
    assert.deepEqual(errorLines(await validate(['--config', schemaError])), ['backends[0].colour: unknown key', NO_MODELS_ERROR]);
  });

  it('does not guess about models when the YAML itself is broken or the file is missing', OPTIONS, async () => {
    const broken = await configFile('broken.yaml', ['backends: [', 'models:']);
    const run = await validate(['--config', broken]);
    assert.equal(run.code, 1);
    assert.ok(errorLines(run).every((line) => line !== NO_MODELS_ERROR), run.stderr);
    const missing = await validate(['--config', join(dir, 'absent.yaml')]);
    assert.equal(missing.code, 1);
    assert.deepEqual(errorLines(missing).length, 1, missing.stderr);
    assert.match(missing.stderr, /cannot read config: ENOENT/);
  });

  it('rejects a backend whose schema has no chat translator in the table, together with the rest', OPTIONS, async () => {
    const shipped = createComponents();
    const components: Components = { ...shipped, translators: withoutChatTranslator(shipped.translators, 'GoogleAI') };
    const withModel = await configFile('google.yaml', [
      'backends:',
      '  - { name: b, schema: OpenAI, endpoint: "http://127.0.0.1:2" }',
      '  - { name: g, schema: GoogleAI, endpoint: "http://127.0.0.1:3" }',
      MODEL,
    ]);
    const run = await validate(['--config', withModel], {}, components);
    assert.equal(run.code, 1);
    assert.deepEqual(errorLines(run), ['backend g: no translator serves schema GoogleAI']);
    assert.deepEqual(await validate(['--config', withModel]), { code: 0, stdout: 'ok\n', stderr: '' }, 'the shipped table serves it');

    const noModels = await configFile('google-no-models.yaml', ['backends: [{ name: g, schema: GoogleAI, endpoint: "http://127.0.0.1:3" }]']);
    assert.deepEqual(errorLines(await validate(['--config', noModels], {}, components)), ['backend g: no translator serves schema GoogleAI', NO_MODELS_ERROR]);
  });

  it('accepts a config with a model', OPTIONS, async () => {
    const path = await configFile('ok.yaml', [BACKEND, MODEL]);
    assert.deepEqual(await validate(['--config', path]), { code: 0, stdout: 'ok\n', stderr: '' });
  });

  it('shows --allow-no-models in its usage', OPTIONS, async () => {
    const help = await validate(['--help']);
    assert.equal(help.code, 0);
    assert.match(help.stdout, /llm-extproc validate --config FILE \[--allow-no-models\]/);
  });
});

describe('llm-extproc validate: shipped configs', OPTIONS, () => {
  let dir = '';
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'llm-extproc-validate-shipped-'));
  });
  after(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  /** The config's path, or a copy whose `{file: PATH}` secrets point at a temporary file; env secrets get dummies. */
  async function prepared(relative: string): Promise<{ path: string; env: NodeJS.ProcessEnv }> {
    const text = await readFile(join(ROOT, relative), 'utf8');
    const env = Object.fromEntries([...text.matchAll(/\{\s*env:\s*([A-Za-z0-9_]+)/g)].map((match) => [match[1], 'dummy']));
    const files = [...new Set([...text.matchAll(/\{\s*file:\s*([^\s,}]+)/g)].map((match) => match[1] ?? ''))];
    if (files.length === 0) return { path: join(ROOT, relative), env };
    const secret = join(dir, 'secret');
    await writeFile(secret, 'dummy-token\n');
    const path = join(dir, relative.replace(/\//g, '_'));
    await writeFile(path, files.reduce((current, file) => current.split(file).join(secret), text));
    return { path, env };
  }

  it('every config/*.yaml and config/examples/*.yaml validates', OPTIONS, async () => {
    const configs = [
      ...(await readdir(join(ROOT, 'config'))).filter((name) => name.endsWith('.yaml')).map((name) => `config/${name}`),
      ...(await readdir(join(ROOT, 'config/examples'))).filter((name) => name.endsWith('.yaml')).map((name) => `config/examples/${name}`),
    ];
    assert.ok(configs.length > 5, configs.join(', '));
    for (const config of configs) {
      const { path, env } = await prepared(config);
      assert.deepEqual(await validate(['--config', path], env), { code: 0, stdout: 'ok\n', stderr: '' }, config);
    }
  });
});
