/**
 * The local stack: docker-compose.yml, the Dockerfile and the configs they mount agree with each other
 * and with the generated Envoy config (listener, admin, rate-limit service, ext_proc socket).
 */
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { parse } from 'yaml';
import { REPO_ROOT } from '../../scripts/envoy-generate.js';
import { parseConfigForEnvoy } from '../../src/envoy/index.js';
import { cluster, dig, type JsonMap } from '../envoy-config/helpers.js';
import { VALIDATORS } from '../helpers/components.js';

interface Service {
  image?: string;
  profiles?: string[];
  build?: unknown;
  command?: string[];
  environment?: Record<string, string>;
  volumes?: string[];
  ports?: string[];
  healthcheck?: { test: string[] };
  env_file?: { path: string; required: boolean }[];
  depends_on?: unknown;
}

const compose = parse(readFileSync(join(REPO_ROOT, 'docker-compose.yml'), 'utf8')) as { services: Record<string, Service>; volumes: Record<string, unknown> };
const services = compose.services;
const envoyConfig = parse(readFileSync(join(REPO_ROOT, 'envoy/compose-envoy.yaml'), 'utf8')) as JsonMap;

function service(name: string): Service {
  const found = services[name];
  assert.ok(found, `service ${name}`);
  return found;
}

/** Bind mounts of a service: host path (repo-relative) -> container path. */
function binds(name: string): Map<string, string> {
  const out = new Map<string, string>();
  for (const volume of service(name).volumes ?? []) {
    const [host, target] = volume.split(':');
    if (host?.startsWith('./')) out.set(host.slice(2), target ?? '');
  }
  return out;
}

function flag(command: string[] | undefined, name: string): string | undefined {
  const index = (command ?? []).indexOf(name);
  return index >= 0 ? command?.[index + 1] : undefined;
}

