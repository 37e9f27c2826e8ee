/**
 * Kubernetes manifests (envoy/kubernetes/sidecar, envoy/gateway): kinds and API versions, and every
 * cross-reference (names, ports, ConfigMap keys, sockets, policy targets) resolves.
 */
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { parse, parseAllDocuments } from 'yaml';
import { REPO_ROOT } from '../../scripts/envoy-generate.js';
import type { RuntimeConfig } from '../../src/config/load.js';
import { envoyDurationSeconds } from '../../src/config/schema.js';
import { backendEndpoint, GRACEFUL_CLOSE_FLAG, parseConfigForEnvoy } from '../../src/envoy/index.js';
import { cluster, dig, type JsonMap } from '../envoy-config/helpers.js';
import { VALIDATORS } from '../helpers/components.js';

interface Manifest {
  apiVersion: string;
  kind: string;
  metadata: { name: string; labels?: Record<string, string> };
  spec?: JsonMap;
  data?: Record<string, string>;
  resources?: string[];
  file: string;
}

const API_VERSIONS: Record<string, string> = {
  Deployment: 'apps/v1',
  Service: 'v1',
  ConfigMap: 'v1',
  Kustomization: 'kustomize.config.k8s.io/v1beta1',
  Gateway: 'gateway.networking.k8s.io/v1',
  HTTPRoute: 'gateway.networking.k8s.io/v1',
  BackendTLSPolicy: 'gateway.networking.k8s.io/v1',
  Backend: 'gateway.envoyproxy.io/v1alpha1',
  BackendTrafficPolicy: 'gateway.envoyproxy.io/v1alpha1',
  ClientTrafficPolicy: 'gateway.envoyproxy.io/v1alpha1',
  EnvoyExtensionPolicy: 'gateway.envoyproxy.io/v1alpha1',
  EnvoyProxy: 'gateway.envoyproxy.io/v1alpha1',
  HTTPRouteFilter: 'gateway.envoyproxy.io/v1alpha1',
};

function load(dir: string): Manifest[] {
  const manifests: Manifest[] = [];
  for (const file of readdirSync(join(REPO_ROOT, dir)).filter((name) => name.endsWith('.yaml')).sort()) {
    for (const document of parseAllDocuments(readFileSync(join(REPO_ROOT, dir, file), 'utf8'))) {
      assert.deepEqual(document.errors, [], `${dir}/${file} parses`);
      const value = document.toJS() as Manifest | null;
      if (value) manifests.push({ ...value, file });
    }
  }
  return manifests;
}

function byKind(manifests: Manifest[], kind: string): Manifest[] {
  return manifests.filter((manifest) => manifest.kind === kind);
}

function named(manifests: Manifest[], kind: string, name: string): Manifest {
  const found = manifests.find((manifest) => manifest.kind === kind && manifest.metadata?.name === name);
  assert.ok(found, `${kind} ${name} exists`);
  return found;
}

type Container = {
  name: string;
  image?: string;
  args?: string[];
  command?: string[];
  restartPolicy?: string;
  ports?: { name: string; containerPort: number }[];
  volumeMounts?: { name: string; mountPath: string }[];
  env?: JsonMap[];
  resources?: JsonMap;
  readinessProbe?: JsonMap;
  livenessProbe?: JsonMap;
  startupProbe?: JsonMap;
  lifecycle?: JsonMap;
};
type Volume = { name: string; configMap?: { name: string; items?: { key: string; path: string }[] }; emptyDir?: JsonMap };
type PodSpec = { containers: Container[]; initContainers?: Container[]; volumes: Volume[]; terminationGracePeriodSeconds?: number };

function podSpec(deployment: Manifest): PodSpec {
  return dig(deployment, 'spec', 'template', 'spec') as PodSpec;
}

/** The pod's long-running containers: its containers and its native sidecars (init containers with restartPolicy: Always). */
function runningContainers(spec: PodSpec): Container[] {
  return [...(spec.initContainers ?? []).filter((container) => container.restartPolicy === 'Always'), ...spec.containers];
}

/** A plain `env` value of a container. */
function envValue(container: Container, name: string): string | undefined {
  const entry = (container.env ?? []).find((env) => env['name'] === name);
  return typeof entry?.['value'] === 'string' ? entry['value'] : undefined;
}

function flag(args: string[] | undefined, name: string): string | undefined {
  const index = (args ?? []).indexOf(name);
  return index >= 0 ? args?.[index + 1] : undefined;
}

