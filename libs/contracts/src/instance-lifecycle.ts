import { z } from 'zod';
import { ApiTypeSchema } from './enums';
import { jsonObject, notBlank } from './http';
import { RoutingParamsSchema } from './routing-params';

/**
 * Request schemas of the tenant's instance lifecycle under `/api/instances/**` (update, delete,
 * activate / deactivate / deprecate, batch delete), shared with the OpenAPI generator.
 */

/** Path `/{apiType}/{businessId}`: an unknown apiType is a 400, not a 500 as in the seed. */
export const InstancePathSchema = z.object({
  apiType: ApiTypeSchema,
  businessId: notBlank('businessId', 128),
});
export type InstancePath = z.infer<typeof InstancePathSchema>;

/**
 * `PUT /api/instances/{apiType}/{businessId}`. Only the fields sent are written (null counts as not
 * sent, as with the seed's NOT_NULL update strategy), and the status is never touched (seed fault 16).
 */
export const InstanceUpdateRequestSchema = z.object({
  apiIdentifier: notBlank('apiIdentifier', 128),
  userId: z.string().max(64).nullish(),
  routingParams: RoutingParamsSchema.nullish(),
  metadata: jsonObject.nullish(),
});
export type InstanceUpdateRequest = z.infer<typeof InstanceUpdateRequestSchema>;

/** One `{apiType, businessId}` item of a batch delete. */
export const InstanceKeySchema = z.object({
  apiType: ApiTypeSchema,
  businessId: notBlank('businessId', 128),
});
export type InstanceKey = z.infer<typeof InstanceKeySchema>;

/** `DELETE /api/instances/batch`: a non-empty list, each item validated. */
export const InstanceBatchDeleteRequestSchema = z.object({
  instances: z
    .array(InstanceKeySchema, { error: 'instances is required (array)' })
    .min(1, 'instances must not be empty')
    .max(10_000, 'at most 10000 instances per request'),
});
export type InstanceBatchDeleteRequest = z.infer<typeof InstanceBatchDeleteRequestSchema>;

/** `data` of `GET /api/health/protected`. */
export interface ProtectedHealthDto {
  message: string;
  timestamp: string;
  authenticated: true;
}
