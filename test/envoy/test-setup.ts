/**
 * Wiring for the stand-in's own tests: a scripted ext_proc server, mock upstreams and the stand-in.
 */
import { parseConfig, type RuntimeConfig } from '../../src/config/load.js';
import { startHttpMock, type HttpMock, type MockScript } from '../mocks/http-mock.js';
import { startEnvoy } from './envoy.js';
import { startScriptedExtProc, type Script, type ScriptedExtProc } from './scripted-ext-proc.js';
import type { EnvoyOptions, EnvoyStandIn } from './types.js';
import { VALIDATORS } from '../helpers/components.js';

/** Two backends, model "m" with `a` at priority 0 and `b` at priority 1, model "solo" on `a` only. */
export const TWO_BACKENDS_YAML = `
backends:
  - { name: a, schema: OpenAI, endpoint: https://api.a.test }
  - { name: b, schema: OpenAI, endpoint: http://b.test:8080 }
models:
  - name: m
    backends:
      - { backend: a, priority: 0 }
      - { backend: b, priority: 1 }
  - name: solo
    backends: [{ backend: a }]
`;

export async function loadConfig(yaml: string, upstreamFilter = true, attemptResponseHeaders = false): Promise<RuntimeConfig> {
  const envoy = `envoy: { upstreamFilter: ${upstreamFilter}${attemptResponseHeaders ? ', attemptResponseHeaders: true' : ''} }`;
  const result = await parseConfig(`${yaml}\n${envoy}\n`, 'test', {}, VALIDATORS);
  if (!result.ok) throw new Error(result.errors.join('\n'));
  return result.config;
}

export interface Harness {
  envoy: EnvoyStandIn;
  extProc: ScriptedExtProc;
  upstreams: Record<string, HttpMock>;
  close(): Promise<void>;
}

export interface HarnessOptions {
  script: Script;
  upstreams?: Record<string, MockScript>;
  yaml?: string;
  upstreamFilter?: boolean;
  /** envoy.attemptResponseHeaders: the upstream-level filter also sends each attempt's response headers. */
  attemptResponseHeaders?: boolean;
  envoy?: Partial<Omit<EnvoyOptions, 'config' | 'extProc' | 'upstreams'>>;
  /** Backend name -> URL overrides (e.g. a closed port). */
  upstreamUrls?: Record<string, string>;
}

export async function startHarness(options: HarnessOptions): Promise<Harness> {
  const config = await loadConfig(options.yaml ?? TWO_BACKENDS_YAML, options.upstreamFilter ?? true, options.attemptResponseHeaders ?? false);
  const extProc = await startScriptedExtProc(options.script);
  const upstreams: Record<string, HttpMock> = {};
  const urls: Record<string, string> = {};
  for (const [name, script] of Object.entries(options.upstreams ?? { a: { kind: 'json', body: { ok: true } } })) {
    upstreams[name] = await startHttpMock(script);
    urls[name] = upstreams[name].url;
  }
  Object.assign(urls, options.upstreamUrls);
  const envoy = await startEnvoy({ config, extProc: extProc.address, upstreams: urls, ...options.envoy });
  return {
    envoy,
    extProc,
    upstreams,
    close: async () => {
      await envoy.close();
      await Promise.all(Object.values(upstreams).map((mock) => mock.close()));
      await extProc.close();
    },
  };
}

/** POST a JSON chat request through the stand-in. */
export function postJson(envoy: EnvoyStandIn, body: unknown, headers: Record<string, string> = {}): Promise<Response> {
  return fetch(`${envoy.url}/v1/chat/completions`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', 'x-ai-eg-model': 'm', ...headers },
    body: JSON.stringify(body),
  });
}