/** Checks shared by both directories: versions, kustomization, Deployment/Service/ConfigMap wiring. */
function checkCommon(dir: string, manifests: Manifest[]): void {
  for (const manifest of manifests) {
    assert.equal(manifest.apiVersion, API_VERSIONS[manifest.kind], `${manifest.file}: ${manifest.kind} apiVersion`);
  }
  const [kustomization] = byKind(manifests, 'Kustomization');
  assert.ok(kustomization);
  const files = new Set(manifests.map((manifest) => manifest.file));
  files.delete('kustomization.yaml');
  assert.deepEqual(new Set(kustomization.resources), files, `${dir}/kustomization.yaml lists every manifest file`);

  for (const deployment of byKind(manifests, 'Deployment')) {
    const spec = podSpec(deployment);
    const selector = dig(deployment, 'spec', 'selector', 'matchLabels') as Record<string, string>;
    const labels = dig(deployment, 'spec', 'template', 'metadata', 'labels') as Record<string, string>;
    for (const [key, value] of Object.entries(selector)) assert.equal(labels[key], value, 'selector matches the pod labels');
    const volumes = new Map(spec.volumes.map((volume) => [volume.name, volume]));
    for (const container of runningContainers(spec)) {
      assert.ok(container.readinessProbe && container.livenessProbe, `${container.name} has probes`);
      assert.ok(dig(container, 'resources', 'requests', 'cpu') && dig(container, 'resources', 'requests', 'memory'), `${container.name} requests resources`);
      const portNames = new Set((container.ports ?? []).map((port) => port.name));
      for (const probe of [container.readinessProbe, container.livenessProbe]) {
        const port = (probe?.['httpGet'] as JsonMap | undefined)?.['port'];
        if (typeof port === 'string') assert.ok(portNames.has(port), `${container.name} probe port ${port} exists`);
      }
      for (const mount of container.volumeMounts ?? []) assert.ok(volumes.has(mount.name), `${container.name} mounts declared volume ${mount.name}`);
      for (const env of (container.env ?? []).filter((item) => item['valueFrom'] !== undefined)) {
        const ref = dig(env, 'valueFrom', 'secretKeyRef') as JsonMap;
        assert.equal(ref['name'], 'llm-extproc-keys');
        assert.equal(ref['key'], env['name']);
      }
    }
    for (const volume of spec.volumes) {
      if (!volume.configMap) continue;
      const configMap = named(manifests, 'ConfigMap', volume.configMap.name);
      for (const item of volume.configMap.items ?? []) assert.ok(item.key in (configMap.data ?? {}), `ConfigMap ${volume.configMap.name} has key ${item.key}`);
    }
    for (const service of byKind(manifests, 'Service').filter((item) => {
      const serviceSelector = dig(item, 'spec', 'selector') as Record<string, string>;
      return Object.entries(serviceSelector).every(([key, value]) => labels[key] === value);
    })) {
      const containerPorts = new Set(runningContainers(spec).flatMap((container) => (container.ports ?? []).map((port) => port.name)));
      for (const port of dig(service, 'spec', 'ports') as JsonMap[]) assert.ok(containerPorts.has(String(port['targetPort'])), `Service ${service.metadata.name} targetPort ${port['targetPort']}`);
    }
  }
  assert.ok(byKind(manifests, 'Service').length > 0);
}

async function configOf(configMap: Manifest): Promise<RuntimeConfig> {
  const loaded = await parseConfigForEnvoy(configMap.data?.['config.yaml'] ?? '', 'configmap', VALIDATORS);
  assert.ok(loaded.ok, loaded.ok ? '' : loaded.errors.join('\n'));
  return loaded.config;
}

