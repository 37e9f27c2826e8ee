/**
 * The image and the manifests run llm-extproc as non-root on a read-only root filesystem, and the service needs
 * nothing writable but its Unix socket's directory: the Dockerfile's final stage drops to a non-root USER and
 * runs compiled JavaScript; every llm-extproc container in the Kubernetes and Gateway manifests has
 * `readOnlyRootFilesystem: true` with no writable mount but /sockets; compose sets `read_only`; no source file
 * writes to the file system; and the shipped entry serves with its temp directory unwritable.
 */
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { parse, parseAllDocuments } from 'yaml';
import { REPO_ROOT } from '../../scripts/envoy-generate.js';
import { startProduct } from '../process/product.js';

type Json = Record<string, unknown>;
const record = (value: unknown): Json => (typeof value === 'object' && value !== null ? (value as Json) : {});
const list = (value: unknown): Json[] => (Array.isArray(value) ? value.map(record) : []);

const MANIFEST_DIRS = ['envoy/kubernetes/sidecar', 'envoy/gateway'];

function extprocContainers(): Array<{ file: string; pod: Json; container: Json }> {
  const found: Array<{ file: string; pod: Json; container: Json }> = [];
  for (const dir of MANIFEST_DIRS) {
    for (const file of readdirSync(join(REPO_ROOT, dir)).filter((name) => name.endsWith('.yaml'))) {
      for (const document of parseAllDocuments(readFileSync(join(REPO_ROOT, dir, file), 'utf8'))) {
        const manifest = record(document.toJS());
        if (manifest['kind'] !== 'Deployment') continue;
        const pod = record(record(record(manifest['spec'])['template'])['spec']);
        // llm-extproc runs as a container, or as a native sidecar (an init container with restartPolicy: Always).
        for (const container of [...list(pod['initContainers']), ...list(pod['containers'])]) {
          if (container['name'] === 'llm-extproc') found.push({ file: `${dir}/${file}`, pod, container });
        }
      }
    }
  }
  return found;
}

describe('non-root, read-only root filesystem', { timeout: 60_000 }, () => {
  it('the Dockerfile runs its final stage as a non-root USER and needs no writable cache', () => {
    const dockerfile = readFileSync(join(REPO_ROOT, 'Dockerfile'), 'utf8');
    const finalStage = dockerfile.slice(dockerfile.lastIndexOf('\nFROM '));
    const users = [...finalStage.matchAll(/^USER\s+(\S+)/gm)].map((match) => match[1]);
    assert.ok(users.length > 0, 'the final stage sets USER');
    for (const user of users) assert.ok(!['root', '0', '0:0'].includes(String(user)), `USER ${user} is root`);
    assert.notEqual(users.at(-1), undefined);
    assert.doesNotMatch(finalStage, /--import\s+tsx|"tsx"/, 'the image runs compiled JavaScript, no TypeScript compiler');
    assert.ok(finalStage.indexOf(`USER ${users.at(-1)}`) > finalStage.indexOf('RUN '), 'USER comes after the last RUN');
  });

  it('every llm-extproc container in the Kubernetes and Gateway manifests has readOnlyRootFilesystem: true', () => {
    const containers = extprocContainers();
    assert.deepEqual(containers.map((entry) => entry.file).sort(), ['envoy/gateway/extproc.yaml', 'envoy/kubernetes/sidecar/deployment.yaml']);
    for (const { file, pod, container } of containers) {
      const security = record(container['securityContext']);
      assert.equal(security['readOnlyRootFilesystem'], true, `${file}: readOnlyRootFilesystem`);
      assert.equal(security['allowPrivilegeEscalation'], false, `${file}: allowPrivilegeEscalation`);
      const podSecurity = record(pod['securityContext']);
      assert.equal(security['runAsNonRoot'] ?? podSecurity['runAsNonRoot'], true, `${file}: runAsNonRoot`);
      assert.notEqual(security['runAsUser'] ?? podSecurity['runAsUser'], 0, `${file}: not uid 0`);
      // Writable mounts: only the socket directory.
      for (const mount of list(container['volumeMounts'])) {
        if (mount['readOnly'] === true) continue;
        assert.equal(mount['mountPath'], '/sockets', `${file}: ${String(mount['mountPath'])} is writable`);
      }
    }
  });

  it('compose runs llm-extproc with a read-only root filesystem', () => {
    const compose = record(parse(readFileSync(join(REPO_ROOT, 'docker-compose.yml'), 'utf8')));
    const service = record(record(compose['services'])['llm-extproc']);
    assert.equal(service['read_only'], true);
    assert.equal(service['user'], undefined, 'the image USER (non-root) applies');
  });

  it('no source file writes to the file system but the Unix socket helpers (logs go to stdout)', () => {
    // src/net-address.ts removes a stale socket file and sets a socket's mode: it writes inside /sockets only.
    // src/cli/run.ts is the laptop mode (`llm-extproc run`): it writes Envoy's bootstrap to a private temp directory.
    const allowed = new Set(['src/net-address.ts', 'src/cli/run.ts']);
    const writes = /\b(writeFile|appendFile|mkdir|mkdtemp|createWriteStream|copyFile|rename|symlink|unlink|rmdir|truncate)(Sync)?\s*\(|\brm\s*\(/;
    const offenders: string[] = [];
    const walk = (dir: string) => {
      for (const entry of readdirSync(join(REPO_ROOT, dir), { withFileTypes: true })) {
        const path = `${dir}/${entry.name}`;
        if (entry.isDirectory()) walk(path);
        else if (entry.name.endsWith('.ts') && !allowed.has(path)) {
          readFileSync(join(REPO_ROOT, path), 'utf8')
            .split('\n')
            .forEach((line, index) => {
              if (writes.test(line) && !line.trim().startsWith('*') && !line.trim().startsWith('//')) offenders.push(`${path}:${index + 1}: ${line.trim()}`);
            });
        }
      }
    };
    walk('src');
    assert.deepEqual(offenders, []);
  });

  it('the shipped entry serves with an unwritable temp directory', { timeout: 60_000 }, async () => {
    const product = await startProduct({
      configYaml: 'backends: [{ name: local, schema: OpenAI, endpoint: "http://127.0.0.1:9" }]\nmodels: [{ name: m, backends: [{ backend: local }] }]\n',
      // /proc refuses new directories even to root.
      env: { TMPDIR: '/proc/llm-extproc-no-tmp' },
    });
    try {
      assert.equal((await fetch(`http://${product.adminAddress}/readyz`)).status, 200);
    } finally {
      assert.equal(await product.stop('SIGTERM'), 0);
    }
  });
});