describe('docker-compose.yml', () => {
  it('has an observability profile: collector, Jaeger, Prometheus with the alert rules, Grafana with the dashboard', () => {
    const observability = Object.keys(services).filter((name) => service(name).profiles?.includes('observability'));
    assert.deepEqual(observability.sort(), ['grafana', 'jaeger', 'otel-collector', 'prometheus']);
    for (const name of observability) {
      assert.match(service(name).image ?? '', /:v?\d+\.\d+\.\d+$/, `${name} is pinned to a release tag`);
      for (const host of binds(name).keys()) assert.ok(existsSync(join(REPO_ROOT, host)), `${name} mounts ${host}, which exists`);
    }
    assert.equal(binds('prometheus').get('envoy/observability/prometheus/alerts.yaml'), '/etc/prometheus/alerts.yaml');
    assert.equal(binds('grafana').get('envoy/observability/grafana/llm-extproc-dashboard.json'), '/var/lib/grafana/dashboards/llm-extproc.json');
    const prometheus = parse(readFileSync(join(REPO_ROOT, 'envoy/observability/prometheus/prometheus.yml'), 'utf8')) as { rule_files: string[]; scrape_configs: Array<{ static_configs: Array<{ targets: string[] }> }> };
    assert.deepEqual(prometheus.rule_files, ['/etc/prometheus/alerts.yaml']);
    assert.ok(prometheus.scrape_configs.some((job) => job.static_configs.some((config) => config.targets.includes('llm-extproc:1064'))), 'scrapes the admin port');
    assert.match(service('llm-extproc').environment?.['OTEL_EXPORTER_OTLP_ENDPOINT'] ?? '', /http:\/\/otel-collector:4318/);
    // Envoy's spans go to the same collector (OTLP/gRPC), so Envoy's and the service's spans form one trace.
    const collector = cluster(envoyConfig, 'opentelemetry_collector');
    assert.deepEqual(dig(collector, 'load_assignment', 'endpoints', 0, 'lb_endpoints', 0, 'endpoint', 'address', 'socket_address'), { address: 'otel-collector', port_value: 4317 });
  });

  it('has the whole stack', () => {
    const always = Object.keys(services).filter((name) => service(name).profiles === undefined);
    assert.deepEqual(always.sort(), ['envoy', 'llm-extproc', 'mock-openai', 'ratelimit', 'redis']);
    const image = service('envoy').image ?? '';
    const version = /^envoyproxy\/envoy:v1\.(\d+)\.(\d+)$/.exec(image);
    assert.ok(version, `Envoy is pinned to a release: ${image}`);
    assert.ok(Number(version[1]) >= 36, 'Envoy >= 1.36');
    assert.ok(service('llm-extproc').build, 'llm-extproc is built here');
  });

  it('mounts only files that exist, and named volumes that are declared', () => {
    for (const [name, definition] of Object.entries(services)) {
      for (const volume of definition.volumes ?? []) {
        const host = volume.split(':')[0] ?? '';
        if (host.startsWith('./')) assert.ok(existsSync(join(REPO_ROOT, host)), `${name}: ${host} exists`);
        else assert.ok(host in compose.volumes, `${name}: volume ${host} is declared`);
      }
    }
  });

  it('gives Envoy the generated config, on the ports that config uses', () => {
    const envoy = service('envoy');
    const configPath = binds('envoy').get('envoy/compose-envoy.yaml');
    assert.equal(flag(envoy.command, '-c'), configPath);
    const listenPort = dig(envoyConfig, 'static_resources', 'listeners', 0, 'address', 'socket_address', 'port_value');
    assert.ok((envoy.ports ?? []).some((port) => port.split(':').at(-1) === String(listenPort)), `port ${listenPort} published`);
    const adminPort = dig(envoyConfig, 'admin', 'address', 'socket_address', 'port_value');
    assert.equal(dig(envoyConfig, 'admin', 'address', 'socket_address', 'address'), '127.0.0.1');
    assert.match((envoy.healthcheck?.test ?? []).join(' '), new RegExp(`/dev/tcp/127\\.0\\.0\\.1/${adminPort} `));
  });

  it('connects Envoy and llm-extproc over the same Unix socket in a shared volume', () => {
    const listen = flag(service('llm-extproc').command, '--listen') ?? '';
    assert.match(listen, /^unix:\//);
    const socketPath = listen.slice('unix:'.length);
    assert.deepEqual(dig(cluster(envoyConfig, 'llm_extproc'), 'load_assignment', 'endpoints', 0, 'lb_endpoints', 0, 'endpoint', 'address'), {
      pipe: { path: socketPath },
    });
    const socketDir = socketPath.slice(0, socketPath.lastIndexOf('/'));
    const mounts = (name: string) => (service(name).volumes ?? []).filter((volume) => volume.split(':')[1] === socketDir).map((volume) => volume.split(':')[0]);
    assert.equal(mounts('envoy').length, 1);
    assert.deepEqual(mounts('envoy'), mounts('llm-extproc'));
    assert.ok(String(mounts('envoy')[0]) in compose.volumes);
    assert.equal(service('envoy').environment?.['ENVOY_UID'], '1000', 'Envoy runs as the socket owner');
  });

  it('points the rate-limit cluster at the ratelimit service and its gRPC port, with its config mounted', () => {
    const ratelimit = service('ratelimit');
    const address = dig(cluster(envoyConfig, 'ratelimit'), 'load_assignment', 'endpoints', 0, 'lb_endpoints', 0, 'endpoint', 'address', 'socket_address');
    assert.deepEqual(address, { address: 'ratelimit', port_value: Number(ratelimit.environment?.['GRPC_PORT']) });
    const env = ratelimit.environment ?? {};
    assert.equal(binds('ratelimit').get('envoy/ratelimit/config.yaml'), `${env['RUNTIME_ROOT']}/${env['RUNTIME_SUBDIRECTORY']}/config/config.yaml`);
    assert.equal(env['REDIS_URL'], 'redis:6379');
    const domain = parse(readFileSync(join(REPO_ROOT, 'envoy/ratelimit/config.yaml'), 'utf8')) as { domain: string };
    const filter = (dig(envoyConfig, 'static_resources', 'listeners', 0, 'filter_chains', 0, 'filters', 0, 'typed_config', 'http_filters') as JsonMap[])
      .find((item) => item['name'] === 'envoy.filters.http.ratelimit');
    assert.equal(dig(filter, 'typed_config', 'domain'), domain.domain);
  });

  it('serves llm-extproc the compose config, which sends the mock backend to the mock service', async () => {
    const extproc = service('llm-extproc');
    assert.equal(flag(extproc.command, '--config'), binds('llm-extproc').get('config/compose.yaml'));
    const text = readFileSync(join(REPO_ROOT, 'config/compose.yaml'), 'utf8');
    const loaded = await parseConfigForEnvoy(text, 'config/compose.yaml', VALIDATORS);
    assert.ok(loaded.ok);
    const mock = new URL(loaded.config.backends.get('mock')?.endpoint ?? '');
    assert.equal(mock.hostname, 'mock-openai');
    assert.equal(mock.port, service('mock-openai').environment?.['PORT']);
    assert.ok(binds('mock-openai').has('tools/mock-openai.mjs'));
    assert.equal(flag(service('mock-openai').command, 'node'), binds('mock-openai').get('tools/mock-openai.mjs'));
    // Keys come from an optional .env; .env.example names every variable the config reads.
    assert.deepEqual(extproc.env_file, [{ path: '.env', required: false }]);
    const example = readFileSync(join(REPO_ROOT, '.env.example'), 'utf8');
    for (const name of text.matchAll(/env: ([A-Z0-9_]+)/g)) assert.match(example, new RegExp(`^${name[1]}=`, 'm'));
  });
});

describe('Dockerfile', () => {
  const dockerfile = readFileSync(join(REPO_ROOT, 'Dockerfile'), 'utf8');
  const ignore = readFileSync(join(REPO_ROOT, '.dockerignore'), 'utf8').split('\n');

  it('is multi-stage on Node LTS, builds dist/ in a build stage, ships production dependencies only, runs as non-root with a health check', () => {
    const bases = [...dockerfile.matchAll(/^FROM (\S+)/gm)].map((match) => match[1]);
    assert.ok(bases.length >= 2);
    for (const base of bases) assert.match(String(base), /^node:(22|24)\.\d+\.\d+-bookworm-slim$/, 'a released Node LTS, pinned');
    assert.match(dockerfile, /npm ci --omit=dev/);
    assert.match(dockerfile, /^USER node$/m);
    assert.match(dockerfile, /^EXPOSE 1063 1064$/m);
    assert.match(dockerfile, /^HEALTHCHECK [\s\S]*127\.0\.0\.1:1064\/healthz/m);
    assert.match(dockerfile, /^COPY --from=build \/app\/dist \.\/dist$/m, 'the final stage takes the compiled dist/ from the build stage');
    const finalStage = dockerfile.slice(dockerfile.lastIndexOf('\nFROM '));
    assert.doesNotMatch(finalStage, /^COPY src /m, 'the final stage ships no TypeScript sources');
    const packageJson = JSON.parse(readFileSync(join(REPO_ROOT, 'package.json'), 'utf8')) as { dependencies: Record<string, string> };
    assert.equal(packageJson.dependencies['tsx'], undefined, 'tsx is not a runtime dependency: the image runs compiled JavaScript');
  });

  it('copies only what exists, and keeps node_modules and .env out of the build context', () => {
    for (const match of dockerfile.matchAll(/^COPY (?!--from)(.+) \S+$/gm)) {
      for (const source of String(match[1]).split(' ')) assert.ok(existsSync(join(REPO_ROOT, source)), `${source} exists`);
    }
    for (const entry of ['node_modules', '.env', '.git']) assert.ok(ignore.includes(entry), `.dockerignore has ${entry}`);
    for (const needed of ['src', 'proto', 'config', 'bin']) assert.ok(!ignore.includes(needed), `${needed} reaches the image`);
  });
});
