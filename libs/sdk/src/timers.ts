/** Longest delay a Node timer can hold (2^31 − 1 ms, ~24.8 days); a longer one fires after 1 ms. */
export const MAX_TIMER_MS = 2_147_483_647;

/**
 * A delay a timer can really wait: Node turns anything above 2^31 − 1 ms (Infinity included) into 1 ms, so a
 * caller asking for "as long as it takes" (`close(Infinity)`, `deadlineMs: 1e10`) would get the opposite —
 * a flush given up at once, a call aborted before it starts. Clamped to [0, MAX_TIMER_MS]; NaN is 0.
 */
export function timerDelay(ms: number): number {
  if (Number.isNaN(ms)) return 0;
  return Math.min(MAX_TIMER_MS, Math.max(0, ms));
}

/** Resolves after `ms`, or at once when `signal` aborts (never rejects: the caller checks the signal). */
export function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal.aborted) return resolve();
    const timer = setTimeout(done, timerDelay(ms));
    function done() {
      clearTimeout(timer);
      signal.removeEventListener('abort', done);
      resolve();
    }
    signal.addEventListener('abort', done, { once: true });
  });
}

export class TimeoutError extends Error {
  override readonly name = 'TimeoutError';
}

/** `p`, or a {@link TimeoutError} after `ms`; the abandoned `p` may still settle later, harmlessly. */
export function withTimeout<T>(p: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  p.catch(() => undefined);
  const timeout = new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new TimeoutError(`no answer within ${ms} ms`)), timerDelay(ms))));
  return Promise.race([p, timeout]).finally(() => clearTimeout(timer));
}

/** Settles with `p`, or rejects with the signal's reason once it aborts, whichever comes first. */
export function raceAbort<T>(p: Promise<T>, signal: AbortSignal): Promise<T> {
  // A late rejection of an abandoned promise must not become an unhandled rejection.
  p.catch(() => undefined);
  if (signal.aborted) return Promise.reject(signal.reason as Error);
  return new Promise<T>((resolve, reject) => {
    const onAbort = () => reject(signal.reason as Error);
    signal.addEventListener('abort', onAbort, { once: true });
    p.then(
      (v) => {
        signal.removeEventListener('abort', onAbort);
        resolve(v);
      },
      (e: unknown) => {
        signal.removeEventListener('abort', onAbort);
        // eslint-disable-next-line @typescript-eslint/prefer-promise-reject-errors -- fn's own rejection, passed on unchanged
        reject(e);
      },
    );
  });
}

/**
 * A signal that aborts when any parent aborts or after `timeoutMs`; `dispose()` clears the timer and detaches
 * from the parents without aborting. Used instead of `AbortSignal.timeout` + `AbortSignal.any`: those keep a
 * timer alive for its whole span after the call is over (thousands of calls a second, a 30 s deadline:
 * hundreds of thousands of live timers) and tie every composed signal to a long-lived parent (the caller's
 * shutdown signal) until it is collected — and a timeout left armed would abort a response body the caller
 * is still reading after `call()` returned.
 */
export class LinkedAbort {
  private readonly controller = new AbortController();
  private readonly parents: AbortSignal[];
  private timer: NodeJS.Timeout | undefined;
  /** True when this link's own timeout fired (not a parent's abort). */
  timedOut = false;

  constructor(parents: (AbortSignal | undefined)[], timeoutMs?: number) {
    this.parents = parents.filter((p): p is AbortSignal => p !== undefined);
    for (const p of this.parents) {
      if (p.aborted) {
        this.controller.abort(p.reason);
        return;
      }
      p.addEventListener('abort', this.onParentAbort, { once: true });
    }
    if (timeoutMs !== undefined) {
      this.timer = setTimeout(() => {
        this.timedOut = true;
        this.controller.abort(new TimeoutError(`timed out after ${timeoutMs} ms`));
      }, Math.max(1, timerDelay(timeoutMs)));
    }
  }

  get signal(): AbortSignal {
    return this.controller.signal;
  }

  dispose(): void {
    clearTimeout(this.timer);
    for (const p of this.parents) p.removeEventListener('abort', this.onParentAbort);
  }

  private readonly onParentAbort = (ev: Event): void => {
    clearTimeout(this.timer);
    this.controller.abort((ev.target as AbortSignal).reason);
  };
}
