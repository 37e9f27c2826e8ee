/** The CLI as users run it: bin/llm-extproc.js spawned as a child process. */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createServer, type AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const BIN = join(ROOT, 'bin', 'llm-extproc.js');

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}

function cli(args: string[], env: NodeJS.ProcessEnv = {}, cwd = ROOT): Promise<Run> {
  const base = { ...process.env };
  delete base['OPENAI_API_KEY'];
  delete base['LLM_EXTPROC_CONFIG'];
  return new Promise((resolve) => {
    execFile(process.execPath, [BIN, ...args], { cwd, env: { ...base, LOG_LEVEL: 'silent', ...env }, timeout: 30_000 }, (error, stdout, stderr) => {
      const code = error === null ? 0 : typeof error.code === 'number' ? error.code : null;
      resolve({ code, stdout, stderr });
    });
  });
}

describe('llm-extproc validate', () => {
  it('accepts the shipped default config without OPENAI_API_KEY, from any directory', async () => {
    const [explicit, implicit] = await Promise.all([
      cli(['validate', '--config', join(ROOT, 'config', 'default.yaml')]),
      cli(['validate'], {}, tmpdir()),
    ]);
    assert.deepEqual(explicit, { code: 0, stdout: `${join(ROOT, 'config', 'default.yaml')}: ok\n`, stderr: '' });
    assert.deepEqual(implicit, { code: 0, stdout: `${join(ROOT, 'config', 'default.yaml')}: ok\n`, stderr: '' }, 'ok names the default file');
  });

  it('prints every error with its path and exits 1', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'llm-extproc-cli-'));
    const path = join(dir, 'broken.yaml');
    try {
      await writeFile(
        path,
        [
          'backends:',
          '  - { name: a, schema: OpenAI, endpoint: "http://127.0.0.1:1", colour: red }',
          '  - { name: b, schema: OpenAI, endpoint: "http://127.0.0.1:2", auth: { apiKey: { env: LLM_EXTPROC_UNSET } } }',
          'models:',
          '  - { name: m, backends: [{ backend: ghost }] }',
        ].join('\n'),
      );
      const first = await cli(['validate', '--config', path]);
      assert.equal(first.code, 1);
      assert.equal(first.stdout, '');
      assert.match(first.stderr, /backends\[0\]\.colour: unknown key/);

      await writeFile(
        path,
        [
          'backends:',
          '  - { name: b, schema: OpenAI, endpoint: "http://127.0.0.1:2", auth: { apiKey: { env: LLM_EXTPROC_UNSET } } }',
          '  - { name: b, schema: OpenAI, endpoint: "http://127.0.0.1:3" }',
          'models:',
          '  - { name: m, backends: [{ backend: ghost }] }',
        ].join('\n'),
      );
      // Also through LLM_EXTPROC_CONFIG.
      const second = await cli(['validate'], { LLM_EXTPROC_CONFIG: path });
      assert.equal(second.code, 1);
      assert.equal(second.stdout, '');
      const lines = second.stderr.trim().split('\n');
      assert.equal(lines[0], `${path}: 3 errors`);
      assert.deepEqual(lines.slice(1).map((line) => line.trim()), [
        'backends[0].auth.apiKey: environment variable LLM_EXTPROC_UNSET is not set',
        'backends[1].name: duplicate backend name "b"',
        'models[0].backends[0].backend: unknown backend "ghost"',
      ]);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('rejects a bad CEL cost expression in a fresh process (the validator is registered by the CLI itself)', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'llm-extproc-cli-'));
    const path = join(dir, 'cel.yaml');
    try {
      await writeFile(
        path,
        [
          'backends: [{ name: b, schema: OpenAI, endpoint: "http://127.0.0.1:2" }]',
          'models: [{ name: m, backends: [{ backend: b }] }]',
          'costs: [{ metadataKey: k, type: CEL, cel: "input_tokens +" }]',
        ].join('\n'),
      );
      const [validate, envoy] = await Promise.all([cli(['validate', '--config', path]), cli(['envoy', '--config', path])]);
      assert.equal(validate.code, 1);
      assert.match(validate.stderr, /costs\[0\]\.cel: invalid CEL expression for "k"/);
      assert.equal(envoy.code, 1);
      assert.match(envoy.stderr, /costs\[0\]\.cel: invalid CEL expression/);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});

