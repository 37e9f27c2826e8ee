/** The bench's result rows, the printed table and the JSON file. */
import { mkdirSync, writeFileSync } from 'node:fs';
import { cpus, loadavg } from 'node:os';
import { dirname } from 'node:path';
import { median, spread, type Spread } from './measure.js';
import type { ProfileSummary } from './profile-summary.js';

/** `ratio`: service / baseline; `difference`: service - baseline; `absolute`: the service's own value. */
export type TargetKind = 'ratio' | 'difference' | 'absolute';

export interface Target {
  readonly kind: TargetKind;
  readonly op: '<=' | '<';
  readonly value: number;
}

export interface ResultRow {
  /** Scenario number in the issue (1-9) and id, e.g. 1 / "passthrough". */
  readonly scenario: number;
  readonly id: string;
  readonly title: string;
  /** Exchanges in flight (null where it does not apply). */
  readonly concurrency: number | null;
  /** What is measured, e.g. "cpu_us_per_request". */
  readonly metric: string;
  readonly unit: string;
  /** Medians over rounds. */
  readonly service: number;
  readonly baseline: number | null;
  /** Median over rounds of the per-round comparison (ratio or difference, as the target says). */
  readonly compared: number;
  /** Min and max of the per-round comparison. */
  readonly spread: Spread;
  readonly rounds: number;
  readonly target: Target;
  readonly pass: boolean;
  /** Anything else worth keeping (counts, per-round values). */
  readonly details?: Record<string, unknown>;
}

export interface RoundValues {
  readonly service: number[];
  /** Empty for absolute targets. */
  readonly baseline: number[];
}

/** Builds a row from per-round values: the comparison is made per round, then the median taken. */
export function rowFromRounds(
  head: Pick<ResultRow, 'scenario' | 'id' | 'title' | 'concurrency' | 'metric' | 'unit' | 'target'> & { details?: Record<string, unknown> },
  values: RoundValues,
): ResultRow {
  const perRound = values.service.map((service, index) => {
    const baseline = values.baseline[index] ?? Number.NaN;
    if (head.target.kind === 'ratio') return service / baseline;
    if (head.target.kind === 'difference') return service - baseline;
    return service;
  });
  const compared = median(perRound);
  const pass = head.target.op === '<=' ? compared <= head.target.value : compared < head.target.value;
  return {
    ...head,
    service: median(values.service),
    baseline: values.baseline.length > 0 ? median(values.baseline) : null,
    compared,
    spread: spread(perRound),
    rounds: values.service.length,
    pass,
    details: { ...head.details, serviceRounds: values.service, baselineRounds: values.baseline },
  };
}

const number = (value: number | null) => {
  if (value === null || !Number.isFinite(value)) return '-';
  const magnitude = Math.abs(value);
  return magnitude >= 100 ? value.toFixed(0) : magnitude >= 10 ? value.toFixed(1) : value.toFixed(2);
};

function targetText(target: Target): string {
  if (target.kind === 'ratio') return `${target.op} ${target.value}x`;
  if (target.kind === 'difference') return `+${target.op} ${target.value}`;
  return `${target.op} ${target.value}`;
}

function comparedText(row: ResultRow): string {
  const suffix = row.target.kind === 'ratio' ? 'x' : '';
  const main = row.target.kind === 'difference' ? `${row.compared >= 0 ? '+' : ''}${number(row.compared)}` : `${number(row.compared)}${suffix}`;
  if (row.rounds < 2) return main;
  return `${main} (${number(row.spread.min)}-${number(row.spread.max)})`;
}

/** The table as Markdown (also readable in a terminal). */
export function formatTable(rows: readonly ResultRow[]): string {
  const header = ['#', 'scenario', 'conc', 'metric', 'service', 'baseline', 'compared (spread)', 'target', 'result'];
  const lines = rows.map((row) => [
    String(row.scenario),
    row.title,
    row.concurrency === null ? '-' : String(row.concurrency),
    `${row.metric} (${row.unit})`,
    number(row.service),
    number(row.baseline),
    comparedText(row),
    targetText(row.target),
    row.pass ? 'pass' : 'FAIL',
  ]);
  const widths = header.map((title, column) => Math.max(title.length, ...lines.map((line) => (line[column] ?? '').length)));
  const format = (cells: string[]) => `| ${cells.map((cell, column) => cell.padEnd(widths[column] ?? 0)).join(' | ')} |`;
  return [format(header), `| ${widths.map((width) => '-'.repeat(width)).join(' | ')} |`, ...lines.map(format)].join('\n');
}

export interface BenchReport {
  readonly startedAt: string;
  readonly finishedAt: string;
  readonly node: string;
  readonly machine: { readonly cpus: number; readonly model: string; readonly loadavgAtStart: number[] };
  readonly options: Record<string, unknown>;
  readonly results: readonly ResultRow[];
  readonly profiles: readonly ProfileSummary[];
}

export function machineInfo(): BenchReport['machine'] {
  const list = cpus();
  return { cpus: list.length, model: list[0]?.model ?? 'unknown', loadavgAtStart: loadavg() };
}

/** Writes the JSON report (creating its directory). Non-finite numbers become null in JSON. */
export function writeReport(path: string, report: BenchReport): void {
  mkdirSync(dirname(path), { recursive: true });
  writeFileSync(path, `${JSON.stringify(report, null, 2)}\n`);
}
