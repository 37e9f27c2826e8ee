/**
 * The shell in the manifests, run for real: the Envoy probes (the sidecar's and docker compose's) and the Envoy
 * preStop drain, with bash against a fake Envoy admin that, like Envoy's, answers HTTP/1.0 with 426. Also: every
 * image is pinned, `llm-extproc run` pins the same Envoy, and the compose file states the Compose version it needs.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { parse, parseAllDocuments } from 'yaml';
import { REPO_ROOT } from '../../scripts/envoy-generate.js';
import { ENVOY_IMAGE } from '../../src/run/find-envoy.js';

const OPTIONS = { timeout: 60_000 };

interface AdminLog {
  method: string;
  path: string;
  version: string;
}

/** A fake Envoy admin: /ready (LIVE, or 503 DRAINING once drained), /server_info, /drain_listeners, /stats. */
class FakeAdmin {
  readonly requests: AdminLog[] = [];
  /** downstream_rq_active answered by successive /stats calls; the last value repeats. */
  active: number[] = [0];
  drained = false;
  private server: Server | undefined;
  port = 0;

  async start(): Promise<void> {
    this.server = createServer((request, response) => {
      const [path = '/', query = ''] = (request.url ?? '/').split('?');
      this.requests.push({ method: request.method ?? '', path: query ? `${path}?${query}` : path, version: request.httpVersion });
      if (request.httpVersion === '1.0') {
        response.writeHead(426).end();
        return;
      }
      if (request.method === 'GET' && path === '/ready') {
        response.writeHead(this.drained ? 503 : 200).end(this.drained ? 'DRAINING\n' : 'LIVE\n');
      } else if (request.method === 'GET' && path === '/server_info') {
        response.writeHead(200, { 'content-type': 'application/json' }).end('{"state":"LIVE"}');
      } else if (request.method === 'POST' && path === '/drain_listeners') {
        this.drained = true;
        response.writeHead(200).end('OK\n');
      } else if (request.method === 'GET' && path === '/stats') {
        const active = this.active.length > 1 ? (this.active.shift() as number) : (this.active[0] as number);
        response.writeHead(200).end(`http.llm.downstream_rq_active: ${active}\nhttp.admin.downstream_rq_active: 1\n`);
      } else {
        response.writeHead(404).end();
      }
    });
    await new Promise<void>((resolve) => this.server?.listen(0, '127.0.0.1', resolve));
    this.port = (this.server.address() as AddressInfo).port;
  }

  async stop(): Promise<void> {
    this.server?.closeAllConnections();
    await new Promise((resolve) => this.server?.close(resolve));
  }
}

function bash(script: string, env: Record<string, string>): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile('bash', ['-c', script], { env: { PATH: process.env['PATH'] ?? '', ...env }, timeout: 30_000 }, (error, stdout, stderr) => {
      resolve({ code: error === null ? 0 : typeof error.code === 'number' ? error.code : -1, stdout, stderr });
    });
  });
}

type Json = Record<string, any>;

const sidecar = parse(readFileSync(join(REPO_ROOT, 'envoy/kubernetes/sidecar/deployment.yaml'), 'utf8')) as Json;
const envoyContainer = (sidecar['spec']['template']['spec']['containers'] as Json[]).find((container) => container['name'] === 'envoy') as Json;
const composeText = readFileSync(join(REPO_ROOT, 'docker-compose.yml'), 'utf8');
const compose = parse(composeText) as { services: Record<string, Json> };

