/**
 * The draws behind the strategies: weighted random, uniform and round robin, over plain index arrays. Every
 * random number comes in as `u` from the caller's `rand`, so a decision is reproducible.
 */

/** Weighted draw with `u` in [0, 1); uniform when no weight is positive. */
export function weightedIndex(weights: readonly number[], u: number): number {
  const total = weights.reduce((sum, w) => sum + (w > 0 ? w : 0), 0);
  if (!(total > 0) || !Number.isFinite(total)) return uniformIndex(weights.length, u);
  const target = clamp01(u) * total;
  let acc = 0;
  let last = 0;
  for (let i = 0; i < weights.length; i++) {
    const w = weights[i] ?? 0;
    if (!(w > 0)) continue;
    acc += w;
    last = i;
    if (target < acc) return i;
  }
  return last; // float rounding left the target at the very end
}

export function uniformIndex(n: number, u: number): number {
  return Math.min(n - 1, Math.floor(clamp01(u) * n));
}

/** `counter mod n`, for any counter the caller may hold (negative, fractional, huge). */
export function rrIndex(counter: number, n: number): number {
  const c = Number.isFinite(counter) ? Math.floor(counter) : 0;
  return ((c % n) + n) % n;
}

/** Each weight's share of the positive total; uniform when no weight is positive (as `weightedIndex`). */
export function shares(weights: readonly number[]): number[] {
  const total = weights.reduce((sum, w) => sum + (w > 0 ? w : 0), 0);
  if (!(total > 0) || !Number.isFinite(total)) return weights.map(() => 1 / weights.length);
  return weights.map((w) => (w > 0 ? w / total : 0));
}

/** Into [0, 1): a `rand` that misbehaves (1, NaN, out of range) must still give a valid index. */
export function clamp01(u: number): number {
  return Number.isFinite(u) ? Math.min(Math.max(u, 0), 1 - Number.EPSILON) : 0;
}
