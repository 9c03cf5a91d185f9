import type { EachBatchPayload } from 'kafkajs';
import { Counter, Gauge, type Registry } from 'prom-client';
import { classifyError } from './error-class';
import type { Logger } from './logger';
import { backoffDelay, sleep } from './retry';

/** Returned instead of a result when the batch was given up (consumer stopping, partition lost, bug). */
export const ABANDON: unique symbol = Symbol('abandon');

/** What a retried step may watch: when to give up, and how to keep the group membership meanwhile. */
export interface HoldScope {
  /** Aborted on shutdown: the step is given up, uncommitted. */
  signal: AbortSignal;
  /** False once the batch is no longer ours (rebalance, consumer stopped). @default () => true */
  active?: () => boolean;
  /** Called between attempts so a long outage does not cost the group membership. */
  heartbeat?: () => Promise<void>;
  /**
   * Also heart-beat this often *while* an attempt runs: a statement hung on a black-holed connection
   * (until its timeout) then keeps the membership too, instead of the member being evicted past its
   * session and its consumer ending ("The coordinator is not aware of this member"). @default off
   */
  heartbeatEveryMs?: number;
}

export interface BatchRetrierOptions {
  /** Metric prefix: `apg_<service>_batch_retries_total`, `apg_<service>_batch_held_seconds`. */
  service: string;
  metrics: Registry;
  log: Logger;
  /**
   * Called with an error classified as a bug (see error-class.ts). The composition root logs it and
   * exits non-zero, so the supervisor restarts the process and it resumes from the committed offsets.
   * The step is abandoned (nothing committed) whatever this does.
   */
  onBug(err: unknown, stage: string): void;
  /** A batch held (retrying infrastructure errors) longer than this makes {@link BatchRetrier.ready} false. @default 60000 */
  maxHeldMs?: number;
  /** First backoff delay. @default 200 */
  baseDelayMs?: number;
  /** Longest backoff delay. @default 10000 */
  maxDelayMs?: number;
  /** @default Date.now */
  now?: () => number;
}

/**
 * The one retry policy of the consumer paths, over {@link classifyError}:
 *
 * - infrastructure: retried with capped, jittered backoff for as long as it lasts (an outage must never
 *   lose or dead-letter an event), counted in `apg_<service>_batch_retries_total{stage}`; the age of the
 *   oldest step in progress (retrying, or hung on a connection that never answers) is
 *   `apg_<service>_batch_held_seconds`, and `ready()` turns false once it passes `maxHeldMs`, so
 *   `/readyz` says 503 instead of the consumer idling silently;
 * - data: rethrown at once, for the caller to isolate the offending events and dead-letter them;
 * - bug: handed to `onBug` (the process exits) and the step abandoned, never retried.
 */
export class BatchRetrier {
  private readonly holds = new Set<{ since: number }>();
  private readonly retries: Counter<'stage'>;
  private readonly now: () => number;
  private readonly maxHeldMs: number;

  constructor(private readonly options: BatchRetrierOptions) {
    this.now = options.now ?? Date.now;
    this.maxHeldMs = options.maxHeldMs ?? 60_000;
    this.retries = new Counter({
      name: `apg_${options.service}_batch_retries_total`,
      help: 'Attempts of a batch step that failed on an infrastructure error and were retried, by stage',
      labelNames: ['stage'] as const,
      registers: [options.metrics],
    });
    const held = () => this.heldMs() / 1000;
    new Gauge({
      name: `apg_${options.service}_batch_held_seconds`,
      help: 'How long the oldest batch step in progress (running, hung, or retrying infrastructure errors) has been held (0 when none)',
      registers: [options.metrics],
      collect() {
        this.set(held());
      },
    });
  }

  /** Age of the oldest step in progress (running, hung or retrying), 0 when none. */
  heldMs(): number {
    let oldest = Infinity;
    for (const h of this.holds) oldest = Math.min(oldest, h.since);
    return oldest === Infinity ? 0 : Math.max(0, this.now() - oldest);
  }

