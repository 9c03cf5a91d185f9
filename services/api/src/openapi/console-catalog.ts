import { z } from 'zod';
import { AdminProjectQuerySchema, EntityIdSchema, InstanceUpdateRequestSchema, SelectInstanceRequestSchema } from '@apg/contracts';
import { ConsoleLatencyQuerySchema, ConsoleSeriesQuerySchema } from '../console/console-admin-routes';
import { ConsoleLoginRequestSchema, ConsoleSessionDtoSchema } from '../console/console-routes';
import { AdminInstanceCreateRequestSchema, AdminInstanceStatusRequestSchema } from '../instances/admin-instance-writes';
import { AdminProjectCreateRequestSchema } from '../projects/admin-project-console';
import * as R from './response-schemas';
import type { RouteSpec } from './route-catalog';

/** The routes the admin console added (README "Admin console"), catalogued like every other. */

const idParam = (what: string) => z.object({ id: EntityIdSchema.describe(`the ${what}'s id (32 lowercase hex); any other value answers 404`) });
const nullableNumber = z.number().nullable();
const stage = z.object({ status: z.enum(['UP', 'STALLED', 'UNKNOWN']), lagMessages: nullableNumber, oldestUnappliedEventAgeMs: nullableNumber });

const ConsoleOverviewSchema = z.object({
  statistics: R.ProjectStatisticsSchema,
  breakerStates: z.record(z.string(), z.number()).describe('registered instances by live breaker state'),
  recent: z.object({
    minutes: z.number(), calls: z.number(), callsPerMinute: z.number(),
    successRate: nullableNumber, p95LatencyMs: nullableNumber, avgLatencyMs: nullableNumber,
  }),
  pipeline: z.object({ ingestor: stage, aggregator: stage.extend({ heartbeatAgeMs: nullableNumber }) }),
  dlq: z.object({ topic: z.string(), total: nullableNumber, perMinute: nullableNumber }),
  generatedAt: z.string(),
});

const ConsoleSeriesSchema = z.object({
  timeRange: z.string(),
  bucketMs: z.number(),
  points: z.array(z.object({ time: z.string(), calls: z.number(), successRate: nullableNumber, avgLatencyMs: nullableNumber, p95LatencyMs: nullableNumber })),
});

