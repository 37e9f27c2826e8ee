import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { VALIDATORS } from '../helpers/components.js';
import { Writable } from 'node:stream';
import { appendFile, mkdir, mkdtemp, rename, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ConfigError, ConfigStore, type ReloadAttempt } from '../../src/config/store.js';
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

/** The next reload attempt that `accept`s (the watcher is asynchronous: wait for its event, not for time). */
function nextAttempt(store: ConfigStore, accept: (attempt: ReloadAttempt) => boolean = () => true): Promise<ReloadAttempt> {
  return new Promise((resolve) => {
    const unsubscribe = store.onReloadAttempt((attempt) => {
      if (!accept(attempt)) return;
      unsubscribe();
      resolve(attempt);
    });
  });
}

function nextChange(store: ConfigStore): Promise<RuntimeConfig> {
  return new Promise((resolve) => {
    const unsubscribe = store.onChange((config) => {
      unsubscribe();
      resolve(config);
    });
  });
}

describe('ConfigStore', { timeout: 60_000 }, () => {
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
      const rejected = nextAttempt(store, (attempt) => attempt.outcome === 'rejected');
      await writeFile(env.path, 'models:\n  - { name: third, backends: [{ backend: ghost }] }\n  - bogus: 1\n');
      await rejected;
      assert.equal(await reloadCount(env.metrics, 'failure'), 1);
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

  it('an invalid config next to a busy file: the other file wakes nothing, and the failure is counted and logged once', { timeout: 30_000 }, async () => {
    const env = await setup();
    await writeFile(env.path, configText('good'));
    const store = await ConfigStore.open(env.path, { logger: env.logger, metrics: env.metrics, validators: VALIDATORS, watch: true, debounceMs: 1 });
    try {
      const invalid = 'models:\n  - { name: x, backends: [{ backend: ghost }] }\n';
      // Atomic saves (write aside, rename over): exactly one event names the config per save.
      const save = async (text: string) => {
        await writeFile(join(env.dir, '.config.yaml.tmp'), text);
        await rename(join(env.dir, '.config.yaml.tmp'), env.path);
      };
      const rejected = nextAttempt(store);
      await save(invalid);
      assert.equal((await rejected).outcome, 'rejected');

      const attempts: ReloadAttempt[] = [];
      store.onReloadAttempt((attempt) => attempts.push(attempt));
      const busy = join(env.dir, 'service.log');
      for (let line = 0; line < 200; line += 1) await appendFile(busy, `{"msg":"line ${line}"}\n`);
      // The same invalid text saved again: one more attempt, the same failure, neither counted nor logged.
      const again = nextAttempt(store);
      await save(invalid);
      assert.equal((await again).outcome, 'again');
      assert.equal(attempts.length, 1, `the busy file woke the store: ${attempts.length} attempts`);
      assert.equal(await reloadCount(env.metrics, 'failure'), 1);
      assert.equal(env.logLines.filter((line) => line['msg'] === 'config reload rejected; keeping the previous config').length, 1);

      // A different failure is a new failure; a fix applies and resets.
      const other = nextAttempt(store);
      await writeFile(env.path, 'models: 5\n');
      assert.equal((await other).outcome, 'rejected');
      assert.equal(await reloadCount(env.metrics, 'failure'), 2);
      const fixed = nextChange(store);
      await writeFile(env.path, configText('fixed'));
      assert.deepEqual([...(await fixed).models.keys()], ['fixed']);
      assert.deepEqual([...store.current.models.keys()], ['fixed']);
    } finally {
      store.close();
      await env.cleanup();
    }
  });

  it('keeps following ConfigMap swaps after the old version directory is removed', { timeout: 30_000 }, async () => {
    const env = await setup();
    await mkdir(join(env.dir, '..v1'));
    await writeFile(join(env.dir, '..v1', 'config.yaml'), configText('v1'));
    await symlink('..v1', join(env.dir, '..data'));
    await symlink(join('..data', 'config.yaml'), env.path);
    const store = await ConfigStore.open(env.path, { logger: env.logger, metrics: env.metrics, validators: VALIDATORS, watch: true, debounceMs: 5 });
    const swap = async (from: string, to: string, model: string) => {
      const changed = nextChange(store);
      await mkdir(join(env.dir, to));
      await writeFile(join(env.dir, to, 'config.yaml'), configText(model));
      await symlink(to, join(env.dir, '..data_tmp'));
      await rename(join(env.dir, '..data_tmp'), join(env.dir, '..data'));
      await rm(join(env.dir, from), { recursive: true });
      assert.deepEqual([...(await changed).models.keys()], [model]);
    };
    try {
      await swap('..v1', '..v2', 'v2');
      await swap('..v2', '..v3', 'v3');
      await swap('..v3', '..v4', 'v4');
      assert.deepEqual([...store.current.models.keys()], ['v4']);
    } finally {
      store.close();
      await env.cleanup();
    }
  });

  it('keeps reloading after its directory is deleted and recreated', { timeout: 30_000 }, async () => {
    const env = await setup();
    const directory = join(env.dir, 'conf');
    const path = join(directory, 'config.yaml');
    await mkdir(directory);
    await writeFile(path, configText('before'));
    const store = await ConfigStore.open(path, { logger: env.logger, metrics: env.metrics, validators: VALIDATORS, watch: true, debounceMs: 5 });
    try {
      const recreated = nextChange(store);
      await rm(directory, { recursive: true });
      await mkdir(directory);
      await writeFile(path, configText('recreated'));
      assert.deepEqual([...(await recreated).models.keys()], ['recreated']);
      assert.deepEqual([...store.current.models.keys()], ['recreated']);

      const later = nextChange(store);
      await writeFile(path, configText('later'));
      assert.deepEqual([...(await later).models.keys()], ['later']);
      assert.ok(store.watchedDirectories.includes(directory));
      const gone = env.logLines.filter((line) => /directory is gone/.test(String(line['msg'])));
      assert.ok(gone.length >= 1, 'the loss is logged');
    } finally {
      store.close();
      await env.cleanup();
    }
  });

  it('follows the secret files the config names, in another directory, and re-reads them on change', { timeout: 30_000 }, async () => {
    const env = await setup();
    const secrets = join(env.dir, 'secrets');
    await mkdir(secrets);
    const keyFile = join(secrets, 'api-key');
    await writeFile(keyFile, 'first-key-value\n');
    await writeFile(env.path, `backends:\n  - { name: local, schema: OpenAI, endpoint: "http://127.0.0.1:9", auth: { apiKey: { file: ${keyFile} } } }\nmodels: []\n`);
    const store = await ConfigStore.open(env.path, { logger: env.logger, metrics: env.metrics, validators: VALIDATORS, watch: true, debounceMs: 5 });
    try {
      assert.ok(store.watchedDirectories.includes(secrets), `watching ${store.watchedDirectories.join(', ')}`);
      assert.equal(store.current.backends.get('local')?.credentials?.apiKey?.value, 'first-key-value');
      const rotated = nextAttempt(store, (attempt) => attempt.secretsChanged.length > 0);
      await writeFile(join(secrets, '.tmp-key'), 'second-key-value\n');
      await rename(join(secrets, '.tmp-key'), keyFile);
      assert.deepEqual((await rotated).secretsChanged, [keyFile]);
      assert.equal(store.current.backends.get('local')?.credentials?.apiKey?.value, 'second-key-value');
      assert.equal(await reloadCount(env.metrics, 'success'), 0, 'the config itself did not change');
    } finally {
      store.close();
      await env.cleanup();
    }
  });
});
