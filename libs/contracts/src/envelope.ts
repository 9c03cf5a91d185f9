/**
 * The seed's response envelope `{code, message, data, timestamp}`; `data` is left out when absent,
 * as the Java service's Jackson NON_NULL setting does. Errors add a stable `errorCode`.
 */
export interface Envelope<T> {
  code: number;
  message: string;
  data?: T;
  timestamp: number;
  errorCode?: string;
  errors?: FieldError[];
}

export interface FieldError {
  field: string;
  message: string;
}

export function ok<T>(message: string, data?: T): Envelope<T> {
  const body: Envelope<T> = { code: 200, message, timestamp: Date.now() };
  if (data !== undefined && data !== null) body.data = data;
  return body;
}

/** Stable machine-readable error codes; HTTP status always equals the envelope's `code`. */
export const ERROR_CODES = {
  VALIDATION_FAILED: 400,
  MALFORMED_JSON: 400,
  UNAUTHORIZED: 401,
  FORBIDDEN: 403,
  NOT_FOUND: 404,
  METHOD_NOT_ALLOWED: 405,
  CONFLICT: 409,
  AFFINITY_UNAVAILABLE: 409,
  PAYLOAD_TOO_LARGE: 413,
  /** A per-project quota (instances, JSON size, batch items) would be exceeded; see README "Quotas". */
  QUOTA_EXCEEDED: 422,
  UNSUPPORTED_MEDIA_TYPE: 415,
  RATE_LIMITED: 429,
  NO_AVAILABLE_INSTANCE: 404,
  NO_HEALTHY_INSTANCE: 503,
  FALLBACK_EXHAUSTED: 503,
  DEPENDENCY_UNAVAILABLE: 503,
  /** Kafka cannot take reports and the api's local report spool is full (REPORT_SPOOL_MAX_BYTES): retry later. */
  REPORT_SPOOL_FULL: 503,
  INTERNAL_ERROR: 500,
} as const;
export type ErrorCode = keyof typeof ERROR_CODES;
