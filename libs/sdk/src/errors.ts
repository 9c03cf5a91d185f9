import type { SelectedInstance } from './types';

/** Error codes the SDK adds to the gateway's own (`NO_HEALTHY_INSTANCE`, `UNAUTHORIZED`, …) for failures on the way. */
export type ClientErrorCode = 'GATEWAY_UNREACHABLE' | 'GATEWAY_TIMEOUT' | 'BAD_GATEWAY_RESPONSE' | 'ABORTED';

/**
 * The gateway refused or could not be reached: `status` is its HTTP status (0 when no answer came) and
 * `errorCode` its machine-readable code (`UNAUTHORIZED`, `NOT_FOUND`, `RATE_LIMITED`, `NO_AVAILABLE_INSTANCE`,
 * `NO_HEALTHY_INSTANCE`, `FALLBACK_EXHAUSTED`, `VALIDATION_FAILED`, …) or one of {@link ClientErrorCode}.
 */
export class GatewayError extends Error {
  override readonly name = 'GatewayError';
  constructor(
    readonly status: number,
    readonly errorCode: string,
    message: string,
    readonly details: { retryAfterMs?: number; fields?: { field: string; message: string }[]; cause?: unknown } = {},
  ) {
    super(message, details.cause === undefined ? undefined : { cause: details.cause });
  }

  /** From a `Retry-After` header on a 429 or 503, in ms. */
  get retryAfterMs(): number | undefined {
    return this.details.retryAfterMs;
  }
}

/**
 * What `fn` throws to say the upstream answered with an error status. Any error with a numeric `status` or
 * `statusCode` (or `response.status`) is read the same way, so errors of most HTTP clients and provider SDKs
 * need no wrapping; this class is for plain `fetch`, see {@link UpstreamError.fromResponse}.
 */
export class UpstreamError extends Error {
  override readonly name = 'UpstreamError';
  readonly status: number;
  /** Parsed from `Retry-After` / `retry-after-ms`, or given. */
  readonly retryAfterMs: number | undefined;
  /** An explicit gateway error class (e.g. `QUOTA_EXHAUSTED` for a 429 that means the quota is gone). */
  readonly errorType: string | undefined;

  constructor(status: number, message?: string, opts: { retryAfterMs?: number; errorType?: string; cause?: unknown } = {}) {
    super(message ?? `upstream answered ${status}`, opts.cause === undefined ? undefined : { cause: opts.cause });
    this.status = status;
    this.retryAfterMs = opts.retryAfterMs;
    this.errorType = opts.errorType;
  }

  /** An UpstreamError for a non-2xx `fetch` Response (its status, `Retry-After`, and the start of its body). */
  static async fromResponse(res: Response, opts: { errorType?: string; maxBodyChars?: number } = {}): Promise<UpstreamError> {
    let body = '';
    try {
      body = (await res.text()).slice(0, opts.maxBodyChars ?? 300);
    } catch {
      // The body is only for the message; a reset while reading it changes nothing.
    }
    const retryAfterMs = retryAfterOf(res.headers);
    return new UpstreamError(res.status, `upstream answered ${res.status}${body ? `: ${body}` : ''}`, {
      ...(retryAfterMs === undefined ? {} : { retryAfterMs }),
      ...(opts.errorType ? { errorType: opts.errorType } : {}),
    });
  }
}

/** Throws {@link UpstreamError} when `res` is not 2xx, else returns it: `const res = await throwIfNotOk(await fetch(...))`. */
export async function throwIfNotOk(res: Response): Promise<Response> {
  if (!res.ok) throw await UpstreamError.fromResponse(res);
  return res;
}

/** Longest Retry-After honoured (a day): a larger or absurd value is treated as this much. */
export const MAX_RETRY_AFTER_MS = 86_400_000;

/**
 * Reads `retry-after-ms` (Azure, OpenAI), `x-ms-retry-after-ms`, then `Retry-After` (seconds or an HTTP date)
 * from a Headers object or a plain record. Returns undefined when none is readable.
 */
export function retryAfterOf(headers: unknown, now: number = Date.now()): number | undefined {
  const get = headerGetter(headers);
  if (!get) return undefined;
  for (const name of ['retry-after-ms', 'x-ms-retry-after-ms']) {
    const v = get(name);
    if (v !== undefined && /^\s*\d+(?:\.\d+)?\s*$/.test(v)) return clampRetryAfter(Number(v));
  }
  const ra = get('retry-after');
  if (ra === undefined) return undefined;
  if (/^\s*\d+(?:\.\d+)?\s*$/.test(ra)) return clampRetryAfter(Number(ra) * 1000);
  // An HTTP date names its weekday and month; anything else Date.parse accepts ("-5" is a year) is garbage.
  if (!/[a-z]/i.test(ra)) return undefined;
  const at = Date.parse(ra);
  return Number.isNaN(at) ? undefined : clampRetryAfter(at - now);
}

function clampRetryAfter(ms: number): number {
  return Math.min(MAX_RETRY_AFTER_MS, Math.max(0, Math.round(ms)));
}

function headerGetter(headers: unknown): ((name: string) => string | undefined) | null {
  if (headers === null || typeof headers !== 'object') return null;
  const h = headers as { get?: unknown };
  if (typeof h.get === 'function') {
    const getFn = h.get as (n: string) => unknown;
    return (name) => {
      const v = getFn.call(headers, name);
      return typeof v === 'string' ? v : undefined;
    };
  }
  const lower = new Map<string, unknown>(Object.entries(headers).map(([k, v]) => [k.toLowerCase(), v]));
  return (name) => {
    const v = lower.get(name);
    if (typeof v === 'string') return v;
    if (typeof v === 'number') return String(v);
    if (Array.isArray(v) && typeof v[0] === 'string') return v[0];
    return undefined;
  };
}

/** One try of a `call()`: which instance, how it ended, and how long it took. */
export interface Attempt {
  /** 1-based. */
  attempt: number;
  instance: SelectedInstance;
  success: boolean;
  latencyMs: number;
  /** The gateway error class reported for a failure. */
  errorType?: string;
  statusCode?: number;
  retryAfterMs?: number;
  /** Whether another instance could be tried after this failure (before maxAttempts and the deadline). */
  retryable?: boolean;
  /** What `fn` threw (or the timeout that stopped it). */
  error?: unknown;
}

/** Why a `call()` gave up. */
export type CallFailureReason =
  /** The last failure may not be retried (the request's own 4xx, a non-idempotent call, a caller's error). */
  | 'not_retryable'
  /** `maxAttempts` instances were tried. */
  | 'max_attempts'
  /** `deadlineMs` passed (the running attempt was aborted through its signal). */
  | 'deadline'
  /** The caller's own signal aborted the call. */
  | 'aborted'
  /** The gateway had no further instance (every candidate excluded, open or over its limits; the fallback chain exhausted). */
  | 'exhausted';

/** A `call()` that did not succeed, with every attempt it made. */
export class GatewayCallError extends Error {
  override readonly name = 'GatewayCallError';
  constructor(
    readonly reason: CallFailureReason,
    readonly attempts: Attempt[],
    message: string,
    /** The gateway's errorCode when a select ended the call (e.g. `FALLBACK_EXHAUSTED`). */
    readonly errorCode?: string,
    cause?: unknown,
  ) {
    super(message, cause === undefined ? undefined : { cause });
  }

  /** The last attempt, if any was made. */
  get lastAttempt(): Attempt | undefined {
    return this.attempts[this.attempts.length - 1];
  }
}
