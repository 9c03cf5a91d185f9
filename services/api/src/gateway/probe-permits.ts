import { LuaScript, type Redis, type RedisKeys } from '@apg/platform';

// INCR and set the expiry in one step, so N api replicas hand out exactly `limit` permits in total.
const ACQUIRE = new LuaScript(`
local n = redis.call('INCR', KEYS[1])
if n == 1 then redis.call('PEXPIRE', KEYS[1], ARGV[1]) end
return n`);

/**
 * Half-open probe permits, atomic across api replicas. Once a replica saw the permits of an open episode
 * run out, it stops asking until the episode's key expires: selects in a group with a recovering
 * instance would otherwise pay an extra Redis round trip each for minutes.
 */
export class ProbePermits {
  private readonly exhausted = new Map<string, number>();

  constructor(private readonly redis: Redis, private readonly keys: RedisKeys, private readonly now: () => number = Date.now) {}

  async tryAcquire(instanceId: string, since: number, limit: number, ttlMs: number): Promise<boolean> {
    const key = this.keys.probePermits(instanceId, since);
    const until = this.exhausted.get(key);
    if (until !== undefined) {
      if (until > this.now()) return false;
      this.exhausted.delete(key);
    }
    const n = (await ACQUIRE.run(this.redis, [key], [ttlMs])) as number;
    if (n < limit) return true;
    if (this.exhausted.size > 10_000) this.exhausted.clear();
    this.exhausted.set(key, this.now() + ttlMs);
    return n === limit;
  }
}
