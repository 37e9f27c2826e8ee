/**
 * The processes under test: the built service (`node dist/bundle/main.js serve --config FILE`) and the no-op baseline
 * (bench/noop-ext-proc.mjs), each a child process, plus what /proc says about them (CPU time, RSS).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { freePort } from '../test/helpers/ports.js';
import { fileURLToPath } from 'node:url';

export const REPO_ROOT = fileURLToPath(new URL('../', import.meta.url));
export const DIST_MAIN = fileURLToPath(new URL('../dist/bundle/main.js', import.meta.url));
export const NOOP_SERVER = fileURLToPath(new URL('./noop-ext-proc.mjs', import.meta.url));

export interface ServerProcess {
  readonly name: 'service' | 'baseline';
  readonly pid: number;
  /** host:port of the ext_proc gRPC listener. */
  readonly address: string;
  /** Milliseconds from spawn to ready (/readyz 200 for the service, "listening" for the baseline). */
  readonly readyMs: number;
  /** SIGTERM, then SIGKILL if it has not exited within 5 s; resolves once it has exited. */
  stop(): Promise<void>;
}

/** Every child still running, so an exiting bench can kill them (see killAll). */
const running = new Set<ChildProcess>();

function track(child: ChildProcess): ChildProcess {
  running.add(child);
  child.once('exit', () => running.delete(child));
  return child;
}

function stopper(child: ChildProcess): () => Promise<void> {
  return () => {
    if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
    return new Promise((resolve) => {
      const force = setTimeout(() => child.kill('SIGKILL'), 5_000);
      child.once('exit', () => {
        clearTimeout(force);
        resolve();
      });
      child.kill('SIGTERM');
    });
  };
}

/** Kills every child this module started (synchronous, for process 'exit' and signal handlers). */
export function killAll(): void {
  for (const child of running) child.kill('SIGKILL');
}

const READY_DEADLINE_MS = 30_000;

/** Rejects when the child exits, or has not become ready within READY_DEADLINE_MS (then it is killed). */
function watchStart(child: ChildProcess, stderr: () => string): { failed: Promise<never>; ready(): void } {
  let timer: NodeJS.Timeout | undefined;
  const failed = new Promise<never>((_, reject) => {
    child.once('exit', (code, signal) => reject(new Error(`child exited (${code ?? signal}) before ready: ${stderr().slice(-2000)}`)));
    timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`child not ready within ${READY_DEADLINE_MS / 1000} s: ${stderr().slice(-2000)}`));
    }, READY_DEADLINE_MS);
  });
  failed.catch(() => {});
  return { failed, ready: () => clearTimeout(timer) };
}

export interface ServiceOptions {
  configPath: string;
  /** Extra node flags, e.g. --cpu-prof. */
  nodeFlags?: string[];
}

/** Spawns the built service and waits for /readyz 200 (polled every 5 ms). */
export async function startService(options: ServiceOptions): Promise<ServerProcess> {
  if (!existsSync(DIST_MAIN)) throw new Error(`${DIST_MAIN} is missing: run npm run build first`);
  const [grpcPort, adminPort] = [await freePort(), await freePort()];
  const started = performance.now();
  const child = track(
    spawn(process.execPath, [...(options.nodeFlags ?? []), DIST_MAIN, 'serve', '--config', options.configPath, '--listen', `127.0.0.1:${grpcPort}`, '--admin', `127.0.0.1:${adminPort}`], {
      cwd: REPO_ROOT,
      env: serviceEnv(),
      stdio: ['ignore', 'ignore', 'pipe'],
    }),
  );
  let stderr = '';
  child.stderr?.on('data', (chunk: Buffer) => (stderr = (stderr + chunk.toString()).slice(-8000)));
  const start = watchStart(child, () => stderr);
  let stopPolling = false;
  try {
    await Promise.race([pollReady(adminPort, () => stopPolling), start.failed]);
  } finally {
    stopPolling = true;
    start.ready();
  }
  const readyMs = performance.now() - started;
  return { name: 'service', pid: child.pid ?? -1, address: `127.0.0.1:${grpcPort}`, readyMs, stop: stopper(child) };
}

/** The bench's environment minus LOG_LEVEL (the service runs at its shipped level), with a short drain. */
function serviceEnv(): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...process.env, LLM_EXTPROC_DRAIN_TIMEOUT_MS: '2000' };
  delete env['LOG_LEVEL'];
  return env;
}

async function pollReady(adminPort: number, stopped: () => boolean): Promise<void> {
  while (!stopped()) {
    const ok = await fetch(`http://127.0.0.1:${adminPort}/readyz`).then(
      (response) => response.status === 200,
      () => false,
    );
    if (ok) return;
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}

/** Spawns the no-op baseline and waits for its "listening" line. */
export async function startBaseline(): Promise<ServerProcess> {
  const port = await freePort();
  const started = performance.now();
  const child = track(spawn(process.execPath, [NOOP_SERVER, '--listen', `127.0.0.1:${port}`], { cwd: REPO_ROOT, stdio: ['ignore', 'pipe', 'pipe'] }));
  let stderr = '';
  child.stderr?.on('data', (chunk: Buffer) => (stderr = (stderr + chunk.toString()).slice(-8000)));
  const start = watchStart(child, () => stderr);
  const listening = new Promise<void>((resolve) => {
    let out = '';
    child.stdout?.on('data', (chunk: Buffer) => {
      out += chunk.toString();
      if (out.includes('listening')) resolve();
    });
  });
  try {
    await Promise.race([listening, start.failed]);
  } finally {
    start.ready();
  }
  const readyMs = performance.now() - started;
  return { name: 'baseline', pid: child.pid ?? -1, address: `127.0.0.1:${port}`, readyMs, stop: stopper(child) };
}

/** Runs `node dist/bundle/main.js validate --config FILE`; resolves with the wall time in ms and the exit code. */
export function timeValidate(configPath: string): Promise<{ ms: number; code: number | null }> {
  const started = performance.now();
  const child = track(spawn(process.execPath, [DIST_MAIN, 'validate', '--config', configPath], { cwd: REPO_ROOT, stdio: 'ignore' }));
  return new Promise((resolve) => child.once('exit', (code) => resolve({ ms: performance.now() - started, code })));
}

const CLOCK_TICK_NS = 1e7; // USER_HZ is 100 on Linux

/**
 * CPU time a process has used, in nanoseconds: the sum of its threads' /proc/<pid>/task/<tid>/schedstat run times
 * (nanosecond resolution), or utime+stime from /proc/<pid>/stat (10 ms ticks) where schedstat is missing.
 */
export function cpuNs(pid: number): number {
  try {
    let total = 0;
    for (const tid of readdirSync(`/proc/${pid}/task`)) {
      try {
        total += Number(readFileSync(`/proc/${pid}/task/${tid}/schedstat`, 'utf8').split(' ')[0]);
      } catch {
        // The thread ended between the listing and the read.
      }
    }
    if (total > 0) return total;
  } catch {
    // No schedstat: fall back to the tick counters.
  }
  const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]?.split(' ') ?? [];
  return (Number(fields[11]) + Number(fields[12])) * CLOCK_TICK_NS;
}

/** Resident set size in bytes (VmRSS of /proc/<pid>/status). */
export function rssBytes(pid: number): number {
  const match = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return match ? Number(match[1]) * 1024 : Number.NaN;
}
