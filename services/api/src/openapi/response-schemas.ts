import { z } from 'zod';
import {
  API_KEY_STATUSES,
  ApiTypeSchema,
  ERROR_CODES,
  GATEWAY_STATUSES,
  INSTANCE_STATUSES,
  InstanceStatusSchema,
  PROJECT_STATUSES,
  ProjectStatusSchema,
  ApiKeyStatusSchema,
  type ApiInstanceDto,
  type ApiInstanceMonitoringDto,
  type ApiKeyDto,
  type InstanceObservationDto,
  type MonitoringOverviewDto,
  type ObservationOverviewDto,
  type ProjectDto,
  type ProjectSimpleDto,
  type ProjectStatisticsDto,
  type ProtectedHealthDto,
  type SelectedInstanceDto,
  type StatusStatisticsDto,
  type TimeSeriesDto,
} from '@apg/contracts';
import type { DependencyReport } from '../health/health-routes';

/**
 * zod descriptions of what the api *sends*, used only to document it. The DTOs themselves are
 * TypeScript interfaces in @apg/contracts; each schema below is pinned to its interface at compile
 * time (same keys, and every documented type fits the interface), so a field added to or removed
 * from a DTO breaks the build here instead of silently leaving the document stale.
 */

type Keys<T> = keyof T & string;
/** true when both have exactly the same keys (optional ones included). */
type SameKeys<A, B> = [Keys<A>] extends [Keys<B>] ? ([Keys<B>] extends [Keys<A>] ? true : false) : false;
/** The documented type must be assignable to the real one (it may only be narrower, e.g. an enum for a string). */
type Documents<S, I> = SameKeys<S, I> extends true ? ([S] extends [I] ? true : false) : false;
// A compile-time assertion: `pin<Documents<..>>()` only type-checks when its argument is `true`.
const pin = <_T extends true>(): void => undefined;

const isoDateTime = z.string().describe('ISO-8601 date-time with offset, e.g. 2025-06-22T10:19:29.123Z');
const id32 = z.string().regex(/^[0-9a-f]{32}$/).describe('32 lowercase hex characters');
const jsonObject = z.record(z.string(), z.unknown());

export const ErrorCodeSchema = z.enum(Object.keys(ERROR_CODES) as [keyof typeof ERROR_CODES, ...(keyof typeof ERROR_CODES)[]]);

export const FieldErrorSchema = z.object({
  field: z.string().describe('dotted path of the offending field, `(body)` for the body as a whole'),
  message: z.string(),
});

/** The seed's `Result<T>` envelope: `data` is left out when there is none. */
export const EnvelopeSchema = z
  .object({
    code: z.number().int().describe('equals the HTTP status (200 on success)'),
    message: z.string(),
    data: z.unknown().optional().describe('the payload; left out when there is none (never null)'),
    timestamp: z.number().int().describe('epoch milliseconds when the response was built'),
  })
  .describe('The response envelope of every `/api` route.');

export const ErrorBodySchema = z
  .object({
    code: z.number().int().min(400).max(599).describe('equals the HTTP status'),
    message: z.string().describe('human-readable; not stable, do not parse'),
    data: z.unknown().optional().describe('never sent on errors (kept for envelope compatibility)'),
    timestamp: z.number().int(),
    errorCode: ErrorCodeSchema.describe('stable, machine-readable error class'),
    errors: z.array(FieldErrorSchema).optional().describe('validation errors: one entry per offending field'),
  })
  .describe('The envelope of every error: HTTP status == `code`, plus a stable `errorCode`.');

export const ApiInstanceSchema = z.object({
  id: id32,
  projectId: id32,
  projectName: z.string().optional().describe('only on the admin listings across projects'),
  userId: z.string().optional(),
  apiIdentifier: z.string(),
  apiType: ApiTypeSchema,
  businessId: z.string().describe('exactly as registered, byte for byte'),
  routingParams: jsonObject,
  status: InstanceStatusSchema,
  metadata: jsonObject,
});
pin<Documents<z.infer<typeof ApiInstanceSchema>, ApiInstanceDto>>();

export const SelectedInstanceSchema = ApiInstanceSchema.extend({
  selectionId: id32.describe('echo it in report-result to settle the selection lease'),
  breakerState: z.string(),
  fallbackUsed: z.boolean(),
  servedApiIdentifier: z.string().describe('the identifier (primary or fallback entry) that matched'),
  panic: z.boolean().optional().describe('present (true) when panic mode served an unhealthy instance'),
  explain: z.unknown().optional().describe('the ranking, when the request asked for `explain`'),
});
pin<Documents<Omit<z.infer<typeof SelectedInstanceSchema>, 'panic' | 'explain'>, SelectedInstanceDto>>();

