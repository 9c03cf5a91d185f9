/**
 * Time-based sliding window of call outcomes, kept in fixed-size buckets.
 *
 * The state is plain JSON-serialisable data: the aggregator keeps one per instance in memory and snapshots it
 * to Redis as is. There is no clock in here; every timestamp is passed in (epoch ms).
 *
 * Bucket granularity: a bucket `[start, start + bucketMs)` counts while `now - windowMs < start <= now`, so the
 * effective window spans between `windowMs - bucketMs` and `windowMs` of wall time. That is the usual price of
 * bucketed windows and it keeps a window at `ceil(windowMs / bucketMs)` buckets whatever the traffic.
 */

/** Shape of the window. Changing `windowMs` or `bucketMs` needs a new window (see {@link windowMatchesConfig}). */
export interface WindowConfig {
  /**
   * Length of the window.
   * @default 60000
   */
  windowMs: number;
  /**
   * Width of one bucket; the window holds `ceil(windowMs / bucketMs)` buckets.
   * @default 5000
   */
  bucketMs: number;
  /**
   * A call whose latency is at least this long counts as slow.
   * @default 5000
   */
  slowCallMs: number;
}

export const DEFAULT_WINDOW_CONFIG: Readonly<WindowConfig> = Object.freeze({
  windowMs: 60_000,
  bucketMs: 5_000,
  slowCallMs: 5_000,
});

/** Smoothing factor of the latency EWMA: each call weighs 20 %. */
export const LATENCY_EWMA_ALPHA = 0.2;

/** Aggregates of the calls whose timestamp falls in `[start, start + bucketMs)`. */
export interface WindowBucket {
  /** Bucket start (epoch ms, a multiple of bucketMs); `null` while the slot has never been used. */
  start: number | null;
  calls: number;
  failures: number;
  slowCalls: number;
  latencySum: number;
  latencyMax: number;
  promptTokens: number;
  completionTokens: number;
  totalTokens: number;
  cost: number;
}

/** The window state. Plain data: safe to `JSON.stringify` and restore. */
export interface SlidingWindow {
  /** Ring buffer: a call goes to slot `floor(at / bucketMs) mod buckets.length`. */
  buckets: WindowBucket[];
  /** Start of the newest bucket recorded so far; calls older than a window before it are ignored. */
  newestStart: number | null;
  /** Calls with `at` before this were ignored after {@link resetWindow}; `null` if never reset. */
  resetAt: number | null;
  /** Failures in a row, in the order results were recorded (not windowed). */
  consecutiveFailures: number;
  /** Exponentially weighted latency (alpha {@link LATENCY_EWMA_ALPHA}); `null` before the first call. */
  latencyEwmaMs: number | null;
}

export interface CallUsage {
  promptTokens?: number;
  completionTokens?: number;
  /** Defaults to `promptTokens + completionTokens`. */
  totalTokens?: number;
  cost?: number;
}

export interface CallRecord {
  /** When the call happened (epoch ms). */
  at: number;
  success: boolean;
  latencyMs: number;
  /**
   * Whether the call counts against the instance's health. An unsuccessful call that does not count (the
   * caller's own 4xx, a rate-limit cool-down) is still a call but neither a failure nor a success: it leaves
   * `consecutiveFailures` alone.
   * @default !success
   */
  countsAsFailure?: boolean;
  usage?: CallUsage;
}

export interface TokenTotals {
  prompt: number;
  completion: number;
  total: number;
}

export interface WindowStats {
  calls: number;
  failures: number;
  slowCalls: number;
  /** `failures / calls`, 0 without calls. */
  failureRate: number;
  /** `slowCalls / calls`, 0 without calls. */
  slowCallRate: number;
  /** `null` without calls. */
  avgLatencyMs: number | null;
  /** `null` without calls. */
  maxLatencyMs: number | null;
  /** Not windowed: the EWMA over every recorded call. */
  latencyEwmaMs: number | null;
  /** Not windowed: failures in a row up to the last recorded call. */
  consecutiveFailures: number;
  tokens: TokenTotals;
  cost: number;
}

/** Number of buckets for a config: `ceil(windowMs / bucketMs)`. */
export function bucketCount(config: WindowConfig): number {
  return Math.ceil(config.windowMs / config.bucketMs);
}

/** Names of the invalid fields of a window config (empty when valid). */
export function windowConfigErrors(config: WindowConfig): string[] {
  const errors: string[] = [];
  if (!isPositive(config.windowMs)) errors.push('windowMs');
  if (!isPositive(config.bucketMs) || !(config.bucketMs <= config.windowMs)) errors.push('bucketMs');
  if (!Number.isFinite(config.slowCallMs) || config.slowCallMs < 0) errors.push('slowCallMs');
  return errors;
}

/**
 * A new, empty window.
 * @throws RangeError when the config is invalid (a programming or config-parsing error, not a runtime one).
 */
export function createWindow(config: WindowConfig): SlidingWindow {
  const errors = windowConfigErrors(config);
  if (errors.length > 0) throw new RangeError(`invalid window config: ${errors.join(', ')}`);
  const buckets: WindowBucket[] = [];
  for (let i = 0; i < bucketCount(config); i++) buckets.push(emptyBucket(null));
  return { buckets, newestStart: null, resetAt: null, consecutiveFailures: 0, latencyEwmaMs: null };
}

/**
 * Whether a (possibly restored) window was built for this config. When `windowMs` or `bucketMs` change, the
 * ring no longer lines up: start a new window rather than feeding it.
 */
