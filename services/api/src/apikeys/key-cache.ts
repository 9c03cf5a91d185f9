import { LruMap } from '../cache/lru-map';
import type { KeyAuthRecord } from './api-key-store';

interface Entry {
  value: KeyAuthRecord | null;
  /** When the database last answered for this key (what staleness is measured from). */
  loadedAt: number;
  /** Invalidated by an announced change: reloaded before it is served, served stale only if the database fails. */
  invalidated: boolean;
}

/** Which cached keys an announced change concerns; none named = all of them. */
export interface AuthScope {
  keyId?: string;
  projectId?: string;
  /**
   * The change makes the key unusable (revoked, expired, deleted, project deactivated or deleted): applied
   * here at once, so it holds even while the database cannot answer.
   */
  denied?: boolean;
}

export interface KeyCacheOptions {
  ttlMs: number;
  negativeTtlMs: number;
  maxEntries: number;
  /**
   * How long after the database's last answer a key may still be served while the database cannot
   * answer (README "Outages"). Past it, a lookup that fails fails the request (503).
   */
  maxStaleMs: number;
  /** A value was served past its TTL because the database could not answer. */
  onStale?: () => void;
  now?: () => number;
}

/**
 * In-process cache of key hash → auth record, so authentication costs no database round trip on the
 * hot path. Every change to keys or projects is announced on all replicas (Redis pub/sub) and names
 * the key or project it concerns; the TTL bounds staleness should a notification be lost. Unknown keys
 * are cached too (briefly) so a client hammering with a bad key cannot hammer Postgres.
 *
 * Postgres down: a database *answer* always wins (unknown, revoked), but a *failure* never turns a key
 * that was valid into an error. A positive entry past its TTL is served at once while it is reloaded in
 * the background (no select waits on Postgres); an invalidated one, or a negative one, is reloaded
 * first and served stale only if the reload fails. Both up to `maxStaleMs` after the last answer.
 * Revocations announced meanwhile are applied to the entry itself, so they hold without the database.
 *
 * Bounded by `maxEntries` as an LRU: a flood of random keys (each a negative entry) pushes out the
 * least recently used entries only, so the keys real tenants use every second stay warm.
 */
export class KeyCache {
  private readonly entries: LruMap<string, Entry>;
  private readonly inflight = new Map<string, Promise<KeyAuthRecord | null>>();
  /** Bumped by every invalidation, so a load that started before it is never cached. */
  private generation = 0;

  constructor(
    private readonly load: (keyHash: string) => Promise<KeyAuthRecord | null>,
    private readonly opts: KeyCacheOptions,
  ) {
    this.entries = new LruMap(opts.maxEntries);
  }

  private now(): number {
    return (this.opts.now ?? Date.now)();
  }

  private fresh(hit: Entry | undefined, now: number): boolean {
    return hit !== undefined && !hit.invalidated && now - hit.loadedAt < (hit.value ? this.opts.ttlMs : this.opts.negativeTtlMs);
  }

  private servableStale(hit: Entry | undefined, now: number): hit is Entry {
    return hit !== undefined && now - hit.loadedAt <= this.opts.maxStaleMs;
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
    if (hit && this.fresh(hit, now)) return hit.value;
    if (hit?.value && !hit.invalidated && this.servableStale(hit, now)) {
      // Expired by its TTL only (no change announced): serve it now, reload behind the request.
      this.reload(keyHash).catch(() => this.opts.onStale?.());
      return hit.value;
    }
    try {
      return await this.reload(keyHash);
    } catch (err) {
      const last = this.entries.peek(keyHash);
      if (!this.servableStale(last, this.now())) throw err;
      this.opts.onStale?.();
      return last.value;
    }
  }

  /** Loads from the database (one query per key at a time) and caches the answer unless a change intervened. */
  private async reload(keyHash: string): Promise<KeyAuthRecord | null> {
    let pending = this.inflight.get(keyHash);
    if (!pending) {
      const p = this.load(keyHash).finally(() => {
        if (this.inflight.get(keyHash) === p) this.inflight.delete(keyHash);
      });
      pending = p;
      this.inflight.set(keyHash, pending);
    }
    const startedAt = this.now();
    const generation = this.generation;
    const value = await pending;
    // A change announced while the query ran may not be in its result: answer it, but do not cache it.
    if (generation !== this.generation) return value;
    this.entries.set(keyHash, { value, loadedAt: startedAt, invalidated: false });
    return value;
  }

  /**
   * An announced change. Entries it concerns (all, when it names nothing) are reloaded before they are
   * served again; their values are kept, for {@link unverified} and for a database that cannot answer.
   * A denial is applied at once: the entries it concerns answer "unknown key" from now on.
   */
  invalidate(scope: AuthScope = {}): void {
    this.generation++;
    this.inflight.clear();
    const all = scope.keyId === undefined && scope.projectId === undefined;
    const now = this.now();
    this.entries.forEach((e) => {
      const v = e.value;
      if (!all && (v === null || (v.keyId !== scope.keyId && v.projectId !== scope.projectId))) return;
      if (scope.denied && v !== null) {
        e.value = null;
        e.loadedAt = now;
      }
      e.invalidated = true;
    });
  }

  clear(): void {
    this.invalidate();
  }
}
