/**
 * Day arithmetic of the raw-row retention: which daily partitions of `call_results` must exist and
 * which must go, for a given clock. Pure; the SQL lives in partition-store.ts.
 *
 * Days are UTC. Partition `call_results_pYYYYMMDD` holds call_ts in [that day 00:00, next day 00:00).
 * With RETENTION_DAYS = R the oldest day kept starts R days before today's start (so a row lives
 * between R and R + 1 days), and that start is the *horizon*: an event older than it would land in a
 * partition that is already gone, so the ingestor dead-letters it (reason `expired`) instead of storing
 * a row that the next sweep would delete — which would also let a redelivery count it twice.
 */
export const DAY_MS = 86_400_000;

export interface RetentionPolicy {
  /** Days of raw rows kept behind today. */
  retentionDays: number;
  /** Days of partitions created ahead of today. */
  premakeDays: number;
}

export const utcDayStart = (ms: number): number => Math.floor(ms / DAY_MS) * DAY_MS;

/** Start of the oldest day whose raw rows are kept. */
export const retentionHorizon = (nowMs: number, retentionDays: number): number => utcDayStart(nowMs) - retentionDays * DAY_MS;

const PARTITION_PREFIX = 'call_results_p';

export function partitionName(dayStartMs: number): string {
  return `${PARTITION_PREFIX}${new Date(dayStartMs).toISOString().slice(0, 10).replace(/-/g, '')}`;
}

/** Day start of a partition named by {@link partitionName}; null for any other table name. */
export function partitionDay(name: string): number | null {
  const m = /^call_results_p(\d{4})(\d{2})(\d{2})$/.exec(name);
  if (!m) return null;
  const ms = Date.UTC(Number(m[1]), Number(m[2]) - 1, Number(m[3]));
  return partitionName(ms) === name ? ms : null;
}

export interface PartitionPlan {
  /** Day starts to create, oldest first. */
  create: number[];
  /** Day starts to drop, oldest first. */
  drop: number[];
  horizon: number;
}

export function planPartitions(nowMs: number, existingDays: Iterable<number>, policy: RetentionPolicy): PartitionPlan {
  const existing = new Set(existingDays);
  const horizon = retentionHorizon(nowMs, policy.retentionDays);
  const last = utcDayStart(nowMs) + policy.premakeDays * DAY_MS;
  const create: number[] = [];
  for (let day = horizon; day <= last; day += DAY_MS) if (!existing.has(day)) create.push(day);
  const drop = [...existing].filter((day) => day < horizon).sort((a, b) => a - b);
  return { create, drop, horizon };
}
