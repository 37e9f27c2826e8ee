/**
 * Kubernetes manifests generated from llm-extproc configs: the sidecar ConfigMaps (config + Envoy bootstrap)
 * and, for Envoy Gateway (router-only mode), the config ConfigMap plus a Backend, BackendTLSPolicy and
 * HTTPRoute per backend/model.
 */
import { Document } from 'yaml';
import type { RuntimeConfig } from '../../src/config/load.js';
import { backendEndpoint, BACKEND_HEADER, MODEL_HEADER } from '../../src/envoy/index.js';

export type Manifest = Record<string, unknown>;

/** Renders manifests as one multi-document YAML file with a header comment. */
export function renderManifests(manifests: Manifest[], header: string): string {
  const body = manifests.map((manifest) => new Document(manifest).toString({ lineWidth: 0, blockQuote: 'literal' }));
  return `${header.split('\n').map((line) => `# ${line}`.trimEnd()).join('\n')}\n---\n${body.join('---\n')}`;
}

export function configMap(name: string, data: Record<string, string>, labels: Record<string, string>): Manifest {
  return { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name, labels }, data };
}

/** Kubernetes object names: lower case letters, digits and '-'. */
export function k8sName(text: string): string {
  return text.toLowerCase().replace(/[^a-z0-9-]+/g, '-').replace(/^-+|-+$/g, '').slice(0, 63) || 'x';
}

const GATEWAY_NAME = 'llm-gateway';
const LABELS = { 'app.kubernetes.io/part-of': 'llm-extproc' };

/** Backend (and BackendTLSPolicy for https) per referenced backend; one HTTPRoute per model. */
export function gatewayRoutes(config: RuntimeConfig): Manifest[] {
  const manifests: Manifest[] = [];
  const referenced = new Set([...config.models.values()].flatMap((model) => model.backends.map((ref) => ref.backend)));
  for (const backend of config.backends.values()) {
    if (!referenced.has(backend.name)) continue;
    const endpoint = backendEndpoint(backend);
    const name = k8sName(backend.name);
    manifests.push({
      apiVersion: 'gateway.envoyproxy.io/v1alpha1',
      kind: 'Backend',
      metadata: { name, labels: LABELS },
      spec: { endpoints: [{ fqdn: { hostname: endpoint.host, port: endpoint.port } }] },
    });
    if (endpoint.tls) {
      manifests.push({
        apiVersion: 'gateway.networking.k8s.io/v1',
        kind: 'BackendTLSPolicy',
        metadata: { name: `${name}-tls`, labels: LABELS },
        spec: {
          targetRefs: [{ group: 'gateway.envoyproxy.io', kind: 'Backend', name }],
          validation: { wellKnownCACertificates: 'System', hostname: endpoint.host },
        },
      });
    }
  }
  for (const model of config.models.values()) {
    const rules = [...new Set(model.backends.map((ref) => ref.backend))].map((backendName) => {
      const backend = config.backends.get(backendName);
      const host = backend ? backendEndpoint(backend).host : backendName;
      return {
        matches: [
          {
            path: { type: 'PathPrefix', value: '/' },
            headers: [
              { type: 'Exact', name: MODEL_HEADER, value: model.name },
              { type: 'Exact', name: BACKEND_HEADER, value: backendName },
            ],
          },
        ],
        filters: [{ type: 'URLRewrite', urlRewrite: { hostname: host } }],
        backendRefs: [{ group: 'gateway.envoyproxy.io', kind: 'Backend', name: k8sName(backendName), port: backend ? backendEndpoint(backend).port : 443 }],
        timeouts: { request: '600s' },
      };
    });
    manifests.push({
      apiVersion: 'gateway.networking.k8s.io/v1',
      kind: 'HTTPRoute',
      metadata: { name: `model-${k8sName(model.name)}`, labels: LABELS },
      spec: { parentRefs: [{ name: GATEWAY_NAME }], rules },
    });
  }
  return manifests;
}
