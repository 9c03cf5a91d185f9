import { z } from 'zod';
import { ApiTypeSchema, InstanceStatusSchema } from './enums';
import { ERROR_MESSAGE_MAX, MAX_COST_PER_EVENT, MAX_TOKENS_PER_EVENT, type Usage } from './call-result-event';
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

/**
 * The usage the gateway reads from a report's `usageMetrics`, and what is wrong with it. Understood keys:
 * `promptTokens`, `completionTokens`, `totalTokens` (integers ≥ 0; the total defaults to prompt + completion) and
 * `cost` or `totalCost` (a number ≥ 0). A value above {@link MAX_TOKENS_PER_EVENT} / {@link MAX_COST_PER_EVENT} is
 * a problem (the report is refused), so no sum downstream can overflow; any other value — a string, a negative or
 * fractional count, a key the gateway does not know — is ignored as the seed ignored it.
 */
export function readUsageMetrics(m: Record<string, unknown> | undefined): { usage?: Usage; problems: { path: string[]; message: string }[] } {
  const problems: { path: string[]; message: string }[] = [];
  if (!m) return { problems };
  const tooMany = `must be at most ${MAX_TOKENS_PER_EVENT} tokens per report`;
  const int = (key: string): number | undefined => {
    const v = m[key];
    if (typeof v !== 'number' || !Number.isInteger(v) || v < 0) return undefined;
    if (v > MAX_TOKENS_PER_EVENT) {
      problems.push({ path: [key], message: tooMany });
      return undefined;
    }
    return v;
  };
  const usage: Usage = {};
  const pt = int('promptTokens');
  const ct = int('completionTokens');
  const problemsBefore = problems.length;
  let tt = int('totalTokens');
  if (tt === undefined && problems.length === problemsBefore && (pt !== undefined || ct !== undefined)) {
    tt = (pt ?? 0) + (ct ?? 0);
    if (tt > MAX_TOKENS_PER_EVENT) {
      problems.push({ path: ['totalTokens'], message: `promptTokens + completionTokens (the total when totalTokens is not sent) ${tooMany}` });
      tt = undefined;
    }
  }
  const costKey = m['cost'] !== undefined && m['cost'] !== null ? 'cost' : 'totalCost';
  const cost = m[costKey];
  if (pt !== undefined) usage.promptTokens = pt;
  if (ct !== undefined) usage.completionTokens = ct;
  if (tt !== undefined) usage.totalTokens = tt;
  if (typeof cost === 'number' && Number.isFinite(cost) && cost >= 0) {
    if (cost > MAX_COST_PER_EVENT) problems.push({ path: [costKey], message: `must be at most ${MAX_COST_PER_EVENT} per report` });
    else usage.cost = cost;
  }
  return Object.keys(usage).length ? { usage, problems } : { problems };
}

/** Usage keys the gateway understands and sums (bounded, see {@link readUsageMetrics}); other keys are accepted and ignored. */
export const UsageMetricsSchema = z.record(z.string(), z.unknown()).superRefine((m, ctx) => {
  for (const p of readUsageMetrics(m).problems) ctx.addIssue({ code: 'custom', path: p.path, message: p.message });
});

export const ReportResultRequestSchema = z.object({
  instanceId: notBlank('instanceId', 64),
  businessId: notBlank('businessId', 128),
  success: z.boolean({ error: 'success is required (boolean)' }),
  latencyMs: z.number({ error: 'latencyMs is required (integer ms)' }).int().nonnegative().max(2_147_483_647),
  /**
   * When the call happened (epoch ms; default: when the report arrived). Must lie within the raw retention
   * before now and at most 5 minutes ahead (`callTimestampProblem`): the route checks that against its clock.
   */
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
