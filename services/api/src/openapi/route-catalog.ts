import { z } from 'zod';
import {
  AdminInstanceBusinessPathSchema,
  AdminInstanceBusinessQuerySchema,
  AdminInstanceStatusPathSchema,
  AdminInstancesWithProjectsQuerySchema,
  AdminInstanceTypePathSchema,
  AdminProjectQuerySchema,
  ApiKeyCreateRequestSchema,
  ApiKeyStatusSchema,
  ApiKeyUpdateRequestSchema,
  ApiKeyValidateQuerySchema,
  EntityIdSchema,
  InstanceBatchCreateRequestSchema,
  InstanceBatchDeleteRequestSchema,
  InstanceCreateRequestSchema,
  InstancePathSchema,
  InstanceUpdateRequestSchema,
  MonitoringInstancesQuerySchema,
  MonitoringProjectQuerySchema,
  ObservationQuerySchema,
  ProjectCreateRequestSchema,
  ProjectSearchQuerySchema,
  ProjectQuotasRequestSchema,
  ProjectSettingsRequestSchema,
  ProjectStatusPathSchema,
  ProjectStatusUpdateRequestSchema,
  ReportResultRequestSchema,
  SelectInstanceRequestSchema,
  TimeSeriesQuerySchema,
  type ErrorCode,
} from '@apg/contracts';
import { BreakerModeRequestSchema } from '../gateway/breaker-admin-routes';
import { CONSOLE_ROUTES } from './console-catalog';
import * as R from './response-schemas';

/**
 * Every route the api mounts, with the zod schemas its handler validates against: the single source of
 * the OpenAPI document. `openapi.int.test.ts` walks the express router and fails when a route exists
 * here but not in the app, or the other way round, so a new route cannot ship undocumented.
 */

export type RouteAuth = 'none' | 'apiKey' | 'admin';
export type RouteMethod = 'get' | 'post' | 'put' | 'delete';

export interface RouteSpec {
  method: RouteMethod;
  /** OpenAPI form, with the `/api` prefix: `/api/instances/{apiType}/{businessId}`. */
  path: string;
  auth: RouteAuth;
  tag: string;
  summary: string;
  description?: string;
  /** Path parameters; every `{name}` of `path` must be a key. */
  params?: z.ZodObject;
  query?: z.ZodObject;
  body?: z.ZodType;
  /** What `data` holds on success; no `schema` = the envelope carries no `data`. */
  data: { description: string; schema?: z.ZodType };
  /** Errors specific to this route; the builder adds the ones every route of its kind can give. */
  errors?: ErrorCode[];
  /** Operational endpoints outside `/api` answer without the envelope. */
  raw?: { contentType: string; schema?: z.ZodType };
}

/** The seed's 32-hex id in a path; anything else names nothing and answers 404 without a query. */
const idPath = <K extends string>(name: K, what: string) =>
  z.object({ [name]: EntityIdSchema.describe(`the ${what}'s id (32 lowercase hex); any other value answers 404`) } as Record<K, typeof EntityIdSchema>);

export const ApiKeyStatusRequestSchema = z.object({ status: ApiKeyStatusSchema });

const STATUS_ACTIONS = [
  { action: 'activate', status: 'ACTIVE', summary: 'Activate an instance (selectable again)' },
  { action: 'deactivate', status: 'INACTIVE', summary: 'Deactivate an instance (out of selection)' },
  { action: 'deprecate', status: 'DEPRECATED', summary: 'Mark an instance deprecated (out of selection)' },
] as const;

