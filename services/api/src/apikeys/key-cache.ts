import { LruMap } from '../cache/lru-map';
import type { KeyAuthRecord } from './api-key-store';

interface Entry {
  value: KeyAuthRecord | null;
  loadedAt: number;
}

/**
 * In-process cache of key hash → auth record, so authentication costs no database round trip on the
 * hot path. Every change to keys or projects clears it on all replicas (Redis pub/sub); the TTL bounds
 * staleness should a notification be lost. Unknown keys are cached too (briefly) so a client hammering
 * with a bad key cannot hammer Postgres.
 *
 * Bounded by `maxEntries` as an LRU: a flood of random keys (each a negative entry) pushes out the
 * least recently used entries only, so the keys real tenants use every second stay warm. (It used to be
 * cleared wholesale when full, which made such a flood cost every tenant a database round trip.)
 */
export class KeyCache {
  private readonly entries: LruMap<string, Entry>;
  private readonly inflight = new Map<string, Promise<KeyAuthRecord | null>>();
  /** Bumped by every invalidation, so a load that started before it is never cached. */
  private generation = 0;

  constructor(
    private readonly load: (keyHash: string) => Promise<KeyAuthRecord | null>,
    private readonly opts: { ttlMs: number; negativeTtlMs: number; maxEntries: number; now?: () => number },
  ) {
    this.entries = new LruMap(opts.maxEntries);
  }

  private now(): number {
    return (this.opts.now ?? Date.now)();
  }

  private fresh(hit: Entry | undefined, now: number): hit is Entry {
    return hit !== undefined && now - hit.loadedAt < (hit.value ? this.opts.ttlMs : this.opts.negativeTtlMs);
  }

  /** True when `get` would answer without a database query (a fresh entry, positive or negative). */
  has(keyHash: string): boolean {
    return this.fresh(this.entries.peek(keyHash), this.now());
  }

  /**
   * True when `get` would query the database for a key not known to be valid: never seen, or last seen
   * unknown/unusable. A key whose positive entry merely expired was valid a moment ago — a tenant's
   * cache refresh — and is not counted as a guess (the api charges guesses to the client's budget).
   */
  unverified(keyHash: string): boolean {
    const hit = this.entries.peek(keyHash);
    if (hit === undefined) return true;
    return hit.value === null && !this.fresh(hit, this.now());
  }

  get size(): number {
    return this.entries.size;
  }

  async get(keyHash: string): Promise<KeyAuthRecord | null> {
    const now = this.now();
    const hit = this.entries.get(keyHash);
    if (this.fresh(hit, now)) return hit.value;
    // Coalesce concurrent misses for one key into one query.
    let pending = this.inflight.get(keyHash);
    if (!pending) {
      const p = this.load(keyHash).finally(() => {
        if (this.inflight.get(keyHash) === p) this.inflight.delete(keyHash);
      });
      pending = p;
      this.inflight.set(keyHash, pending);
    }
    const generation = this.generation;
    const value = await pending;
    // A change announced while the query ran may not be in its result: answer it, but do not cache it.
    if (generation !== this.generation) return value;
    this.entries.set(keyHash, { value, loadedAt: now });
    return value;
  }

  /**
   * Invalidates every entry (a key or project changed somewhere). The values are kept, marked stale: a
   * stale entry is never served, but it still tells {@link unverified} which keys were valid, so the
   * refresh after an admin's change is not charged to the tenants' addresses as if it were a guess.
   */
  clear(): void {
    this.generation++;
    this.inflight.clear();
    this.entries.forEach((e) => (e.loadedAt = Number.NEGATIVE_INFINITY));
  }
}
