/**
 * What a routing strategy sees of one instance: plain data the api assembles per select from the registry row
 * ({@link routingParamsOf}), the breaker snapshot (`isRoutable`), the window stats ({@link candidateStatsOf}),
 * the open selection leases and the rate limiter. Strategies read nothing else, so they stay table-testable.
 */
import type { BreakerState, Routability } from './breaker.js';
import type { WindowStats } from './sliding-window.js';

/** The window stats a strategy ranks by. */
export interface CandidateStats {
  /** Calls in the window. */
  calls: number;
  /** Calls that counted against the instance (a caller's own 4xx does not). */
  failures: number;
  /** `1 - failures / calls`, `null` without calls. Informational: scoring smooths `calls`/`failures` itself. */
  successRate: number | null;
  avgLatencyMs: number | null;
  latencyEwmaMs: number | null;
}

export interface Candidate {
  id: string;
  /**
   * Tier, higher first: PRIORITY and SMART only use the best tier that has an eligible candidate.
   * @default 0
   */
  priority: number;
  /**
   * Relative share for WEIGHTED and SMART (0 drains the instance there); other strategies ignore it.
   * @default 1
   */
  weight: number;
  /**
   * Price per unit (any unit, as long as the group agrees), for LEAST_COST and SMART.
   * @default 0
   */
  costPerUnit: number;
  /** @default 'CLOSED' */
  breakerState: BreakerState;
  /**
   * `isRoutable(snapshot, now)`. `probe` is never chosen by `choose`: the api hands out probe permits itself.
   * @default 'yes'
   */
  routable: Routability;
  /**
   * Slow but working (breaker flag): chosen only when its tier has no other eligible candidate.
   * @default false
   */
  degraded: boolean;
  /**
   * Window stats; `null` when nothing is known. Cold (scored by a neutral prior) while `calls < coldMinCalls`.
   * @default null
   */
  stats: CandidateStats | null;
  /**
   * Selections not reported yet (open leases): the load SMART spreads.
   * @default 0
   */
  inFlight: number;
  /**
   * Rate-limited by the upstream (a 429 with retry-after) until this epoch ms; `null` when not cooling.
   * @default null
   */
  cooldownUntil: number | null;
  /**
   * Over its own `rpm` / `tpm` limit in the current period.
   * @default false
   */
  overLimit: boolean;
}

/** A candidate with only the fields that differ from the defaults. */
export type CandidateInit = Pick<Candidate, 'id'> & Partial<Omit<Candidate, 'id'>>;

/**
 * Fills the documented defaults. Field by field rather than `{ ...defaults, ...init }`: an explicit `undefined`
 * must not wipe a default out, and this runs per candidate on the select hot path.
 */
export function toCandidate(init: CandidateInit): Candidate {
  return {
    id: init.id,
    priority: init.priority ?? 0,
    weight: init.weight ?? 1,
    costPerUnit: init.costPerUnit ?? 0,
    breakerState: init.breakerState ?? 'CLOSED',
    routable: init.routable ?? 'yes',
    degraded: init.degraded ?? false,
    stats: init.stats ?? null,
    inFlight: init.inFlight ?? 0,
    cooldownUntil: init.cooldownUntil ?? null,
    overLimit: init.overLimit ?? false,
  };
}

/**
 * The strategy's view of a window: takes `windowStats(...)` or anything with the same four fields (such as the
 * stats the aggregator publishes per instance).
 */
export function candidateStatsOf(
  stats: Pick<WindowStats, 'calls' | 'failures' | 'avgLatencyMs' | 'latencyEwmaMs'>,
): CandidateStats {
  return {
    calls: stats.calls,
    failures: stats.failures,
    successRate: stats.calls > 0 ? 1 - stats.failures / stats.calls : null,
    avgLatencyMs: stats.avgLatencyMs,
    latencyEwmaMs: stats.latencyEwmaMs,
  };
}

/** Routing settings of an instance, read from its `routingParams` JSON. */
export interface RoutingParams {
  /** @default 0 */
  priority: number;
  /** @default 1 */
  weight: number;
  /** @default 0 */
  costPerUnit: number;
  /** Requests per minute the instance accepts; `null` = no limit. @default null */
  rpm: number | null;
  /** Tokens per minute the instance accepts; `null` = no limit. @default null */
  tpm: number | null;
  /** Keys that were present but held an unusable value (the default was used instead), for a warning. */
  invalid: string[];
}

/**
 * Accepted keys per field, first valid one wins. The snake_case names are the seed's (it read `initial_weight`
 * and `cost_per_unit`); `costPerToken` is what the seed's SDK README told clients to send.
 */
const KEYS = {
  priority: ['priority'],
  weight: ['weight', 'initial_weight'],
  costPerUnit: ['costPerUnit', 'cost_per_unit', 'costPerToken'],
  rpm: ['rpm'],
  tpm: ['tpm'],
} as const;

// A plain decimal, so `Number('')` (0), `'0x10'` (16) or `'Infinity'` never slip through as numbers.
const DECIMAL = /^\s*[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?\s*$/;

/**
 * Reads the routing settings from an instance's `routingParams` (untrusted JSON written by clients). Numbers of
 * any JSON numeric type and numeric strings are accepted (the seed crashed on an integer `cost_per_unit`);
 * anything else — a negative weight or cost, a non-finite value, a limit ≤ 0, a boolean — falls back to the
 * default and is listed in `invalid`, never thrown: one bad instance must not break selection for its group.
 */
export function routingParamsOf(raw: Record<string, unknown>): RoutingParams {
  const invalid: string[] = [];
  // Typed as a record, but it is a JSONB column: guard against null or an array anyway.
  const params: Record<string, unknown> = typeof raw === 'object' && raw !== null && !Array.isArray(raw) ? raw : {};
  const read = (keys: readonly string[], valid: (v: number) => boolean): number | null => {
    for (const key of keys) {
      if (!Object.prototype.hasOwnProperty.call(params, key) || params[key] === undefined || params[key] === null) continue;
      const value = numberOf(params[key]);
      if (value !== null && valid(value)) return value;
      invalid.push(key);
    }
    return null;
  };
  const priority = read(KEYS.priority, () => true) ?? 0;
  const weight = read(KEYS.weight, (v) => v >= 0) ?? 1;
  const costPerUnit = read(KEYS.costPerUnit, (v) => v >= 0) ?? 0;
  const rpm = read(KEYS.rpm, (v) => v > 0);
  const tpm = read(KEYS.tpm, (v) => v > 0);
  return { priority, weight, costPerUnit, rpm, tpm, invalid };
}

function numberOf(value: unknown): number | null {
  let n: number;
  if (typeof value === 'number') n = value;
  else if (typeof value === 'bigint') n = Number(value);
  else if (typeof value === 'string' && DECIMAL.test(value)) n = Number(value);
  else return null;
  return Number.isFinite(n) ? n : null;
}
