import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { Histogram, Registry } from 'prom-client';
import { SeriesHistogram } from '../../src/metrics/series-histogram.js';

const LABEL_NAMES = ['model', 'kind', 'tenant'] as const;
const BUCKETS = [0.01, 0.1, 1, 10];

/** Sample lines with each line's labels sorted by name, so that label order does not matter. */
function normalised(text: string): string[] {
  return text
    .split('\n')
    .filter((line) => line !== '')
    .map((line) => {
      const match = /^([^{ ]+)\{(.*)\} (\S+)$/.exec(line);
      if (!match) return line;
      const labels = (match[2] as string).match(/[a-z_]+="(?:[^"\\]|\\.)*"/g) ?? [];
      return `${match[1]}{${[...labels].sort().join(',')}} ${match[3]}`;
    })
    .sort();
}

function pair(labelNames: readonly string[] = LABEL_NAMES) {
  const ours = new Registry();
  const theirs = new Registry();
  const series = new SeriesHistogram({ name: 'h_seconds', help: 'A histogram.', labelNames, buckets: BUCKETS, registry: ours });
  const reference = new Histogram({ name: 'h_seconds', help: 'A histogram.', labelNames: [...labelNames], buckets: BUCKETS, registers: [theirs] });
  const observe = (values: readonly string[], value: number) => {
    series.observe(values, value);
    reference.observe(Object.fromEntries(labelNames.map((name, index) => [name, values[index] as string])), value);
  };
  return { ours, theirs, series, observe };
}

describe('SeriesHistogram', () => {
  it('writes the exposition prom-client writes for the same observations', async () => {
    const { ours, theirs, observe } = pair();
    // Below the first bound, on bounds (le is inclusive), between, above every bound; several series.
    for (const value of [0, 0.005, 0.01, 0.05, 0.1, 1, 3, 10, 10.5, 1e9]) observe(['gpt-4o', 'input', 'acme'], value);
    observe(['gpt-4o', 'output', 'acme'], 2);
    observe(['claude', 'input', ''], 0.2);
    // Values that need escaping, and values that a joined key would confuse.
    observe(['a"b\\c\nd', 'x,y', 'z'], 1);
    observe(['a', 'b","c', 'd'], 1);
    observe(['a","b', 'c', 'd'], 4);
    const text = await ours.metrics();
    assert.deepEqual(normalised(text), normalised(await theirs.metrics()));
    assert.match(text, /^# HELP h_seconds A histogram\.\n# TYPE h_seconds histogram\n/);
    assert.match(text, /h_seconds_bucket\{le="0\.01",[^}]*model="gpt-4o"[^}]*kind="input"[^}]*\} 3\n/);
  });

  it('has no series before the first observation, and none after reset', async () => {
    const { ours, theirs, series, observe } = pair();
    assert.deepEqual(normalised(await ours.metrics()), normalised(await theirs.metrics()));
    observe(['m', 'k', 't'], 1);
    series.reset();
    assert.doesNotMatch(await ours.metrics(), /h_seconds_count/);
  });

  it('matches prom-client with no label names', async () => {
    const { ours, theirs, observe } = pair([]);
    observe([], 0.5);
    observe([], 20);
    assert.deepEqual(normalised(await ours.metrics()), normalised(await theirs.metrics()));
  });

  it('gives get() the labels merged, as prom-client does', async () => {
    const { series, observe } = pair();
    observe(['m', 'k', 't'], 0.5);
    const { values } = await series.get();
    assert.deepEqual(values.at(-1), { labels: { model: 'm', kind: 'k', tenant: 't' }, value: 1, metricName: 'h_seconds_count' });
    assert.deepEqual(values[2], { labels: { le: 1, model: 'm', kind: 'k', tenant: 't' }, value: 1, metricName: 'h_seconds_bucket' });
  });

  it('refuses a value that is not a finite number, and a wrong number of label values', () => {
    const { series } = pair();
    assert.throws(() => series.observe(['m', 'k', 't'], Number.NaN), TypeError);
    assert.throws(() => series.observe(['m', 'k', 't'], Number.POSITIVE_INFINITY), TypeError);
    assert.throws(() => series.observe(['m', 'k'], 1), /2 label values for 3 label names/);
  });

  it('is removed from its registry by name, like any prom-client metric', async () => {
    const { ours, observe } = pair();
    observe(['m', 'k', 't'], 1);
    ours.removeSingleMetric('h_seconds');
    assert.equal(await ours.metrics(), '\n');
    assert.throws(() => new SeriesHistogram({ name: 'b', help: 'b', labelNames: [], buckets: [1, 1], registry: ours }), /ascending/);
  });
});
