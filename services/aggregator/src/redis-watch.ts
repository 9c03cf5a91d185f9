import { randomBytes } from 'node:crypto';
import type { Counter } from 'prom-client';
import type { Logger, Redis } from '@apg/platform';
import type { HealthBook } from './health-book';
import type { HealthStore } from './health-store';
import type { PartitionClaims } from './partition-claims';

export interface RedisWatchDeps {
  redis: Redis;
  store: Pick<HealthStore, 'checkIntact' | 'removeSentinel'>;
  book: HealthBook;
  claims: Pick<PartitionClaims, 'fenceOf'>;
  log: Logger;
  restores: Counter;
  now: () => number;
}

/**
 * Detects a flushed or restarted Redis (this process's sentinel gone, or the breaker hash gone while we
 * hold records) and rewrites every record it holds, each under its partition's fence.
 */
export class RedisWatch {
  private readonly sentinel = randomBytes(8).toString('hex');
  private sentinelPlaced = false;
  private restorePending = false;
  private checking = false;
  private timer: NodeJS.Timeout | null = null;
  private readonly onReady = (): void => {
    // A reconnect may be to a restarted Redis that came back from an older snapshot.
    if (this.sentinelPlaced) this.restorePending = true;
  };

  constructor(private readonly deps: RedisWatchDeps) {}

  /** Places the sentinel (first check) and checks every `everyMs`. */
  async start(everyMs: number): Promise<void> {
    await this.check();
    this.deps.redis.on('ready', this.onReady);
    this.timer ??= setInterval(() => void this.check(), everyMs);
  }

  async stop(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
    this.deps.redis.off('ready', this.onReady);
    await this.deps.store.removeSentinel(this.sentinel).catch(() => undefined);
  }

  async check(): Promise<void> {
    if (this.checking) return;
    this.checking = true;
    const { store, book, log } = this.deps;
    try {
      const s = await store.checkIntact(this.sentinel);
      if (s.sentinelMissing && this.sentinelPlaced) this.restorePending = true;
      if (s.hashMissing && book.knowsAnything) this.restorePending = true;
      this.sentinelPlaced = true;
      if (!this.restorePending) return;
      const n = await book.restoreAll(this.deps.now(), (id) => this.deps.claims.fenceOf(id));
      this.restorePending = false;
      this.deps.restores.inc();
      log.warn(n, 'redis lost data: health records and windows rewritten');
    } catch (err) {
      log.debug({ err: (err as Error).message }, 'redis check failed; retrying');
    } finally {
      this.checking = false;
    }
  }
}
