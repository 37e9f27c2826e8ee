/**
 * Scenarios 7-9, about the processes rather than throughput: memory per held router stream (fresh processes per
 * round), idle RSS with the shipped config/default.yaml and whether it stays flat under repeated load, and start-up
 * time (spawn to /readyz 200) plus `validate` wall time.
 */
import { fileURLToPath } from 'node:url';
import { connect, openRouterStream, type Exchange, type ExtProcStream } from './envoy-client.js';
import { median, runLoad } from './measure.js';
import { rssBytes, startBaseline, startService, timeValidate, type ServerProcess } from './processes.js';
import { rowFromRounds, type ResultRow } from './report.js';

export const DEFAULT_CONFIG = fileURLToPath(new URL('../config/default.yaml', import.meta.url));
const MB = 1024 * 1024;
const settle = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

export interface ProcessOptions {
  readonly quick: boolean;
  readonly rounds: number;
  /** The bench config file (scenario 7). */
  readonly configPath: string;
  /** The 2 KB passthrough exchange (warm-up, scenario 8's load). */
  readonly passthrough: Exchange;
  readonly log: (line: string) => void;
}

/** RSS growth in bytes per stream for `count` router streams held open after their request body was answered. */
async function heldStreamBytes(server: ServerProcess, exchange: Exchange, count: number): Promise<number> {
  const client = connect(server.address);
  try {
    await runLoad(client, server.pid, exchange, 50, 8);
    await settle(500);
    const before = rssBytes(server.pid);
    const held: ExtProcStream[] = [];
    let opened = 0;
    const opener = async () => {
      while (opened < count) {
        opened += 1;
        held.push((await openRouterStream(client, exchange)).stream);
      }
    };
    await Promise.all(Array.from({ length: 32 }, opener));
    await settle(500);
    const after = rssBytes(server.pid);
    await Promise.all(held.map((stream) => stream.close()));
    return (after - before) / count;
  } finally {
    client.close();
  }
}

/** 7: RSS delta of the server process per held router stream (2,000 held; 200 with --quick). */
export async function memoryPerStream(options: ProcessOptions): Promise<ResultRow> {
  const count = options.quick ? 200 : 2000;
  const service: number[] = [];
  const baseline: number[] = [];
  for (let round = 0; round < options.rounds; round += 1) {
    for (const start of [startBaseline, () => startService({ configPath: options.configPath })]) {
      const server = await start();
      try {
        const perStream = await heldStreamBytes(server, options.passthrough, count);
        (server.name === 'service' ? service : baseline).push(perStream / 1024);
      } finally {
        await server.stop();
      }
    }
    options.log(`round ${round + 1}/${options.rounds} held-streams: service ${service.at(-1)?.toFixed(1)} KiB/stream, baseline ${baseline.at(-1)?.toFixed(1)} KiB/stream`);
  }
  return rowFromRounds(
    { scenario: 7, id: 'held-streams', title: `memory per held router stream (${count} held)`, concurrency: count, metric: 'rss_per_stream', unit: 'KiB', target: { kind: 'ratio', op: '<=', value: 1.3 }, details: { streams: count } },
    { service, baseline },
  );
}

/** 8: idle RSS with config/default.yaml, then RSS after each of several rounds of passthrough load. */
export async function idleRss(options: ProcessOptions): Promise<ResultRow[]> {
  const loadRounds = options.quick ? 2 : 8;
  const requests = options.quick ? 20 : 400;
  const service = await startService({ configPath: DEFAULT_CONFIG });
  const baseline = await startBaseline();
  try {
    await settle(options.quick ? 200 : 1000);
    const idleService = rssBytes(service.pid) / MB;
    const idleBaseline = rssBytes(baseline.pid) / MB;
    const exchange: Exchange = { ...options.passthrough, backend: 'openai' };
    const client = connect(service.address);
    const afterRounds: number[] = [];
    try {
      for (let round = 0; round < loadRounds; round += 1) {
        await runLoad(client, service.pid, exchange, requests, 16);
        await settle(options.quick ? 100 : 500);
        afterRounds.push(rssBytes(service.pid) / MB);
      }
    } finally {
      client.close();
    }
    options.log(`idle RSS: service ${idleService.toFixed(1)} MiB, baseline ${idleBaseline.toFixed(1)} MiB; after rounds ${afterRounds.map((value) => value.toFixed(1)).join(', ')} MiB`);
    // Flat: growth over the second half of the rounds. V8 grows the heap to its working set over the first rounds
    // (a first run showed +25 MiB over rounds 1-4, then a plateau); a leak keeps growing after that.
    const middle = Math.max(0, Math.floor(afterRounds.length / 2) - 1);
    const growth = (afterRounds.at(-1) ?? Number.NaN) - (afterRounds[middle] ?? Number.NaN);
    return [
      rowFromRounds(
        { scenario: 8, id: 'idle-rss', title: 'idle RSS, config/default.yaml', concurrency: null, metric: 'rss_idle', unit: 'MiB', target: { kind: 'absolute', op: '<=', value: 120 }, details: { baselineIdleMiB: idleBaseline } },
        { service: [idleService], baseline: [] },
      ),
      rowFromRounds(
        { scenario: 8, id: 'idle-rss', title: `RSS growth over ${loadRounds} x ${requests} requests`, concurrency: 16, metric: 'rss_growth_second_half', unit: 'MiB', target: { kind: 'absolute', op: '<=', value: 5 }, details: { rssAfterRoundsMiB: afterRounds } },
        { service: [growth], baseline: [] },
      ),
    ];
  } finally {
    await service.stop();
    await baseline.stop();
  }
}

/** 9: spawn to /readyz 200 with config/default.yaml, and `validate --config` wall time; medians of several runs. */
export async function startup(options: ProcessOptions): Promise<ResultRow[]> {
  const runs = options.quick ? 1 : 7;
  const ready: number[] = [];
  const baselineReady: number[] = [];
  const validate: number[] = [];
  for (let run = 0; run < runs; run += 1) {
    const service = await startService({ configPath: DEFAULT_CONFIG });
    ready.push(service.readyMs);
    await service.stop();
    const baseline = await startBaseline();
    baselineReady.push(baseline.readyMs);
    await baseline.stop();
    const result = await timeValidate(DEFAULT_CONFIG);
    if (result.code !== 0) throw new Error(`validate --config ${DEFAULT_CONFIG} exited ${result.code}`);
    validate.push(result.ms);
  }
  options.log(`start to ready: ${ready.map((value) => value.toFixed(0)).join(', ')} ms (baseline listening: ${baselineReady.map((value) => value.toFixed(0)).join(', ')} ms); validate: ${validate.map((value) => value.toFixed(0)).join(', ')} ms`);
  return [
    rowFromRounds(
      { scenario: 9, id: 'startup', title: 'start to ready (/readyz 200)', concurrency: null, metric: 'ready_ms', unit: 'ms', target: { kind: 'absolute', op: '<', value: 1000 }, details: { baselineListeningMs: median(baselineReady), baselineListeningRoundsMs: baselineReady } },
      { service: ready, baseline: [] },
    ),
    rowFromRounds(
      { scenario: 9, id: 'startup', title: 'validate --config default.yaml', concurrency: null, metric: 'validate_ms', unit: 'ms', target: { kind: 'absolute', op: '<', value: 500 } },
      { service: validate, baseline: [] },
    ),
  ];
}
