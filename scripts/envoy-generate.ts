/**
 * `npm run envoy:generate`: regenerates every generated deployment file from its llm-extproc config.
 * test/envoy-config/generated.test.ts fails when a checked-in file differs from what this produces.
 */
import { readFile, writeFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { join } from 'node:path';
import { loadConfigForEnvoy, renderEnvoyConfig, type EnvoyGenerateOptions } from '../src/envoy/index.js';
import { configMap, gatewayRoutes, renderManifests } from './deploy/kubernetes.js';
import { createComponents } from '../src/components.js';

export const REPO_ROOT = fileURLToPath(new URL('..', import.meta.url));

export interface GeneratedFile {
  /** Repo-relative output path. */
  path: string;
  /** Repo-relative config it is generated from. */
  source: string;
  render(): Promise<string>;
}

const REGENERATE = 'npm run envoy:generate';

async function envoyYaml(source: string, options: EnvoyGenerateOptions): Promise<string> {
  const loaded = await loadConfigForEnvoy(join(REPO_ROOT, source), createComponents().configValidators);
  if (!loaded.ok) throw new Error(`${source}: ${loaded.errors.join('; ')}`);
  const flags = [
    ...(options.extProc ? ['--extproc', options.extProc] : []),
    ...(options.rateLimit ? ['--ratelimit', options.rateLimit] : []),
  ];
  const command = `llm-extproc envoy --config ${source}${flags.length ? ` ${flags.join(' ')}` : ''}   (or: ${REGENERATE})`;
  const rendered = renderEnvoyConfig(loaded.config, options, { source, command });
  if (!rendered.ok) throw new Error(`${source}: ${rendered.errors.join('; ')}`);
  return rendered.yaml;
}

const SIDECAR_SOCKET = 'unix:/sockets/extproc.sock';

export const GENERATED_FILES: readonly GeneratedFile[] = [
  { path: 'envoy/envoy.yaml', source: 'config/default.yaml', render: () => envoyYaml('config/default.yaml', {}) },
  {
    path: 'envoy/compose-envoy.yaml',
    source: 'config/compose.yaml',
    render: () => envoyYaml('config/compose.yaml', { extProc: SIDECAR_SOCKET, rateLimit: 'ratelimit:8081' }),
  },
  {
    path: 'envoy/kubernetes/sidecar/configmaps.yaml',
    source: 'config/kubernetes.yaml',
    async render() {
      const config = await readFile(join(REPO_ROOT, 'config/kubernetes.yaml'), 'utf8');
      const envoy = await envoyYaml('config/kubernetes.yaml', { extProc: SIDECAR_SOCKET });
      const labels = { 'app.kubernetes.io/part-of': 'llm-extproc' };
      return renderManifests(
        [configMap('llm-extproc-config', { 'config.yaml': config }, labels), configMap('envoy-config', { 'envoy.yaml': envoy }, labels)],
        `Generated from config/kubernetes.yaml by ${REGENERATE}. Do not edit.`,
      );
    },
  },
  {
    path: 'envoy/gateway/configmap.yaml',
    source: 'config/gateway.yaml',
    async render() {
      const config = await readFile(join(REPO_ROOT, 'config/gateway.yaml'), 'utf8');
      return renderManifests(
        [configMap('llm-extproc-config', { 'config.yaml': config }, { 'app.kubernetes.io/part-of': 'llm-extproc' })],
        `Generated from config/gateway.yaml by ${REGENERATE}. Do not edit.`,
      );
    },
  },
  {
    path: 'envoy/gateway/routes.yaml',
    source: 'config/gateway.yaml',
    async render() {
      const loaded = await loadConfigForEnvoy(join(REPO_ROOT, 'config/gateway.yaml'), createComponents().configValidators);
      if (!loaded.ok) throw new Error(`config/gateway.yaml: ${loaded.errors.join('; ')}`);
      return renderManifests(
        gatewayRoutes(loaded.config),
        `Generated from config/gateway.yaml by ${REGENERATE}. Do not edit.\n` +
          'One HTTPRoute per model; a rule per backend matches the x-ai-eg-backend header llm-extproc sets (router-only mode).',
      );
    },
  },
];

async function main(): Promise<void> {
  for (const file of GENERATED_FILES) {
    await writeFile(join(REPO_ROOT, file.path), await file.render());
    process.stdout.write(`wrote ${file.path} (from ${file.source})\n`);
  }
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  await main();
}
