import { z } from 'zod';
import { ApiTypeSchema, InstanceStatusSchema, ProjectStatusSchema, type ApiKeyStatus, type InstanceStatus, type ProjectStatus } from './enums';
import { notBlank } from './http';

/**
 * Request schemas and response shapes of the admin API (`/api/admin/projects`, `/api/admin/apikeys`,
 * `/api/admin/instances`), shared with the OpenAPI generator. Query values arrive as strings; a
 * repeated parameter (an array) fails validation like any other bad value.
 */

/** The seed's id format: 32 lowercase hex characters. */
export const EntityIdSchema = z.string().regex(/^[0-9a-f]{32}$/, 'must be 32 lowercase hex characters');

const requiredId = (field: string) =>
  z.string({ error: `${field} is required` }).regex(/^[0-9a-f]{32}$/, `${field} must be 32 lowercase hex characters`);

/** An empty query value counts as absent (the seed's behaviour for `with-projects`). */
const blankAsAbsent = <S extends z.ZodType>(schema: S) => z.preprocess((v) => (v === '' ? undefined : v), schema.optional());

// ---- projects ------------------------------------------------------------------------------

/** `GET /api/admin/projects/search?projectName=`: substring, case-insensitive. */
export const ProjectSearchQuerySchema = z.object({
  projectName: notBlank('projectName', 128),
});

/** Path of `GET /api/admin/projects/status/{status}`: an unknown status is a 400 (the seed answered []). */
export const ProjectStatusPathSchema = z.object({ status: ProjectStatusSchema });

/** `PUT /api/admin/projects/{projectId}/status` (new): INACTIVE locks the tenant out at once. */
export const ProjectStatusUpdateRequestSchema = z.object({ status: ProjectStatusSchema });
export type ProjectStatusUpdateRequest = z.infer<typeof ProjectStatusUpdateRequestSchema>;

/** The seed's ProjectDTO without the plaintext key: `apiKeyPrefix` identifies the linked key. */
export interface ProjectDto {
  id: string;
  name: string;
  description?: string;
  apiKeyPrefix?: string;
  status: ProjectStatus;
  /** Routing settings (additive): the strategy used when a select names none, and Envoy-style panic mode. */
  defaultStrategy?: string;
  panicMode: boolean;
  /** Quota overrides set by an admin (additive; absent = the configured defaults apply). */
  quotaOverrides?: Record<string, number>;
  createdAt: string;
  updatedAt: string;
}

/** `PUT /api/admin/projects/{id}/settings`: `defaultStrategy` null clears it (global default applies). */
export const ProjectSettingsRequestSchema = z
  .object({
    defaultStrategy: z.string().max(32).nullable().optional(),
    panicMode: z.boolean().optional(),
  })
  .refine((b) => b.defaultStrategy !== undefined || b.panicMode !== undefined, { message: 'send defaultStrategy and/or panicMode' });

/**
 * Per-project quota overrides (stored on the project, `projects.quota_overrides`, and sent by
 * `PUT /api/admin/projects/{id}/quotas`). A missing field means "the configured default"; in a request,
 * `null` removes the override. The same schema decodes the stored value, so a bad row reads as defaults.
 */
const quota = (max: number, min = 1) => z.number().int().min(min).max(max).nullable().optional();
export const ProjectQuotaOverridesSchema = z
  .object({
    /** Instances registered in the project (all types and statuses). */
    maxInstances: quota(1_000_000),
    /** Bytes of an instance's `metadata` JSON, and separately of its `routingParams` JSON. */
    maxJsonBytes: quota(1_048_576),
    /** Items of one `POST`/`DELETE /api/instances/batch`. */
    maxBatchItems: quota(100_000),
    /** Selects per second across all replicas; 0 = unlimited. */
    selectsPerSecond: quota(1_000_000, 0),
    /** Live affinity bindings; the least recently used are dropped beyond it. */
    maxAffinityBindings: quota(10_000_000),
    /** Open (unreported, unexpired) decision leases; selects beyond it are answered without a lease. */
    maxOpenLeases: quota(10_000_000),
  })
  .strict();
