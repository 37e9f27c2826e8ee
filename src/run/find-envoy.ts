/**
 * Finds an Envoy for `llm-extproc run`, in this order:
 *   1. `--envoy PATH`, else `ENVOY_BIN` (given, it must work: no fallback past it);
 *   2. `envoy` on PATH;
 *   3. `func-e run`, when func-e is on PATH (it downloads and runs an Envoy release);
 *   4. `docker run` of the pinned envoyproxy/envoy image, with host networking and the run directory (bootstrap
 *      and ext_proc socket) mounted at the same path.
 */
import { constants } from 'node:fs';
import { access, stat } from 'node:fs/promises';
import { delimiter, join } from 'node:path';

/** The Envoy image `docker run` uses; docker-compose.yml and the Kubernetes manifests pin the same one (tested). */
export const ENVOY_IMAGE = 'envoyproxy/envoy:v1.36.2';

export type EnvoyKind = 'binary' | 'func-e' | 'docker';

export interface EnvoyLauncher {
  readonly kind: EnvoyKind;
  /** What was found, for the log: "/usr/local/bin/envoy (on PATH)". */
  readonly description: string;
  /** The executable to spawn. */
  readonly command: string;
  /** Its arguments, for Envoy's own arguments and the directory holding the bootstrap and the socket. */
  args(envoyArgs: readonly string[], runDirectory: string): string[];
}

export type FindResult = { ok: true; launcher: EnvoyLauncher } | { ok: false; error: string };

/** What the message says when nothing is found. */
export const NO_ENVOY_HELP = [
  'llm-extproc run needs Envoy 1.36 or later, and found none. Any one of these will do:',
  '  - an Envoy binary: pass --envoy PATH or set ENVOY_BIN, or put `envoy` on PATH',
  '    (https://www.envoyproxy.io/docs/envoy/latest/start/install);',
  '  - func-e, which downloads Envoy on first use: curl -fsSL https://func-e.io/install.sh | sh;',
  `  - Docker: \`docker run\` of ${ENVOY_IMAGE} is used when \`docker\` is on PATH.`,
  'Or run the whole stack with `docker compose up` (see the README).',
].join('\n');

async function isExecutableFile(path: string): Promise<boolean> {
  try {
    if (!(await stat(path)).isFile()) return false;
    await access(path, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

/** The first executable called `name` in PATH's directories. */
export async function onPath(name: string, env: NodeJS.ProcessEnv): Promise<string | undefined> {
  for (const directory of (env['PATH'] ?? '').split(delimiter)) {
    if (directory === '') continue;
    const candidate = join(directory, name);
    if (await isExecutableFile(candidate)) return candidate;
  }
  return undefined;
}

function binary(command: string, description: string): EnvoyLauncher {
  return { kind: 'binary', description, command, args: (envoyArgs) => [...envoyArgs] };
}

export interface FindOptions {
  /** --envoy PATH */
  readonly flag?: string | undefined;
  readonly env: NodeJS.ProcessEnv;
  /** uid:gid for `docker run --user` (the owner of the run directory); default this process's. */
  readonly user?: string | undefined;
}

export async function findEnvoy(options: FindOptions): Promise<FindResult> {
  const { env } = options;
  const given = options.flag ?? (env['ENVOY_BIN'] || undefined);
  if (given !== undefined) {
    const source = options.flag !== undefined ? '--envoy' : 'ENVOY_BIN';
    if (await isExecutableFile(given)) return { ok: true, launcher: binary(given, `${given} (${source})`) };
    return { ok: false, error: `${source} ${given}: not an executable file; give the path of an Envoy binary` };
  }
  const envoy = await onPath('envoy', env);
  if (envoy !== undefined) return { ok: true, launcher: binary(envoy, `${envoy} (on PATH)`) };
  const funcE = await onPath('func-e', env);
  if (funcE !== undefined) {
    return {
      ok: true,
      launcher: { kind: 'func-e', description: `${funcE} run (func-e on PATH)`, command: funcE, args: (envoyArgs) => ['run', ...envoyArgs] },
    };
  }
  const docker = await onPath('docker', env);
  if (docker !== undefined) {
    const user = options.user ?? (process.getuid && process.getgid ? `${process.getuid()}:${process.getgid()}` : undefined);
    return {
      ok: true,
      launcher: {
        kind: 'docker',
        description: `${docker} run ${ENVOY_IMAGE} (docker on PATH)`,
        command: docker,
        args: (envoyArgs, runDirectory) => [
          'run',
          '--rm',
          // The admin /ready check, the listener and the upstreams are all on the host's network.
          '--network',
          'host',
          ...(user !== undefined ? ['--user', user] : []),
          // The bootstrap and the ext_proc socket, at the path the bootstrap names.
          '--volume',
          `${runDirectory}:${runDirectory}`,
          ENVOY_IMAGE,
          'envoy',
          ...envoyArgs,
        ],
      },
    };
  }
  return { ok: false, error: NO_ENVOY_HELP };
}
