import type { BreakerSnapshot, SlidingWindow } from '@apg/core';
import type { Redis, RedisKeys } from '@apg/platform';

/**
 * The aggregator's Redis adapter: breaker snapshots (read by every api replica), their
 * announcements, and window snapshots that let a restarted aggregator carry on where it stopped.
 */
export class HealthStore {
  constructor(private readonly redis: Redis, private readonly keys: RedisKeys) {}

  async load(instanceIds: string[]): Promise<Map<string, { breaker: BreakerSnapshot | null; window: SlidingWindow | null }>> {
    const out = new Map<string, { breaker: BreakerSnapshot | null; window: SlidingWindow | null }>();
    if (instanceIds.length === 0) return out;
    const pipe = this.redis.pipeline();
    pipe.hmget(this.keys.breakerStates(), ...instanceIds);
    for (const id of instanceIds) pipe.get(this.keys.window(id));
    const results = await pipe.exec();
    if (!results) throw new Error('redis pipeline aborted');
    const [breakerErr, breakers] = results[0]!;
    if (breakerErr) throw breakerErr;
    instanceIds.forEach((id, i) => {
      const [winErr, win] = results[i + 1]!;
      if (winErr) throw winErr;
      out.set(id, {
        breaker: parse<BreakerSnapshot>((breakers as (string | null)[])[i] ?? null),
        window: parse<SlidingWindow>(win as string | null),
      });
    });
    return out;
  }

  /** Writes breaker snapshots and window snapshots in one round trip, then announces the breakers. */
  async save(
    breakers: { instanceId: string; snapshot: BreakerSnapshot; announce: boolean }[],
    windows: { instanceId: string; window: SlidingWindow; ttlMs: number }[],
  ): Promise<void> {
    if (breakers.length === 0 && windows.length === 0) return;
    const pipe = this.redis.multi();
    if (breakers.length) {
      pipe.hset(this.keys.breakerStates(), Object.fromEntries(breakers.map((b) => [b.instanceId, JSON.stringify(b.snapshot)])));
    }
    for (const w of windows) pipe.set(this.keys.window(w.instanceId), JSON.stringify(w.window), 'PX', w.ttlMs);
    for (const b of breakers) {
      if (b.announce) pipe.publish(this.keys.breakerChannel(), JSON.stringify({ instanceId: b.instanceId, snapshot: b.snapshot }));
    }
    const results = await pipe.exec();
    const failed = results?.find(([err]) => err);
    if (!results || failed) throw failed?.[0] ?? new Error('redis transaction aborted');
  }
}

function parse<T>(json: string | null): T | null {
  if (!json) return null;
  try {
    return JSON.parse(json) as T;
  } catch {
    return null;
  }
}
