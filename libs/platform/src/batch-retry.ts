import type { EachBatchPayload } from 'kafkajs';
import type { Logger } from './logger';
import { backoffDelay, sleep } from './retry';

/** Returned instead of a result when the batch was given up because the consumer is stopping. */
export const ABANDON: unique symbol = Symbol('abandon');

/**
 * Runs an infrastructure step of a batch until it succeeds, with capped exponential backoff,
 * heart-beating meanwhile so the group does not evict us during a database or Redis outage. Gives up
 * (returning ABANDON, with nothing committed) only when the consumer stops or loses the partition.
 */
export async function retryInBatch<T>(
  what: string,
  fn: () => Promise<T>,
  ctx: { payload: EachBatchPayload; signal: AbortSignal; log: Logger; onRetry?: () => void },
): Promise<T | typeof ABANDON> {
  for (let attempt = 0; ; attempt++) {
    if (!ctx.payload.isRunning() || ctx.payload.isStale() || ctx.signal.aborted) return ABANDON;
    try {
      return await fn();
    } catch (err) {
      ctx.onRetry?.();
      const delay = backoffDelay(Math.min(attempt, 10), 200, 10_000);
      ctx.log.warn({ err: (err as Error).message, what, attempt, delay }, 'infrastructure error; batch held, retrying');
      await sleep(delay, ctx.signal);
      await ctx.payload.heartbeat().catch(() => undefined);
    }
  }
}
