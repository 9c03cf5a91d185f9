import { expect } from 'chai';
import { addHistograms, histogramOf, LATENCY_BUCKET_BOUNDS, LATENCY_BUCKET_COUNT, latencyBucket, latencyPercentile } from './latency-histogram';

/** Exact nearest-rank percentile of raw values, to compare the estimate against. */
const exact = (values: number[], q: number): number => {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.max(0, Math.ceil(q * sorted.length) - 1)]!;
};

describe('latency histogram', () => {
  it('has strictly increasing integer bounds, at most ~21 % apart past 10 ms, reaching beyond 10 minutes', () => {
    for (let i = 1; i < LATENCY_BUCKET_BOUNDS.length; i++) {
      const [prev, cur] = [LATENCY_BUCKET_BOUNDS[i - 1]!, LATENCY_BUCKET_BOUNDS[i]!];
      expect(Number.isInteger(cur) && cur > prev, `bound ${i}`).to.equal(true);
      if (prev >= 10) expect(cur / prev, `ratio at ${prev}`).to.be.at.most(1.215);
    }
    expect(LATENCY_BUCKET_BOUNDS[LATENCY_BUCKET_BOUNDS.length - 1]).to.be.above(600_000);
    expect(LATENCY_BUCKET_COUNT).to.equal(LATENCY_BUCKET_BOUNDS.length + 1);
  });

  // Same contract as Postgres width_bucket(latency, bounds), which fills the rollups.
  const buckets: [number, number][] = [[0, 0], [1, 1], [9, 9], [10, 10], [11, 10], [12, 11], [5119, 45], [5120, 46], [655_359, 73], [655_360, 74], [2_147_483_647, 74]];
  for (const [ms, bucket] of buckets) {
    it(`puts ${ms} ms in bucket ${bucket}`, () => expect(latencyBucket(ms)).to.equal(bucket));
  }

  it('adds element-wise across lengths and trims trailing empty buckets', () => {
    expect(addHistograms([1, 2, 3], [10, 20])).to.deep.equal([11, 22, 3]);
    expect(addHistograms([], [0, 1])).to.deep.equal([0, 1]);
    expect(addHistograms([0, 0], [0])).to.deep.equal([]);
    expect(histogramOf([0, 0, 3])).to.deep.equal([2, 0, 0, 1]);
  });

  it('has no percentile for an empty histogram and rejects a quantile outside [0, 1]', () => {
    expect(latencyPercentile([], 0.5)).to.equal(null);
    expect(latencyPercentile([0, 0], 0.99)).to.equal(null);
    expect(() => latencyPercentile([1], 1.5)).to.throw(RangeError);
  });

  it('interpolates inside the bucket where the rank falls', () => {
    // 100 calls of 100 ms, all in bucket [95, 113): p50 halfway.
    const h = histogramOf(Array(100).fill(100));
    expect(latencyPercentile(h, 0.5)).to.be.closeTo(104, 0.01);
    expect(latencyPercentile(h, 0)).to.equal(95);
    expect(latencyPercentile(h, 1)).to.equal(113);
    // Capped by the largest latency seen.
    expect(latencyPercentile(h, 1, 100)).to.equal(100);
  });

  it('reads counts that arrive from Postgres as strings', () => {
    expect(latencyPercentile(['0', '4'], 0.5)).to.be.closeTo(1.5, 0.001);
  });

  it('uses the largest latency seen for the open-ended last bucket', () => {
    const h = histogramOf([700_000, 900_000]);
    expect(latencyPercentile(h, 1)).to.equal(655_360);
    expect(latencyPercentile(h, 1, 900_000)).to.equal(900_000);
  });

  const shapes: { name: string; values: number[] }[] = (() => {
    let seed = 42;
    const rand = () => ((seed = (seed * 1_103_515_245 + 12_345) % 2 ** 31) / 2 ** 31);
    return [
      { name: 'log-normal-ish 50 ms – 5 s', values: Array.from({ length: 20_000 }, () => Math.round(Math.exp(4 + rand() * 4.5))) },
      { name: 'uniform 200 – 300 ms', values: Array.from({ length: 10_000 }, () => 200 + Math.floor(rand() * 100)) },
      { name: 'bimodal 20 ms / 8 s', values: Array.from({ length: 10_000 }, () => (rand() < 0.97 ? 15 + Math.floor(rand() * 10) : 7000 + Math.floor(rand() * 2000))) },
    ];
  })();
  for (const { name, values } of shapes) {
    it(`estimates p50/p95/p99 within 10 % (${name})`, () => {
      const h = histogramOf(values);
      for (const q of [0.5, 0.95, 0.99]) {
        const truth = exact(values, q);
        expect(latencyPercentile(h, q, Math.max(...values)), `q=${q} truth=${truth}`).to.be.within(truth * 0.9, truth * 1.1 + 1);
      }
    });
  }
});
