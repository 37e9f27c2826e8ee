/**
 * Every quickstart in the README ends with a first request that works on the stack as shipped: its curl names a
 * model that stack's config serves, on the port that stack exposes; the compose one needs no key (the mock).
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { parse, parseAllDocuments } from 'yaml';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const README = readFileSync(join(ROOT, 'README.md'), 'utf8');

/** The first ```sh block after a heading. */
function shellBlock(heading: string): string {
  const at = README.indexOf(`${heading}\n`);
  assert.ok(at >= 0, `README has "${heading}"`);
  const block = /```sh\n([\s\S]*?)```/.exec(README.slice(at));
  assert.ok(block?.[1], `a sh block under "${heading}"`);
  return block[1];
}

interface FirstRequest {
  port: number;
  model: string;
}

function firstRequest(block: string): FirstRequest {
  const curl = /curl -s localhost:(\d+)\/v1\/chat\/completions[\s\S]*?-d '([^']+)'/.exec(block);
  assert.ok(curl, `a chat completions curl in:\n${block}`);
  const body = JSON.parse(curl[2] as string) as { model: string };
  return { port: Number(curl[1]), model: body.model };
}

interface Config {
  backends: Array<{ name: string; auth?: Record<string, { optional?: boolean }> }>;
  models: Array<{ name: string; backends: Array<{ backend: string; priority?: number }> }>;
  envoy?: { listenPort?: number };
}

function config(relative: string): Config {
  return parse(readFileSync(join(ROOT, relative), 'utf8')) as Config;
}

function yamlDocuments(relative: string): Array<Record<string, any>> {
  return parseAllDocuments(readFileSync(join(ROOT, relative), 'utf8')).map((document) => document.toJS() as Record<string, any>);
}

describe('README quickstarts: the first request', () => {
  it('Try it: llm-extproc run on config/default.yaml, on its Envoy listener port', () => {
    const block = shellBlock('## Try it');
    assert.match(block, /npx llm-extproc run --config config\/default\.yaml/);
    const request = firstRequest(block);
    const shipped = config('config/default.yaml');
    assert.ok(shipped.models.some((model) => model.name === request.model), request.model);
    assert.equal(request.port, shipped.envoy?.listenPort ?? 10000);
  });

  it('docker compose: the mock model, needing no key, on the published Envoy port', () => {
    const request = firstRequest(shellBlock('### Quickstart: docker compose'));
    const compose = config('config/compose.yaml');
    const model = compose.models.find((entry) => entry.name === request.model);
    assert.ok(model, request.model);
    const first = compose.backends.find((backend) => backend.name === model.backends[0]?.backend);
    assert.equal(first?.auth, undefined, `${request.model} goes first to a backend that needs no key`);
    const services = (parse(readFileSync(join(ROOT, 'docker-compose.yml'), 'utf8')) as { services: Record<string, { ports?: string[] }> }).services;
    assert.ok((services['envoy']?.ports ?? []).some((port) => port.split(':')[0] === String(request.port)), `port ${request.port} published`);
  });

  it('Kubernetes sidecar: a model of config/kubernetes.yaml, through the Service it port-forwards', () => {
    const block = shellBlock('### Quickstart: Envoy with llm-extproc as a sidecar (Kubernetes)');
    const request = firstRequest(block);
    assert.ok(config('config/kubernetes.yaml').models.some((model) => model.name === request.model), request.model);
    const forward = /kubectl port-forward svc\/([\w-]+) (\d+):(\d+)/.exec(block);
    assert.ok(forward, 'a port-forward');
    assert.equal(Number(forward[2]), request.port);
    const service = yamlDocuments('envoy/kubernetes/sidecar/service.yaml').find((document) => document['kind'] === 'Service');
    assert.equal(service?.['metadata']?.['name'], forward[1]);
    assert.ok((service?.['spec']?.['ports'] as Array<{ port: number }>).some((port) => port.port === Number(forward[3])));
  });

  it('Envoy Gateway: a model of config/gateway.yaml, through the Service of the shipped Gateway', () => {
    const block = shellBlock('### Quickstart: Envoy Gateway');
    const request = firstRequest(block);
    assert.ok(config('config/gateway.yaml').models.some((model) => model.name === request.model), request.model);
    const gateway = yamlDocuments('envoy/gateway/gateway.yaml').find((document) => document['kind'] === 'Gateway');
    assert.match(block, new RegExp(`owning-gateway-name=${String(gateway?.['metadata']?.['name'])}\\b`));
    const forward = /port-forward "service\/\$\{ENVOY_SERVICE\}" (\d+):(\d+)/.exec(block);
    assert.ok(forward, 'a port-forward');
    assert.equal(Number(forward[1]), request.port);
    assert.ok((gateway?.['spec']?.['listeners'] as Array<{ port: number }>).some((listener) => listener.port === Number(forward[2])));
  });
});
