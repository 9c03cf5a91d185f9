import { LuaScript, type Redis, type RedisKeys } from '@apg/platform';

// INCR and set the expiry in one step, so N api replicas hand out exactly `limit` permits in total.
const ACQUIRE = new LuaScript(`
local n = redis.call('INCR', KEYS[1])
if n == 1 then redis.call('PEXPIRE', KEYS[1], ARGV[1]) end
return n`);

/** Half-open probe permits, atomic across api replicas. */
export class ProbePermits {
  constructor(private readonly redis: Redis, private readonly keys: RedisKeys) {}

  async tryAcquire(instanceId: string, since: number, limit: number, ttlMs: number): Promise<boolean> {
    const n = (await ACQUIRE.run(this.redis, [this.keys.probePermits(instanceId, since)], [ttlMs])) as number;
    return n <= limit;
  }
}
