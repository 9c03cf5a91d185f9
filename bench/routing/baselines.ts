// Client-side models of two other products' DOCUMENTED DEFAULT behaviour (shared/reference/anchors.md §1, §4),
// run over the same fake instances without the gateway. They are models written for this bench, not the
// products themselves: no retries, no health checks, no other feature is modelled.
import type { Policy, Selection } from './driver';
import { INSTANCES, prng, scaled, type InstanceName, type Outcome } from './scenario';

/** Weighted random pick (LiteLLM's simple-shuffle) among `pool`. */
function weightedPick(pool: readonly (typeof INSTANCES)[number][], r: number): InstanceName | null {
  const total = pool.reduce((s, i) => s + i.weight, 0);
  if (pool.length === 0 || total <= 0) return null;
  let x = r * total;
  for (const i of pool) {
    x -= i.weight;
    if (x < 0) return i.name;
  }
  return pool[pool.length - 1]!.name;
}

export interface LiteLlmLikeOptions {
  /** `DEFAULT_COOLDOWN_TIME_SECONDS` = 5 s (model time; scaled by TIME_SCALE). */
  cooldownModelMs: number;
}

/**
 * "LiteLLM-like": the Router's defaults as anchors.md §1 documents them.
 * - `simple-shuffle`: weighted random by `weight` over the deployments not cooling down;
 * - cooldown per deployment, for `cooldown_time` (default 5 s), when: the call got a 429; or a 401/404/408
 *   (a client timeout is LiteLLM's 408); or, on any failure, the deployment's failures in the current
 *   calendar minute exceed 50 % (`DEFAULT_FAILURE_THRESHOLD_PERCENT`) with at least 5 requests
 *   (`DEFAULT_FAILURE_THRESHOLD_MINIMUM_REQUESTS`) this minute;
 * - a failure during a cooldown does not extend it; no half-open state: the deployment is back in the pool
 *   when the cooldown expires; every deployment cooling → "No deployments available" (a failed call).
 * - `num_retries` (default 2) is NOT modelled: every policy in this bench makes one attempt per call.
 */
export class LiteLlmLike implements Policy {
  private readonly cooldownUntil = new Map<InstanceName, number>();
  private readonly minute = new Map<InstanceName, { minute: number; ok: number; fail: number }>();
  private readonly rand: () => number;
  private readonly cooldownMs: number;
  private readonly minuteMs = scaled(60_000);

  constructor(private readonly t: () => number, opts: LiteLlmLikeOptions, seed: number) {
    this.cooldownMs = scaled(opts.cooldownModelMs);
    this.rand = prng(seed);
  }

  async select(): Promise<Selection> {
    const now = this.t();
    const pool = INSTANCES.filter((i) => (this.cooldownUntil.get(i.name) ?? 0) <= now);
    return { instance: weightedPick(pool, this.rand()) };
  }

  async report(selection: Selection, outcome: Outcome): Promise<void> {
    const name = selection.instance!;
    const now = this.t();
    const m = Math.floor(now / this.minuteMs);
    let c = this.minute.get(name);
    if (!c || c.minute !== m) {
      c = { minute: m, ok: 0, fail: 0 };
      this.minute.set(name, c);
    }
    if (outcome.ok) {
      c.ok++;
      return;
    }
    c.fail++;
    const status = outcome.errorType === 'TIMEOUT' ? 408 : outcome.statusCode ?? 500;
    const total = c.ok + c.fail;
    const cool = status === 429 || status === 401 || status === 404 || status === 408 || (total >= 5 && c.fail / total > 0.5);
    if (cool && (this.cooldownUntil.get(name) ?? 0) <= now) this.cooldownUntil.set(name, now + this.cooldownMs);
  }
}

interface HostState {
  name: InstanceName;
  weight: number;
  consecutive5xx: number;
  ejected: boolean;
  ejectedAt: number;
  /** Envoy's ejection multiplier: +1 per ejection, −1 per sweep interval spent healthy. */
  numEjections: number;
  unejectedAt: number;
  /** Smooth weighted round robin state. */
  current: number;
}