  /** False while some batch has been held longer than `maxHeldMs` (for `/readyz`). */
  ready(): boolean {
    return this.heldMs() <= this.maxHeldMs;
  }

  /** Runs one step of a batch under the policy above; ABANDON when given up. */
  async run<T>(stage: string, fn: () => Promise<T>, scope: HoldScope): Promise<T | typeof ABANDON> {
    const { baseDelayMs = 200, maxDelayMs = 10_000, log } = this.options;
    const active = scope.active ?? (() => true);
    // Held from the first attempt, not the first failure: a step that hangs (a black-holed connection
    // never answers, never fails) must show in the gauge and in readiness like one that keeps failing.
    const hold = { since: this.now() };
    this.holds.add(hold);
    try {
      for (let attempt = 0; ; attempt++) {
        if (scope.signal.aborted || !active()) return ABANDON;
        const beat = scope.heartbeat && scope.heartbeatEveryMs ? setInterval(() => void scope.heartbeat!().catch(() => undefined), scope.heartbeatEveryMs) : null;
        try {
          return await fn();
        } catch (err) {
          // Errors while stopping (a producer disconnected under us) say nothing about the data.
          if (scope.signal.aborted || !active()) return ABANDON;
          const cls = classifyError(err);
          if (cls === 'data') throw err;
          if (cls === 'bug') {
            log.error({ err: describe(err), stage }, 'bug on the consumer path; giving the batch up uncommitted');
            this.options.onBug(err, stage);
            return ABANDON;
          }
          this.retries.inc({ stage });
          const delay = backoffDelay(Math.min(attempt, 16), baseDelayMs, maxDelayMs);
          log.warn({ err: describe(err), stage, attempt, delay, heldMs: this.now() - hold.since }, 'infrastructure error; batch held, retrying');
          await sleep(delay, scope.signal);
          await scope.heartbeat?.().catch(() => undefined);
        } finally {
          if (beat) clearInterval(beat);
        }
      }
    } finally {
      this.holds.delete(hold);
    }
  }
}

function describe(err: unknown): string {
  return err instanceof Error ? `${err.name}: ${err.message}` : String(err);
}

/**
 * One step of a Kafka batch (`eachBatch`) under a {@link BatchRetrier}: held while the partition is
 * ours and the consumer runs, heart-beating between attempts. Without a retrier (callers not yet
 * migrated) infrastructure errors are retried the same way and anything else is rethrown.
 */
export async function retryInBatch<T>(
  stage: string,
  fn: () => Promise<T>,
  ctx: { payload: Pick<EachBatchPayload, 'isRunning' | 'isStale' | 'heartbeat'>; signal: AbortSignal; log: Logger; onRetry?: () => void; retrier?: BatchRetrier; heartbeatEveryMs?: number },
): Promise<T | typeof ABANDON> {
  const scope: HoldScope = {
    signal: ctx.signal,
    active: () => ctx.payload.isRunning() && !ctx.payload.isStale(),
    heartbeat: () => ctx.payload.heartbeat(),
    ...(ctx.heartbeatEveryMs ? { heartbeatEveryMs: ctx.heartbeatEveryMs } : {}),
  };
  if (ctx.retrier) return ctx.retrier.run(stage, fn, scope);
  for (let attempt = 0; ; attempt++) {
    if (ctx.signal.aborted || !scope.active!()) return ABANDON;
    try {
      return await fn();
    } catch (err) {
      if (ctx.signal.aborted || !scope.active!()) return ABANDON;
      if (classifyError(err) !== 'infrastructure') throw err;
      ctx.onRetry?.();
      const delay = backoffDelay(Math.min(attempt, 16), 200, 10_000);
      ctx.log.warn({ err: describe(err), stage, attempt, delay }, 'infrastructure error; batch held, retrying');
      await sleep(delay, ctx.signal);
      await scope.heartbeat!().catch(() => undefined);
    }
  }
}
