export interface RetryOptions {
  /** @default 5 */
  retries?: number;
  /** First delay. @default 100 */
  baseMs?: number;
  /** Longest delay. @default 5000 */
  maxMs?: number;
  /** Whether an error is worth another try. @default () => true */
  isRetriable?: (err: unknown) => boolean;
  onRetry?: (err: unknown, attempt: number, delayMs: number) => void;
  /** Stops waiting early (shutdown). */
  signal?: AbortSignal;
}

/** Resolves after `ms`, or at once when `signal` aborts (the listener is removed either way: a long outage must not pile them up). */
export const sleep = (ms: number, signal?: AbortSignal): Promise<void> =>
  new Promise((resolve) => {
    if (signal?.aborted) return resolve();
    const onAbort = () => {
      clearTimeout(t);
      resolve();
    };
    const t = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    signal?.addEventListener('abort', onAbort, { once: true });
  });

/** Exponential backoff with full jitter, the one retry helper every adapter uses. */
export function backoffDelay(attempt: number, baseMs: number, maxMs: number): number {
  const cap = Math.min(maxMs, baseMs * 2 ** attempt);
  return Math.round(cap / 2 + Math.random() * (cap / 2));
}

export async function retry<T>(fn: (attempt: number) => Promise<T>, opts: RetryOptions = {}): Promise<T> {
  const { retries = 5, baseMs = 100, maxMs = 5000, isRetriable = () => true } = opts;
  for (let attempt = 0; ; attempt++) {
    try {
      return await fn(attempt);
    } catch (err) {
      if (attempt >= retries || !isRetriable(err) || opts.signal?.aborted) throw err;
      const delay = backoffDelay(attempt, baseMs, maxMs);
      opts.onRetry?.(err, attempt + 1, delay);
      await sleep(delay, opts.signal);
    }
  }
}
