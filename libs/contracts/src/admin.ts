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