const instanceRoutes: RouteSpec[] = [
  {
    method: 'post', path: '/api/instances', auth: 'apiKey', tag: 'instances',
    summary: 'Register one instance (idempotent)',
    description: 'Idempotent on (project of the key, apiType, businessId): registering an existing instance updates its routing params and metadata, keeps its status and answers 200 with message `API实例已存在`.',
    body: InstanceCreateRequestSchema,
    data: { description: 'the instance as stored', schema: R.ApiInstanceSchema },
    errors: ['QUOTA_EXCEEDED'],
  },
  {
    method: 'post', path: '/api/instances/batch', auth: 'apiKey', tag: 'instances',
    summary: 'Register several instances (idempotent, all-or-nothing)',
    description: 'Every item is validated; a duplicate (apiType, businessId) inside the request is a 400 naming its index. Existing instances are updated in place, new ones inserted.',
    body: InstanceBatchCreateRequestSchema,
    data: { description: 'the instances this call created (existing ones are not listed)', schema: z.array(R.ApiInstanceSchema) },
    errors: ['QUOTA_EXCEEDED'],
  },
  {
    method: 'delete', path: '/api/instances/batch', auth: 'apiKey', tag: 'instances',
    summary: 'Delete several instances',
    description: 'AgentX sends this `DELETE` with a JSON body. Keys of other tenants, or unknown ones, delete nothing.',
    body: InstanceBatchDeleteRequestSchema,
    data: { description: 'how many instances were deleted', schema: z.number().int() },
    errors: ['QUOTA_EXCEEDED'],
  },
  {
    method: 'put', path: '/api/instances/{apiType}/{businessId}', auth: 'apiKey', tag: 'instances',
    summary: 'Update an instance (its status is kept)',
    params: InstancePathSchema, body: InstanceUpdateRequestSchema,
    data: { description: 'the instance after the update', schema: R.ApiInstanceSchema },
    errors: ['NOT_FOUND', 'QUOTA_EXCEEDED'],
  },
  {
    method: 'delete', path: '/api/instances/{apiType}/{businessId}', auth: 'apiKey', tag: 'instances',
    summary: 'Delete an instance',
    params: InstancePathSchema,
    data: { description: 'none' },
    errors: ['NOT_FOUND'],
  },
  ...STATUS_ACTIONS.map(({ action, status, summary }): RouteSpec => ({
    method: 'post', path: `/api/instances/{apiType}/{businessId}/${action}`, auth: 'apiKey', tag: 'instances',
    summary,
    description: `Sets the status to ${status}. No body is read: AgentX sends \`Content-Type: application/json\` with \`Content-Length: 0\`.`,
    params: InstancePathSchema,
    data: { description: 'the instance after the change', schema: R.ApiInstanceSchema },
    errors: ['NOT_FOUND'],
  })),
];

const gatewayRoutes: RouteSpec[] = [
  {
    method: 'post', path: '/api/gateway/select-instance', auth: 'apiKey', tag: 'gateway',
    summary: 'Choose an instance for a call',
    description: 'Candidates: ACTIVE instances of the key\'s project with this apiType whose apiIdentifier or businessId equals the identifier (then each fallbackChain entry in order), and whose userId equals `userId` when one is sent.',
    body: SelectInstanceRequestSchema,
    data: { description: 'the chosen instance, plus the selection lease and breaker state', schema: R.SelectedInstanceSchema },
    errors: ['NO_AVAILABLE_INSTANCE', 'NO_HEALTHY_INSTANCE', 'FALLBACK_EXHAUSTED', 'AFFINITY_UNAVAILABLE', 'RATE_LIMITED'],
  },
  {
    method: 'post', path: '/api/gateway/report-result', auth: 'apiKey', tag: 'gateway',
    summary: 'Report the outcome of a call',
    description: 'Accepted only for an instance of the key\'s project (another tenant\'s id answers 404 with no side effect). A report without `instanceId` is a 400. When Kafka cannot take it, it is spooled locally and answered 200 (`delivery` SPOOLED); 503 `REPORT_SPOOL_FULL` only when the spool is full.',
    body: ReportResultRequestSchema,
    data: { description: 'where the report went', schema: R.ReportAcceptedSchema },
    errors: ['NOT_FOUND', 'REPORT_SPOOL_FULL', 'DEPENDENCY_UNAVAILABLE'],
  },
];

