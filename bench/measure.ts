/**
 * One measured run: N exchanges at concurrency C against one server process, with that process's CPU time read
 * from /proc before and after; plus the small statistics the report needs (median, percentile, spread).
 */
import { runExchange, type Exchange, type ExtProcClient } from './envoy-client.js';
import { cpuNs } from './processes.js';

export interface LoadResult {
  /** Server CPU time spent during the run, nanoseconds. */
  readonly cpuNs: number;
  readonly requests: number;
  /** Response body messages sent (1 per request when buffered). */
  readonly chunks: number;
  readonly wallMs: number;
  /** Per-exchange total time, ms. */
  readonly latenciesMs: number[];
  /** Per-exchange time from response headers to the first chunk's answer, ms (streams only). */
  readonly firstChunkMs: number[];
}

/** Runs `requests` exchanges, at most `concurrency` at a time. */
export async function runLoad(client: ExtProcClient, pid: number, exchange: Exchange, requests: number, concurrency: number): Promise<LoadResult> {
  const latenciesMs: number[] = [];
  const firstChunkMs: number[] = [];
  let next = 0;
  const worker = async () => {
    while (next < requests) {
      next += 1;
      const timing = await runExchange(client, exchange);
      const expected = 4 + exchange.responseBody.length;
      if (timing.answers !== expected) throw new Error(`an exchange got ${timing.answers} answers, expected ${expected}: the bench did not send every message`);
      latenciesMs.push(timing.totalMs);
      if (timing.firstChunkMs !== undefined) firstChunkMs.push(timing.firstChunkMs);
    }
  };
  const cpuBefore = cpuNs(pid);
  const started = performance.now();
  await Promise.all(Array.from({ length: Math.min(concurrency, requests) }, worker));
  const wallMs = performance.now() - started;
  const cpuAfter = cpuNs(pid);
  return { cpuNs: cpuAfter - cpuBefore, requests, chunks: requests * exchange.responseBody.length, wallMs, latenciesMs, firstChunkMs };
}

export function median(values: readonly number[]): number {
  return percentile(values, 50);
}

/** Nearest-rank percentile (p in 0..100); NaN for no values. */
export function percentile(values: readonly number[], p: number): number {
  if (values.length === 0) return Number.NaN;
  const sorted = [...values].sort((a, b) => a - b);
  const rank = Math.min(sorted.length, Math.max(1, Math.ceil((p / 100) * sorted.length)));
  return sorted[rank - 1] as number;
}

export interface Spread {
  readonly min: number;
  readonly max: number;
}

export function spread(values: readonly number[]): Spread {
  return values.length === 0 ? { min: Number.NaN, max: Number.NaN } : { min: Math.min(...values), max: Math.max(...values) };
}
