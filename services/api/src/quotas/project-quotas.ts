import { ProjectQuotaOverridesSchema, type ProjectQuotaOverrides } from '@apg/contracts';
import { HttpError } from '../http/http-error';

/**
 * What one project may cost the gateway (README "Quotas"). Resolved per request from the configured
 * defaults and the project's stored overrides; every field is a hard bound except `selectsPerSecond`,
 * where 0 means unlimited.
 */
export interface ProjectQuotas {
  /** Instances registered in the project, all types and statuses together. */
  maxInstances: number;
  /** UTF-8 bytes of an instance's `metadata` JSON, and separately of its `routingParams` JSON. */
  maxJsonBytes: number;
  /** Items of one batch request (`POST` / `DELETE /api/instances/batch`). */
  maxBatchItems: number;
  /** Selects per second across all api replicas; 0 = unlimited. */
  selectsPerSecond: number;
  /** Live affinity bindings in Redis; beyond it the least recently used binding is dropped. */
  maxAffinityBindings: number;
  /** Open decision leases in Redis; beyond it a select is still answered, without a lease. */
  maxOpenLeases: number;
}

/** @default values of the QUOTA_* variables (services/api/src/config.ts). */
export const DEFAULT_QUOTAS: Readonly<ProjectQuotas> = Object.freeze({
  maxInstances: 5_000,
  maxJsonBytes: 16_384,
  maxBatchItems: 1_000,
  selectsPerSecond: 1_000,
  maxAffinityBindings: 10_000,
  maxOpenLeases: 20_000,
});

/** The quota policy of an api process: the defaults, and the older per-key select cap folded in. */
export interface QuotaPolicy {
  defaults: ProjectQuotas;
  /**
   * SELECT_RATE_LIMIT_PER_SECOND (per API key, 0 = off). A key unlocks exactly one project, so it caps
   * the same counter as the project's quota: the lower of the two non-zero values applies.
   */
  perKeySelectCap: number;
}

/** A stored `quota_overrides` value; anything that does not decode counts as "no overrides". */
export function decodeQuotaOverrides(stored: unknown): ProjectQuotaOverrides {
  const parsed = ProjectQuotaOverridesSchema.safeParse(stored ?? {});
  return parsed.success ? parsed.data : {};
}

const lowerNonZero = (a: number, b: number) => (a === 0 ? b : b === 0 ? a : Math.min(a, b));

export function resolveQuotas(policy: QuotaPolicy, overrides: ProjectQuotaOverrides): ProjectQuotas {
  const d = policy.defaults;
  return {
    maxInstances: overrides.maxInstances ?? d.maxInstances,
    maxJsonBytes: overrides.maxJsonBytes ?? d.maxJsonBytes,
    maxBatchItems: overrides.maxBatchItems ?? d.maxBatchItems,
    selectsPerSecond: lowerNonZero(overrides.selectsPerSecond ?? d.selectsPerSecond, policy.perKeySelectCap),
    maxAffinityBindings: overrides.maxAffinityBindings ?? d.maxAffinityBindings,
    maxOpenLeases: overrides.maxOpenLeases ?? d.maxOpenLeases,
  };
}

/** Only the fields actually set (for the project DTO). */
export function setOverrides(o: ProjectQuotaOverrides): Record<string, number> {
  return Object.fromEntries(Object.entries(o).filter((e): e is [string, number] => typeof e[1] === 'number'));
}

export function quotaExceeded(field: string, message: string): HttpError {
  return new HttpError('QUOTA_EXCEEDED', message, [{ field, message }]);
}

/**
 * Size of a JSON value as stored, in UTF-8 bytes. Counted on the parsed value (re-serialised), so
 * whitespace in the request does not count and escapes count as what they decode to.
 */
export function jsonBytes(value: unknown): number {
  return value === undefined || value === null ? 0 : Buffer.byteLength(JSON.stringify(value), 'utf8');
}

/** Throws QUOTA_EXCEEDED naming `field` when `value` serialises to more than `max` bytes. */
export function checkJsonSize(field: string, value: unknown, max: number): void {
  const bytes = jsonBytes(value);
  if (bytes > max) throw quotaExceeded(field, `${field} is ${bytes} bytes of JSON; this project's limit is ${max}`);
}

/**
 * Checks a batch's item count before its items are validated one by one, so a flood of 100,000 items
 * costs a length check, not 100,000 schema parses. Non-arrays are left to the schema's 400.
 */
export function checkBatchItems(items: unknown, max: number): void {
  if (Array.isArray(items) && items.length > max) {
    throw quotaExceeded('instances', `a batch may hold at most ${max} instances for this project; got ${items.length}`);
  }
}
