import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { VALIDATORS } from '../helpers/components.js';
import { Writable } from 'node:stream';
import { mkdir, mkdtemp, rename, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ConfigError, ConfigStore } from '../../src/config/store.js';
import type { RuntimeConfig } from '../../src/config/load.js';
import { createLogger } from '../../src/logging.js';
import { GatewayMetrics } from '../../src/metrics/metrics.js';

function configText(model: string): string {
  return [
    'backends:',
    '  - { name: local, schema: OpenAI, endpoint: "http://127.0.0.1:9" }',
    'models:',
    `  - { name: ${model}, backends: [{ backend: local }] }`,
  ].join('\n');
}

async function setup() {
  const dir = await mkdtemp(join(tmpdir(), 'llm-extproc-store-'));
  const path = join(dir, 'config.yaml');
  const logLines: Array<Record<string, unknown>> = [];
  const destination = new Writable({
    write(chunk: Buffer, _encoding, callback) {
      for (const line of chunk.toString().split('\n')) if (line) logLines.push(JSON.parse(line) as Record<string, unknown>);
      callback();
    },
  });
  const logger = createLogger({ level: 'info', destination });
  const metrics = new GatewayMetrics();
  return { dir, path, logger, metrics, logLines, cleanup: () => rm(dir, { recursive: true, force: true }) };
}

async function reloadCount(metrics: GatewayMetrics, result: 'success' | 'failure'): Promise<number> {
  const match = new RegExp(`llm_extproc_config_reloads_total\\{result="${result}"\\} (\\d+)`).exec(await metrics.metrics());
  return match ? Number(match[1]) : 0;
}

/** Polls until check() holds; the watcher is asynchronous. */
async function eventually(check: () => Promise<boolean> | boolean, what: string): Promise<void> {
  const deadline = Date.now() + 5_000;
  while (!(await check())) {
    if (Date.now() > deadline) assert.fail(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

function nextChange(store: ConfigStore): Promise<RuntimeConfig> {
  return new Promise((resolve) => {
    const unsubscribe = store.onChange((config) => {
      unsubscribe();
      resolve(config);
    });
  });
}

describe('ConfigStore', () => {
  it('fails with every error when the first load is invalid', async () => {
    const env = await setup();
    try {
      await writeFile(env.path, 'models:\n  - { name: a, backends: [{ backend: nope }] }\n  - { name: a, backends: [{ backend: nope2 }] }\n');
      const error = await ConfigStore.open(env.path, { logger: env.logger, metrics: env.metrics, validators: VALIDATORS, watch: false }).then(
        () => assert.fail('expected ConfigError'),
        (caught: unknown) => caught,
      );
      assert.ok(error instanceof ConfigError);
      assert.deepEqual(error.errors, [
        'models[0].backends[0].backend: unknown backend "nope"',
        'models[1].name: duplicate model name "a"',
        'models[1].backends[0].backend: unknown backend "nope2"',
      ]);
      assert.match(error.message, /unknown backend "nope2"/);
      await assert.rejects(
        ConfigStore.open(join(env.dir, 'missing.yaml'), { logger: env.logger, metrics: env.metrics, validators: VALIDATORS, watch: false }),
        (caught: unknown) => caught instanceof ConfigError && /ENOENT/.test(caught.errors[0] ?? ''),
      );
    } finally {
      await env.cleanup();
    }
  });

  it('applies a valid change, rejects an invalid one keeping the old config, and counts both', async () => {
    const env = await setup();
    await writeFile(env.path, configText('first'));
    const store = await ConfigStore.open(env.path, { logger: env.logger, metrics: env.metrics, validators: VALIDATORS, watch: true, debounceMs: 20 });
    try {
      assert.deepEqual([...store.current.models.keys()], ['first']);

      const changed = nextChange(store);
      await writeFile(env.path, configText('second'));
      const applied = await changed;
      assert.deepEqual([...applied.models.keys()], ['second']);
      assert.equal(store.current, applied);
      assert.equal(await reloadCount(env.metrics, 'success'), 1);

      let notified = false;
      store.onChange(() => (notified = true));
      await writeFile(env.path, 'models:\n  - { name: third, backends: [{ backend: ghost }] }\n  - bogus: 1\n');
      await eventually(async () => (await reloadCount(env.metrics, 'failure')) === 1, 'the failure metric');
      assert.deepEqual([...store.current.models.keys()], ['second']);
      assert.equal(notified, false);
      const errors = env.logLines.filter((line) => line['msg'] === 'invalid config').map((line) => line['error']);
      assert.deepEqual(errors, [
        'models[1].name: Required',
        'models[1].backends: Required',
        'models[1].bogus: unknown key',
        'models[0].backends[0].backend: unknown backend "ghost"',
      ]);
      assert.ok(env.logLines.some((line) => line['level'] === 50 && /keeping the previous config/.test(String(line['msg']))));
      assert.equal(await reloadCount(env.metrics, 'success'), 1);

      // Fixing the file applies again.
      const fixed = nextChange(store);
      await writeFile(env.path, configText('fourth'));
      assert.deepEqual([...(await fixed).models.keys()], ['fourth']);
      assert.equal(await reloadCount(env.metrics, 'success'), 2);
    } finally {
      store.close();
      await env.cleanup();
    }
  });

  it('sees atomic renames and Kubernetes ConfigMap symlink swaps', async () => {
    const env = await setup();
    // ConfigMap layout: config.yaml -> ..data/config.yaml, ..data -> ..v1
    await mkdir(join(env.dir, '..v1'));
    await writeFile(join(env.dir, '..v1', 'config.yaml'), configText('v1'));
    await symlink('..v1', join(env.dir, '..data'));
    await symlink(join('..data', 'config.yaml'), env.path);
    const store = await ConfigStore.open(env.path, { logger: env.logger, metrics: env.metrics, validators: VALIDATORS, watch: true, debounceMs: 20 });
    try {
      assert.deepEqual([...store.current.models.keys()], ['v1']);
      const swapped = nextChange(store);
      await mkdir(join(env.dir, '..v2'));
      await writeFile(join(env.dir, '..v2', 'config.yaml'), configText('v2'));
      await symlink('..v2', join(env.dir, '..data_tmp'));
      await rename(join(env.dir, '..data_tmp'), join(env.dir, '..data'));
      assert.deepEqual([...(await swapped).models.keys()], ['v2']);

      // Editor-style save: write a temp file, rename it over the target (replacing the symlink).
      const renamed = nextChange(store);
      await writeFile(join(env.dir, '.config.yaml.tmp'), configText('v3'));
      await rename(join(env.dir, '.config.yaml.tmp'), env.path);
      assert.deepEqual([...(await renamed).models.keys()], ['v3']);
    } finally {
      store.close();
      await env.cleanup();
    }
  });

  it('does not reload an unchanged file, and keeps known models in the metrics', async () => {
    const env = await setup();
    await writeFile(env.path, configText('same'));
    const store = await ConfigStore.open(env.path, { logger: env.logger, metrics: env.metrics, validators: VALIDATORS, watch: false });
    try {
      await store.reload();
      assert.equal(await reloadCount(env.metrics, 'success'), 0);
      env.metrics.recordRequest({ operationName: 'chat', providerName: 'openai', requestModel: 'same', responseModel: '' }, 1);
      assert.match(await env.metrics.metrics(), /gen_ai_request_model="same"/);
      await writeFile(env.path, configText('changed'));
      await store.reload();
      assert.equal(await reloadCount(env.metrics, 'success'), 1);
      assert.deepEqual([...store.current.models.keys()], ['changed']);
    } finally {
      store.close();
      await env.cleanup();
    }
  });
});
