import type { Registry } from 'prom-client';

/**
 * Counters and histograms for the select and report hot paths. prom-client's labelled children still hash
 * their label object on every `inc`/`observe` (a string built per call); these keep one plain series object
 * per label set, created once and held by the caller, so recording is an add (counter) or a bucket scan
 * and three adds (histogram): no allocation per call. They register with a prom-client Registry as custom
 * metrics (its `get()` contract), so `/metrics` renders them with the registry's default labels.
 */

type Labels = Readonly<Record<string, string>>;
type Sample = { value: number; labels: Record<string, string | number>; metricName?: string };

interface MetricOptions {
  name: string;
  help: string;
  labelNames: readonly string[];
  registers: Registry[];
}

abstract class FastMetric<S extends { labels: Labels }> {
  readonly name: string;
  readonly help: string;
  abstract readonly type: 'counter' | 'histogram';
  protected readonly all = new Map<string, S>();
  private readonly labelNames: readonly string[];

  constructor(opts: MetricOptions) {
    this.name = opts.name;
    this.help = opts.help;
    this.labelNames = opts.labelNames;
    for (const r of opts.registers) r.registerMetric(this as never);
  }

  /** The series of `labels`, created on first use: call it once and keep the handle on a hot path. */
  series(labels: Labels): S {
    const key = this.labelNames.map((n) => {
      const v = labels[n];
      if (v === undefined) throw new Error(`${this.name}: label ${n} missing`);
      return v;
    }).join('\u0000');
    let s = this.all.get(key);
    if (!s) {
      s = this.create({ ...labels });
      this.all.set(key, s);
    }
    return s;
  }

  protected abstract create(labels: Labels): S;
  protected abstract samples(): Sample[];
  abstract reset(): void;

  get(): Promise<{ name: string; help: string; type: string; values: Sample[]; aggregator: 'sum' }> {
    return Promise.resolve({ name: this.name, help: this.help, type: this.type, values: this.samples(), aggregator: 'sum' });
  }
}

export class CounterSeries {
  value = 0;
  constructor(readonly labels: Labels) {}
  inc(by = 1): void {
    this.value += by;
  }
}

export class FastCounter extends FastMetric<CounterSeries> {
  readonly type = 'counter';
  constructor(opts: MetricOptions) {
    if (!opts.name.endsWith('_total')) throw new Error(`counter ${opts.name} must end in _total`);
    super(opts);
  }
  protected create(labels: Labels): CounterSeries {
    return new CounterSeries(labels);
  }
  protected samples(): Sample[] {
    return [...this.all.values()].map((s) => ({ value: s.value, labels: { ...s.labels } }));
  }
  reset(): void {
    for (const s of this.all.values()) s.value = 0;
  }
}

export class HistogramSeries {
  readonly counts: Float64Array;
  sum = 0;
  count = 0;
  constructor(readonly labels: Labels, private readonly bounds: readonly number[]) {
    this.counts = new Float64Array(bounds.length);
  }
  /** Records one value (seconds); non-finite values are ignored rather than poisoning the sum. */
  observe(v: number): void {
    if (!Number.isFinite(v)) return;
    const b = this.bounds;
    for (let i = 0; i < b.length; i++) {
      if (v <= b[i]!) {
        this.counts[i]!++;
        break;
      }
    }
    this.sum += v;
    this.count++;
  }
}

export class FastHistogram extends FastMetric<HistogramSeries> {
  readonly type = 'histogram';
  private readonly bounds: readonly number[];
  constructor(opts: MetricOptions & { buckets: readonly number[] }) {
    super(opts);
    this.bounds = [...opts.buckets].sort((a, b) => a - b);
  }
  protected create(labels: Labels): HistogramSeries {
    return new HistogramSeries(labels, this.bounds);
  }
  protected samples(): Sample[] {
    const out: Sample[] = [];
    for (const s of this.all.values()) {
      let acc = 0;
      this.bounds.forEach((le, i) => {
        acc += s.counts[i]!;
        out.push({ value: acc, labels: { ...s.labels, le }, metricName: `${this.name}_bucket` });
      });
      out.push({ value: s.count, labels: { ...s.labels, le: '+Inf' }, metricName: `${this.name}_bucket` });
      out.push({ value: s.sum, labels: { ...s.labels }, metricName: `${this.name}_sum` });
      out.push({ value: s.count, labels: { ...s.labels }, metricName: `${this.name}_count` });
    }
    return out;
  }
  reset(): void {
    for (const s of this.all.values()) {
      s.counts.fill(0);
      s.sum = 0;
      s.count = 0;
    }
  }
}