export const ProjectSchema = z.object({
  id: id32,
  name: z.string(),
  description: z.string().optional(),
  apiKeyPrefix: z.string().optional().describe('the first characters of the linked key; the plaintext is never returned'),
  status: ProjectStatusSchema,
  defaultStrategy: z.string().optional(),
  panicMode: z.boolean(),
  quotaOverrides: z.record(z.string(), z.number().int()).optional().describe('quotas an admin set for this project; the others are the configured defaults'),
  createdAt: isoDateTime,
  updatedAt: isoDateTime,
});
pin<Documents<z.infer<typeof ProjectSchema>, ProjectDto>>();

export const ProjectSimpleSchema = z.object({ id: id32, name: z.string() });
pin<Documents<z.infer<typeof ProjectSimpleSchema>, ProjectSimpleDto>>();

const counts = <const T extends readonly [string, ...string[]]>(values: T) =>
  z.object({
    total: z.number().int(),
    byStatus: z.object(Object.fromEntries(values.map((v) => [v, z.number().int()])) as { [K in T[number]]: z.ZodNumber }),
  });

export const ProjectStatisticsSchema = z.object({
  projects: counts(PROJECT_STATUSES),
  instances: counts(INSTANCE_STATUSES),
  apiKeys: counts(API_KEY_STATUSES),
});
pin<Documents<z.infer<typeof ProjectStatisticsSchema>, ProjectStatisticsDto>>();

export const ApiKeySchema = z.object({
  id: id32,
  apiKeyValue: z.string().optional().describe('the plaintext key: only in the creation response, never again'),
  apiKeyPrefix: z.string(),
  description: z.string().optional(),
  status: ApiKeyStatusSchema,
  expiresAt: isoDateTime.optional(),
  lastUsedAt: isoDateTime.optional(),
  createdAt: isoDateTime,
  updatedAt: isoDateTime,
});
pin<Documents<z.infer<typeof ApiKeySchema>, ApiKeyDto>>();

const GatewayStatusSchema = z.enum(GATEWAY_STATUSES);

export const MonitoringOverviewSchema = z.object({
  totalInstances: z.number().int(),
  healthyInstances: z.number().int(),
  activeInstances: z.number().int(),
  averageSuccessRate: z.number().describe('percent, 0..100, weighted by calls'),
  averageLatency: z.number().describe('milliseconds, weighted by calls'),
  totalCalls: z.number().int(),
});
pin<Documents<z.infer<typeof MonitoringOverviewSchema>, MonitoringOverviewDto>>();

export const InstanceMonitoringSchema = z.object({
  instanceId: id32,
  projectId: id32,
  projectName: z.string(),
  businessId: z.string(),
  apiIdentifier: z.string(),
  apiType: z.string(),
  status: InstanceStatusSchema,
  gatewayStatus: GatewayStatusSchema,
  successRate: z.number(),
  failureRate: z.number(),
  averageLatency: z.number(),
  concurrency: z.number().int(),
  recentCalls: z.number().int(),
  successCount: z.number().int(),
  failureCount: z.number().int(),
  lastReportedAt: isoDateTime.optional(),
  priority: z.number(),
  costPerUnit: z.number(),
  weight: z.number(),
});
pin<Documents<z.infer<typeof InstanceMonitoringSchema>, ApiInstanceMonitoringDto>>();

const point = z.object({ time: isoDateTime, value: z.number() });
export const TimeSeriesSchema = z.object({ callVolume: z.array(point), successRate: z.array(point), latency: z.array(point) });
pin<Documents<z.infer<typeof TimeSeriesSchema>, TimeSeriesDto>>();

export const StatusStatisticsSchema = z.object({
  totalInstances: z.number().int(),
  byGatewayStatus: z.object(Object.fromEntries(GATEWAY_STATUSES.map((s) => [s, z.number().int()])) as Record<(typeof GATEWAY_STATUSES)[number], z.ZodNumber>),
  byInstanceStatus: z.object(Object.fromEntries(INSTANCE_STATUSES.map((s) => [s, z.number().int()])) as Record<(typeof INSTANCE_STATUSES)[number], z.ZodNumber>),
});
pin<Documents<z.infer<typeof StatusStatisticsSchema>, StatusStatisticsDto>>();

export const ObservationOverviewSchema = z.object({
  totalInstances: z.number().int(),
  healthyInstances: z.number().int(),
  activeInstances: z.number().int(),
  faultyInstances: z.number().int(),
  circuitBreakerInstances: z.number().int(),
  degradedInstances: z.number().int(),
  totalCallCount: z.number().int(),
  averageSuccessRate: z.number(),
  averageLatency: z.number(),
});
pin<Documents<z.infer<typeof ObservationOverviewSchema>, ObservationOverviewDto>>();

