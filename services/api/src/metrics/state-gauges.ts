import { Gauge, type Registry } from 'prom-client';
import type { BreakerState } from '@apg/core';

export const BREAKER_STATES: readonly BreakerState[] = ['CLOSED', 'OPEN', 'HALF_OPEN', 'FORCED_OPEN', 'FORCED_CLOSED'];

/** What the gauges read at scrape time; each is in-process except `openLeases` (one named Redis call). */
export interface StateSources {
  /** Instances this replica holds a verdict for, by the state it would decide with and by whose verdict that is. */
  census(): { states: ReadonlyMap<string, number>; sources: { remote: number; local: number } };
  /** Age of the breaker snapshot (last full refresh from Redis), `null` when none succeeded yet. */
  snapshotAgeMs(): number | null;
  /** Age of the last aggregator heartbeat read, `null` when none was ever read. */
  heartbeatAgeMs(): number | null;
  /** Open decision leases of the whole deployment (Redis); rejects when Redis does not answer. */
  openLeases(): Promise<number>;
  /** Entries of each in-process cache, by a fixed cache name. */
  caches: Readonly<Record<string, () => number>>;
}

/**
 * Gauges computed when Prometheus scrapes, never on a request path: breaker states as this replica sees
 * them, snapshot and heartbeat staleness, cache sizes and open leases. A gauge whose source fails keeps
 * its last value (a Redis outage must not turn `/metrics` into a 500, it is when it is needed most).
 */
export function registerStateGauges(registry: Registry, src: StateSources): void {
  const registers = [registry];
  // One census per scrape, set into both gauges by the first (registered, so collected, before the second).
  const verdictSources = new Gauge({
    name: 'apg_breaker_verdict_instances',
    help: 'Instances by whose verdict this replica decides with: the aggregator\'s record or its own local breaker',
    labelNames: ['source'] as const, registers: [],
  });
  new Gauge({
    name: 'apg_breaker_instances',
    help: 'Instances with a breaker verdict on this replica (aggregator record or local breaker), by the state it decides with',
    labelNames: ['state'] as const, registers,
    collect() {
      const census = src.census();
      for (const state of BREAKER_STATES) this.set({ state }, census.states.get(state) ?? 0);
      verdictSources.set({ source: 'aggregator' }, census.sources.remote);
      verdictSources.set({ source: 'local' }, census.sources.local);
    },
  });
  registry.registerMetric(verdictSources);
  const ageGauge = (name: string, help: string, read: () => number | null) => new Gauge({
    name, help, registers,
    // +Inf when there never was one: "older than any threshold" is what an alert on it should see.
    collect() {
      const ms = read();
      this.set(ms === null ? Number.POSITIVE_INFINITY : ms / 1000);
    },
  });
  ageGauge('apg_breaker_snapshot_age_seconds', 'Seconds since this replica last refreshed its breaker snapshot from Redis (+Inf: never)', () => src.snapshotAgeMs());
  ageGauge('apg_aggregator_heartbeat_age_seconds', 'Age of the last aggregator heartbeat this replica read (+Inf: none)', () => src.heartbeatAgeMs());
  new Gauge({
    name: 'apg_cache_entries',
    help: 'Entries held by each in-process cache of this replica',
    labelNames: ['cache'] as const, registers,
    collect() {
      for (const [cache, size] of Object.entries(src.caches)) this.set({ cache }, size());
    },
  });
  new Gauge({
    name: 'apg_leases_open',
    help: 'Open decision leases (selected, not yet reported nor expired) of the whole deployment, read from Redis at scrape time',
    registers,
    async collect() {
      try {
        this.set(await src.openLeases());
      } catch {
        // Redis is down or slow: keep the last figure; apg_api_redis_circuit_open and apg_io_errors_total say why.
      }
    },
  });
}