const publicRoutes: RouteSpec[] = [
  {
    method: 'get', path: '/api/health', auth: 'none', tag: 'health',
    summary: 'Liveness and dependency states',
    description: 'Always 200 while the process serves; `status` is DEGRADED when a dependency is down.',
    data: { description: 'service status and per-dependency states', schema: R.HealthSchema },
  },
  {
    method: 'get', path: '/api/health/protected', auth: 'apiKey', tag: 'health',
    summary: 'Check an API key',
    description: 'A 200 means the key and its project are usable.',
    data: { description: 'a confirmation', schema: R.ProtectedHealthSchema },
  },
  {
    method: 'post', path: '/api/projects', auth: 'none', tag: 'projects',
    summary: 'Link an API key to a project (idempotent)',
    description: 'Public like the seed\'s, but knowing the key is the credential: the key in the body must exist and be usable. A key already linked returns its existing project (name and description are then ignored). An `api-key` header is accepted and not required. An unknown, revoked or expired key gets the same 401 `invalid API key` (no status oracle); each client address has a small request budget (429 + Retry-After beyond it).',
    body: ProjectCreateRequestSchema,
    data: { description: 'the project the key is linked to', schema: R.ProjectSchema },
    errors: ['UNAUTHORIZED'],
  },
  {
    method: 'get', path: '/api/openapi.json', auth: 'none', tag: 'meta',
    summary: 'This OpenAPI document',
    data: { description: 'the OpenAPI 3.1 document itself (not enveloped)' },
    raw: { contentType: 'application/json' },
  },
];

const apiKeyRoutes: RouteSpec[] = [
  {
    method: 'post', path: '/api/admin/apikeys', auth: 'admin', tag: 'admin: api keys',
    summary: 'Generate an API key',
    description: '`expiresAt` is the seed\'s `yyyy-MM-dd HH:mm:ss` (read as UTC) or ISO-8601.',
    body: ApiKeyCreateRequestSchema,
    data: { description: 'the new key, with its plaintext `apiKeyValue` shown this once', schema: R.ApiKeySchema },
  },
  {
    method: 'get', path: '/api/admin/apikeys', auth: 'admin', tag: 'admin: api keys',
    summary: 'List API keys (newest first)',
    data: { description: 'every key, prefix only', schema: z.array(R.ApiKeySchema) },
  },
  {
    method: 'get', path: '/api/admin/apikeys/validate', auth: 'admin', tag: 'admin: api keys',
    summary: 'Is a key usable?',
    query: ApiKeyValidateQuerySchema,
    data: { description: 'true when the key exists, is ACTIVE or UNUSED and has not expired', schema: z.boolean() },
  },
  {
    method: 'get', path: '/api/admin/apikeys/{id}', auth: 'admin', tag: 'admin: api keys',
    summary: 'One API key',
    params: idPath('id', 'API key'),
    data: { description: 'the key, prefix only', schema: R.ApiKeySchema },
    errors: ['NOT_FOUND'],
  },
  {
    method: 'put', path: '/api/admin/apikeys/{id}', auth: 'admin', tag: 'admin: api keys',
    summary: 'Change a key\'s description and/or expiry',
    params: idPath('id', 'API key'), body: ApiKeyUpdateRequestSchema,
    data: { description: 'the key after the change', schema: R.ApiKeySchema },
    errors: ['NOT_FOUND'],
  },
  {
    method: 'put', path: '/api/admin/apikeys/{id}/status', auth: 'admin', tag: 'admin: api keys',
    summary: 'Change a key\'s status (REVOKED/EXPIRED stop it on every replica within 1 s)',
    params: idPath('id', 'API key'), body: ApiKeyStatusRequestSchema,
    data: { description: 'the key after the change', schema: R.ApiKeySchema },
    errors: ['NOT_FOUND'],
  },
  {
    method: 'delete', path: '/api/admin/apikeys/{id}', auth: 'admin', tag: 'admin: api keys',
    summary: 'Delete a key',
    params: idPath('id', 'API key'),
    data: { description: 'none' },
    errors: ['NOT_FOUND'],
  },
];