export const InstanceObservationSchema = z.object({
  instanceId: id32,
  projectId: id32,
  projectName: z.string(),
  apiIdentifier: z.string(),
  apiType: z.string(),
  businessId: z.string(),
  instanceStatus: InstanceStatusSchema,
  gatewayStatus: GatewayStatusSchema,
  callCount: z.number().int(),
  successRate: z.number(),
  averageLatency: z.number(),
  lastActiveTime: isoDateTime.optional(),
});
pin<Documents<z.infer<typeof InstanceObservationSchema>, InstanceObservationDto>>();

export const ProtectedHealthSchema = z.object({ message: z.string(), timestamp: isoDateTime, authenticated: z.literal(true) });
pin<Documents<z.infer<typeof ProtectedHealthSchema>, ProtectedHealthDto>>();

const up = z.enum(['UP', 'DOWN']);
export const DependencyReportSchema = z.object({
  postgres: z.object({ status: up }),
  redis: z.object({ status: up, breakerSnapshotAgeMs: z.number().nullable(), circuit: z.enum(['CLOSED', 'OPEN']).describe('OPEN: selects do not wait for Redis') }),
  kafka: z.object({
    status: z.enum(['UP', 'DOWN', 'SPOOLING']),
    spool: z.object({ records: z.number().int(), bytes: z.number().int(), maxBytes: z.number().int(), oldestAgeMs: z.number().nullable() }),
  }).describe('DOWN: not connected, reports are spooled locally; SPOOLING: connected while spooled reports wait to be drained'),
  ingestor: z.object({
    status: z.enum(['UP', 'STALLED', 'UNKNOWN']),
    lagMessages: z.number().int().nullable(),
    oldestUnappliedEventAgeMs: z.number().nullable(),
  }).describe('STALLED when its consumer group has left an event waiting longer than PIPELINE_STALL_MS; UNKNOWN when its lag cannot be read from Kafka'),
  aggregator: z.object({
    status: z.enum(['UP', 'DOWN', 'STALLED', 'UNKNOWN']),
    lagMessages: z.number().int().nullable(),
    oldestUnappliedEventAgeMs: z.number().nullable(),
    heartbeatAgeMs: z.number().nullable(),
    partitions: z.number().int().nullable(),
  }).describe('STALLED when its group has left an event waiting longer than PIPELINE_STALL_MS; DOWN when its heartbeat is stale or missing (selects then decide with local breakers)'),
});
pin<Documents<z.infer<typeof DependencyReportSchema>, DependencyReport>>();

export const ReportAcceptedSchema = z.object({
  delivery: z.enum(['KAFKA', 'SPOOLED']).describe('SPOOLED: Kafka could not take it; it is in the api\'s write-ahead spool (fsynced) and will be produced, in order, when Kafka returns'),
});

export const HealthSchema = z.object({
  status: z.enum(['UP', 'DEGRADED']).describe('DEGRADED while a dependency is down; the HTTP status stays 200'),
  service: z.string(),
  version: z.string(),
  timestamp: isoDateTime,
  stalled: z.array(z.string()).describe('names of the dependencies and pipeline stages that are down (e.g. aggregator)'),
  dependencies: DependencyReportSchema,
});

/**
 * Breaker administration answers (`/admin/instances/{id}/breaker|state|transitions`): documented as
 * open objects, because their shapes (health records, window figures) belong to the routing engine,
 * which is still moving; the descriptions name what they hold.
 */
export const BreakerForceResultSchema = z.object({
  instanceId: z.string(),
  mode: z.enum(['FORCED_OPEN', 'FORCED_CLOSED', 'AUTO']),
  breaker: jsonObject.describe('the instance\'s health record after the change (state, since, openUntil, …)'),
});
export const InstanceStateSchema = z
  .object({
    instanceId: z.string(),
    record: jsonObject.describe('the live health record: breaker state, cooldown, published window stats'),
    window: jsonObject.nullable().describe('live window figures as the aggregator last saved them; null if never seen'),
    config: jsonObject.describe('the effective breaker configuration (defaults + routingParams.breaker)'),
    ignoredOverrides: z.array(z.string()),
    transitions: z.array(jsonObject),
  })
  .catchall(z.unknown());
export const BreakerTransitionSchema = jsonObject.describe('one audited breaker transition (from, to, reason, at, actor)');

/** The operational endpoints outside `/api`, which answer without the envelope. */
export const LivenessSchema = z.object({ status: z.literal('UP') });
export const ReadinessSchema = z.object({ status: z.enum(['UP', 'DOWN']), dependencies: DependencyReportSchema });
