/**
 * Scenarios 1-6: the same recorded exchanges driven against the service and the baseline, in interleaved rounds
 * (each round runs every scenario and concurrency once on each server, alternating which server goes first), so
 * drift on a shared machine hits both alike. Only the server process's CPU time counts.
 */
import { runExchange, type Exchange, type ExchangeAnswers, type ExtProcClient } from './envoy-client.js';
import type { ExchangeName } from './exchanges.js';
import { percentile, median, runLoad, type LoadResult } from './measure.js';
import { rowFromRounds, type ResultRow, type Target } from './report.js';
import { checkServiceWork, type Expectation } from './verify.js';

type LoadMetric = 'cpu_us_per_request' | 'cpu_us_per_chunk' | 'first_chunk_p99_added_ms' | 'p50_latency_ms';

export interface LoadScenario {
  readonly scenario: number;
  readonly id: string;
  readonly title: string;
  readonly exchange: ExchangeName;
  readonly concurrencies: readonly number[];
  /** Exchanges per run (per round, per server), full and --quick. */
  readonly requests: { readonly full: number; readonly quick: number };
  /** onlyAt: the concurrencies a metric is reported at (default all). */
  readonly metrics: ReadonlyArray<{ metric: LoadMetric; target: Target; onlyAt?: readonly number[] }>;
  /** What one exchange through the service must show (checked once, after the warm-up). */
  readonly expect: Expectation;
}

const ratio = (value: number): Target => ({ kind: 'ratio', op: '<=', value });

export const LOAD_SCENARIOS: readonly LoadScenario[] = [
  {
    scenario: 1, id: 'passthrough', title: 'OpenAI passthrough 2 KB/1 KB', exchange: 'openai-2k', concurrencies: [1, 16, 64],
    requests: { full: 600, quick: 24 }, metrics: [{ metric: 'cpu_us_per_request', target: ratio(1.2) }],
    expect: { translated: false, upstreamModel: 'gpt-4o-mini' },
  },
  {
    scenario: 2, id: 'stream', title: 'OpenAI SSE passthrough, 100 chunks', exchange: 'openai-stream', concurrencies: [1, 16, 64],
    requests: { full: 128, quick: 4 },
    metrics: [
      { metric: 'cpu_us_per_chunk', target: ratio(1.5) },
      { metric: 'first_chunk_p99_added_ms', target: { kind: 'difference', op: '<', value: 1 }, onlyAt: [1, 64] },
    ],
    expect: { translated: false, upstreamModel: 'gpt-4o-mini' },
  },
  {
    scenario: 3, id: 'anthropic-stream', title: 'Anthropic SSE -> OpenAI chunks', exchange: 'anthropic-stream', concurrencies: [1, 16, 64],
    requests: { full: 128, quick: 4 }, metrics: [{ metric: 'cpu_us_per_chunk', target: ratio(1.5) }],
    expect: { translated: true, upstreamModel: 'claude-sonnet-4-5' },
  },
  {
    scenario: 4, id: 'bedrock-stream', title: 'Bedrock event-stream -> OpenAI SSE', exchange: 'bedrock-stream', concurrencies: [1, 16, 64],
    requests: { full: 128, quick: 4 }, metrics: [{ metric: 'cpu_us_per_chunk', target: ratio(1.5) }],
    // Bedrock takes the model in the path; the body names no model.
    expect: { translated: true, upstreamModel: 'messages' },
  },
  {
    // 64 x 2 MB in flight would measure the bench's own buffering more than the ext_proc.
    scenario: 5, id: 'override-2m', title: '2 MB request, model override', exchange: 'override-2m', concurrencies: [1, 16],
    requests: { full: 80, quick: 4 },
    metrics: [
      { metric: 'cpu_us_per_request', target: ratio(2) },
      { metric: 'p50_latency_ms', target: ratio(2) },
    ],
    expect: { translated: false, upstreamModel: 'gpt-4o-2024-08-06' },
  },
  ...(
    [
      // What the translated body must contain: the model (Anthropic) or the tool declarations (Bedrock, Gemini).
      ['tools-anthropic', 'OpenAI -> Anthropic, tools, 6 KB', 'claude-sonnet-4-5'],
      ['tools-bedrock', 'OpenAI -> Bedrock, tools, 6 KB', 'toolConfig'],
      ['tools-gemini', 'OpenAI -> Gemini, tools, 6 KB', 'functionDeclarations'],
    ] as const
  ).map(([id, title, marker]): LoadScenario => ({
    scenario: 6, id, title, exchange: id, concurrencies: [1, 16, 64],
    requests: { full: 400, quick: 16 }, metrics: [{ metric: 'cpu_us_per_request', target: ratio(1.5) }],
    expect: { translated: true, upstreamModel: marker },
  })),
];

