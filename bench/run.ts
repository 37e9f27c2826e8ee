/**
 * `npm run bench`: the built service (`node dist/bundle/main.js serve`, a child process with a config file in a temp
 * dir) against a no-op ext_proc baseline (bench/noop-ext-proc.mjs, another child process), both driven by the
 * same Envoy imitation (bench/envoy-client.ts). Scenarios 1-9 of issue #9; see docs/performance.md.
 *
 *   npm run bench [-- --quick] [--only 1,stream,tools] [--rounds N] [--out FILE] [--profile]
 *
 * --quick    small counts and one round (a smoke test, not a measurement)
 * --only     scenario numbers or id prefixes: 1 passthrough, 2 stream, 3 anthropic-stream, 4 bedrock-stream,
 *            5 override-2m, 6 tools-*, 7 held-streams, 8 idle-rss, 9 startup
 * --rounds   interleaved rounds (default 3; 1 with --quick); medians over rounds are reported
 * --out      JSON results (default bench/results/latest.json)
 * --profile  instead of measuring, runs the service under --cpu-prof for passthrough, stream, anthropic-stream
 *            and override-2m, and prints the top self-time frames
 */
import { existsSync, mkdtempSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import { connect } from './envoy-client.js';
import { BENCH_CONFIG, buildExchanges, type ExchangeName } from './exchanges.js';
import { LOAD_SCENARIOS, runLoadScenarios } from './load-scenarios.js';
import { runLoad } from './measure.js';
import { idleRss, memoryPerStream, startup } from './process-scenarios.js';
import { DIST_MAIN, REPO_ROOT, killAll, startBaseline, startService } from './processes.js';
import { formatProfile, monotonicMicros, summariseProfileFile, type ProfileSummary } from './profile-summary.js';
import { formatTable, machineInfo, writeReport, type ResultRow } from './report.js';

const PROCESS_SCENARIOS = [
  { scenario: 7, id: 'held-streams' },
  { scenario: 8, id: 'idle-rss' },
  { scenario: 9, id: 'startup' },
] as const;
const PROFILED: ReadonlyArray<{ scenario: number; id: string; exchange: ExchangeName }> = [
  { scenario: 1, id: 'passthrough', exchange: 'openai-2k' },
  { scenario: 2, id: 'stream', exchange: 'openai-stream' },
  { scenario: 3, id: 'anthropic-stream', exchange: 'anthropic-stream' },
  { scenario: 5, id: 'override-2m', exchange: 'override-2m' },
];

const log = (line: string) => void process.stderr.write(`bench: ${line}\n`);

function selected(only: string[] | undefined, scenario: { scenario: number; id: string }): boolean {
  return only === undefined || only.some((token) => token === String(scenario.scenario) || scenario.id.startsWith(token));
}

/** Warns when a file under src/ is newer than the built entry (the bench measures dist/, not src/). */
function checkBuild(): void {
  if (!existsSync(DIST_MAIN)) throw new Error('dist/bundle/main.js is missing: run `npm run build` first');
  const built = statSync(DIST_MAIN).mtimeMs;
  const newest = (dir: string): number =>
    Math.max(0, ...readdirSync(dir, { withFileTypes: true }).map((entry) => (entry.isDirectory() ? newest(join(dir, entry.name)) : statSync(join(dir, entry.name)).mtimeMs)));
  if (newest(join(REPO_ROOT, 'src')) > built) log('WARNING: src/ has changes newer than dist/bundle/main.js; run `npm run build` to measure them');
}

async function profile(only: string[] | undefined, quick: boolean, configPath: string): Promise<ProfileSummary[]> {
  const exchanges = buildExchanges();
  const summaries: ProfileSummary[] = [];
  for (const entry of PROFILED.filter((candidate) => selected(only, candidate))) {
    const dir = mkdtempSync(join(tmpdir(), `llm-extproc-prof-${entry.id}-`));
    const service = await startService({ configPath, nodeFlags: ['--cpu-prof', '--cpu-prof-dir', dir] });
    const client = connect(service.address);
    const exchange = exchanges[entry.exchange];
    const requests = quick ? 8 : entry.exchange === 'override-2m' ? 300 : entry.exchange === 'anthropic-stream' || entry.exchange === 'openai-stream' ? 300 : 3000;
    await runLoad(client, service.pid, exchange, Math.min(50, requests), 8);
    const fromMicros = monotonicMicros();
    await runLoad(client, service.pid, exchange, requests, 16);
    const toMicros = monotonicMicros();
    client.close();
    await service.stop();
    const file = readdirSync(dir).find((name) => name.endsWith('.cpuprofile'));
    if (!file) throw new Error(`no .cpuprofile written in ${dir}`);
    const summary = summariseProfileFile(entry.id, join(dir, file), { fromMicros, toMicros });
    summaries.push(summary);
    console.log(`${formatProfile(summary)}\n`);
  }
  return summaries;
}

async function measure(only: string[] | undefined, quick: boolean, rounds: number, configPath: string): Promise<ResultRow[]> {
  const exchanges = buildExchanges();
  const rows: ResultRow[] = [];
  const load = LOAD_SCENARIOS.filter((scenario) => selected(only, scenario));
  if (load.length > 0) {
    const service = await startService({ configPath });
    const baseline = await startBaseline();
    const serviceClient = connect(service.address);
    const baselineClient = connect(baseline.address);
    try {
      rows.push(
        ...(await runLoadScenarios(load, {
          quick,
          rounds,
          exchanges,
          log,
          service: { client: serviceClient, pid: service.pid },
          baseline: { client: baselineClient, pid: baseline.pid },
        })),
      );
    } finally {
      serviceClient.close();
      baselineClient.close();
      await service.stop();
      await baseline.stop();
    }
  }
  const options = { quick, rounds, configPath, passthrough: exchanges['openai-2k'], log };
  for (const scenario of PROCESS_SCENARIOS.filter((candidate) => selected(only, candidate))) {
    if (scenario.id === 'held-streams') rows.push(await memoryPerStream(options));
    if (scenario.id === 'idle-rss') rows.push(...(await idleRss(options)));
    if (scenario.id === 'startup') rows.push(...(await startup(options)));
  }
  return rows;
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      quick: { type: 'boolean', default: false },
      only: { type: 'string' },
      rounds: { type: 'string' },
      out: { type: 'string' },
      profile: { type: 'boolean', default: false },
    },
  });
  const quick = values.quick === true;
  const rounds = values.rounds === undefined ? (quick ? 1 : 3) : Number(values.rounds);
  if (!Number.isInteger(rounds) || rounds < 1) throw new Error(`--rounds must be a positive integer, got ${values.rounds}`);
  const only = values.only?.split(',').map((token) => token.trim()).filter((token) => token !== '');
  const out = values.out ?? fileURLToPath(new URL('./results/latest.json', import.meta.url));
  checkBuild();

  const dir = mkdtempSync(join(tmpdir(), 'llm-extproc-bench-'));
  const configPath = join(dir, 'config.yaml');
  writeFileSync(configPath, BENCH_CONFIG);
  const startedAt = new Date().toISOString();
  const machine = machineInfo();
  try {
    const profiles = values.profile === true ? await profile(only, quick, configPath) : [];
    const results = values.profile === true ? [] : await measure(only, quick, rounds, configPath);
    if (results.length > 0) {
      console.log(`\nllm-extproc (dist/) vs no-op ext_proc, node ${process.version}, ${machine.cpus} CPUs, rounds ${rounds}${quick ? ' (--quick: not a measurement)' : ''}`);
      console.log(formatTable(results));
    }
    writeReport(out, { startedAt, finishedAt: new Date().toISOString(), node: process.version, machine, options: { quick, rounds, only: only ?? null, profile: values.profile === true }, results, profiles });
    console.log(`\nresults: ${out}`);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** Entry point: runs the bench, kills every child on the way out, exits. */
async function runCli(): Promise<void> {
  process.on('exit', killAll);
  for (const signal of ['SIGINT', 'SIGTERM'] as const) {
    process.on(signal, () => {
      killAll();
      process.exit(130);
    });
  }
  try {
    await main();
  } catch (error) {
    log(error instanceof Error ? (error.stack ?? error.message) : String(error));
    process.exitCode = 1;
  }
  // stdout to a pipe is written asynchronously: let it drain, then exit (grpc-js keeps handles open).
  await new Promise<void>((resolve) => process.stdout.write('', () => resolve()));
  process.exit();
}

const entry = process.argv[1];
if (entry !== undefined && import.meta.url === pathToFileURL(entry).href) await runCli();