const adminProjectRoutes: RouteSpec[] = [
  {
    method: 'get', path: '/api/admin/projects', auth: 'admin', tag: 'admin: projects',
    summary: 'List projects (newest first)',
    data: { description: 'every project', schema: z.array(R.ProjectSchema) },
  },
  {
    method: 'get', path: '/api/admin/projects/search', auth: 'admin', tag: 'admin: projects',
    summary: 'Search projects by name',
    query: ProjectSearchQuerySchema,
    data: { description: 'projects whose name contains `projectName` (case-insensitive)', schema: z.array(R.ProjectSchema) },
  },
  {
    method: 'get', path: '/api/admin/projects/statistics', auth: 'admin', tag: 'admin: projects',
    summary: 'Counts of projects, instances and keys per status',
    data: { description: 'counts per status, zeros included', schema: R.ProjectStatisticsSchema },
  },
  {
    method: 'get', path: '/api/admin/projects/simple', auth: 'admin', tag: 'admin: projects',
    summary: 'Project ids and names',
    data: { description: '`{id, name}` of every project', schema: z.array(R.ProjectSimpleSchema) },
  },
  {
    method: 'get', path: '/api/admin/projects/status/{status}', auth: 'admin', tag: 'admin: projects',
    summary: 'Projects with a status',
    params: ProjectStatusPathSchema,
    data: { description: 'the projects with this status', schema: z.array(R.ProjectSchema) },
  },
  {
    method: 'get', path: '/api/admin/projects/{projectId}', auth: 'admin', tag: 'admin: projects',
    summary: 'One project',
    params: idPath('projectId', 'project'),
    data: { description: 'the project', schema: R.ProjectSchema },
    errors: ['NOT_FOUND'],
  },
  {
    method: 'get', path: '/api/admin/projects/{projectId}/keys', auth: 'admin', tag: 'admin: projects',
    summary: 'Every key that unlocks the project (its first key and those issued for it), prefix only',
    params: idPath('projectId', 'project'),
    data: { description: 'the project\'s keys, newest first', schema: z.array(R.ApiKeySchema) },
    errors: ['NOT_FOUND'],
  },
  {
    method: 'post', path: '/api/admin/projects/{projectId}/keys', auth: 'admin', tag: 'admin: projects',
    summary: 'Issue another ACTIVE key for the project (key rotation)',
    description: 'Every active key of a project selects, reports and signs Kafka events for it. Rotate by issuing a key, moving clients to it, then revoking the old one.',
    params: idPath('projectId', 'project'), body: ApiKeyCreateRequestSchema,
    data: { description: 'the new key, with its plaintext `apiKeyValue` shown this once', schema: R.ApiKeySchema },
    errors: ['NOT_FOUND', 'VALIDATION_FAILED'],
  },
  {
    method: 'put', path: '/api/admin/projects/{projectId}/status', auth: 'admin', tag: 'admin: projects',
    summary: 'Activate or deactivate a project (INACTIVE answers 403 to its key at once)',
    params: idPath('projectId', 'project'), body: ProjectStatusUpdateRequestSchema,
    data: { description: 'the project after the change', schema: R.ProjectSchema },
    errors: ['NOT_FOUND'],
  },
  {
    method: 'put', path: '/api/admin/projects/{projectId}/settings', auth: 'admin', tag: 'admin: projects',
    summary: 'Change a project\'s routing settings',
    description: '`defaultStrategy` (case-insensitive strategy name, null clears it) and/or `panicMode`.',
    params: idPath('projectId', 'project'), body: ProjectSettingsRequestSchema,
    data: { description: 'the project after the change', schema: R.ProjectSchema },
    errors: ['NOT_FOUND'],
  },
  {
    method: 'put', path: '/api/admin/projects/{projectId}/quotas', auth: 'admin', tag: 'admin: projects',
    summary: 'Override a project\'s quotas',
    description: 'Any of the quota fields; `null` removes an override (the configured default applies again). Every replica applies the change at once.',
    params: idPath('projectId', 'project'), body: ProjectQuotasRequestSchema,
    data: { description: 'the project after the change, with its `quotaOverrides`', schema: R.ProjectSchema },
    errors: ['NOT_FOUND'],
  },
  {
    method: 'delete', path: '/api/admin/projects/{projectId}', auth: 'admin', tag: 'admin: projects',
    summary: 'Delete a project, its instances and breaker states; revoke its keys',
    params: idPath('projectId', 'project'),
    data: { description: 'none' },
    errors: ['NOT_FOUND'],
  },
];

