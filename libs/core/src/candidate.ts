/**
 * What a routing strategy sees of one instance: plain data the api assembles per select from the registry row
 * ({@link routingParamsOf}), the breaker snapshot (`isRoutable`), the window stats ({@link candidateStatsOf}),
 * the open selection leases and the rate limiter. Strategies read nothing else, so they stay table-testable.
 */
import type { BreakerState, Routability } from './breaker.js';
import type { WindowStats } from './sliding-window.js';
import { breakerOverrideProblems } from './breaker-config.js';
import { readNumericSetting, type NumericBound, type SettingProblem } from './numeric-setting.js';

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
export const ROUTING_PARAM_KEYS = Object.freeze({
  priority: ['priority'],
  weight: ['weight', 'initial_weight'],
  costPerUnit: ['costPerUnit', 'cost_per_unit', 'costPerToken'],
  rpm: ['rpm'],
  tpm: ['tpm'],
} as const);

type RoutingField = keyof typeof ROUTING_PARAM_KEYS;

/**
 * Accepted values per field, for the api's request schemas and every reader of stored rows alike. A JSON number
 * or a numeric string (`"2"`: the seed stored whatever JSON it got, and its clients sent strings).
 */
export const ROUTING_PARAM_BOUNDS: { readonly [K in RoutingField]: Readonly<NumericBound> } = Object.freeze({
  priority: { min: -1_000_000, max: 1_000_000, integer: true },
  weight: { min: 0, max: 1_000_000 },
  costPerUnit: { min: 0, max: 1e9 },
  rpm: { min: 1, max: 1e9, integer: true },
  tpm: { min: 1, max: 1e9, integer: true },
});

const readRouting = (value: unknown, field: RoutingField) => readNumericSetting(value, ROUTING_PARAM_BOUNDS[field], { strings: true });

const isRecord = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

/**
 * Everything wrong with an instance's `routingParams` (each with its path, e.g. `['breaker', 'windowMs']`): a
 * routing key (any of {@link ROUTING_PARAM_KEYS}) holding something other than a number inside
 * {@link ROUTING_PARAM_BOUNDS}, and the problems of the `breaker` override. `null` and `undefined` values count as
 * absent; other keys are the client's own and are not looked at. The api answers 400 with these.
 */
export function routingParamsProblems(params: Readonly<Record<string, unknown>>): SettingProblem[] {
  const problems: SettingProblem[] = [];
  for (const [field, keys] of Object.entries(ROUTING_PARAM_KEYS) as [RoutingField, readonly string[]][]) {
    for (const key of keys) {
      const value = Object.prototype.hasOwnProperty.call(params, key) ? params[key] : undefined;
      if (value === undefined || value === null) continue;
      const read = readRouting(value, field);
      if (!read.ok) problems.push({ path: [key], message: read.problem });
    }
  }
  const breaker = Object.prototype.hasOwnProperty.call(params, 'breaker') ? params['breaker'] : undefined;
  if (breaker !== undefined && breaker !== null) {
    if (!isRecord(breaker)) problems.push({ path: ['breaker'], message: 'must be an object of breaker settings' });
    else for (const p of breakerOverrideProblems(breaker)) problems.push({ path: ['breaker', ...p.path], message: p.message });
  }
  return problems;
}

/**
 * Reads the routing settings from an instance's `routingParams` (untrusted JSON written by clients, possibly
 * before the bounds existed). Numbers and numeric strings inside {@link ROUTING_PARAM_BOUNDS} are used; anything
 * else — a weight above a million, a fractional priority, a 60,000-digit string, a boolean — falls back to the
 * default and is listed in `invalid`, never thrown: one bad instance must not break selection for its group.
 */
export function routingParamsOf(raw: Record<string, unknown>): RoutingParams {
  const invalid: string[] = [];
  // Typed as a record, but it is a JSONB column: guard against null or an array anyway.
  const params: Record<string, unknown> = isRecord(raw) ? raw : {};
  const read = (field: RoutingField): number | null => {
    for (const key of ROUTING_PARAM_KEYS[field]) {
      if (!Object.prototype.hasOwnProperty.call(params, key) || params[key] === undefined || params[key] === null) continue;
      const r = readRouting(params[key], field);
      if (r.ok) return r.value;
      invalid.push(key);
    }
    return null;
  };
  const priority = read('priority') ?? 0;
  const weight = read('weight') ?? 1;
  const costPerUnit = read('costPerUnit') ?? 0;
  const rpm = read('rpm');
  const tpm = read('tpm');
  return { priority, weight, costPerUnit, rpm, tpm, invalid };
}
