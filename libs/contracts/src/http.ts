import { z } from 'zod';
import { ApiTypeSchema, InstanceStatusSchema } from './enums';
import { ERROR_MESSAGE_MAX } from './call-result-event';
import { RoutingParamsSchema } from './routing-params';

/** Non-blank string (the seed's @NotBlank), trimmed only for the blank check: values go through byte for byte. */
export const notBlank = (field: string, max: number) =>
  z
    .string({ error: `${field} is required` })
    .max(max, `${field} must be at most ${max} characters`)
    .refine((s) => s.trim().length > 0, `${field} must not be blank`);

export const jsonObject = z.record(z.string(), z.unknown());

/** Cuts to `max` UTF-16 units without splitting a surrogate pair (a lone half is invalid JSON for Postgres). */
export function truncateUtf16(s: string, max: number): string {
  const cut = s.slice(0, max);
  const last = cut.charCodeAt(cut.length - 1);
  return last >= 0xd800 && last <= 0xdbff ? cut.slice(0, -1) : cut;
}

export const SelectInstanceRequestSchema = z.object({
  apiIdentifier: notBlank('apiIdentifier', 128),
  apiType: ApiTypeSchema,
  userId: z.string().max(64).optional(),
  affinityKey: z.string().max(256).optional(),
  affinityType: z.string().max(64).optional(),
  fallbackChain: z.array(z.string().max(128)).max(32).optional(),
  excludeInstanceIds: z.array(z.string().max(64)).max(256).optional(),
  strategy: z.string().max(32).optional(),
  affinityStrength: z.enum(['STRICT', 'PREFERRED']).optional(),
  explain: z.boolean().optional(),
});
export type SelectInstanceRequest = z.infer<typeof SelectInstanceRequestSchema>;

/** Usage keys the gateway understands and sums; other numeric keys are accepted and ignored. */
export const UsageMetricsSchema = z.record(z.string(), z.unknown());

export const ReportResultRequestSchema = z.object({
  instanceId: notBlank('instanceId', 64),
  businessId: notBlank('businessId', 128),
  success: z.boolean({ error: 'success is required (boolean)' }),
  latencyMs: z.number({ error: 'latencyMs is required (integer ms)' }).int().nonnegative().max(2_147_483_647),
  callTimestamp: z.number().int().nonnegative().optional(),
  userId: z.string().max(64).optional(),
  selectionId: z.string().max(64).optional(),
  statusCode: z.number().int().min(100).max(599).optional(),
  errorType: z.string().max(32).optional(),
  // AgentX sends raw provider errors (quotes, newlines, Chinese); long ones are cut, not rejected.
  errorMessage: z
    .string()
    .transform((s) => (s.length > ERROR_MESSAGE_MAX ? truncateUtf16(s, ERROR_MESSAGE_MAX) : s))
    .optional(),
  retryAfterMs: z.number().int().nonnegative().optional(),
  usageMetrics: UsageMetricsSchema.optional(),
});
export type ReportResultRequest = z.infer<typeof ReportResultRequestSchema>;

export const InstanceCreateRequestSchema = z.object({
  apiIdentifier: notBlank('apiIdentifier', 128),
  apiType: ApiTypeSchema,
  businessId: notBlank('businessId', 128),
  userId: z.string().max(64).optional(),
  routingParams: RoutingParamsSchema.optional(),
  metadata: jsonObject.optional(),
});
export type InstanceCreateRequest = z.infer<typeof InstanceCreateRequestSchema>;

export const InstanceBatchCreateRequestSchema = z.object({
  instances: z.array(InstanceCreateRequestSchema).max(10_000),
});

export const ProjectCreateRequestSchema = z.object({
  name: notBlank('name', 128),
  description: z.string().max(2000).optional(),
  apiKey: notBlank('apiKey', 256),
});
export type ProjectCreateRequest = z.infer<typeof ProjectCreateRequestSchema>;

export const ApiKeyCreateRequestSchema = z.object({
  description: z.string().max(2000).optional(),
  // The seed takes exactly `yyyy-MM-dd HH:mm:ss`; ISO-8601 is accepted too.
  expiresAt: z.string().max(40).optional(),
});

/** The seed's ApiInstanceDTO; null fields are left out on the wire. */
export interface ApiInstanceDto {
  id: string;
  projectId: string;
  projectName?: string;
  userId?: string;
  apiIdentifier: string;
  apiType: string;
  businessId: string;
  routingParams: Record<string, unknown>;
  status: z.infer<typeof InstanceStatusSchema>;
  metadata: Record<string, unknown>;
}

/** Additive fields of the select response (old clients ignore them). */
export interface SelectedInstanceDto extends ApiInstanceDto {
  selectionId: string;
  breakerState: string;
  fallbackUsed: boolean;
  servedApiIdentifier: string;
}