function metricValue(metric: LoadMetric, result: LoadResult): number {
  switch (metric) {
    case 'cpu_us_per_request':
      return result.cpuNs / result.requests / 1000;
    case 'cpu_us_per_chunk':
      return result.cpuNs / result.chunks / 1000;
    case 'first_chunk_p99_added_ms':
      return percentile(result.firstChunkMs, 99);
    case 'p50_latency_ms':
      return median(result.latenciesMs);
  }
}

const UNITS: Record<LoadMetric, string> = { cpu_us_per_request: 'µs', cpu_us_per_chunk: 'µs', first_chunk_p99_added_ms: 'ms', p50_latency_ms: 'ms' };

export interface ServerUnderLoad {
  readonly client: ExtProcClient;
  readonly pid: number;
}

export interface LoadOptions {
  readonly quick: boolean;
  readonly rounds: number;
  readonly service: ServerUnderLoad;
  readonly baseline: ServerUnderLoad;
  readonly exchanges: Record<ExchangeName, Exchange>;
  /** Progress lines (stderr). */
  readonly log: (line: string) => void;
}

/**
 * Warms both servers on every exchange the scenarios use (JIT, connection, caches), unmeasured, then checks one
 * exchange through the service did the scenario's work (throws otherwise).
 */
async function warmUp(scenarios: readonly LoadScenario[], options: LoadOptions): Promise<void> {
  for (const scenario of scenarios) {
    const count = options.quick ? 4 : Math.min(100, scenario.requests.full);
    const exchange = options.exchanges[scenario.exchange];
    for (const target of [options.baseline, options.service]) await runLoad(target.client, target.pid, exchange, count, 8);
    const answers: ExchangeAnswers = { router: [], upstream: [] };
    await runExchange(options.service.client, exchange, answers);
    const problems = checkServiceWork(exchange, answers, scenario.expect);
    if (problems.length > 0) throw new Error(`${scenario.id}: the service did not do the scenario's work: ${problems.join('; ')}`);
  }
}

/** Runs the scenarios in interleaved rounds; returns one row per scenario, concurrency and metric. */
export async function runLoadScenarios(scenarios: readonly LoadScenario[], options: LoadOptions): Promise<ResultRow[]> {
  options.log(`warming up ${scenarios.length} scenario(s)`);
  await warmUp(scenarios, options);
  const runs = scenarios.flatMap((scenario) => scenario.concurrencies.map((concurrency) => ({ scenario, concurrency })));
  const results = runs.map(() => ({ service: [] as LoadResult[], baseline: [] as LoadResult[] }));
  for (let round = 0; round < options.rounds; round += 1) {
    for (const [index, { scenario, concurrency }] of runs.entries()) {
      const requests = Math.max(options.quick ? scenario.requests.quick : scenario.requests.full, concurrency === 64 && !options.quick ? 2 * concurrency : 0);
      const exchange = options.exchanges[scenario.exchange];
      const order = round % 2 === 0 ? (['baseline', 'service'] as const) : (['service', 'baseline'] as const);
      for (const which of order) {
        const target = options[which];
        results[index]?.[which].push(await runLoad(target.client, target.pid, exchange, requests, concurrency));
      }
      const last = results[index];
      options.log(`round ${round + 1}/${options.rounds} ${scenario.id} c=${concurrency}: service ${describe(last?.service.at(-1))}, baseline ${describe(last?.baseline.at(-1))}`);
    }
  }
  return runs.flatMap(({ scenario, concurrency }, index) => {
    const measured = results[index] ?? { service: [], baseline: [] };
    return scenario.metrics
      .filter((entry) => entry.onlyAt === undefined || entry.onlyAt.includes(concurrency))
      .map(({ metric, target }) =>
        rowFromRounds(
          {
            scenario: scenario.scenario, id: scenario.id, title: scenario.title, concurrency, metric, unit: UNITS[metric], target,
            details: { requestsPerRun: measured.service[0]?.requests, chunksPerRequest: options.exchanges[scenario.exchange].responseBody.length, requestBytes: options.exchanges[scenario.exchange].requestBody.length },
          },
          { service: measured.service.map((result) => metricValue(metric, result)), baseline: measured.baseline.map((result) => metricValue(metric, result)) },
        ),
      );
  });
}

function describe(result: LoadResult | undefined): string {
  if (!result) return '-';
  return `${(result.cpuNs / result.requests / 1000).toFixed(0)} µs cpu/req, ${((result.requests / result.wallMs) * 1000).toFixed(0)} req/s`;
}
