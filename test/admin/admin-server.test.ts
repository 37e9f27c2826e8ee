import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { request } from 'node:http';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startAdminServer } from '../../src/admin/admin-server.js';
import { GatewayMetrics } from '../../src/metrics/metrics.js';

function get(target: { host: string; port: number } | { socketPath: string }, path: string, method = 'GET') {
  return new Promise<{ status: number; type: string | undefined; body: string }>((resolve, reject) => {
    const req = request({ ...target, path, method }, (response) => {
      const chunks: Buffer[] = [];
      response.on('data', (chunk: Buffer) => chunks.push(chunk));
      response.on('end', () =>
        resolve({ status: response.statusCode ?? 0, type: response.headers['content-type'], body: Buffer.concat(chunks).toString() }),
      );
    });
    req.on('error', reject);
    req.end();
  });
}

function tcp(address: string): { host: string; port: number } {
  const colon = address.lastIndexOf(':');
  return { host: address.slice(0, colon), port: Number(address.slice(colon + 1)) };
}

describe('admin server', () => {
  it('serves /metrics, /healthz and /readyz, 404 elsewhere', async () => {
    const metrics = new GatewayMetrics();
    metrics.recordConfigReload('success');
    let ready = false;
    const server = await startAdminServer({ listen: '127.0.0.1:0', metrics, isReady: () => ready });
    try {
      const target = tcp(server.address);
      assert.notEqual(target.port, 0);
      const scraped = await get(target, '/metrics');
      assert.equal(scraped.status, 200);
      assert.equal(scraped.type, metrics.contentType);
      assert.match(scraped.body, /llm_extproc_config_reloads_total\{result="success"\} 1/);
      assert.deepEqual(await get(target, '/healthz'), { status: 200, type: 'text/plain; charset=utf-8', body: 'ok' });
      assert.equal((await get(target, '/readyz')).status, 503);
      ready = true;
      assert.equal((await get(target, '/readyz')).status, 200);
      assert.equal((await get(target, '/readyz?verbose=1')).status, 200);
      ready = false;
      assert.equal((await get(target, '/readyz')).status, 503);
      assert.equal((await get(target, '/')).status, 404);
      assert.equal((await get(target, '/metrics/x')).status, 404);
      assert.equal((await get(target, '/metrics', 'POST')).status, 404);
      const head = await get(target, '/healthz', 'HEAD');
      assert.equal(head.status, 200);
      assert.equal(head.body, '');
    } finally {
      await server.close();
    }
  });

  it('/debug/memory: 404 unless Node runs with --expose-gc; with it, figures after a collection and the live objects', { timeout: 30_000 }, async () => {
    const metrics = new GatewayMetrics();
    const held = { exchange: {} };
    metrics.trackLive('exchange', held.exchange);
    const server = await startAdminServer({ listen: '127.0.0.1:0', metrics, isReady: () => true, liveObjects: () => metrics.liveObjectCounts() });
    const globals = globalThis as { gc?: () => void };
    const original = globals.gc;
    try {
      const target = tcp(server.address);
      globals.gc = undefined;
      assert.equal((await get(target, '/debug/memory')).status, 404, 'not there without --expose-gc');
      let collections = 0;
      globals.gc = () => void (collections += 1);
      const answer = await get(target, '/debug/memory');
      assert.equal(answer.status, 200);
      const body = JSON.parse(answer.body) as { rss: number; heapUsed: number; fds: number; live: Record<string, number> };
      assert.ok(collections > 0, 'a collection ran first');
      assert.ok(body.rss > 0 && body.heapUsed > 0 && body.fds > 0);
      assert.deepEqual(body.live, { exchange: 1, processor: 0 });
    } finally {
      globals.gc = original;
      await server.close();
    }
  });

  it('answers 500 when the metrics source fails, and keeps serving', async () => {
    const failures: unknown[] = [];
    const server = await startAdminServer({
      listen: '127.0.0.1:0',
      metrics: { contentType: 'text/plain', metrics: () => Promise.reject(new Error('registry broken')) },
      isReady: () => true,
      onError: (error) => failures.push(error),
    });
    try {
      const target = tcp(server.address);
      assert.equal((await get(target, '/metrics')).status, 500);
      assert.equal(failures.length, 1);
      assert.equal((await get(target, '/healthz')).status, 200);
    } finally {
      await server.close();
    }
  });

  it('listens on a unix socket', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'llm-extproc-admin-'));
    const socketPath = join(dir, 'admin.sock');
    try {
      const server = await startAdminServer({ listen: `unix:${socketPath}`, metrics: new GatewayMetrics(), isReady: () => true });
      assert.equal(server.address, `unix:${socketPath}`);
      assert.equal((await get({ socketPath }, '/readyz')).status, 200);
      await server.close();
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('rejects a bad listen address', async () => {
    await assert.rejects(
      startAdminServer({ listen: 'nonsense', metrics: new GatewayMetrics(), isReady: () => true }),
      /admin address "nonsense"/,
    );
  });
});