const adminInstanceRoutes: RouteSpec[] = [
  {
    method: 'get', path: '/api/admin/instances', auth: 'admin', tag: 'admin: instances',
    summary: 'Instances of a project (newest first)',
    query: AdminProjectQuerySchema,
    data: { description: 'the project\'s instances', schema: z.array(R.ApiInstanceSchema) },
  },
  {
    method: 'get', path: '/api/admin/instances/all', auth: 'admin', tag: 'admin: instances',
    summary: 'Every instance, with its project name',
    data: { description: 'every instance (with `projectName`)', schema: z.array(R.ApiInstanceSchema) },
  },
  {
    method: 'get', path: '/api/admin/instances/with-projects', auth: 'admin', tag: 'admin: instances',
    summary: 'Instances with their project names, filtered',
    query: AdminInstancesWithProjectsQuerySchema,
    data: { description: 'matching instances (with `projectName`)', schema: z.array(R.ApiInstanceSchema) },
  },
  {
    method: 'get', path: '/api/admin/instances/status/{status}', auth: 'admin', tag: 'admin: instances',
    summary: 'Instances with a status, across projects',
    params: AdminInstanceStatusPathSchema,
    data: { description: 'the instances with this status', schema: z.array(R.ApiInstanceSchema) },
  },
  {
    method: 'get', path: '/api/admin/instances/type/{apiType}', auth: 'admin', tag: 'admin: instances',
    summary: 'Instances of a project with an apiType',
    params: AdminInstanceTypePathSchema, query: AdminProjectQuerySchema,
    data: { description: 'the matching instances', schema: z.array(R.ApiInstanceSchema) },
  },
  {
    method: 'get', path: '/api/admin/instances/business/{businessId}', auth: 'admin', tag: 'admin: instances',
    summary: 'The instance of a project with a businessId',
    description: 'When the businessId is registered under several apiTypes and no `apiType` is given: 409 naming them.',
    params: AdminInstanceBusinessPathSchema, query: AdminInstanceBusinessQuerySchema,
    data: { description: 'the instance', schema: R.ApiInstanceSchema },
    errors: ['NOT_FOUND', 'CONFLICT'],
  },
  {
    method: 'get', path: '/api/admin/instances/{id}', auth: 'admin', tag: 'admin: instances',
    summary: 'One instance',
    params: idPath('id', 'instance'),
    data: { description: 'the instance', schema: R.ApiInstanceSchema },
    errors: ['NOT_FOUND'],
  },
  {
    method: 'post', path: '/api/admin/instances/{id}/breaker', auth: 'admin', tag: 'admin: breakers',
    summary: 'Force an instance\'s breaker open or closed, or hand it back to AUTO',
    params: idPath('id', 'instance'), body: BreakerModeRequestSchema,
    data: { description: 'the instance id, the mode and the resulting health record', schema: R.BreakerForceResultSchema },
    errors: ['NOT_FOUND'],
  },
  {
    method: 'get', path: '/api/admin/instances/{id}/state', auth: 'admin', tag: 'admin: breakers',
    summary: 'Live routing state of an instance',
    params: idPath('id', 'instance'),
    data: { description: 'health record, live window, effective breaker config and recent transitions', schema: R.InstanceStateSchema },
    errors: ['NOT_FOUND'],
  },
  {
    method: 'get', path: '/api/admin/instances/{id}/transitions', auth: 'admin', tag: 'admin: breakers',
    summary: 'Recent breaker transitions of an instance',
    params: idPath('id', 'instance'),
    data: { description: 'the audited transitions, newest first', schema: z.array(R.BreakerTransitionSchema) },
    errors: ['NOT_FOUND'],
  },
];