describe('llm-extproc usage errors', () => {
  it('exits 2 with usage on stderr for an unknown command, an unknown flag or a bad address', async () => {
    const [command, flag, address, none] = await Promise.all([
      cli(['frobnicate']),
      cli(['validate', '--verbose']),
      cli(['serve', '--listen', 'nowhere']),
      cli([]),
    ]);
    assert.equal(command.code, 2);
    assert.match(command.stderr, /unknown command "frobnicate"/);
    assert.match(command.stderr, /llm-extproc serve \[--config FILE\] \[--listen ADDR\] \[--admin ADDR\]/);
    assert.match(command.stderr, /llm-extproc validate \[--config FILE\] \[--skip-secrets\] \[--allow-no-models\]/);
    assert.match(command.stderr, /FILE: the config; without --config, \$LLM_EXTPROC_CONFIG, else the shipped config\/default\.yaml/);
    assert.equal(flag.code, 2);
    assert.match(flag.stderr, /Unknown option '--verbose'/);
    assert.equal(address.code, 2);
    assert.match(address.stderr, /--listen "nowhere": expected host:port/);
    assert.equal(none.code, 2);
    assert.match(none.stderr, /^Usage:/);
  });

  it('serve exits 2 naming the variable when a numeric LLM_EXTPROC_* setting is out of range or not an integer', async () => {
    const cases: Array<[string, string, RegExp]> = [
      ...['-1', '2.5', '1001', 'lots'].map((value): [string, string, RegExp] => ['LLM_EXTPROC_HEAP_GROWING_PERCENT', value, /LLM_EXTPROC_HEAP_GROWING_PERCENT must be an integer from 0 to 1000/]),
      ['LLM_EXTPROC_KEEPALIVE_TIME_MS', '30s', /LLM_EXTPROC_KEEPALIVE_TIME_MS must be an integer from 0 to 86400000/],
      ['LLM_EXTPROC_KEEPALIVE_TIMEOUT_MS', '0', /LLM_EXTPROC_KEEPALIVE_TIMEOUT_MS must be an integer from 1 to 3600000/],
    ];
    const runs = await Promise.all(cases.map(([name, value]) => cli(['serve', '--listen', '127.0.0.1:1', '--admin', '127.0.0.1:1'], { [name]: value })));
    for (const [index, run] of runs.entries()) {
      assert.equal(run.code, 2, run.stderr);
      assert.match(run.stderr, cases[index]?.[2] as RegExp, `${cases[index]?.[0]}=${cases[index]?.[1]}`);
    }
  });

  it('serve exits 1 listing the errors when the config is invalid', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'llm-extproc-cli-'));
    const path = join(dir, 'bad.yaml');
    try {
      await writeFile(path, 'models: [{ name: m, backends: [{ backend: ghost }] }]\n');
      const run = await cli(['serve', '--config', path, '--listen', '127.0.0.1:0', '--admin', '127.0.0.1:0']);
      assert.equal(run.code, 1);
      assert.match(run.stderr, /models\[0\]\.backends\[0\]\.backend: unknown backend "ghost"/);

      await writeFile(path, 'costs: [{ metadataKey: k, type: CEL, cel: "model" }]\n');
      const cel = await cli(['serve', '--config', path, '--listen', '127.0.0.1:0', '--admin', '127.0.0.1:0']);
      assert.equal(cel.code, 1);
      assert.match(cel.stderr, /costs\[0\]\.cel: invalid CEL expression/);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});

describe('llm-extproc where people expect it', { timeout: 60_000 }, () => {
  const version = (JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { version: string }).version;

  it('--version prints the package version', async () => {
    assert.deepEqual(await cli(['--version']), { code: 0, stdout: `llm-extproc ${version}\n`, stderr: '' });
  });

  it('npx llm-extproc runs the bin from the repository root, and npm run validate is the validate command', async () => {
    const base = { ...process.env };
    delete base['LLM_EXTPROC_CONFIG'];
    const run = (command: string, args: string[]) =>
      new Promise<Run>((resolve) => {
        execFile(command, args, { cwd: ROOT, env: { ...base, LOG_LEVEL: 'silent' }, timeout: 60_000 }, (error, stdout, stderr) => {
          resolve({ code: error === null ? 0 : typeof error.code === 'number' ? error.code : null, stdout, stderr });
        });
      });
    const [npx, npm] = await Promise.all([
      run('npx', ['--no-install', 'llm-extproc', '--version']),
      run('npm', ['run', '--silent', 'validate', '--', '--config', 'config/examples/azure-openai.yaml', '--skip-secrets']),
    ]);
    assert.deepEqual(npx, { code: 0, stdout: `llm-extproc ${version}\n`, stderr: '' });
    assert.deepEqual(npm, { code: 0, stdout: 'config/examples/azure-openai.yaml: ok (secrets not checked)\n', stderr: '' });
  });

  it('serve refuses a port in use with one line naming the port and its flag, and binds nothing', async () => {
    const taken = createServer();
    await new Promise<void>((resolve) => taken.listen(0, '127.0.0.1', resolve));
    const port = (taken.address() as AddressInfo).port;
    try {
      const run = await cli(['serve', '--listen', `127.0.0.1:${port}`, '--admin', '127.0.0.1:0']);
      assert.equal(run.code, 1);
      assert.equal(run.stderr, `cannot start: port ${port} on 127.0.0.1: already in use by another process; change it with --listen ADDR\n`);
    } finally {
      await new Promise((resolve) => taken.close(resolve));
    }
  });
});
