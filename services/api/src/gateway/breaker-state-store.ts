import type { Logger, Redis, RedisKeys } from '@apg/platform';
import type { RedisCircuit } from './redis-circuit';

/**
 * Writes on the shared breaker-state hash (`RedisKeys.breakerStates()`) that the api itself makes.
 * The aggregator owns the states; the api only removes the fields of instances it deleted, so the
 * hash does not grow with every instance ever registered, and their local breakers with them.
 */
export class BreakerStateStore {
  constructor(
    private readonly redis: Redis,
    private readonly keys: RedisKeys,
    private readonly circuit: RedisCircuit,
    private readonly log: Logger,
    private readonly local: { forget(instanceIds: readonly string[]): void },
  ) {}

  /**
   * Drops the states of deleted instances. Best effort: the rows are already gone in Postgres, so a
   * Redis failure is logged, not returned to the client; a leftover field is never read for routing
   * (the instance no longer exists) and the next delete of the id is a no-op.
   */
  async remove(instanceIds: readonly string[]): Promise<void> {
    if (instanceIds.length === 0) return;
    // This replica's local breakers first (other replicas drop theirs on the registry announcement).
    this.local.forget(instanceIds);
    try {
      for (let i = 0; i < instanceIds.length; i += 1000) {
        const chunk = instanceIds.slice(i, i + 1000);
        await this.circuit.run('breaker_states.remove', () => this.redis.hdel(this.keys.breakerStates(), ...chunk), 2000);
      }
    } catch (err) {
      this.log.warn({ err, count: instanceIds.length }, 'breaker states of deleted instances not removed');
    }
  }
}
