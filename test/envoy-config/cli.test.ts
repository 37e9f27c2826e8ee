/** `llm-extproc envoy --config FILE [--extproc ADDR] [--ratelimit ADDR]` through the real CLI entry point. */
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { parse } from 'yaml';
import { main } from '../../src/main.js';
import { TWO_BACKENDS, cluster, httpFilters, type JsonMap } from './helpers.js';
import { validateEnvoyYaml } from './validate.js';

async function run(args: string[], env: NodeJS.ProcessEnv = {}): Promise<{ code: number; stdout: string; stderr: string }> {
  let stdout = '';
  let stderr = '';
  const code = await main(args, { stdout: (text) => void (stdout += text), stderr: (text) => void (stderr += text), env });
  return { code, stdout, stderr };
}

describe('llm-extproc envoy', () => {
  let dir = '';
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'llm-extproc-envoy-'));
    await writeFile(join(dir, 'good.yaml'), TWO_BACKENDS);
    await writeFile(join(dir, 'file-secret.yaml'), TWO_BACKENDS.replace('{ env: OPENAI_API_KEY }', '{ file: /nonexistent/openai-key }'));
    await writeFile(join(dir, 'bad.yaml'), 'models:\n  - name: m\n    backends: [{ backend: nowhere }]\n');
  });
  after(() => rm(dir, { recursive: true, force: true }));

  it('prints a valid bootstrap without needing the secrets the config names', async () => {
    const result = await run(['envoy', '--config', join(dir, 'good.yaml'), '--extproc', 'unix:/s/x.sock', '--ratelimit', 'rl:8081']);
    assert.equal(result.code, 0, result.stderr);
    assert.deepEqual(validateEnvoyYaml(result.stdout), []);
    const bootstrap = parse(result.stdout) as JsonMap;
    assert.deepEqual(
      (cluster(bootstrap, 'llm_extproc')['load_assignment'] as JsonMap)['endpoints'],
      [{ lb_endpoints: [{ endpoint: { address: { pipe: { path: '/s/x.sock' } } } }] }],
    );
    assert.ok(httpFilters(bootstrap).some((filter) => filter['name'] === 'envoy.filters.http.ratelimit'));
    assert.equal(cluster(bootstrap, 'ratelimit')['type'], 'STRICT_DNS');
    assert.match(result.stdout, /--extproc unix:\/s\/x\.sock --ratelimit rl:8081/);
  });

  it('says on stderr that envoy.attemptResponseHeaders needs Envoy 1.37', async () => {
    await writeFile(join(dir, 'attempt-headers.yaml'), `${TWO_BACKENDS}\nenvoy: { attemptResponseHeaders: true }\n`);
    const result = await run(['envoy', '--config', join(dir, 'attempt-headers.yaml')]);
    assert.equal(result.code, 0, result.stderr);
    assert.deepEqual(validateEnvoyYaml(result.stdout), []);
    assert.match(result.stderr, /^llm-extproc envoy: note: envoy\.attemptResponseHeaders needs Envoy >= 1\.37/);
    assert.equal((await run(['envoy', '--config', join(dir, 'good.yaml')])).stderr, '');
  });

  it('needs no secret: a missing key file is fine for Envoy config', async () => {
    const result = await run(['envoy', '--config', join(dir, 'file-secret.yaml')]);
    assert.equal(result.code, 0, result.stderr);
    assert.doesNotMatch(result.stdout, /nonexistent|not-needed/);
  });

  it('takes the config from LLM_EXTPROC_CONFIG when --config is absent', async () => {
    const result = await run(['envoy'], { LLM_EXTPROC_CONFIG: join(dir, 'good.yaml') });
    assert.equal(result.code, 0, result.stderr);
    assert.match(result.stdout, /model_gpt-4o-mini/);
  });

  it('prints config errors with their path and exits 1', async () => {
    const result = await run(['envoy', '--config', join(dir, 'bad.yaml')]);
    assert.equal(result.code, 1);
    assert.equal(result.stdout, '');
    assert.match(result.stderr, /models\[0\]\.backends\[0\]\.backend: unknown backend "nowhere"/);
  });

  it('exits 2 on a bad flag or address', async () => {
    assert.equal((await run(['envoy', '--config', join(dir, 'good.yaml'), '--bogus'])).code, 2);
    const badAddress = await run(['envoy', '--config', join(dir, 'good.yaml'), '--extproc', 'no-port']);
    assert.equal(badAddress.code, 2);
    assert.match(badAddress.stderr, /--extproc/);
  });

  it('is listed in the usage text', async () => {
    const result = await run(['--help']);
    assert.match(result.stdout, /llm-extproc envoy \[--config FILE\] \[--extproc ADDR\] \[--ratelimit ADDR\]/);
  });
});