describe('Kubernetes sidecar manifests', () => {
  const manifests = load('envoy/kubernetes/sidecar');

  it('use known kinds and API versions, and every reference resolves', () => checkCommon('sidecar', manifests));

  it('wire Envoy and llm-extproc over a Unix socket in a shared emptyDir', async () => {
    const deployment = named(manifests, 'Deployment', 'llm-gateway');
    const spec = podSpec(deployment);
    const { volumes } = spec;
    const envoy = spec.containers.find((container) => container.name === 'envoy');
    const extproc = runningContainers(spec).find((container) => container.name === 'llm-extproc');
    assert.ok(envoy && extproc);
    const bootstrap = parse(named(manifests, 'ConfigMap', 'envoy-config').data?.['envoy.yaml'] ?? '') as JsonMap;
    const socket = (flag(extproc.args, '--listen') ?? '').replace(/^unix:/, '');
    assert.deepEqual(dig(cluster(bootstrap, 'llm_extproc'), 'load_assignment', 'endpoints', 0, 'lb_endpoints', 0, 'endpoint', 'address'), { pipe: { path: socket } });
    const socketDir = socket.slice(0, socket.lastIndexOf('/'));
    const mountOf = (container: { volumeMounts?: { name: string; mountPath: string }[] }) => container.volumeMounts?.find((mount) => mount.mountPath === socketDir)?.name;
    assert.ok(mountOf(envoy));
    assert.equal(mountOf(envoy), mountOf(extproc));
    assert.ok(volumes.find((volume) => volume.name === mountOf(envoy))?.emptyDir);

    const envoyConfigMount = envoy.volumeMounts?.find((mount) => mount.name === 'envoy-config');
    assert.equal(flag(envoy.args, '-c'), `${envoyConfigMount?.mountPath}/envoy.yaml`);
    const extprocConfigMount = extproc.volumeMounts?.find((mount) => mount.name === 'llm-extproc-config');
    assert.equal(flag(extproc.args, '--config'), `${extprocConfigMount?.mountPath}/config.yaml`);
    const listenPort = dig(bootstrap, 'static_resources', 'listeners', 0, 'address', 'socket_address', 'port_value');
    assert.equal(envoy.ports?.find((port) => port.name === 'http')?.containerPort, listenPort);
    assert.equal(dig(deployment, 'spec', 'template', 'spec', 'securityContext', 'runAsUser'), 1000);

    const config = await configOf(named(manifests, 'ConfigMap', 'llm-extproc-config'));
    const provided = new Set((extproc.env ?? []).map((env) => env['name']));
    for (const name of JSON.stringify(config.file.backends).matchAll(/"env":"([A-Z0-9_]+)"/g)) assert.ok(provided.has(name[1]), `${name[1]} comes from the Secret`);
  });

  it('run llm-extproc as a native sidecar: ready before Envoy starts, stopped after Envoy exits', () => {
    const spec = podSpec(named(manifests, 'Deployment', 'llm-gateway'));
    const extproc = (spec.initContainers ?? []).find((container) => container.name === 'llm-extproc');
    assert.ok(extproc, 'llm-extproc is an init container');
    assert.equal(extproc.restartPolicy, 'Always', 'a native sidecar');
    assert.equal(dig(extproc, 'startupProbe', 'httpGet', 'path'), '/readyz', 'Envoy starts once llm-extproc is ready');
    assert.deepEqual(spec.containers.map((container) => container.name), ['envoy']);
  });

  it("drain Envoy on shutdown, then llm-extproc, within the grace period", () => {
    const spec = podSpec(named(manifests, 'Deployment', 'llm-gateway'));
    const envoy = spec.containers.find((container) => container.name === 'envoy');
    const extproc = runningContainers(spec).find((container) => container.name === 'llm-extproc');
    assert.ok(envoy && extproc);
    const preStop = dig(envoy, 'lifecycle', 'preStop', 'exec', 'command') as string[];
    assert.match(preStop.join(' '), /drain_listeners\?graceful/);
    assert.equal(flag(envoy.args, '--drain-strategy'), 'immediate');
    const minDrain = Number(envValue(envoy, 'MIN_DRAIN_SECONDS'));
    const drain = Number(envValue(envoy, 'DRAIN_SECONDS'));
    assert.ok(minDrain > 0 && drain > 0, 'the preStop wait is bounded');
    assert.ok(Number(flag(envoy.args, '--drain-time-s')) >= drain, "Envoy's listeners stay open while the preStop waits");
    const extprocDrain = Number(envValue(extproc, 'LLM_EXTPROC_DRAIN_TIMEOUT_MS')) / 1000;
    assert.ok(extprocDrain > 0, 'LLM_EXTPROC_DRAIN_TIMEOUT_MS is set');
    const grace = spec.terminationGracePeriodSeconds ?? 30;
    assert.ok(minDrain + drain + extprocDrain + 5 <= grace, `${minDrain} + ${drain} + ${extprocDrain} + 5 s of margin fit in ${grace} s`);
    assert.ok(envoyDurationSeconds(String(dig(parse(named(manifests, 'ConfigMap', 'envoy-config').data?.['envoy.yaml'] ?? '') as JsonMap, 'static_resources', 'listeners', 0, 'filter_chains', 0, 'filters', 0, 'typed_config', 'http_filters', 1, 'typed_config', 'message_timeout'))) <= extprocDrain, 'a message in flight at SIGTERM gets its answer');
  });
});

