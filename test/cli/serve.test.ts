/** serve(): readiness, drain on SIGTERM, forced close on a second signal or a drain timeout. */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { EventEmitter } from 'node:events';
import { execFile, spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { runRun } from '../../src/cli/run.js';
import { DEFAULT_DRAIN_TIMEOUT_MS, DEFAULT_HEAP_GROWING_PERCENT, DEFAULT_KEEPALIVE, drainTimeout, heapGrowingPercent, keepaliveSettings, runServe, serve } from '../../src/cli/serve.js';
import { createComponents } from '../../src/components.js';
import type { ExtProcServerHandle, Service, StartExtProcServer } from '../../src/service.js';
import { createLogger } from '../../src/logging.js';
import { HEALTH_PROTO } from '../helpers/health-client.js';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const DEFAULT_CONFIG = join(ROOT, 'config', 'default.yaml');

async function status(admin: string, path: string): Promise<number> {
  const response = await fetch(`http://${admin}${path}`);
  await response.arrayBuffer();
  return response.status;
}

class FakeServer implements ExtProcServerHandle {
  address = '127.0.0.1:1063';
  drainCalls: number[] = [];
  forceClosed = 0;
  private finishDrain: () => void = () => undefined;
  drain(timeoutMs: number): Promise<void> {
    this.drainCalls.push(timeoutMs);
    return new Promise((resolve) => (this.finishDrain = resolve));
  }
  completeDrain(): void {
    this.finishDrain();
  }
  forceClose(): void {
    this.forceClosed++;
    this.finishDrain();
  }
}

function start(drainTimeoutMs = 5_000, configPath = DEFAULT_CONFIG, watch = true) {
  const fake = new FakeServer();
  const signals = new EventEmitter();
  let received: Parameters<StartExtProcServer>[0] | undefined;
  let resolveServing: (addresses: { grpc: string; admin: string }) => void = () => undefined;
  const serving = new Promise<{ grpc: string; admin: string }>((resolve) => (resolveServing = resolve));
  let serviceSeen: Service | undefined;
  const onServing = (service: Service) => {
    serviceSeen = service;
    resolveServing({ grpc: service.grpcAddress, admin: service.adminAddress });
  };
  const exit = serve({
    configPath,
    watch,
    listen: { kind: 'tcp', host: '127.0.0.1', port: 0 },
    admin: { kind: 'tcp', host: '127.0.0.1', port: 0 },
    drainTimeoutMs,
    io: { stdout: () => undefined, stderr: () => undefined, env: {} },
    components: createComponents(),
    startServer: async (options) => {
      received = options;
      return fake;
    },
    signals,
    logger: createLogger({ level: 'silent' }),
    onServing,
  });
  return { fake, signals, serving, exit, received: () => received, service: () => serviceSeen };
}

describe('serve', () => {
  it('is ready while serving, goes unready on SIGTERM, drains, and exits 0', async () => {
    const run = start();
    const { admin, grpc } = await run.serving;
    assert.equal(grpc, '127.0.0.1:1063');
    assert.equal(run.received()?.listen, '127.0.0.1:0');
    assert.deepEqual([...(run.received()?.configStore.current.models.keys() ?? [])], ['gpt-4o-mini', 'gpt-4o', 'llama3.2']);
    assert.equal(await status(admin, '/readyz'), 200);
    assert.equal(await status(admin, '/healthz'), 200);
    assert.equal(await status(admin, '/metrics'), 200);

    run.signals.emit('SIGTERM', 'SIGTERM');
    await new Promise((resolve) => setImmediate(resolve));
    assert.deepEqual(run.fake.drainCalls, [5_000]);
    assert.equal(await status(admin, '/readyz'), 503);
    assert.equal(await status(admin, '/healthz'), 200);
    run.fake.completeDrain();
    assert.equal(await run.exit, 0);
    assert.equal(run.fake.forceClosed, 0);
    assert.equal(run.signals.listenerCount('SIGTERM'), 0);
    await assert.rejects(fetch(`http://${admin}/healthz`));
  });

  it('closes everything at once on a second signal', async () => {
    const run = start();
    await run.serving;
    run.signals.emit('SIGINT', 'SIGINT');
    await new Promise((resolve) => setImmediate(resolve));
    run.signals.emit('SIGTERM', 'SIGTERM');
    assert.equal(await run.exit, 0);
    assert.equal(run.fake.forceClosed, 1);
  });

  it('reloads the config on SIGHUP (the file is not followed here, so only the signal can) and keeps serving', { timeout: 30_000 }, async () => {
    const directory = await mkdtemp(join(tmpdir(), 'llm-extproc-sighup-'));
    const configPath = join(directory, 'config.yaml');
    const config = (model: string) => `backends: [{ name: local, schema: OpenAI, endpoint: "http://127.0.0.1:9" }]\nmodels: [{ name: ${model}, backends: [{ backend: local }] }]\n`;
    await writeFile(configPath, config('before'));
    const run = start(5_000, configPath, false);
    try {
      const { admin } = await run.serving;
      const store = run.service()?.configStore;
      assert.ok(store);
      assert.equal(run.signals.listenerCount('SIGHUP'), 1);
      await writeFile(configPath, config('after'));
      const attempt = new Promise((resolve) => store.onReloadAttempt(resolve));
      run.signals.emit('SIGHUP', 'SIGHUP');
      assert.deepEqual(await attempt, { outcome: 'applied', secretsChanged: [] });
      assert.deepEqual([...store.current.models.keys()], ['after']);
      // Again, with nothing changed: still serving, nothing drained.
      const unchanged = new Promise((resolve) => store.onReloadAttempt(resolve));
      run.signals.emit('SIGHUP', 'SIGHUP');
      assert.deepEqual(await unchanged, { outcome: 'unchanged', secretsChanged: [] });
      assert.equal(await status(admin, '/readyz'), 200);
      assert.deepEqual(run.fake.drainCalls, []);
      run.signals.emit('SIGTERM', 'SIGTERM');
      await new Promise((resolve) => setImmediate(resolve));
      run.fake.completeDrain();
      assert.equal(await run.exit, 0);
      assert.equal(run.signals.listenerCount('SIGHUP'), 0);
    } finally {
      await rm(directory, { recursive: true, force: true });
    }
  });

  it('takes --tls-cert and --tls-key together, and --tls-client-ca only with them', async () => {
    for (const args of [['--tls-cert', 'c.pem'], ['--tls-key', 'k.pem'], ['--tls-client-ca', 'ca.pem']]) {
      let stderr = '';
      const code = await runServe(args, { stdout: () => undefined, stderr: (text: string) => (stderr += text), env: {} }, createComponents());
      assert.equal(code, 2, args.join(' '));
      assert.match(stderr, /--tls-/);
    }
  });

  it('refuses an LLM_EXTPROC_DRAIN_TIMEOUT_MS that is not an integer in range, at start, with a usage error', async () => {
    for (const bad of ['30s', '-1', '1.5', '3600001']) {
      let stderr = '';
      const code = await runServe([], { stdout: () => undefined, stderr: (text: string) => (stderr += text), env: { LLM_EXTPROC_DRAIN_TIMEOUT_MS: bad } }, createComponents());
      assert.equal(code, 2, bad);
      assert.match(stderr, new RegExp(`LLM_EXTPROC_DRAIN_TIMEOUT_MS must be an integer from 0 to 3600000, got "${bad.replace('.', '\\.')}"`));
    }
  });

  it('llm-extproc run refuses the same, before starting Envoy', async () => {
    let stderr = '';
    const code = await runRun([], { stdout: () => undefined, stderr: (text: string) => (stderr += text), env: { LLM_EXTPROC_DRAIN_TIMEOUT_MS: '30s' } }, createComponents());
    assert.equal(code, 2);
    assert.match(stderr, /^llm-extproc run: LLM_EXTPROC_DRAIN_TIMEOUT_MS must be an integer from 0 to 3600000, got "30s"/);
  });

  it('force-closes when the drain outlasts its bound', async () => {
    const run = start(0);
    await run.serving;
    run.signals.emit('SIGTERM', 'SIGTERM');
    assert.equal(await run.exit, 0);
    assert.deepEqual(run.fake.drainCalls, [0]);
    assert.equal(run.fake.forceClosed, 1);
  });
});

const grpcServerWritten = existsSync(join(ROOT, 'src', 'server', 'grpc-server.ts'));

describe('llm-extproc serve (process)', () => {
  it(
    'answers /readyz and gRPC health SERVING, then exits 0 on SIGTERM',
    { skip: grpcServerWritten ? false : 'src/server/grpc-server.ts not written yet', timeout: 30_000 },
    async () => {
      const child = spawn(
        process.execPath,
        [join(ROOT, 'bin', 'llm-extproc.js'), 'serve', '--config', DEFAULT_CONFIG, '--listen', '127.0.0.1:0', '--admin', '127.0.0.1:0'],
        { cwd: ROOT, env: { ...process.env, LOG_LEVEL: 'info' }, stdio: ['ignore', 'pipe', 'pipe'] },
      );
      const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
      const addresses: Record<string, string> = {};
      let buffered = '';
      const serving = new Promise<void>((resolve, reject) => {
        child.stdout.on('data', (chunk: Buffer) => {
          buffered += chunk.toString();
          let newline: number;
          while ((newline = buffered.indexOf('\n')) >= 0) {
            const line = buffered.slice(0, newline);
            buffered = buffered.slice(newline + 1);
            const entry = JSON.parse(line) as { msg?: string; address?: string };
            if (entry.msg === 'admin server listening' && entry.address) addresses['admin'] = entry.address;
            if (entry.msg === 'ext_proc server serving' && entry.address) {
              addresses['grpc'] = entry.address;
              resolve();
            }
          }
        });
        void exited.then((code) => reject(new Error(`serve exited early with ${code}`)));
      });
      try {
        await serving;
        const admin = addresses['admin'] as string;
        assert.equal(await status(admin, '/readyz'), 200);
        assert.equal(await status(admin, '/metrics'), 200);
        const health = await grpcHealth(addresses['grpc'] as string);
        assert.equal(health, 'SERVING');
      } finally {
        child.kill('SIGTERM');
      }
      assert.equal(await exited, 0);
    },
  );
});

/** Asks grpc.health.v1.Health/Check through a tiny child script using grpc-js and proto-loader over the public health.proto. */
function grpcHealth(address: string): Promise<string> {
  const script = `
    import * as grpc from '@grpc/grpc-js';
    import { loadSync } from '@grpc/proto-loader';
    const definition = grpc.loadPackageDefinition(loadSync(${JSON.stringify(HEALTH_PROTO)}, { keepCase: true, enums: String }));
    const Health = definition.grpc.health.v1.Health;
    const client = new Health(${JSON.stringify(address)}, grpc.credentials.createInsecure());
    client.check({ service: '' }, (error, response) => {
      console.log(error ? 'ERROR ' + error.message : response.status);
      client.close();
    });`;
  return new Promise((resolve, reject) => {
    execFile(process.execPath, ['--input-type=module', '-e', script], { cwd: ROOT, timeout: 10_000 }, (error, stdout) =>
      error ? reject(error) : resolve(stdout.trim()),
    );
  });
}

describe('heapGrowingPercent', () => {
  it('defaults to 300, takes 0-1000, and refuses anything else', () => {
    assert.deepEqual(heapGrowingPercent({}), { ok: true, percent: DEFAULT_HEAP_GROWING_PERCENT });
    assert.equal(DEFAULT_HEAP_GROWING_PERCENT, 300);
    assert.deepEqual(heapGrowingPercent({ LLM_EXTPROC_HEAP_GROWING_PERCENT: '' }), { ok: true, percent: 300 });
    assert.deepEqual(heapGrowingPercent({ LLM_EXTPROC_HEAP_GROWING_PERCENT: '0' }), { ok: true, percent: 0 });
    assert.deepEqual(heapGrowingPercent({ LLM_EXTPROC_HEAP_GROWING_PERCENT: '1000' }), { ok: true, percent: 1000 });
    for (const bad of ['-1', '1001', '1e2', ' 5', 'x']) assert.equal(heapGrowingPercent({ LLM_EXTPROC_HEAP_GROWING_PERCENT: bad }).ok, false, bad);
  });
});

describe('keepaliveSettings', () => {
  it('defaults to a PING every 30 s answered within 10 s; 0 turns the PINGs off; anything else out of range is refused', () => {
    assert.deepEqual(keepaliveSettings({}), { ok: true, keepalive: DEFAULT_KEEPALIVE });
    assert.deepEqual(DEFAULT_KEEPALIVE, { timeMs: 30_000, timeoutMs: 10_000 });
    assert.deepEqual(keepaliveSettings({ LLM_EXTPROC_KEEPALIVE_TIME_MS: '0', LLM_EXTPROC_KEEPALIVE_TIMEOUT_MS: '' }), { ok: true, keepalive: { timeMs: 0, timeoutMs: 10_000 } });
    assert.deepEqual(keepaliveSettings({ LLM_EXTPROC_KEEPALIVE_TIME_MS: '1000', LLM_EXTPROC_KEEPALIVE_TIMEOUT_MS: '500' }), { ok: true, keepalive: { timeMs: 1000, timeoutMs: 500 } });
    for (const bad of ['-1', '1e3', '86400001', 'x']) assert.equal(keepaliveSettings({ LLM_EXTPROC_KEEPALIVE_TIME_MS: bad }).ok, false, bad);
    for (const bad of ['0', '3600001', '2.5']) assert.equal(keepaliveSettings({ LLM_EXTPROC_KEEPALIVE_TIMEOUT_MS: bad }).ok, false, bad);
  });
});

describe('drainTimeout', () => {
  it('reads LLM_EXTPROC_DRAIN_TIMEOUT_MS as whole milliseconds from 0 to an hour; unset or empty is 30 s', () => {
    assert.deepEqual(drainTimeout({}), { ok: true, ms: DEFAULT_DRAIN_TIMEOUT_MS });
    assert.deepEqual(drainTimeout({ LLM_EXTPROC_DRAIN_TIMEOUT_MS: '' }), { ok: true, ms: 30_000 });
    assert.deepEqual(drainTimeout({ LLM_EXTPROC_DRAIN_TIMEOUT_MS: '0' }), { ok: true, ms: 0 });
    assert.deepEqual(drainTimeout({ LLM_EXTPROC_DRAIN_TIMEOUT_MS: '90000' }), { ok: true, ms: 90_000 });
    for (const bad of ['30s', '-1', '1e3', '2.5', ' 5', '3600001']) assert.equal(drainTimeout({ LLM_EXTPROC_DRAIN_TIMEOUT_MS: bad }).ok, false, bad);
  });
});
