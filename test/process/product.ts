/**
 * The product as it ships, as a child process: the exact command line `npm start` runs (read from package.json,
 * the same one the Dockerfile, bin/ and the manifests run: test/deploy/entrypoints.test.ts checks that), a
 * config file on disk, secrets from the environment and from files. Its JSON log lines tell the bound addresses.
 */
import { spawn, type ChildProcessByStdio } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Readable } from 'node:stream';
import { fileURLToPath } from 'node:url';
import { forwardLines } from '../../src/run/envoy-process.js';
import { productCommand } from '../helpers/product-command.js';

export const ROOT = fileURLToPath(new URL('../../', import.meta.url));

export type LogLine = Record<string, unknown> & { level?: number; msg?: string };

export interface ProductOptions {
  /** The config, as YAML (or built from the directory it is written to, for `{file: ...}` secrets). */
  readonly configYaml: string | ((directory: string) => string);
  /** Extra files beside the config (name -> content), e.g. secrets read with `{file: ...}`. */
  readonly files?: Readonly<Record<string, string>>;
  /** Extra environment (secrets). The child gets PATH, HOME and LOG_LEVEL=info besides. */
  readonly env?: Readonly<Record<string, string>>;
  /** Extra command-line arguments after `serve` (default: loopback listen and admin on port 0). */
  readonly args?: readonly string[];
}

export interface Product {
  /** The child's process id (for /proc/<pid>/status in memory tests). */
  readonly pid: number | undefined;
  readonly grpcAddress: string;
  readonly adminAddress: string;
  /** The directory holding config.yaml and the extra files. */
  readonly directory: string;
  /** The config file's text as written. */
  readonly configText: string;
  readonly logs: LogLine[];
  /** Resolves with the first log line that matches (already written or still to come). */
  waitForLog(match: (line: LogLine) => boolean): Promise<LogLine>;
  /** Sends a signal; resolves with the exit code once the process has exited. */
  stop(signal?: NodeJS.Signals): Promise<number | null>;
  /** Sends a signal and returns at once (SIGHUP, say, which must not stop the product). */
  signal(signal: NodeJS.Signals): void;
  readonly exited: Promise<number | null>;
}

type Child = ChildProcessByStdio<null, Readable, Readable>;

/** Starts the product and resolves once it serves (or rejects with its stderr when it exits first). */
export async function startProduct(options: ProductOptions): Promise<Product> {
  const directory = await mkdtemp(join(tmpdir(), 'llm-extproc-product-'));
  const configPath = join(directory, 'config.yaml');
  const configText = typeof options.configYaml === 'string' ? options.configYaml : options.configYaml(directory);
  await writeFile(configPath, configText);
  for (const [name, content] of Object.entries(options.files ?? {})) await writeFile(join(directory, name), content);
  const { command, args } = productCommand();
  const child: Child = spawn(
    command,
    [...args, '--config', configPath, ...(options.args ?? ['--listen', '127.0.0.1:0', '--admin', '127.0.0.1:0'])],
    {
      cwd: ROOT,
      env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? directory, LOG_LEVEL: 'info', ...options.env },
      stdio: ['ignore', 'pipe', 'pipe'],
    },
  );
  return watchProduct(child, directory, configText);
}

/** Follows a started product process: log lines, addresses, exit. */
export async function watchProduct(
  child: Child,
  directory: string,
  configText: string,
  kill: (signal: NodeJS.Signals) => void = (signal) => void child.kill(signal),
): Promise<Product> {
  const logs: LogLine[] = [];
  const waiters: Array<{ match: (line: LogLine) => boolean; resolve: (line: LogLine) => void }> = [];
  let stderr = '';
  child.stderr.setEncoding('utf8');
  child.stderr.on('data', (chunk: string) => (stderr += chunk));
  forwardLines(child.stdout, (text) => {
    if (!text.startsWith('{')) return;
    let line: LogLine;
    try {
      line = JSON.parse(text) as LogLine;
    } catch {
      return;
    }
    logs.push(line);
    for (const waiter of [...waiters]) {
      if (!waiter.match(line)) continue;
      waiters.splice(waiters.indexOf(waiter), 1);
      waiter.resolve(line);
    }
  });
  // 'close', not 'exit': it comes once the process's stdout and stderr have ended, so every log line it wrote is in
  // `logs` (after 'exit' a loaded machine may still be delivering the last lines, 'stopped' among them).
  const exited = new Promise<number | null>((resolve) => child.on('close', (code) => resolve(code)));
  const waitForLog = (match: (line: LogLine) => boolean): Promise<LogLine> => {
    const seen = logs.find(match);
    if (seen) return Promise.resolve(seen);
    return new Promise<LogLine>((resolve, reject) => {
      waiters.push({ match, resolve });
      void exited.then((code) => reject(new Error(`the product exited (${code}) before logging what was awaited; stderr:\n${stderr}`)));
    });
  };
  let serving: LogLine;
  let admin: LogLine;
  try {
    [admin, serving] = await Promise.all([
      waitForLog((line) => line.msg === 'admin server listening'),
      waitForLog((line) => line.msg === 'ext_proc server serving'),
    ]);
  } catch (error) {
    kill('SIGKILL');
    await rm(directory, { recursive: true, force: true });
    throw error;
  }
  let stopping: Promise<number | null> | undefined;
  return {
    pid: child.pid,
    grpcAddress: String(serving['address']),
    adminAddress: String(admin['address']),
    directory,
    configText,
    logs,
    waitForLog,
    exited,
    signal(signal) {
      if (child.exitCode === null && child.signalCode === null) kill(signal);
    },
    stop(signal = 'SIGTERM') {
      stopping ??= (async () => {
        if (child.exitCode === null && child.signalCode === null) kill(signal);
        const code = await exited;
        await rm(directory, { recursive: true, force: true });
        return code;
      })();
      return stopping;
    },
  };
}