describe('Envoy Gateway manifests', () => {
  const manifests = load('envoy/gateway');

  it('use known kinds and API versions, and every reference resolves', () => checkCommon('gateway', manifests));

  it('run llm-extproc router-only behind an EnvoyExtensionPolicy with the router-level processing modes', async () => {
    const config = await configOf(named(manifests, 'ConfigMap', 'llm-extproc-config'));
    assert.equal(config.file.envoy.upstreamFilter, false);
    const policy = named(manifests, 'EnvoyExtensionPolicy', 'llm-extproc');
    for (const target of dig(policy, 'spec', 'targetRefs') as JsonMap[]) named(manifests, String(target['kind']), String(target['name']));
    const extProc = dig(policy, 'spec', 'extProc', 0) as JsonMap;
    const backendRef = dig(extProc, 'backendRefs', 0) as JsonMap;
    const service = named(manifests, 'Service', String(backendRef['name']));
    const servicePort = (dig(service, 'spec', 'ports') as JsonMap[]).find((port) => port['port'] === backendRef['port']);
    assert.ok(servicePort, 'the extProc backendRef port is a Service port');
    const deployment = named(manifests, 'Deployment', 'llm-extproc');
    const container = podSpec(deployment).containers[0];
    const containerPort = container?.ports?.find((port) => port.name === servicePort['targetPort'])?.containerPort;
    assert.equal(flag(container?.args, '--listen'), `0.0.0.0:${containerPort}`);
    assert.deepEqual(extProc['processingMode'], { allowModeOverride: true, request: { body: 'Buffered' }, response: { body: 'Buffered' } });
    assert.deepEqual(dig(extProc, 'metadata', 'writableNamespaces'), ['io.envoy.ai_gateway']);
    assert.equal(extProc['failOpen'], false);
    assert.ok(envoyDurationSeconds(String(extProc['messageTimeout'])) >= 10);
  });

  it('route every model and backend on x-ai-eg-model/x-ai-eg-backend to a Backend on the right port', async () => {
    const config = await configOf(named(manifests, 'ConfigMap', 'llm-extproc-config'));
    const gateway = named(manifests, 'Gateway', 'llm-gateway');
    for (const route of byKind(manifests, 'HTTPRoute')) {
      for (const parent of dig(route, 'spec', 'parentRefs') as JsonMap[]) assert.equal(parent['name'], gateway.metadata.name);
      for (const rule of dig(route, 'spec', 'rules') as JsonMap[]) {
        for (const ref of (rule['backendRefs'] as JsonMap[] | undefined) ?? []) {
          const backend = named(manifests, String(ref['kind']), String(ref['name']));
          assert.equal(dig(backend, 'spec', 'endpoints', 0, 'fqdn', 'port'), ref['port']);
        }
        for (const filter of (rule['filters'] as JsonMap[] | undefined) ?? []) {
          if (filter['type'] === 'ExtensionRef') named(manifests, String(dig(filter, 'extensionRef', 'kind')), String(dig(filter, 'extensionRef', 'name')));
        }
      }
    }
    for (const model of config.models.values()) {
      for (const ref of model.backends) {
        const backend = config.backends.get(ref.backend);
        assert.ok(backend);
        const rule = byKind(manifests, 'HTTPRoute')
          .flatMap((route) => dig(route, 'spec', 'rules') as JsonMap[])
          .find((candidate) => {
            const headers = dig(candidate, 'matches', 0, 'headers') as JsonMap[] | undefined;
            return headers?.some((header) => header['name'] === 'x-ai-eg-model' && header['value'] === model.name) &&
              headers.some((header) => header['name'] === 'x-ai-eg-backend' && header['value'] === ref.backend);
          });
        assert.ok(rule, `a rule for ${model.name} on ${ref.backend}`);
        assert.equal(dig(rule, 'filters', 0, 'urlRewrite', 'hostname'), backendEndpoint(backend).host);
        if (backendEndpoint(backend).tls) {
          const tls = byKind(manifests, 'BackendTLSPolicy').find((policy) => dig(policy, 'spec', 'targetRefs', 0, 'name') === dig(rule, 'backendRefs', 0, 'name'));
          assert.equal(dig(tls, 'spec', 'validation', 'hostname'), backendEndpoint(backend).host);
        }
      }
    }
    const notFound = named(manifests, 'HTTPRouteFilter', 'model-not-found');
    assert.equal(dig(notFound, 'spec', 'directResponse', 'statusCode'), 404);
    assert.equal(dig(JSON.parse(String(dig(notFound, 'spec', 'directResponse', 'body', 'inline'))), 'error', 'code'), 'model_not_found');
  });

  it('charge token budgets from the metadata: the reserve in the request, the settlement in the response', async () => {
    const config = await configOf(named(manifests, 'ConfigMap', 'llm-extproc-config'));
    const policy = named(manifests, 'BackendTrafficPolicy', 'token-budgets');
    const targets = (dig(policy, 'spec', 'targetRefs') as JsonMap[]).map((target) => named(manifests, String(target['kind']), String(target['name'])).metadata.name);
    const modelRoutes = byKind(manifests, 'HTTPRoute').filter((route) => route.metadata.name.startsWith('model-')).map((route) => route.metadata.name);
    assert.deepEqual(targets.sort(), modelRoutes.sort(), 'every model route has a budget');
    const cost = dig(policy, 'spec', 'rateLimit', 'global', 'rules', 0, 'cost') as JsonMap;
    const responseKey = String(dig(cost, 'response', 'metadata', 'key'));
    assert.equal(dig(cost, 'response', 'metadata', 'namespace'), 'io.envoy.ai_gateway');
    assert.equal(dig(cost, 'request', 'metadata', 'key'), `${responseKey}_reserve`);
    assert.ok(config.costs.some((entry) => entry.metadataKey === responseKey && entry.reserve), `${responseKey} is a reserve cost`);
    const gateway = named(manifests, 'Gateway', 'llm-gateway');
    const proxy = named(manifests, String(dig(gateway, 'spec', 'infrastructure', 'parametersRef', 'kind')), String(dig(gateway, 'spec', 'infrastructure', 'parametersRef', 'name')));
    assert.match(String(dig(proxy, 'spec', 'bootstrap', 'jsonPatches', 0, 'path')), new RegExp(`/static_layer/${GRACEFUL_CLOSE_FLAG.replace(/\./g, '\\.')}$`));
    const buffers = byKind(manifests, 'ClientTrafficPolicy')[0];
    assert.equal(dig(buffers, 'spec', 'connection', 'bufferLimit'), '32Mi');
  });

  it('charge requests without x-tenant-id to a default bucket, with the same costs', () => {
    const rules = dig(named(manifests, 'BackendTrafficPolicy', 'token-budgets'), 'spec', 'rateLimit', 'global', 'rules') as JsonMap[];
    const selects = (rule: JsonMap, match: (header: JsonMap) => boolean) =>
      ((rule['clientSelectors'] as JsonMap[] | undefined) ?? []).some((selector) => ((selector['headers'] as JsonMap[] | undefined) ?? []).some(match));
    const perTenant = rules.find((rule) => selects(rule, (header) => header['name'] === 'x-tenant-id' && header['type'] === 'Distinct'));
    const absent = rules.find((rule) =>
      selects(rule, (header) => header['name'] === 'x-tenant-id' && header['type'] === 'RegularExpression' && header['value'] === '.*' && header['invert'] === true),
    );
    assert.ok(perTenant, 'a per-tenant rule');
    assert.ok(absent, 'a rule for requests without the header (an inverted match of any value)');
    assert.deepEqual(absent['cost'], perTenant['cost']);
    assert.equal(rules.length, 2, 'no rule matches every request, which would charge tenants twice');
  });

  it("keep llm-extproc serving while it leaves the endpoints, then drain within the grace period", () => {
    const spec = podSpec(named(manifests, 'Deployment', 'llm-extproc'));
    const container = spec.containers.find((item) => item.name === 'llm-extproc');
    assert.ok(container);
    const preStop = dig(container, 'lifecycle', 'preStop', 'exec', 'command') as string[];
    assert.equal(preStop[0], 'sleep');
    const delay = Number(preStop[1]);
    assert.ok(delay >= 5, 'long enough for Envoy Gateway to see the endpoint go');
    const drain = Number(envValue(container, 'LLM_EXTPROC_DRAIN_TIMEOUT_MS')) / 1000;
    const messageTimeout = envoyDurationSeconds(String(dig(named(manifests, 'EnvoyExtensionPolicy', 'llm-extproc'), 'spec', 'extProc', 0, 'messageTimeout')));
    assert.ok(drain >= messageTimeout, 'a message in flight at SIGTERM gets its answer');
    const grace = spec.terminationGracePeriodSeconds ?? 30;
    assert.ok(delay + drain + 5 <= grace, `${delay} + ${drain} + 5 s of margin fit in ${grace} s`);
  });
});
