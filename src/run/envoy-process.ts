/**
 * The Envoy child process of `llm-extproc run`: its output as prefixed lines, its admin /ready, a graceful drain
 * through the admin interface, then SIGTERM.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import type { Readable } from 'node:stream';
import type { EnvoyLauncher } from './find-envoy.js';

export interface EnvoyExit {
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
}

export interface EnvoyProcess {
  readonly pid: number | undefined;
  /** Resolves when the process has exited (also when it could not be started: code null). */
  readonly exited: Promise<EnvoyExit>;
  /** Whether it has exited. */
  readonly hasExited: () => boolean;
  /** Sends a signal, if it still runs. */
  kill(signal: NodeJS.Signals): void;
}

export interface StartEnvoyOptions {
  readonly launcher: EnvoyLauncher;
  readonly envoyArgs: readonly string[];
  readonly runDirectory: string;
  readonly env: NodeJS.ProcessEnv;
  /** Each line of Envoy's stdout and stderr, without its newline. */
  readonly onLine: (line: string) => void;
  /** Called if spawning fails (ENOENT, EACCES). */
  readonly onSpawnError: (error: Error) => void;
}

/** Calls onLine for each complete line; a last unterminated line is flushed at the end. */
export function forwardLines(stream: Readable, onLine: (line: string) => void): void {
  let buffered = '';
  stream.setEncoding('utf8');
  stream.on('data', (chunk: string) => {
    buffered += chunk;
    let newline: number;
    while ((newline = buffered.indexOf('\n')) >= 0) {
      onLine(buffered.slice(0, newline).replace(/\r$/, ''));
      buffered = buffered.slice(newline + 1);
    }
  });
  stream.on('end', () => {
    if (buffered !== '') onLine(buffered);
    buffered = '';
  });
}

export function startEnvoy(options: StartEnvoyOptions): EnvoyProcess {
  const child: ChildProcess = spawn(options.launcher.command, options.launcher.args(options.envoyArgs, options.runDirectory), {
    env: options.env,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let exitedFlag = false;
  const exited = new Promise<EnvoyExit>((resolve) => {
    child.once('error', (error) => {
      options.onSpawnError(error);
      if (child.pid === undefined) {
        exitedFlag = true;
        resolve({ code: null, signal: null });
      }
    });
    child.once('close', (code, signal) => {
      exitedFlag = true;
      resolve({ code, signal });
    });
  });
  if (child.stdout) forwardLines(child.stdout, options.onLine);
  if (child.stderr) forwardLines(child.stderr, options.onLine);
  return {
    pid: child.pid,
    exited,
    hasExited: () => exitedFlag,
    kill(signal) {
      if (!exitedFlag) child.kill(signal);
    },
  };
}

const POLL_MS = 200;

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** GET/POST on Envoy's admin interface; undefined when it does not answer. */
async function admin(adminPort: number, path: string, method = 'GET'): Promise<{ status: number; text: string } | undefined> {
  try {
    const response = await fetch(`http://127.0.0.1:${adminPort}${path}`, { method, signal: AbortSignal.timeout(2_000) });
    return { status: response.status, text: await response.text() };
  } catch {
    return undefined;
  }
}

export type ReadyResult = 'ready' | 'exited' | 'timeout';

/**
 * Polls the admin /ready until it answers 200 (Envoy has no event to wait on from outside); stops early when Envoy
 * exits. A bounded poll: `timeoutMs` covers a first `docker run` that pulls the image.
 */
export async function waitForReady(envoy: EnvoyProcess, adminPort: number, timeoutMs: number): Promise<ReadyResult> {
  const deadline = Date.now() + timeoutMs;
  let exited = false;
  void envoy.exited.then(() => (exited = true));
  while (Date.now() < deadline) {
    if (exited) return 'exited';
    const answer = await admin(adminPort, '/ready');
    if (answer?.status === 200) return 'ready';
    if (exited) return 'exited';
    await sleep(POLL_MS);
  }
  return 'timeout';
}

/** Requests in flight on Envoy's listeners (the admin interface's own excluded); undefined when it does not answer. */
async function activeRequests(adminPort: number): Promise<number | undefined> {
  const answer = await admin(adminPort, '/stats?filter=downstream_rq_active');
  if (answer?.status !== 200) return undefined;
  let total = 0;
  for (const line of answer.text.split('\n')) {
    const match = /^(\S+): (\d+)$/.exec(line.trim());
    if (match && !match[1]?.startsWith('http.admin.')) total += Number(match[2]);
  }
  return total;
}

/**
 * Drains Envoy, then stops it: a graceful drain of its listeners (new connections are told to close), a wait until
 * no request is in flight or `timeoutMs` passed, then SIGTERM; SIGKILL if it has not exited `killAfterMs` later.
 */
export async function drainAndStop(envoy: EnvoyProcess, adminPort: number, timeoutMs: number, killAfterMs = 10_000): Promise<EnvoyExit> {
  if (!envoy.hasExited()) {
    await admin(adminPort, '/drain_listeners?graceful', 'POST');
    const deadline = Date.now() + timeoutMs;
    while (!envoy.hasExited() && Date.now() < deadline) {
      const active = await activeRequests(adminPort);
      if (active === undefined || active === 0) break;
      await sleep(POLL_MS);
    }
    envoy.kill('SIGTERM');
  }
  let timer: NodeJS.Timeout | undefined;
  const killed = new Promise<void>((resolve) => {
    timer = setTimeout(() => {
      envoy.kill('SIGKILL');
      resolve();
    }, killAfterMs);
  });
  await Promise.race([envoy.exited, killed]);
  clearTimeout(timer);
  return envoy.exited;
}
