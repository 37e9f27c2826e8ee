/**
 * Everything that starts the product starts the same entry, the compiled and bundled `node dist/bundle/main.js`:
 * `npm start`, the `llm-extproc` bin, the container image, docker compose, and the Kubernetes / Envoy Gateway
 * manifests. A drift
 * here means one way of running the product tests something the others do not ship. test/process/ runs exactly
 * that entry.
 */
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { parse, parseAllDocuments } from 'yaml';
import { productCommand } from '../helpers/product-command.js';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const ENTRY = ['node', 'dist/bundle/main.js'];
const IMAGE = 'llm-extproc';
const MANIFEST_DIRS = ['envoy/kubernetes/sidecar', 'envoy/gateway'];
const MANIFESTS_RUNNING_THE_IMAGE = ['envoy/kubernetes/sidecar/deployment.yaml', 'envoy/gateway/extproc.yaml'];
const OPTIONS = { timeout: 30_000 };

function read(path: string): string {
  return readFileSync(join(ROOT, path), 'utf8');
}

interface PackageJson {
  scripts?: Record<string, string>;
  bin?: Record<string, string>;
  dependencies?: Record<string, string>;
}

const packageJson = JSON.parse(read('package.json')) as PackageJson;

/** A command given as a list or as one string, as argv. */
function argv(command: unknown): string[] {
  if (typeof command === 'string') return command.trim().split(/\s+/);
  return Array.isArray(command) ? command.map(String) : [];
}

/** The final stage's instructions, with line continuations joined: [keyword, rest]. */
function finalStageInstructions(dockerfile: string): Array<[string, string]> {
  const lines = dockerfile
    .replace(/\\\r?\n/g, ' ')
    .split(/\r?\n/)
    .filter((line) => line.trim() !== '' && !line.trimStart().startsWith('#'));
  const instructions = lines.map((line): [string, string] => {
    const match = /^\s*(\w+)\s+(.*)$/.exec(line);
    return [match?.[1]?.toUpperCase() ?? '', match?.[2]?.trim() ?? ''];
  });
  const lastFrom = instructions.map(([keyword]) => keyword).lastIndexOf('FROM');
  return instructions.slice(lastFrom + 1);
}

/** The JSON (exec) form of the one instruction with this keyword in the final stage. */
function execForm(instructions: Array<[string, string]>, keyword: string): string[] {
  const found = instructions.filter(([name]) => name === keyword);
  assert.equal(found.length, 1, `Dockerfile: the final stage has exactly one ${keyword} (found ${found.length})`);
  const text = found[0]?.[1] ?? '';
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    assert.fail(`Dockerfile: ${keyword} is not in exec (JSON array) form: ${text}`);
  }
  assert.ok(Array.isArray(value) && value.every((item) => typeof item === 'string'), `Dockerfile: ${keyword} is a JSON array of strings: ${text}`);
  return value as string[];
}

function isProductImage(image: unknown): boolean {
  if (typeof image !== 'string') return false;
  const name = image.split('/').pop() ?? '';
  return name.split(/[:@]/)[0] === IMAGE;
}

interface Container {
  name?: string;
  image?: string;
  command?: unknown;
  args?: unknown;
}

/** Every container and init container anywhere in a manifest. */
function containers(value: unknown, found: Container[] = []): Container[] {
  if (Array.isArray(value)) for (const item of value) containers(item, found);
  else if (typeof value === 'object' && value !== null) {
    for (const [key, child] of Object.entries(value)) {
      if ((key === 'containers' || key === 'initContainers') && Array.isArray(child)) found.push(...(child as Container[]));
      containers(child, found);
    }
  }
  return found;
}

/** Containers running the llm-extproc image, by manifest file (repo-relative). */
function productContainers(): Map<string, Container[]> {
  const byFile = new Map<string, Container[]>();
  for (const dir of MANIFEST_DIRS) {
    for (const file of readdirSync(join(ROOT, dir)).filter((name) => name.endsWith('.yaml')).sort()) {
      const path = `${dir}/${file}`;
      for (const document of parseAllDocuments(read(path))) {
        assert.deepEqual(document.errors, [], `${path} parses`);
        const running = containers(document.toJS()).filter((container) => isProductImage(container.image));
        if (running.length > 0) byFile.set(path, [...(byFile.get(path) ?? []), ...running]);
      }
    }
  }
  return byFile;
}

