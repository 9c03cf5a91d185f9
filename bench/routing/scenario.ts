import { mulberry32 as prng } from '@apg/core';
export { prng };
// The simulated world: four upstream instances of one logical API with failure and latency schedules,
// the time scale, and the timing constants every policy (gateway and baselines) is scaled by.

/**
 * Model seconds per bench second. Every *duration constant* of a breaker, cooldown or ejection (windows,
 * open durations, cooldowns, sweep intervals, the provider's quota minute) is divided by this so one bench
 * run plays several model minutes; upstream *latencies* (and timeouts) are real, so call rates, and thus
 * the number of calls a policy lets through before it reacts, are the real ones.
 */
export const TIME_SCALE = 30;
export const scaled = (modelMs: number): number => Math.max(1, Math.round(modelMs / TIME_SCALE));

/** The client gives up on a call after this long (real ms): it is then reported as a TIMEOUT. */
export const CLIENT_TIMEOUT_MS = 1000;

export type InstanceName = 'A' | 'B' | 'C' | 'D';
export const INSTANCE_NAMES: readonly InstanceName[] = ['A', 'B', 'C', 'D'];

export interface InstanceSpec {
  name: InstanceName;
  weight: number;
  costPerUnit: number;
  /** Healthy latency (real ms); jittered ±15 % with a 3 % tail of 2.5×. */
  baseLatencyMs: number;
  role: string;
}

export const INSTANCES: readonly InstanceSpec[] = [
  { name: 'A', weight: 2, costPerUnit: 1.0, baseLatencyMs: 100, role: 'healthy throughout, dearest, weight 2' },
  { name: 'B', weight: 1, costPerUnit: 0.6, baseLatencyMs: 100, role: 'dies (100 % failures) from 20 % to 60 % of the run, then recovers' },
  { name: 'C', weight: 1, costPerUnit: 0.4, baseLatencyMs: 100, role: '3× slower from 30 % of the run on' },
  { name: 'D', weight: 1, costPerUnit: 0.3, baseLatencyMs: 100, role: 'cheapest; 429 + retryAfterMs once over its per-minute quota' },
];

/** B's outage: fraction of its failures that hang until the client times out (the rest are fast 503s). */
export const B_TIMEOUT_SHARE = 0.3;
export const B_DIES_AT = 0.2;
export const B_RECOVERS_AT = 0.6;
export const C_SLOW_FROM = 0.3;
export const C_SLOW_FACTOR = 3;
export const D_MINUTE_MS = scaled(60_000);
/**
 * D's provider quota per (scaled) minute, then 429 with retry-after until the next minute: 16 % of the offered
 * load, so D is over quota for part of every minute when it gets a fair share (20–25 %) of the traffic.
 */
export const dQuotaPerMinute = (ratePerSecond: number): number => Math.max(1, Math.round((0.16 * ratePerSecond * D_MINUTE_MS) / 1000));

export interface Outcome {
  ok: boolean;
  /** How long the client waited (real ms). */
  latencyMs: number;
  statusCode?: number;
  errorType?: 'UPSTREAM_5XX' | 'TIMEOUT' | 'RATE_LIMITED';
  retryAfterMs?: number;
  usage?: { promptTokens: number; completionTokens: number; totalTokens: number; cost: number };
}


export const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/**
 * The fake upstreams of one run. `call(name)` behaves like the instance at the current run time (a timer,
 * no network). `t()` is ms since the run started.
 */
export class Upstreams {
  private readonly rand: () => number;
  private dMinute = -1;
  private dUsed = 0;

  private readonly dQuota: number;

  constructor(
    readonly durationMs: number,
    readonly t: () => number,
    seed: number,
    ratePerSecond: number,
  ) {
    this.rand = prng(seed);
    this.dQuota = dQuotaPerMinute(ratePerSecond);
  }

  get bDiesAt(): number {
    return this.durationMs * B_DIES_AT;
  }
  get bRecoversAt(): number {
    return this.durationMs * B_RECOVERS_AT;
  }
  get cSlowFrom(): number {
    return this.durationMs * C_SLOW_FROM;
  }

  isBDead(at: number): boolean {
    return at >= this.bDiesAt && at < this.bRecoversAt;
  }

  async call(name: InstanceName): Promise<Outcome> {
    const spec = INSTANCES.find((i) => i.name === name)!;
    const at = this.t();
    const r = this.rand();
    let latency = spec.baseLatencyMs * (0.85 + 0.3 * this.rand()) * (this.rand() < 0.03 ? 2.5 : 1);
    if (name === 'B' && this.isBDead(at)) {
      if (r < B_TIMEOUT_SHARE) {
        await sleep(CLIENT_TIMEOUT_MS);
        return { ok: false, latencyMs: CLIENT_TIMEOUT_MS, statusCode: 504, errorType: 'TIMEOUT' };
      }
      const fast = 10 + 20 * this.rand();
      await sleep(fast);
      return { ok: false, latencyMs: Math.round(fast), statusCode: 503, errorType: 'UPSTREAM_5XX' };
    }
    if (name === 'D') {
      const minute = Math.floor(at / D_MINUTE_MS);
      if (minute !== this.dMinute) {
        this.dMinute = minute;
        this.dUsed = 0;
      }
      if (this.dUsed >= this.dQuota) {
        const fast = 5 + 5 * this.rand();
        await sleep(fast);
        const retryAfterMs = Math.max(1, Math.ceil((minute + 1) * D_MINUTE_MS - this.t()));
        return { ok: false, latencyMs: Math.round(fast), statusCode: 429, errorType: 'RATE_LIMITED', retryAfterMs };
      }
      this.dUsed++;
    }
    if (name === 'C' && at >= this.cSlowFrom) latency *= C_SLOW_FACTOR;
    latency = Math.min(latency, CLIENT_TIMEOUT_MS);
    await sleep(latency);
    const promptTokens = 300 + Math.floor(400 * this.rand());
    const completionTokens = 100 + Math.floor(400 * this.rand());
    const totalTokens = promptTokens + completionTokens;
    return {
      ok: true,
      latencyMs: Math.round(latency),
      statusCode: 200,
      usage: { promptTokens, completionTokens, totalTokens, cost: (spec.costPerUnit * totalTokens) / 1000 },
    };
  }
}