export function windowMatchesConfig(window: SlidingWindow, config: WindowConfig): boolean {
  if (window.buckets.length !== bucketCount(config)) return false;
  return window.buckets.every((b) => b.start === null || b.start % config.bucketMs === 0);
}

/**
 * Records one call. **Mutates `window` in place** (this runs for every report, so no copying); callers that
 * need the previous state must clone it first.
 *
 * Out-of-order calls land in their own bucket. A call is ignored (returns `false`) when its bucket is a whole
 * window older than the newest bucket, when it predates the last {@link resetWindow}, or when `at` is not finite.
 *
 * @returns whether the call was recorded.
 */
export function recordCall(window: SlidingWindow, call: CallRecord, config: WindowConfig): boolean {
  if (!Number.isFinite(call.at)) return false;
  if (window.resetAt !== null && call.at < window.resetAt) return false;
  const ring = window.buckets.length;
  const index = Math.floor(call.at / config.bucketMs);
  const start = index * config.bucketMs;
  if (window.newestStart !== null && start <= window.newestStart - ring * config.bucketMs) return false;

  const bucket = window.buckets[((index % ring) + ring) % ring];
  if (bucket === undefined) return false;
  if (bucket.start !== start) {
    // The slot holds a bucket exactly k rings away. Newer data is never overwritten by older data.
    if (bucket.start !== null && bucket.start > start) return false;
    Object.assign(bucket, emptyBucket(start));
  }
  if (window.newestStart === null || start > window.newestStart) window.newestStart = start;

  const latency = Number.isFinite(call.latencyMs) && call.latencyMs > 0 ? call.latencyMs : 0;
  const failed = call.countsAsFailure ?? !call.success;
  bucket.calls += 1;
  bucket.latencySum += latency;
  bucket.latencyMax = Math.max(bucket.latencyMax, latency);
  if (latency >= config.slowCallMs) bucket.slowCalls += 1;
  if (failed) {
    bucket.failures += 1;
    window.consecutiveFailures += 1;
  } else if (call.success) {
    window.consecutiveFailures = 0;
  }
  // The EWMA tracks how fast the instance *answers*: a fast failure (connection refused, 429) must
  // not make a broken instance look like the fastest one.
  if (call.success) {
    window.latencyEwmaMs =
      window.latencyEwmaMs === null
        ? latency
        : window.latencyEwmaMs + LATENCY_EWMA_ALPHA * (latency - window.latencyEwmaMs);
  }

  if (call.usage !== undefined) {
    const prompt = amount(call.usage.promptTokens);
    const completion = amount(call.usage.completionTokens);
    bucket.promptTokens += prompt;
    bucket.completionTokens += completion;
    bucket.totalTokens += call.usage.totalTokens === undefined ? prompt + completion : amount(call.usage.totalTokens);
    bucket.cost += amount(call.usage.cost);
  }
  return true;
}

/** Aggregates the buckets with `now - windowMs < start <= now`. Does not modify the window. */
export function windowStats(window: SlidingWindow, now: number, config: WindowConfig): WindowStats {
  let calls = 0;
  let failures = 0;
  let slowCalls = 0;
  let latencySum = 0;
  let latencyMax = 0;
  let prompt = 0;
  let completion = 0;
  let total = 0;
  let cost = 0;
  for (const b of window.buckets) {
    if (b.start === null || b.start <= now - config.windowMs || b.start > now) continue;
    calls += b.calls;
    failures += b.failures;
    slowCalls += b.slowCalls;
    latencySum += b.latencySum;
    latencyMax = Math.max(latencyMax, b.latencyMax);
    prompt += b.promptTokens;
    completion += b.completionTokens;
    total += b.totalTokens;
    cost += b.cost;
  }
  return {
    calls,
    failures,
    slowCalls,
    failureRate: calls > 0 ? failures / calls : 0,
    slowCallRate: calls > 0 ? slowCalls / calls : 0,
    avgLatencyMs: calls > 0 ? latencySum / calls : null,
    maxLatencyMs: calls > 0 ? latencyMax : null,
    latencyEwmaMs: window.latencyEwmaMs,
    consecutiveFailures: window.consecutiveFailures,
    tokens: { prompt, completion, total },
    cost,
  };
}

/**
 * Empties the counters (buckets, consecutive failures) and ignores any later report of a call made before
 * `now`. The latency EWMA is kept: latency history stays informative across a breaker cycle.
 * **Mutates `window` in place.** The breaker asks for this (`resetWindow: true`) when it closes again, so the
 * failures that opened it cannot re-open it straight away.
 */
export function resetWindow(window: SlidingWindow, now: number): void {
  for (const b of window.buckets) Object.assign(b, emptyBucket(null));
  window.newestStart = null;
  window.resetAt = now;
  window.consecutiveFailures = 0;
}

function emptyBucket(start: number | null): WindowBucket {
  return {
    start,
    calls: 0,
    failures: 0,
    slowCalls: 0,
    latencySum: 0,
    latencyMax: 0,
    promptTokens: 0,
    completionTokens: 0,
    totalTokens: 0,
    cost: 0,
  };
}

function isPositive(value: number): boolean {
  return Number.isFinite(value) && value > 0;
}

/** Usage figures come from callers: a missing, negative or non-finite amount counts as 0. */
function amount(value: number | undefined): number {
  return value !== undefined && Number.isFinite(value) && value > 0 ? value : 0;
}