export const CONSOLE_ROUTES: RouteSpec[] = [
  {
    method: 'post', path: '/api/console/session', auth: 'none', tag: 'admin: console',
    summary: 'Console login: the admin credential for an HttpOnly session cookie (throttled per address)',
    body: ConsoleLoginRequestSchema,
    data: { description: 'the session (the cookie is in Set-Cookie)', schema: ConsoleSessionDtoSchema },
    errors: ['UNAUTHORIZED', 'FORBIDDEN', 'RATE_LIMITED', 'DEPENDENCY_UNAVAILABLE'],
  },
  {
    method: 'get', path: '/api/console/session', auth: 'none', tag: 'admin: console',
    summary: 'Is this browser\'s console cookie a live session?',
    data: { description: '`authenticated` and, when true, when the session ends', schema: ConsoleSessionDtoSchema },
    errors: ['DEPENDENCY_UNAVAILABLE'],
  },
  {
    method: 'delete', path: '/api/console/session', auth: 'none', tag: 'admin: console',
    summary: 'Console logout: ends the session everywhere and clears the cookie',
    data: { description: 'nothing' },
    errors: ['FORBIDDEN', 'DEPENDENCY_UNAVAILABLE'],
  },
  {
    method: 'get', path: '/api/admin/console/overview', auth: 'admin', tag: 'admin: console',
    summary: 'Console overview: counts, breaker states, recent calls/min, success rate and p95, pipeline and DLQ',
    data: { description: 'the overview figures', schema: ConsoleOverviewSchema },
  },
  {
    method: 'get', path: '/api/admin/console/series', auth: 'admin', tag: 'admin: console',
    summary: 'Calls, success rate, average and p95 latency over 1h / 6h / 24h / 7d (all, a project or an instance)',
    query: ConsoleSeriesQuerySchema,
    data: { description: 'one point per bucket, empty buckets included', schema: ConsoleSeriesSchema },
  },
  {
    method: 'get', path: '/api/admin/console/breakers', auth: 'admin', tag: 'admin: console',
    summary: 'Live breaker state of every instance of a project',
    query: AdminProjectQuerySchema,
    data: {
      description: 'one entry per instance',
      schema: z.array(z.object({ instanceId: z.string(), state: z.string(), since: z.number(), reason: z.string() })),
    },
  },
  {
    method: 'get', path: '/api/admin/console/instances/{id}/latency', auth: 'admin', tag: 'admin: console',
    summary: 'Latency p50 / p95 / p99 of an instance over its last minutes (1 – 60, default 5)',
    params: idParam('instance'),
    query: ConsoleLatencyQuerySchema,
    data: {
      description: 'calls and percentiles from the rollup histograms',
      schema: z.object({ minutes: z.number(), calls: z.number(), p50LatencyMs: nullableNumber, p95LatencyMs: nullableNumber, p99LatencyMs: nullableNumber }),
    },
    errors: ['NOT_FOUND'],
  },
  {
    method: 'get', path: '/api/admin/console/breaker-events', auth: 'admin', tag: 'admin: console',
    summary: 'Live breaker state changes (Server-Sent Events with Accept: text/event-stream; else a JSON status)',
    description: 'With `Accept: text/event-stream`: `event: breaker` frames `{instanceId, state, since, reason}` as the aggregator announces changes.',
    data: { description: 'without the event-stream Accept: how many streams are open', schema: z.object({ streams: z.number(), hint: z.string() }) },
    errors: ['RATE_LIMITED'],
  },
  {
    method: 'post', path: '/api/admin/projects', auth: 'admin', tag: 'admin: projects',
    summary: 'Create a project with a new API key (the key\'s plaintext only in this answer)',
    body: AdminProjectCreateRequestSchema,
    data: { description: 'the project and its key', schema: z.object({ project: R.ProjectSchema, apiKey: R.ApiKeySchema }) },
    errors: ['UNAUTHORIZED'],
  },
  {
    method: 'post', path: '/api/admin/projects/{projectId}/select', auth: 'admin', tag: 'admin: projects',
    summary: 'Selection playground: a real select for the project, with explain (its lease settled at once)',
    params: z.object({ projectId: EntityIdSchema.describe('the project\'s id (32 lowercase hex); any other value answers 404') }),
    body: SelectInstanceRequestSchema,
    data: { description: 'the chosen instance and `explain`', schema: R.SelectedInstanceSchema },
    errors: ['NOT_FOUND', 'FORBIDDEN', 'RATE_LIMITED', 'AFFINITY_UNAVAILABLE', 'NO_AVAILABLE_INSTANCE', 'NO_HEALTHY_INSTANCE', 'FALLBACK_EXHAUSTED'],
  },
  {
    method: 'post', path: '/api/admin/instances', auth: 'admin', tag: 'admin: instances',
    summary: 'Register an instance in a project (idempotent on apiType + businessId)',
    body: AdminInstanceCreateRequestSchema,
    data: { description: 'the instance', schema: R.ApiInstanceSchema },
    errors: ['NOT_FOUND', 'QUOTA_EXCEEDED'],
  },
  {
    method: 'put', path: '/api/admin/instances/{id}', auth: 'admin', tag: 'admin: instances',
    summary: 'Update an instance (its status is kept)',
    params: idParam('instance'),
    body: InstanceUpdateRequestSchema,
    data: { description: 'the instance', schema: R.ApiInstanceSchema },
    errors: ['NOT_FOUND', 'QUOTA_EXCEEDED'],
  },
  {
    method: 'put', path: '/api/admin/instances/{id}/status', auth: 'admin', tag: 'admin: instances',
    summary: 'Activate, deactivate or deprecate an instance',
    params: idParam('instance'),
    body: AdminInstanceStatusRequestSchema,
    data: { description: 'the instance', schema: R.ApiInstanceSchema },
    errors: ['NOT_FOUND'],
  },
  {
    method: 'delete', path: '/api/admin/instances/{id}', auth: 'admin', tag: 'admin: instances',
    summary: 'Delete an instance and its breaker state',
    params: idParam('instance'),
    data: { description: 'nothing' },
    errors: ['NOT_FOUND'],
  },
];
