import { breakerConfigOf, type BreakerConfig } from '@apg/core';
import type { Db, Logger } from '@apg/platform';

interface Entry {
  config: BreakerConfig;
  projectId: string | null;
  expiresAt: number;
}

/**
 * Per-instance breaker configs read from `api_instances.routing_params`, cached for `ttlMs` and
 * expired early when the api announces a registry change. A failed refresh keeps serving the
 * expired entry (a Postgres outage must not stall the breakers of known instances); only an
 * instance never read before makes the caller retry.
 */
export class InstanceConfigStore {
  private readonly entries = new Map<string, Entry>();
  private readonly warned = new Set<string>();

  constructor(
    private readonly db: Db,
    private readonly defaults: Readonly<BreakerConfig>,
    private readonly log: Logger,
    private readonly opts: { ttlMs: number; now: () => number; maxEntries?: number },
  ) {}

  async configsOf(ids: Iterable<string>): Promise<Map<string, BreakerConfig>> {
    const now = this.opts.now();
    const out = new Map<string, BreakerConfig>();
    const stale: string[] = [];
    for (const id of new Set(ids)) {
      const e = this.entries.get(id);
      if (e) out.set(id, e.config);
      if (!e || e.expiresAt <= now) stale.push(id);
    }
    if (stale.length === 0) return out;
    let rows: { id: string; project_id: string; breaker: unknown }[];
    try {
      ({ rows } = await this.db.query<{ id: string; project_id: string; breaker: unknown }>(
        'aggregator.instance_configs',
        `SELECT id, project_id, routing_params->'breaker' AS breaker FROM api_instances WHERE id = ANY($1::text[])`,
        [stale],
      ));
    } catch (err) {
      if (stale.every((id) => out.has(id))) {
        this.log.warn({ err: (err as Error).message }, 'instance configs not refreshed; using the cached ones');
        return out;
      }
      throw err;
    }
    if (this.entries.size + stale.length > (this.opts.maxEntries ?? 200_000)) this.entries.clear();
    const found = new Map(rows.map((r) => [r.id, r]));
    for (const id of stale) {
      const row = found.get(id);
      const { config, ignored } = breakerConfigOf(this.defaults, { breaker: row?.breaker });
      if (ignored.length > 0) this.warnOnce(id, ignored);
      // A deleted (or not yet visible) instance gets the defaults; its events were admitted anyway.
      this.entries.set(id, { config, projectId: row?.project_id ?? null, expiresAt: now + this.opts.ttlMs });
      out.set(id, config);
    }
    return out;
  }

  /** Expires the cached configs of a project (its instances changed), or all of them. */
  invalidate(projectId?: string): void {
    for (const e of this.entries.values()) {
      if (projectId === undefined || e.projectId === null || e.projectId === projectId) e.expiresAt = 0;
    }
  }

  private warnOnce(instanceId: string, ignored: string[]): void {
    const key = `${instanceId}:${ignored.join(',')}`;
    if (this.warned.has(key)) return;
    if (this.warned.size > 10_000) this.warned.clear();
    this.warned.add(key);
    this.log.warn({ instanceId, ignored }, 'ignoring invalid routingParams.breaker keys');
  }
}
