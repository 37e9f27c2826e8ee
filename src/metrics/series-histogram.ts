/**
 * A Prometheus histogram for the per-request GenAI metrics, registered on a prom-client Registry (which still writes
 * the exposition). Written here rather than using prom-client's Histogram because its `observe` validates the label
 * object key by key and rebuilds a string key from it on every call: about 6 µs an observation, three to five of
 * them per request. Here a series is found by its label values (given in label-name order) with one Map lookup.
 *
 * The exposition is prom-client's own: `get()` returns the shape prom-client's Histogram returns, with the series'
 * labels as `sharedLabels` beside `le`, so the Registry formats the same lines.
 */
import type { Metric, Registry } from 'prom-client';

/** One sample as prom-client's Registry reads it. */
interface Sample {
  readonly labels: Readonly<Record<string, string | number>>;
  readonly sharedLabels?: Readonly<Record<string, string>>;
  readonly value: number;
  readonly metricName: string;
}

/** A metric's samples as prom-client's Registry reads them. */
interface Samples {
  readonly name: string;
  readonly help: string;
  readonly type: 'histogram';
  readonly values: Sample[];
  readonly aggregator: 'sum';
}

interface Series {
  readonly labels: Readonly<Record<string, string>>;
  /** Observations per bucket, not cumulative; the last slot counts those above every bound (+Inf only). */
  readonly counts: Float64Array;
  sum: number;
  count: number;
}

export interface SeriesHistogramOptions<T extends string> {
  readonly name: string;
  readonly help: string;
  readonly labelNames: readonly T[];
  /** Upper bounds, ascending. */
  readonly buckets: readonly number[];
  readonly registry: Registry;
}

export class SeriesHistogram<T extends string = string> {
  readonly name: string;
  readonly help: string;
  readonly type = 'histogram' as const;
  readonly aggregator = 'sum' as const;
  readonly labelNames: readonly T[];
  private readonly bounds: readonly number[];
  private series = new Map<string, Series>();

  constructor(options: SeriesHistogramOptions<T>) {
    this.name = options.name;
    this.help = options.help;
    this.labelNames = [...options.labelNames];
    this.bounds = [...options.buckets];
    for (let i = 1; i < this.bounds.length; i++) {
      if (!((this.bounds[i] as number) > (this.bounds[i - 1] as number))) throw new Error(`${this.name}: bucket bounds must be ascending`);
    }
    options.registry.registerMetric(this as unknown as Metric);
  }

  /** One observation. `values`: the label values, in the order of `labelNames`. */
  observe(values: readonly string[], value: number): void {
    if (!Number.isFinite(value)) throw new TypeError(`${this.name}: value is not a valid number: ${String(value)}`);
    // JSON keeps any two different lists of values apart (a joined string would not, for values holding the separator).
    const key = JSON.stringify(values);
    let series = this.series.get(key);
    if (series === undefined) series = this.addSeries(key, values);
    const bounds = this.bounds;
    let slot = 0;
    while (slot < bounds.length && value > (bounds[slot] as number)) slot++;
    series.counts[slot] = (series.counts[slot] as number) + 1;
    series.sum += value;
    series.count += 1;
  }

  reset(): void {
    this.series = new Map();
  }

  /** What prom-client's Registry formats: cumulative buckets, +Inf, sum and count per series, labels beside `le`. */
  getForPromString(): Promise<Samples> {
    return Promise.resolve(this.collect(false));
  }

  /** The same values with each series' labels merged into `labels` (prom-client's `get()` shape, for JSON). */
  get(): Promise<Samples> {
    return Promise.resolve(this.collect(true));
  }

  private collect(merged: boolean): Samples {
    const values: Sample[] = [];
    const bucketName = `${this.name}_bucket`;
    const add = (series: Series, extra: Record<string, string | number>, value: number, metricName: string) => {
      values.push(merged ? { labels: { ...extra, ...series.labels }, value, metricName } : { labels: extra, sharedLabels: series.labels, value, metricName });
    };
    for (const series of this.series.values()) {
      let cumulative = 0;
      this.bounds.forEach((bound, slot) => {
        cumulative += series.counts[slot] as number;
        add(series, { le: bound }, cumulative, bucketName);
      });
      add(series, { le: '+Inf' }, series.count, bucketName);
      add(series, {}, series.sum, `${this.name}_sum`);
      add(series, {}, series.count, `${this.name}_count`);
    }
    return { name: this.name, help: this.help, type: this.type, values, aggregator: this.aggregator };
  }

  private addSeries(key: string, values: readonly string[]): Series {
    if (values.length !== this.labelNames.length) {
      throw new Error(`${this.name}: ${values.length} label values for ${this.labelNames.length} label names (${this.labelNames.join(', ')})`);
    }
    const labels: Record<string, string> = {};
    this.labelNames.forEach((name, index) => {
      labels[name] = values[index] as string;
    });
    const series: Series = { labels, counts: new Float64Array(this.bounds.length + 1), sum: 0, count: 0 };
    this.series.set(key, series);
    return series;
  }
}
