import { AGGREGATOR_HEARTBEAT_STALE_MS, decodeAggregatorHeartbeat, type AggregatorHeartbeat } from '@apg/contracts';
import type { Logger, Redis, RedisKeys } from '@apg/platform';
import type { RedisCircuit } from './redis-circuit';

/**
 * Watches the aggregator's heartbeat (`RedisKeys.aggregatorHeartbeat()`, written about once a second by
 * an aggregator holding partitions). Fresh means someone is turning reports into breaker verdicts right
 * now; stale or missing, the local breakers decide and `/api/health` names the aggregator as stalled.
 * Unreadable (Redis down) counts as stale once the last beat read ages out: nobody's verdicts reach us.
 *
 * The beat's `at` is the aggregator's clock, compared with ours: the hosts' clocks must agree to well
 * under `AGGREGATOR_HEARTBEAT_STALE_MS` (NTP), as they must for `callTimestamp` anyway.
 */
export class AggregatorHeartbeatWatch {
  private beat: AggregatorHeartbeat | null = null;
  private timer: NodeJS.Timeout | null = null;
  private reading = false;

  constructor(
    private readonly redis: Redis,
    private readonly keys: RedisKeys,
    private readonly circuit: RedisCircuit,
    private readonly log: Logger,
    private readonly opts: { pollMs: number; staleMs?: number },
    private readonly now: () => number = Date.now,
  ) {}

  /** Whether the last beat read is younger than the stale limit. */
  isFresh(now = this.now()): boolean {
    return this.beat !== null && now - this.beat.at <= (this.opts.staleMs ?? AGGREGATOR_HEARTBEAT_STALE_MS);
  }

  /** Age of the last beat read, `null` when none was ever read. */
  ageMs(now = this.now()): number | null {
    return this.beat === null ? null : Math.max(0, now - this.beat.at);
  }

  last(): AggregatorHeartbeat | null {
    return this.beat;
  }

  async read(): Promise<void> {
    if (this.reading) return;
    this.reading = true;
    try {
      const raw = await this.circuit.run('aggregator_heartbeat.get', () => this.redis.get(this.keys.aggregatorHeartbeat()));
      // A missing key means no aggregator beat within its TTL; an older beat never replaces a newer one.
      const beat = decodeAggregatorHeartbeat(raw);
      if (beat === null || this.beat === null || beat.at >= this.beat.at) this.beat = beat;
    } catch (err) {
      this.log.debug({ err: (err as Error).message }, 'aggregator heartbeat not read');
    } finally {
      this.reading = false;
    }
  }

  async start(): Promise<void> {
    await this.read();
    this.timer = setInterval(() => void this.read(), this.opts.pollMs);
    this.timer.unref();
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
  }
}
