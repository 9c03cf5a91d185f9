import { errorClassOf } from '@apg/core';
import { retryAfterOf } from './errors';

/** What stopped a running attempt from the SDK's side, if anything did. */
export type StoppedBy = 'caller' | 'deadline' | 'attempt_timeout' | null;

/**
 * How one failed attempt is reported and whether another instance may be tried. `processed` says whether the
 * upstream may have acted on the request: `no` when it certainly did not (connection refused, a 429 or an auth
 * refusal), `maybe` otherwise — what decides a retry of a call that is not idempotent.
 */
export interface FailureClass {
  errorType: string;
  statusCode?: number;
  retryAfterMs?: number;
  message: string;
  /** Another instance may not share this failure (5xx, timeout, 429, connection error…). */
  retryable: boolean;
  processed: 'no' | 'maybe';
}

/** Connection never established: nothing reached the upstream. */
const NOT_SENT_CODES = new Set(['ECONNREFUSED', 'ENOTFOUND', 'EAI_AGAIN', 'EHOSTUNREACH', 'ENETUNREACH', 'EADDRNOTAVAIL', 'UND_ERR_CONNECT_TIMEOUT']);
/** The connection broke while the request may have been in flight. */
const BROKEN_CODES = new Set(['ECONNRESET', 'EPIPE', 'ECONNABORTED', 'UND_ERR_SOCKET', 'UND_ERR_CLOSED', 'ERR_STREAM_PREMATURE_CLOSE']);
/** A timeout inside the caller's HTTP client. */
const TIMEOUT_CODES = new Set(['ETIMEDOUT', 'ESOCKETTIMEDOUT', 'UND_ERR_HEADERS_TIMEOUT', 'UND_ERR_BODY_TIMEOUT', 'ERR_HTTP_REQUEST_TIMEOUT']);
/** Errors a bug in the caller's own code throws: not the instance's fault, and the same on every instance. */
const PROGRAMMING_ERRORS = new Set(['TypeError', 'ReferenceError', 'SyntaxError', 'RangeError']);

type Loose = Record<string, unknown>;
const asObject = (v: unknown): Loose | null => (v !== null && typeof v === 'object' ? (v as Loose) : null);

function messageOf(err: unknown): string {
  if (err instanceof Error) return err.message || err.name;
  if (typeof err === 'string') return err;
  try {
    return JSON.stringify(err) ?? String(err);
  } catch {
    return String(err);
  }
}

/** The HTTP status an error carries: `status`, `statusCode`, `response.status` or AWS's `$metadata.httpStatusCode`. */
export function statusOf(err: unknown): number | undefined {
  const e = asObject(err);
  if (!e) return undefined;
  const candidates = [e['status'], e['statusCode'], asObject(e['response'])?.['status'], asObject(e['$metadata'])?.['httpStatusCode']];
  for (const c of candidates) if (typeof c === 'number' && Number.isInteger(c) && c >= 100 && c <= 599) return c;
  return undefined;
}

/** A system / undici error code on the error or its cause (`fetch` wraps them as `TypeError: fetch failed`). */
function codeOf(err: unknown): string | undefined {
  for (let e = asObject(err), depth = 0; e && depth < 4; e = asObject(e['cause']), depth++) {
    if (typeof e['code'] === 'string') return e['code'];
  }
  return undefined;
}

/** Provider error codes that mean the account's quota is gone, not a momentary rate limit (OpenAI and kin). */
const QUOTA_CODES = new Set(['insufficient_quota', 'billing_hard_limit_reached', 'quota_exceeded']);

function quotaExhausted(err: unknown): boolean {
  const e = asObject(err);
  const inner = asObject(e?.['error']);
  return [e?.['code'], e?.['type'], inner?.['code'], inner?.['type']].some((v) => typeof v === 'string' && QUOTA_CODES.has(v));
}

/**
 * Classifies what `fn` threw into the gateway's error classes (architecture §7), by what stopped it first:
 * the caller's abort (not the instance's fault, never retried), the SDK's deadline or attempt timeout, an
 * HTTP status, a connection error, a bug in the caller's code, or anything else.
 */
export function classifyFailure(err: unknown, stoppedBy: StoppedBy = null): FailureClass {
  const message = messageOf(err);
  if (stoppedBy === 'caller') return { errorType: 'CLIENT_4XX', message: `aborted by the caller: ${message}`, retryable: false, processed: 'maybe' };
  if (stoppedBy === 'deadline' || stoppedBy === 'attempt_timeout') {
    return { errorType: 'TIMEOUT', message: stoppedBy === 'deadline' ? 'call deadline reached' : 'attempt timed out', retryable: true, processed: 'maybe' };
  }
  const e = asObject(err);
  const status = statusOf(err);
  if (status !== undefined) {
    const explicit = typeof e?.['errorType'] === 'string' ? e['errorType'] : undefined;
    const retryAfter = typeof e?.['retryAfterMs'] === 'number' ? e['retryAfterMs'] : retryAfterOf(e?.['headers'] ?? asObject(e?.['response'])?.['headers']);
    let errorType = explicit ?? (status === 429 && quotaExhausted(err) ? 'QUOTA_EXHAUSTED' : errorClassOf({ success: false, statusCode: status, callTimestamp: 0 }));
    if (status < 400 && !explicit) errorType = 'UNKNOWN';
    const out: FailureClass = { errorType, statusCode: status, message, retryable: true, processed: 'maybe' };
    if (retryAfter !== undefined) out.retryAfterMs = retryAfter;
    switch (errorType) {
      case 'CLIENT_4XX':
        // The request itself is wrong: every instance would say the same.
        out.retryable = false;
        break;
      case 'RATE_LIMITED':
      case 'QUOTA_EXHAUSTED':
      case 'AUTH_INVALID':
        // Refused before any work: another instance (other account, other credentials) may serve it.
        out.processed = 'no';
        break;
      default:
        break;
    }
    return out;
  }
  const code = codeOf(err);
  if (code !== undefined) {
    if (NOT_SENT_CODES.has(code)) return { errorType: code === 'UND_ERR_CONNECT_TIMEOUT' ? 'TIMEOUT' : 'NETWORK', message, retryable: true, processed: 'no' };
    if (BROKEN_CODES.has(code)) return { errorType: 'NETWORK', message, retryable: true, processed: 'maybe' };
    if (TIMEOUT_CODES.has(code)) return { errorType: 'TIMEOUT', message, retryable: true, processed: 'maybe' };
  }
  const name = err instanceof Error ? err.name : undefined;
  if (name === 'AbortError' || name === 'TimeoutError') return { errorType: 'TIMEOUT', message, retryable: true, processed: 'maybe' };
  if (name !== undefined && PROGRAMMING_ERRORS.has(name) && code === undefined) {
    return { errorType: 'CLIENT_4XX', message: `error in the caller's code: ${message}`, retryable: false, processed: 'maybe' };
  }
  return { errorType: 'UNKNOWN', message, retryable: true, processed: 'maybe' };
}