export type ProjectQuotaOverrides = z.infer<typeof ProjectQuotaOverridesSchema>;

/** `PUT /api/admin/projects/{id}/quotas`: at least one field. */
export const ProjectQuotasRequestSchema = ProjectQuotaOverridesSchema.refine((b) => Object.keys(b).length > 0, { message: 'send at least one quota field' });

export interface ProjectSimpleDto {
  id: string;
  name: string;
}

/** A count per status; every enum name is present, zero included. */
export interface StatusCounts<S extends string> {
  total: number;
  byStatus: Record<S, number>;
}

/** `GET /api/admin/projects/statistics` (a stub without data in the seed). */
export interface ProjectStatisticsDto {
  projects: StatusCounts<ProjectStatus>;
  instances: StatusCounts<InstanceStatus>;
  /** Keys past their `expiresAt` count as EXPIRED, whatever their stored status. */
  apiKeys: StatusCounts<ApiKeyStatus>;
}

// ---- API keys ------------------------------------------------------------------------------

/**
 * `PUT /api/admin/apikeys/{id}`: the fields sent are written (null = not sent, so neither can be
 * cleared, as in the seed); at least one is required.
 */
export const ApiKeyUpdateRequestSchema = z
  .object({
    description: z.string().max(2000).nullish(),
    // The seed's `yyyy-MM-dd HH:mm:ss`, or ISO-8601.
    expiresAt: z.string().max(40).nullish(),
  })
  .refine((b) => (b.description ?? undefined) !== undefined || (b.expiresAt ?? undefined) !== undefined, {
    message: 'send description and/or expiresAt',
    path: ['description'],
  });
export type ApiKeyUpdateRequest = z.infer<typeof ApiKeyUpdateRequestSchema>;

/** `GET /api/admin/apikeys/validate?apiKey=` */
export const ApiKeyValidateQuerySchema = z.object({
  apiKey: notBlank('apiKey', 256),
});

/** The seed's ApiKeyDTO; `apiKeyValue` (the plaintext) appears only in the creation response. */
export interface ApiKeyDto {
  id: string;
  apiKeyValue?: string;
  apiKeyPrefix: string;
  description?: string;
  status: ApiKeyStatus;
  expiresAt?: string;
  lastUsedAt?: string;
  createdAt: string;
  updatedAt: string;
}

// ---- instances -----------------------------------------------------------------------------

/** `GET /api/admin/instances?projectId=` and `GET /api/admin/instances/type/{apiType}?projectId=` */
export const AdminProjectQuerySchema = z.object({ projectId: requiredId('projectId') });

/** Path of `GET /api/admin/instances/type/{apiType}`. */
export const AdminInstanceTypePathSchema = z.object({ apiType: ApiTypeSchema });

/** Path of `GET /api/admin/instances/status/{status}`: a bad name is a 400 (the seed answered 500). */
export const AdminInstanceStatusPathSchema = z.object({ status: InstanceStatusSchema });

/** Path of `GET /api/admin/instances/business/{businessId}`. */
export const AdminInstanceBusinessPathSchema = z.object({ businessId: notBlank('businessId', 128) });

/**
 * Query of `GET /api/admin/instances/business/{businessId}`. Without `apiType`, a businessId
 * registered under several types is a 409 naming them (the seed threw TooManyResults → 500).
 */
export const AdminInstanceBusinessQuerySchema = z.object({
  projectId: requiredId('projectId'),
  apiType: blankAsAbsent(ApiTypeSchema),
});

/** `GET /api/admin/instances/with-projects?projectId=&status=`; empty strings count as absent. */
export const AdminInstancesWithProjectsQuerySchema = z.object({
  projectId: blankAsAbsent(EntityIdSchema),
  status: blankAsAbsent(InstanceStatusSchema),
});
