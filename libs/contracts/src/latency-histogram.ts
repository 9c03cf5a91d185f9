/**
 * The latency histogram of the minute rollups (`call_rollups_minute.latency_hist`): counts per bucket
 * of fixed, log-spaced bounds, summed element-wise across minutes and instances. Pure: no I/O.
 *
 * Bucket i holds latencies in [LATENCY_BUCKET_BOUNDS[i-1], LATENCY_BUCKET_BOUNDS[i]) ms (bucket 0 starts
 * at 0); the last bucket, index LATENCY_BUCKET_BOUNDS.length, holds everything from the last bound up.
 * This is exactly Postgres' `width_bucket(latency_ms, bounds)`, which is how the ingestor fills it.
 * Stored arrays omit trailing empty buckets, so they may be shorter than LATENCY_BUCKET_COUNT.
 *
 * TRAP: the bounds are a storage format. Changing one re-labels every histogram already written;
 * only appending larger bounds (new buckets at the end) is safe.
 */
export const LATENCY_BUCKET_BOUNDS: readonly number[] = Object.freeze([
  // 1 ms resolution up to 10 ms, then 2^(1/4) steps (≤ 19 % wide, so an estimate is within ~10 %), to ~11 min.
  1, 2, 3, 4, 5, 6, 7, 8, 9, 10,
  12, 14, 17, 20, 24, 28, 34, 40, 48, 57, 67, 80, 95, 113, 135, 160, 190, 226, 269, 320, 381, 453, 538, 640, 761,
  905, 1076, 1280, 1522, 1810, 2153, 2560, 3044, 3620, 4305, 5120, 6089, 7241, 8611, 10240, 12177, 14482, 17222,
  20480, 24355, 28963, 34443, 40960, 48710, 57926, 68886, 81920, 97420, 115852, 137772, 163840, 194840, 231705,
  275545, 327680, 389679, 463410, 551090, 655360,
]);

/** Buckets in a full histogram: one per bound plus the open-ended last one. */
export const LATENCY_BUCKET_COUNT = LATENCY_BUCKET_BOUNDS.length + 1;

/** Index of the bucket holding `latencyMs` (binary search; same answer as SQL `width_bucket`). */
export function latencyBucket(latencyMs: number): number {
  let lo = 0;
  let hi = LATENCY_BUCKET_BOUNDS.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (latencyMs < LATENCY_BUCKET_BOUNDS[mid]!) hi = mid;
    else lo = mid + 1;
  }
  return lo;
}

/** Element-wise sum (arrays of different lengths are zero-padded), trailing empty buckets dropped. */
export function addHistograms(a: readonly number[], b: readonly number[]): number[] {
  const out = Array.from({ length: Math.max(a.length, b.length) }, (_, i) => (a[i] ?? 0) + (b[i] ?? 0));
  while (out.length > 0 && out[out.length - 1] === 0) out.pop();
  return out;
}

/** A histogram of the given latencies (tests, fakes and readers that build one from raw values). */
export function histogramOf(latencies: Iterable<number>): number[] {
  const out: number[] = [];
  for (const ms of latencies) {
    const b = latencyBucket(ms);
    while (out.length <= b) out.push(0);
    out[b]! += 1;
  }
  return out;
}

/**
 * The q-quantile (0 ≤ q ≤ 1; 0.99 for p99) estimated from bucket counts by linear interpolation inside
 * the bucket where the rank falls; null for an empty histogram. The open-ended last bucket has no upper
 * bound: pass the largest latency seen (`latency_max_ms`) to interpolate towards it, else its lower
 * bound is returned. Counts may come from Postgres as strings (bigint[]); they are converted.
 */
export function latencyPercentile(counts: readonly (number | string)[], q: number, maxMs?: number): number | null {
  if (!(q >= 0 && q <= 1)) throw new RangeError(`quantile must be within [0, 1], got ${q}`);
  const n = counts.map(Number);
  const total = n.reduce((s, c) => s + c, 0);
  if (total <= 0) return null;
  const rank = q * total;
  let cumulative = 0;
  for (let i = 0; i < n.length; i++) {
    const c = n[i]!;
    if (c <= 0) continue;
    if (cumulative + c >= rank) {
      const lower = i === 0 ? 0 : LATENCY_BUCKET_BOUNDS[i - 1]!;
      const upper = i < LATENCY_BUCKET_BOUNDS.length ? LATENCY_BUCKET_BOUNDS[i]! : Math.max(lower, maxMs ?? lower);
      const within = Math.max(0, rank - cumulative) / c;
      const value = lower + (upper - lower) * within;
      // Never report beyond what was observed.
      return maxMs !== undefined ? Math.min(value, Math.max(maxMs, 0)) : value;
    }
    cumulative += c;
  }
  return null; // unreachable: the loop always reaches the total
}