const monitoringRoutes: RouteSpec[] = [
  {
    method: 'get', path: '/api/admin/monitoring/overview', auth: 'admin', tag: 'admin: monitoring',
    summary: 'Totals over the recent window',
    query: MonitoringProjectQuerySchema,
    data: { description: 'instance counts, weighted success rate and latency, call total', schema: R.MonitoringOverviewSchema },
  },
  {
    method: 'get', path: '/api/admin/monitoring/instances', auth: 'admin', tag: 'admin: monitoring',
    summary: 'Per-instance figures',
    query: MonitoringInstancesQuerySchema,
    data: { description: 'one entry per instance', schema: z.array(R.InstanceMonitoringSchema) },
  },
  {
    method: 'get', path: '/api/admin/monitoring/timeseries', auth: 'admin', tag: 'admin: monitoring',
    summary: 'Call volume, success rate and latency over time',
    query: TimeSeriesQuerySchema,
    data: { description: 'three series of aligned buckets, labelled with their full date-time', schema: R.TimeSeriesSchema },
  },
  {
    method: 'post', path: '/api/admin/monitoring/refresh', auth: 'admin', tag: 'admin: monitoring',
    summary: 'Reload this replica\'s breaker cache from Redis now',
    query: MonitoringProjectQuerySchema,
    data: { description: 'when the reload happened', schema: z.object({ refreshedAt: z.string() }) },
    errors: ['DEPENDENCY_UNAVAILABLE'],
  },
  {
    method: 'get', path: '/api/admin/monitoring/statistics/status', auth: 'admin', tag: 'admin: monitoring',
    summary: 'Instance counts per gateway status and per instance status',
    query: MonitoringProjectQuerySchema,
    data: { description: 'counts, zeros included', schema: R.StatusStatisticsSchema },
  },
  {
    method: 'get', path: '/api/admin/observation/overview', auth: 'admin', tag: 'admin: observation',
    summary: 'Observation totals over a time window',
    query: ObservationQuerySchema,
    data: { description: 'instance counts per health class, weighted success rate and latency', schema: R.ObservationOverviewSchema },
  },
  {
    method: 'get', path: '/api/admin/observation/instances', auth: 'admin', tag: 'admin: observation',
    summary: 'Per-instance observation over a time window',
    query: ObservationQuerySchema,
    data: { description: 'one entry per instance', schema: z.array(R.InstanceObservationSchema) },
  },
];

const operationalRoutes: RouteSpec[] = [
  {
    method: 'get', path: '/healthz', auth: 'none', tag: 'operations',
    summary: 'Process liveness (no dependency check)',
    data: { description: '`{"status":"UP"}`, not enveloped' },
    raw: { contentType: 'application/json', schema: R.LivenessSchema },
  },
  {
    method: 'get', path: '/readyz', auth: 'none', tag: 'operations',
    summary: 'Readiness: 200 when Postgres and Redis answer, else 503',
    data: { description: 'status and per-dependency states, not enveloped' },
    raw: { contentType: 'application/json', schema: R.ReadinessSchema },
  },
  {
    method: 'get', path: '/metrics', auth: 'none', tag: 'operations',
    summary: 'Prometheus metrics',
    data: { description: 'the Prometheus text exposition format' },
    raw: { contentType: 'text/plain' },
  },
];

export const ROUTE_CATALOG: readonly RouteSpec[] = [
  ...gatewayRoutes,
  ...instanceRoutes,
  ...publicRoutes,
  ...apiKeyRoutes,
  ...adminProjectRoutes,
  ...adminInstanceRoutes,
  ...monitoringRoutes,
  ...CONSOLE_ROUTES,
  ...operationalRoutes,
];
