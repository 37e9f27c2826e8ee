/**
 * Local input-token estimates versus provider-reported counts, per provider (mean absolute percentage error).
 *
 * Reference cases (test/costs/fixtures): published provider counts (OpenAI cookbook prompt_tokens, Anthropic
 * count_tokens, Google countTokens). OpenAI counts are exact by construction (the same tokenizer and the
 * published framing), so their error must be 0; other families are bounded.
 * Translator fixtures (test/fixtures): their usage.json values are written by hand for the translation tests,
 * not recorded from providers, so their error is printed for information only.
 */
import assert from 'node:assert/strict';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { estimateInputTokens, tokenizerFamily } from '../../src/costs/index.js';

const REFERENCE_ROOT = join(import.meta.dirname, 'fixtures');
const TRANSLATOR_ROOT = join(import.meta.dirname, '..', 'fixtures');
/** Generous bound on the mean absolute % error per non-OpenAI provider on the reference cases. */
const MAX_MAPE_PERCENT = 25;

interface Measurement {
  readonly group: string;
  readonly name: string;
  readonly model: string;
  readonly estimate: number;
  readonly actual: number;
}

function readJson(path: string): unknown {
  return JSON.parse(readFileSync(path, 'utf8')) as unknown;
}

function record(value: unknown): Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value) ? (value as Record<string, unknown>) : {};
}

function directories(root: string): string[] {
  if (!existsSync(root)) return [];
  return readdirSync(root, { withFileTypes: true }).filter((entry) => entry.isDirectory()).map((entry) => entry.name).sort();
}

function reportedInput(dir: string): number | undefined {
  const path = join(dir, 'usage.json');
  if (!existsSync(path)) return undefined;
  const value = record(readJson(path)).inputTokens;
  return typeof value === 'number' && value > 0 ? value : undefined;
}

function loadReference(): Measurement[] {
  const out: Measurement[] = [];
  for (const provider of directories(REFERENCE_ROOT)) {
    for (const name of directories(join(REFERENCE_ROOT, provider))) {
      const dir = join(REFERENCE_ROOT, provider, name);
      const request = record(readJson(join(dir, 'request.json')));
      const actual = reportedInput(dir);
      if (actual === undefined) continue;
      const model = String(request.model ?? '');
      out.push({ group: provider, name, model, estimate: estimateInputTokens(model, request), actual });
    }
  }
  return out;
}

/** The upstream model of a translator fixture: upstream body `model`, else the model segment of the upstream path. */
function upstreamModel(dir: string, request: Record<string, unknown>): string {
  const upstreamPath = join(dir, 'upstream-request.json');
  const upstream = existsSync(upstreamPath) ? record(readJson(upstreamPath)) : {};
  if (typeof upstream.model === 'string' && tokenizerFamily(upstream.model) !== 'other') return upstream.model;
  const metaPath = join(dir, 'upstream-request.meta.json');
  const path = existsSync(metaPath) ? String(record(readJson(metaPath)).path ?? '') : '';
  const fromPath = /\/models?\/([^/:?]+)/.exec(decodeURIComponent(path))?.[1];
  if (fromPath && tokenizerFamily(fromPath) !== 'other') return fromPath;
  return String(request.model ?? '');
}

function loadTranslatorFixtures(): Measurement[] {
  const out: Measurement[] = [];
  for (const pair of directories(TRANSLATOR_ROOT)) {
    for (const name of directories(join(TRANSLATOR_ROOT, pair))) {
      const dir = join(TRANSLATOR_ROOT, pair, name);
      const actual = reportedInput(dir);
      if (actual === undefined || !existsSync(join(dir, 'request.json'))) continue;
      const request = record(readJson(join(dir, 'request.json')));
      const model = upstreamModel(dir, request);
      out.push({ group: pair, name, model, estimate: estimateInputTokens(model, request), actual });
    }
  }
  return out;
}

function errorPercent(measurement: Measurement): number {
  return (Math.abs(measurement.estimate - measurement.actual) / measurement.actual) * 100;
}

function summarize(measurements: readonly Measurement[]): Map<string, { cases: number; mape: number; worst: number }> {
  const groups = new Map<string, Measurement[]>();
  for (const measurement of measurements) groups.set(measurement.group, [...(groups.get(measurement.group) ?? []), measurement]);
  const summary = new Map<string, { cases: number; mape: number; worst: number }>();
  for (const [group, items] of groups) {
    const errors = items.map(errorPercent);
    summary.set(group, { cases: items.length, mape: errors.reduce((sum, error) => sum + error, 0) / items.length, worst: Math.max(...errors) });
  }
  return summary;
}

function printTable(title: string, measurements: readonly Measurement[]): void {
  console.log(`\n${title}`);
  for (const measurement of measurements) {
    console.log(
      `  ${measurement.group.padEnd(27)} ${measurement.name.padEnd(42)} ${tokenizerFamily(measurement.model).padEnd(13)} ` +
        `estimate ${String(measurement.estimate).padStart(6)}  reported ${String(measurement.actual).padStart(6)}  error ${errorPercent(measurement).toFixed(1).padStart(6)}%`,
    );
  }
  for (const [group, stats] of summarize(measurements)) {
    console.log(`  => ${group.padEnd(27)} ${String(stats.cases).padStart(3)} cases  mean abs error ${stats.mape.toFixed(1)}%  worst ${stats.worst.toFixed(1)}%`);
  }
}

describe('token estimate accuracy', () => {
  it('reference cases: OpenAI exact, other providers within the bound', (t) => {
    const measurements = loadReference();
    printTable('Input-token estimate vs provider-reported counts (reference cases)', measurements);
    const summary = summarize(measurements);
    for (const [group, stats] of summary) t.diagnostic(`${group}: ${stats.cases} cases, mean abs error ${stats.mape.toFixed(1)}%`);
    assert.ok(summary.has('openai') && summary.has('anthropic') && summary.has('gemini'), 'every provider has reference cases');
    for (const measurement of measurements.filter((item) => item.group === 'openai')) {
      assert.equal(measurement.estimate, measurement.actual, `${measurement.name}: OpenAI counts are exact`);
    }
    for (const [group, stats] of summary) {
      assert.ok(stats.mape <= MAX_MAPE_PERCENT, `${group}: mean abs error ${stats.mape.toFixed(1)}% > ${MAX_MAPE_PERCENT}%`);
    }
  });

  it('translator fixtures (hand-written usage values): printed for information', (t) => {
    const measurements = loadTranslatorFixtures();
    if (measurements.length === 0) {
      t.diagnostic('no translator fixtures with usage yet');
      return;
    }
    printTable('Input-token estimate vs usage.json of the translator fixtures (synthetic values, not provider-recorded)', measurements);
    for (const measurement of measurements) {
      assert.ok(Number.isInteger(measurement.estimate) && measurement.estimate > 0, `${measurement.group}/${measurement.name}: a positive estimate`);
    }
  });
});
