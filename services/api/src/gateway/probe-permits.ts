import type { ProbeSlots } from '@apg/platform';
import type { RedisCircuit } from './redis-circuit';

/** Bound of the in-process maps (episodes, instances with probes out): a guard, cleared when hit. */
const MAX_TRACKED = 10_000;

/**
 * How long a "slots busy" answer from Redis is believed before asking again: while an instance's probes
 * are out, every select that meets it would otherwise pay a second Redis round trip.
 */
const BUSY_MEMO_MS = 100;

/**
 * Half-open probe permits. Two bounds hold together, both shared by every api replica through Redis
 * (see ProbeSlots in @apg/platform):
 *
 * - per open episode (`since` = the episode's `openedAt`): `limit` probes in total, not N × `limit`;
 * - per instance, whatever the episode: at most `limit` probes out at a time, and the slot of a probe
 *   the breaker reopened on held until it may probe again. When the verdict passes between the aggregator's record and a local
 *   breaker their episodes differ, and without this bound each would hand out its own set. A probe's
 *   slot is settled by whichever replica takes its report (or the aggregator, for events published
 *   straight to Kafka), so a probe reported elsewhere never blocks this replica's next one.
 *
 * With Redis unreachable (circuit open, or the call failed) both are kept in process for the probes
 * handed out meanwhile: each replica then admits at most `limit` probes per episode on its own. Once a
 * replica saw an episode's permits run out, it stops asking Redis until the episode's key expires.
 */
export class ProbePermits {
  /** Episode key → when its permits may be asked for again (they ran out). */
  private readonly exhausted = new Map<string, number>();
  /** Instance → until when Redis' "all slots out" is believed. */
  private readonly busy = new Map<string, number>();
  /** Episode key → permits handed out by this replica without Redis, and until when that count holds. */
  private readonly localCounts = new Map<string, { n: number; until: number }>();
  /** Instance → probes this replica handed out without Redis: selectionId (or `h:` + id, held) → lapse time. */
  private readonly localOut = new Map<string, Map<string, number>>();

  constructor(
    private readonly slots: ProbeSlots,
    private readonly circuit: Pick<RedisCircuit, 'run'>,
    private readonly onBackgroundError: (err: Error) => void,
    private readonly now: () => number = Date.now,
  ) {}

  /**
   * Takes a permit for probe `selectionId` of `instanceId` in the episode that began at `since`;
   * `ttlMs` bounds the episode's count and when an unreported probe's slot lapses.
   */
  async tryAcquire(instanceId: string, since: number, selectionId: string, limit: number, ttlMs: number): Promise<boolean> {
    const now = this.now();
    const episode = `${instanceId}:${since}`;
    if (this.believed(this.exhausted, episode, now) || this.believed(this.busy, instanceId, now)) return false;
    let grant;
    try {
      grant = await this.circuit.run('probe_permits.acquire', () => this.slots.acquire(instanceId, since, selectionId, limit, ttlMs));
    } catch {
      return this.acquireLocally(instanceId, episode, selectionId, limit, ttlMs, now);
    }
    if (grant.granted) {
      if (grant.n >= limit) this.remember(this.exhausted, episode, now + ttlMs);
      return true;
    }
    if (grant.why === 'exhausted') this.remember(this.exhausted, episode, now + ttlMs);
    else this.remember(this.busy, instanceId, now + BUSY_MEMO_MS);
    return false;
  }

  /**
   * A probe's outcome came back (`selectionId` null: a report naming no selection settles the oldest
   * probe out): its slot is freed (`holdMs` 0), or held `holdMs` when the breaker reopened on it. Not awaited.
   */
  settle(instanceId: string, selectionId: string | null, holdMs: number): void {
    this.busy.delete(instanceId);
    this.settleLocally(instanceId, selectionId, holdMs);
    this.circuit
      .run('probe_permits.settle', () => this.slots.settle(instanceId, selectionId, holdMs))
      .catch((err: Error) => this.onBackgroundError(err));
  }

  private believed(memo: Map<string, number>, key: string, now: number): boolean {
    const until = memo.get(key);
    if (until === undefined) return false;
    if (until > now) return true;
    memo.delete(key);
    return false;
  }

  private remember(memo: Map<string, number>, key: string, until: number): void {
    if (memo.size > MAX_TRACKED) memo.clear();
    memo.set(key, until);
  }

  private acquireLocally(instanceId: string, episode: string, selectionId: string, limit: number, ttlMs: number, now: number): boolean {
    const out = this.localOut.get(instanceId);
    if (out) for (const [id, until] of out) if (until <= now) out.delete(id);
    if (out && out.size >= limit) return false;
    let c = this.localCounts.get(episode);
    if (!c || c.until <= now) {
      if (this.localCounts.size > MAX_TRACKED) this.localCounts.clear();
      c = { n: 0, until: now + ttlMs };
      this.localCounts.set(episode, c);
    }
    if (c.n >= limit) return false;
    c.n += 1;
    if (this.localOut.size > MAX_TRACKED && !out) this.localOut.clear();
    const slots = out ?? new Map<string, number>();
    slots.set(selectionId, now + ttlMs);
    this.localOut.set(instanceId, slots);
    return true;
  }

  /** As the shared SETTLE: lapsed slots go first, and only a probe still out is freed or held. */
  private settleLocally(instanceId: string, selectionId: string | null, holdMs: number): void {
    const out = this.localOut.get(instanceId);
    if (!out) return;
    const now = this.now();
    for (const [id, until] of out) if (until <= now) out.delete(id);
    const id = selectionId ?? [...out.keys()].find((k) => !k.startsWith('h:'));
    if (id !== undefined && out.delete(id) && holdMs > 0) out.set(`h:${id}`, now + holdMs);
    if (out.size === 0) this.localOut.delete(instanceId);
  }
}
