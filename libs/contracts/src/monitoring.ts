import { z } from 'zod';
import { INSTANCE_STATUSES, type InstanceStatus } from './enums';

/**
 * Query schemas and DTOs of `/api/admin/monitoring/**` and `/api/admin/observation/**`, with the
 * seed's parameter and field names. Unlike the seed, every bad value is a 400 naming the allowed
 * values (the seed answered HTTP 200 with code 400, ignored the value, or fell back to a default).
 */

/** The seed's GatewayStatus, as the console shows it; derived from the live breaker state. */
export const GATEWAY_STATUSES = ['HEALTHY', 'DEGRADED', 'FAULTY', 'CIRCUIT_BREAKER_OPEN'] as const;
export type GatewayStatus = (typeof GATEWAY_STATUSES)[number];

/** `/admin/monitoring/timeseries?timeRange=`; each has its own, truly aligned bucket size. */
export const MONITORING_TIME_RANGES = ['1h', '6h', '24h', '7d'] as const;
export type MonitoringTimeRange = (typeof MONITORING_TIME_RANGES)[number];

/** `/admin/observation/*?timeWindow=` (case-insensitive, as in the seed). */
export const OBSERVATION_TIME_WINDOWS = ['1m', '10m', '30m', '1h', '6h', '24h'] as const;
export type ObservationTimeWindow = (typeof OBSERVATION_TIME_WINDOWS)[number];

const oneOf = (values: readonly string[]) => values.join(', ');

/** An empty query value (`?status=`, what a console's "all" option sends) counts as absent. */
const blankToUndefined = (v: unknown) => (v === '' ? undefined : v);

/** A repeated parameter (`?status=A&status=B`) arrives as an array: say so instead of "expected string". */
const singleValue = (field: string) => (issue: { input?: unknown }) =>
  Array.isArray(issue.input) ? `${field} must be given at most once` : undefined;

/** An optional enum parameter: exact (case-sensitive) enum names, like every enum on the wire. */
function optionalEnum<const T extends readonly [string, ...string[]]>(field: string, values: T) {
  return z.preprocess(
    blankToUndefined,
    z.enum(values, { error: (i) => singleValue(field)(i) ?? `${field} must be one of ${oneOf(values)}` }).optional(),
  );
}

/** A required enum parameter matched case-insensitively (`1H`, `24H` and `7D` are accepted). */
function requiredLowercaseEnum<const T extends readonly [string, ...string[]]>(field: string, values: T) {
  return z.preprocess(
    (v) => (typeof v === 'string' ? v.trim().toLowerCase() : v),
    z.enum(values, {
      error: (i) =>
        singleValue(field)(i) ??
        (i.input === undefined || i.input === ''
          ? `${field} is required (one of ${oneOf(values)})`
          : `${field} must be one of ${oneOf(values)}`),
    }),
  );
}

const hasControlChar = (s: string) => {
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c < 0x20 || c === 0x7f) return true;
  }
  return false;
};

/**
 * Ids are 32 hex chars, but any printable value is accepted and simply matches nothing (the seed's
 * behaviour: an unknown project gives zeros); control characters (NUL would break Postgres) are a 400.
 */
const optionalId = (field: string) =>
  z.preprocess(
    blankToUndefined,
    z
      .string({ error: (i) => singleValue(field)(i) ?? `${field} must be a string` })
      .max(64, `${field} must be at most 64 characters`)
      .refine((s) => !hasControlChar(s), `${field} must not contain control characters`)
      .optional(),
  );

export const MonitoringProjectQuerySchema = z.object({ projectId: optionalId('projectId') });
export type MonitoringProjectQuery = z.infer<typeof MonitoringProjectQuerySchema>;

export const MonitoringInstancesQuerySchema = z.object({
  projectId: optionalId('projectId'),
  status: optionalEnum('status', INSTANCE_STATUSES),
  gatewayStatus: optionalEnum('gatewayStatus', GATEWAY_STATUSES),
});
export type MonitoringInstancesQuery = z.infer<typeof MonitoringInstancesQuerySchema>;

export const TimeSeriesQuerySchema = z.object({
  timeRange: requiredLowercaseEnum('timeRange', MONITORING_TIME_RANGES),
  projectId: optionalId('projectId'),
});
export type TimeSeriesQuery = z.infer<typeof TimeSeriesQuerySchema>;

/** The seed's InstanceObservationRequest. */
export const ObservationQuerySchema = z.object({
  timeWindow: requiredLowercaseEnum('timeWindow', OBSERVATION_TIME_WINDOWS),
  projectId: optionalId('projectId'),
  instanceStatus: optionalEnum('instanceStatus', INSTANCE_STATUSES),
  gatewayStatus: optionalEnum('gatewayStatus', GATEWAY_STATUSES),
});
export type ObservationQuery = z.infer<typeof ObservationQuerySchema>;

/**
 * Percentages are 0..100. An instance (or a whole overview) with no calls reports 0 for its rates and
 * latency, as the seed did, although "no data" would be more honest as null: old consoles do
 * arithmetic on these fields. `callCount`/`recentCalls` = 0 tells the two cases apart.
 */
export interface MonitoringOverviewDto {
  totalInstances: number;
  healthyInstances: number;
  activeInstances: number;
  averageSuccessRate: number;
  averageLatency: number;
  totalCalls: number;
}

export interface ApiInstanceMonitoringDto {
  instanceId: string;
  projectId: string;
  projectName: string;
  businessId: string;
  apiIdentifier: string;
  apiType: string;
  status: InstanceStatus;
  gatewayStatus: GatewayStatus;
  successRate: number;
  failureRate: number;
  averageLatency: number;
  concurrency: number;
  recentCalls: number;
  successCount: number;
  failureCount: number;
  /** ISO-8601; left out when the instance was never reported. */
  lastReportedAt?: string;
  priority: number;
  costPerUnit: number;
  weight: number;
}

export interface TimeSeriesPoint {
  /** ISO-8601 start of the bucket, with its date (`2025-06-22T10:00:00.000Z`). */
  time: string;
  value: number;
}

export interface TimeSeriesDto {
  callVolume: TimeSeriesPoint[];
  successRate: TimeSeriesPoint[];
  latency: TimeSeriesPoint[];
}

export interface StatusStatisticsDto {
  totalInstances: number;
  byGatewayStatus: Record<GatewayStatus, number>;
  byInstanceStatus: Record<InstanceStatus, number>;
}

export interface ObservationOverviewDto {
  totalInstances: number;
  healthyInstances: number;
  activeInstances: number;
  faultyInstances: number;
  circuitBreakerInstances: number;
  /** Beyond the seed, which counted DEGRADED nowhere. */
  degradedInstances: number;
  totalCallCount: number;
  averageSuccessRate: number;
  averageLatency: number;
}

export interface InstanceObservationDto {
  /** Beyond the seed (fault 20: it had no instance id). */
  instanceId: string;
  /** Beyond the seed. */
  projectId: string;
  projectName: string;
  apiIdentifier: string;
  apiType: string;
  businessId: string;
  instanceStatus: InstanceStatus;
  gatewayStatus: GatewayStatus;
  callCount: number;
  successRate: number;
  averageLatency: number;
  /** ISO-8601; left out when the instance was never reported. */
  lastActiveTime?: string;
}
