import { z } from 'zod';

/** Enum names exactly as the Java service puts them on the wire (case-sensitive). */
export const API_TYPES = [
  'MODEL',
  'PAYMENT_GATEWAY',
  'NOTIFICATION_SERVICE',
  'SMS_SERVICE',
  'EMAIL_SERVICE',
  'FILE_STORAGE',
  'IMAGE_PROCESSING',
  'OTHER',
] as const;
export const ApiTypeSchema = z.enum(API_TYPES);
export type ApiType = z.infer<typeof ApiTypeSchema>;

export const INSTANCE_STATUSES = ['ACTIVE', 'INACTIVE', 'DEPRECATED'] as const;
export const InstanceStatusSchema = z.enum(INSTANCE_STATUSES);
export type InstanceStatus = z.infer<typeof InstanceStatusSchema>;

export const API_KEY_STATUSES = ['ACTIVE', 'REVOKED', 'EXPIRED', 'UNUSED'] as const;
export const ApiKeyStatusSchema = z.enum(API_KEY_STATUSES);
export type ApiKeyStatus = z.infer<typeof ApiKeyStatusSchema>;

export const PROJECT_STATUSES = ['ACTIVE', 'INACTIVE'] as const;
export const ProjectStatusSchema = z.enum(PROJECT_STATUSES);
export type ProjectStatus = z.infer<typeof ProjectStatusSchema>;

/** Normalised error classes a report may carry (architecture §7); unknown strings count as plain failures. */
export const ERROR_TYPES = [
  'RATE_LIMITED',
  'QUOTA_EXHAUSTED',
  'AUTH_INVALID',
  'TIMEOUT',
  'UPSTREAM_5XX',
  'CLIENT_4XX',
  'NETWORK',
  'UNKNOWN',
] as const;
export type ErrorType = (typeof ERROR_TYPES)[number];
