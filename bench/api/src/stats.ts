/** Nearest-rank percentile of an ascending sample (NaN when empty). */
export function percentile(sorted: ArrayLike<number>, p: number): number {
  if (sorted.length === 0) return Number.NaN;
  const rank = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
  return sorted[rank]!;
}

export function sortedOf(values: number[]): Float64Array {
  return Float64Array.from(values).sort();
}

/** 12,345 */
export const int = (n: number) => (Number.isFinite(n) ? Math.round(n).toLocaleString('en-US') : String(n));
/** 1.23 ms (two significant decimals below 10, one above). */
export const ms = (n: number) => (Number.isFinite(n) ? `${n < 10 ? n.toFixed(2) : n.toFixed(1)} ms` : String(n));
export const mb = (bytes: number) => `${(bytes / (1024 * 1024)).toFixed(1)} MB`;
export const pct = (r: number) => `${(r * 100).toFixed(1)} %`;

export const sleep = (msDelay: number) => new Promise<void>((resolve) => setTimeout(resolve, msDelay));