/**
 * "Envoy-like": a cluster with outlier detection at its defaults (anchors.md §4) and the default load balancer.
 * - load balancing: weighted round robin over the hosts not ejected (panic, i.e. all hosts, when fewer than
 *   `healthy_panic_threshold` = 50 % are healthy);
 * - `consecutive_5xx` = 5 (timeouts count as 5xx: `split_external_local_origin_errors` is false); any other
 *   response, a 429 included, resets the count. Envoy does not react to 429 otherwise;
 * - the success-rate test is on by default but needs `success_rate_minimum_hosts` = 5 hosts (4 here), the
 *   failure-percentage and gateway-failure tests are off by default: they never fire here;
 * - ejection only while `100 × ejected / hosts < max_ejection_percent` (10 %): with 4 hosts one host can be
 *   ejected at a time (0 % < 10 %), a second one never (25 % ≥ 10 %);
 * - ejected for `base_ejection_time` (30 s) × ejections, capped at `max_ejection_time` (300 s), returned at the
 *   sweep (`interval` 10 s) after that; the multiplier comes down by one per healthy interval. All durations
 *   are scaled by TIME_SCALE. No active health checks (none by default).
 */
export class EnvoyLike implements Policy {
  private readonly hosts: HostState[];
  private readonly baseMs = scaled(30_000);
  private readonly maxMs = scaled(300_000);
  private readonly intervalMs = scaled(10_000);
  private readonly maxEjectionPercent = 10;
  private readonly timer: NodeJS.Timeout;
  overflowed = 0;

  constructor(private readonly t: () => number) {
    this.hosts = INSTANCES.map((i) => ({ name: i.name, weight: i.weight, consecutive5xx: 0, ejected: false, ejectedAt: 0, numEjections: 0, unejectedAt: 0, current: 0 }));
    this.timer = setInterval(() => this.sweep(), this.intervalMs);
  }

  stop(): void {
    clearInterval(this.timer);
  }

  async select(): Promise<Selection> {
    const healthy = this.hosts.filter((h) => !h.ejected);
    const pool = (100 * healthy.length) / this.hosts.length < 50 ? this.hosts : healthy;
    if (pool.length === 0) return { instance: null };
    // nginx-style smooth weighted round robin (Envoy uses an EDF schedule; same long-run shares).
    const total = pool.reduce((s, h) => s + h.weight, 0);
    let best = pool[0]!;
    for (const h of pool) {
      h.current += h.weight;
      if (h.current > best.current) best = h;
    }
    best.current -= total;
    return { instance: best.name };
  }

  async report(selection: Selection, outcome: Outcome): Promise<void> {
    const h = this.hosts.find((x) => x.name === selection.instance)!;
    const is5xx = !outcome.ok && (outcome.errorType === 'TIMEOUT' || (outcome.statusCode ?? 0) >= 500);
    if (!is5xx) {
      h.consecutive5xx = 0;
      return;
    }
    h.consecutive5xx++;
    if (h.consecutive5xx >= 5 && !h.ejected) {
      const ejectedNow = this.hosts.filter((x) => x.ejected).length;
      if ((100 * ejectedNow) / this.hosts.length < this.maxEjectionPercent) {
        h.ejected = true;
        h.ejectedAt = this.t();
        h.numEjections++;
        h.consecutive5xx = 0;
      } else {
        this.overflowed++;
      }
    }
  }

  private sweep(): void {
    const now = this.t();
    for (const h of this.hosts) {
      if (h.ejected) {
        const ejectFor = Math.min(this.baseMs * h.numEjections, Math.max(this.maxMs, this.baseMs));
        if (now - h.ejectedAt >= ejectFor) {
          h.ejected = false;
          h.unejectedAt = now;
        }
      } else if (h.numEjections > 0 && now - h.unejectedAt >= this.intervalMs) {
        h.numEjections--;
      }
    }
  }
}