describe('Envoy probes and preStop, run with bash against an admin that refuses HTTP/1.0', OPTIONS, () => {
  const admin = new FakeAdmin();
  before(() => admin.start());
  after(() => admin.stop());

  it('the sidecar readiness probe passes while Envoy is live, fails once it drains; liveness passes throughout', OPTIONS, async () => {
    const readiness = (envoyContainer['readinessProbe']['exec']['command'] as string[])[2] as string;
    const liveness = (envoyContainer['livenessProbe']['exec']['command'] as string[])[2] as string;
    const env = { ENVOY_ADMIN_PORT: String(admin.port) };
    admin.drained = false;
    assert.equal((await bash(readiness, env)).code, 0, 'ready');
    assert.equal((await bash(liveness, env)).code, 0, 'live');
    admin.drained = true;
    assert.notEqual((await bash(readiness, env)).code, 0, 'not ready while draining');
    assert.equal((await bash(liveness, env)).code, 0, 'still live while draining');
    assert.ok(admin.requests.every((request) => request.version === '1.1'), JSON.stringify(admin.requests));
    // The probe the manifests had before: HTTP/1.0, which Envoy answers 426, so it never passes.
    const old = readiness.replace("GET /ready HTTP/1.1\\r\\nHost: localhost\\r\\nConnection: close\\r\\n\\r\\n", 'GET /ready HTTP/1.0\\r\\n\\r\\n');
    assert.notEqual(old, readiness);
    admin.drained = false;
    assert.notEqual((await bash(old, env)).code, 0, 'an HTTP/1.0 probe fails');
  });

  it("docker compose's health check speaks HTTP/1.1", OPTIONS, async () => {
    const test = compose.services['envoy']?.['healthcheck']['test'] as string[];
    assert.deepEqual(test.slice(0, 3), ['CMD', 'bash', '-c']);
    const script = (test[3] as string).replace('/dev/tcp/127.0.0.1/9901', `/dev/tcp/127.0.0.1/${admin.port}`);
    assert.notEqual(script, test[3], 'the admin port is 9901');
    admin.drained = false;
    assert.equal((await bash(script, {})).code, 0);
  });

  it('the preStop drains the listeners, waits at least MIN_DRAIN_SECONDS, then until no request is in flight', OPTIONS, async () => {
    const preStop = (envoyContainer['lifecycle']['preStop']['exec']['command'] as string[])[2] as string;
    admin.requests.length = 0;
    admin.drained = false;
    admin.active = [2, 1, 0];
    const run = await bash(preStop, { ENVOY_ADMIN_PORT: String(admin.port), MIN_DRAIN_SECONDS: '0', DRAIN_SECONDS: '20' });
    assert.equal(run.code, 0, run.stderr);
    assert.deepEqual(
      admin.requests.map((request) => `${request.method} ${request.path}`),
      ['POST /drain_listeners?graceful', 'GET /stats?filter=downstream_rq_active', 'GET /stats?filter=downstream_rq_active', 'GET /stats?filter=downstream_rq_active'],
    );
    assert.ok(admin.requests.every((request) => request.version === '1.1'));
  });

  it('the preStop gives up after DRAIN_SECONDS when requests stay in flight', OPTIONS, async () => {
    const preStop = (envoyContainer['lifecycle']['preStop']['exec']['command'] as string[])[2] as string;
    admin.requests.length = 0;
    admin.active = [3];
    const started = Date.now();
    const run = await bash(preStop, { ENVOY_ADMIN_PORT: String(admin.port), MIN_DRAIN_SECONDS: '0', DRAIN_SECONDS: '2' });
    assert.equal(run.code, 0, run.stderr);
    assert.ok(Date.now() - started < 10_000, 'bounded');
    assert.ok(admin.requests.filter((request) => request.path.startsWith('/stats')).length >= 2);
  });
});

/** Every image reference in the manifests, the compose file and the Dockerfile. */
function images(): Array<{ where: string; image: string }> {
  const found: Array<{ where: string; image: string }> = [];
  const walk = (value: unknown, where: string): void => {
    if (Array.isArray(value)) for (const item of value) walk(item, where);
    else if (typeof value === 'object' && value !== null) {
      for (const [key, child] of Object.entries(value)) {
        if (key === 'image' && typeof child === 'string') found.push({ where, image: child });
        else walk(child, where);
      }
    }
  };
  for (const dir of ['envoy/kubernetes/sidecar', 'envoy/gateway']) {
    for (const file of readdirSync(join(REPO_ROOT, dir)).filter((name) => name.endsWith('.yaml'))) {
      for (const document of parseAllDocuments(readFileSync(join(REPO_ROOT, dir, file), 'utf8'))) walk(document.toJS(), `${dir}/${file}`);
    }
  }
  // A service with `build` names the image it builds here (llm-extproc:local), not one it pulls.
  for (const service of Object.values(compose.services)) if (service['build'] === undefined) walk(service, 'docker-compose.yml');
  for (const match of readFileSync(join(REPO_ROOT, 'Dockerfile'), 'utf8').matchAll(/^FROM (\S+)/gm)) found.push({ where: 'Dockerfile', image: match[1] as string });
  return found;
}

describe('images', () => {
  it('are pinned to a released version, a commit tag or a digest', () => {
    const all = images();
    assert.ok(all.length >= 7, JSON.stringify(all));
    for (const { where, image } of all) {
      const digest = /@sha256:[0-9a-f]{64}$/.test(image);
      const tag = /:([^:/@]+)$/.exec(image)?.[1];
      const pinned = digest || (tag !== undefined && (/^v?\d+\.\d+\.\d+(-[\w.-]+)?$/.test(tag) || /^[0-9a-f]{7,40}$/.test(tag)));
      assert.ok(pinned, `${where}: ${image} is not pinned (latest, master and major-only tags move)`);
    }
  });

  it('llm-extproc run starts the same Envoy image the compose stack and the sidecar run', () => {
    const envoys = images().filter(({ image }) => image.startsWith('envoyproxy/envoy:'));
    assert.ok(envoys.length >= 2);
    for (const { where, image } of envoys) assert.equal(image, ENVOY_IMAGE, where);
  });

  it('docker-compose.yml states the Compose version its env_file entries need', () => {
    const usesRequired = Object.values(compose.services).some((service) => (service['env_file'] as Json[] | undefined)?.some((entry) => 'required' in entry));
    assert.ok(usesRequired);
    assert.match(composeText, /^# Needs Docker Compose 2\.24 or later \(env_file entries with `required: false`\)/m);
  });
});