describe('entry points: everything starts node dist/bundle/main.js', OPTIONS, () => {
  it('npm start runs the compiled dist/bundle/main.js serve, built by npm ci (prepare) and npm test', OPTIONS, () => {
    assert.equal(packageJson.scripts?.['start'], `${ENTRY.join(' ')} serve`, 'package.json scripts.start drifted from "node dist/bundle/main.js serve"');
    assert.deepEqual(
      productCommand(),
      { command: process.execPath, args: [...ENTRY.slice(1), 'serve'] },
      'productCommand() no longer returns the start script as argv',
    );
    assert.equal(packageJson.dependencies?.['tsx'], undefined, 'tsx is for development only: production runs compiled JavaScript');
    assert.match(packageJson.scripts?.['prepare'] ?? '', /npm run build/, 'npm ci must build dist/ (prepare script)');
    assert.match(packageJson.scripts?.['build'] ?? '', /^tsc -p tsconfig\.build\.json && node scripts\/bundle\.mjs$/, 'build: tsc, then the bundle of its output');
    assert.equal(packageJson.dependencies?.['esbuild'], undefined, 'esbuild bundles at build time only');
    assert.match(packageJson.scripts?.['test'] ?? '', /npm run build/, 'npm test must build what the process-level suite runs');
  });

  it('npm run validate and npm run envoy are the same entry with their command', OPTIONS, () => {
    for (const command of ['validate', 'envoy']) {
      assert.equal(packageJson.scripts?.[command], `${ENTRY.join(' ')} ${command}`, `package.json scripts.${command} drifted`);
    }
  });

  it('the llm-extproc bin hands the command line to runCli from dist/bundle/main.js', OPTIONS, async () => {
    const bin = packageJson.bin?.['llm-extproc'];
    assert.equal(bin, 'bin/llm-extproc.js', 'package.json bin.llm-extproc drifted from bin/llm-extproc.js');
    const text = read(bin);
    assert.match(text, /new URL\(\s*['"]\.\.\/dist\/bundle\/main\.js['"]/, `${bin} no longer loads ../dist/bundle/main.js`);
    assert.match(text, /\{\s*runCli\s*\}\s*=\s*await\s+import\(/, `${bin} no longer imports runCli`);
    assert.match(text, /\brunCli\(\s*process\.argv\.slice\(2\)\s*\)/, `${bin} no longer calls runCli(process.argv.slice(2))`);
    const main = (await import('../../src/main.js')) as { runCli?: unknown };
    assert.equal(typeof main.runCli, 'function', 'src/main.ts no longer exports runCli, which bin/llm-extproc.js calls');
  });

  it('the Dockerfile runs the same entry and serves by default', OPTIONS, () => {
    const instructions = finalStageInstructions(read('Dockerfile'));
    assert.deepEqual(execForm(instructions, 'ENTRYPOINT'), ENTRY, `Dockerfile ENTRYPOINT drifted from ${JSON.stringify(ENTRY)}`);
    const command = execForm(instructions, 'CMD');
    assert.equal(command[0], 'serve', `Dockerfile CMD must start with "serve", got ${JSON.stringify(command)}`);
  });

  it('docker compose builds that image and keeps its entrypoint', OPTIONS, () => {
    const compose = parse(read('docker-compose.yml')) as { services?: Record<string, Record<string, unknown>> };
    const service = compose.services?.[IMAGE];
    assert.ok(service, `docker-compose.yml has no ${IMAGE} service`);
    const build = service['build'];
    const context = typeof build === 'object' && build !== null ? (build as { context?: unknown; dockerfile?: unknown }) : undefined;
    assert.ok(
      build === '.' || (context?.context === '.' && (context.dockerfile === undefined || context.dockerfile === 'Dockerfile')),
      `docker-compose.yml ${IMAGE} must build from the repo Dockerfile (build: .), got ${JSON.stringify(build)}`,
    );
    assert.equal(service['entrypoint'], undefined, `docker-compose.yml ${IMAGE} overrides the image's ENTRYPOINT`);
    const command = argv(service['command']);
    assert.equal(command[0], 'serve', `docker-compose.yml ${IMAGE} command must start with "serve", got ${JSON.stringify(service['command'])}`);
  });

  it('every Kubernetes / Envoy Gateway container running the image keeps its entrypoint and serves', OPTIONS, () => {
    const byFile = productContainers();
    for (const path of MANIFESTS_RUNNING_THE_IMAGE) {
      assert.ok(byFile.has(path), `${path} has no container running the ${IMAGE} image`);
    }
    for (const [path, running] of byFile) {
      for (const container of running) {
        const where = `${path} container ${container.name ?? '(unnamed)'} (${container.image})`;
        assert.equal(container.command, undefined, `${where} overrides the image's ENTRYPOINT with command: ${JSON.stringify(container.command)}`);
        const args = argv(container.args);
        assert.equal(args[0], 'serve', `${where} args must start with "serve", got ${JSON.stringify(container.args)}`);
      }
    }
  });

  it("the bundle holds the service's own modules and imports only packages production installs", OPTIONS, () => {
    const dir = join(ROOT, 'dist/bundle');
    const files = readdirSync(dir).filter((name) => name.endsWith('.js'));
    assert.ok(files.includes('main.js'), 'dist/bundle/main.js is missing: run npm run build (npm test does)');
    const installed = new Set(Object.keys(packageJson.dependencies ?? {}));
    const specifiers = new Set<string>();
    for (const file of files) {
      const text = read(`dist/bundle/${file}`);
      for (const match of text.matchAll(/(?:^|[\s;])(?:import|export)\s[^'"]*?from\s*['"]([^'"]+)['"]|\bimport\(\s*['"]([^'"]+)['"]\s*\)|\brequire\w*\(\s*['"]([^'"]+)['"]\s*\)/gm)) {
        specifiers.add(match[1] ?? match[2] ?? match[3] ?? '');
      }
    }
    assert.ok(specifiers.size > 10, `found only ${specifiers.size} import specifiers`);
    for (const specifier of specifiers) {
      if (specifier.startsWith('node:')) continue;
      // A relative import must stay inside the bundle: the service's own modules are bundled, not loaded from dist/.
      if (specifier.startsWith('.')) {
        assert.match(specifier, /^\.\/[\w.-]+\.js$/, `the bundle imports ${specifier} from outside dist/bundle/`);
        continue;
      }
      const name = specifier.startsWith('@') ? specifier.split('/').slice(0, 2).join('/') : (specifier.split('/')[0] ?? '');
      assert.ok(installed.has(name), `the bundle imports ${specifier}, which is not a production dependency`);
    }
  });
});
