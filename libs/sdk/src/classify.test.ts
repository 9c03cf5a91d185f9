import { expect } from 'chai';
import { classifyFailure, statusOf } from './classify';
import { UpstreamError } from './errors';

const sysErr = (code: string, message = code) => Object.assign(new Error(message), { code });
const fetchFailed = (code: string) => new TypeError('fetch failed', { cause: sysErr(code) });
const abortError = () => Object.assign(new Error('This operation was aborted'), { name: 'AbortError' });

describe('classifyFailure: what fn threw → the gateway error class, and whether another instance may be tried', () => {
  const table: [string, unknown, string, boolean, 'no' | 'maybe', number?][] = [
    // what, error, errorType, retryable, processed, statusCode
    ['500', new UpstreamError(500), 'UPSTREAM_5XX', true, 'maybe', 500],
    ['502', { status: 502, message: 'bad gateway' }, 'UPSTREAM_5XX', true, 'maybe', 502],
    ['503 via statusCode', { statusCode: 503 }, 'UPSTREAM_5XX', true, 'maybe', 503],
    ['504 → TIMEOUT', new UpstreamError(504), 'TIMEOUT', true, 'maybe', 504],
    ['408 → TIMEOUT', new UpstreamError(408), 'TIMEOUT', true, 'maybe', 408],
    ['429 → RATE_LIMITED, not processed', new UpstreamError(429), 'RATE_LIMITED', true, 'no', 429],
    ['429 insufficient_quota → QUOTA_EXHAUSTED', { status: 429, error: { code: 'insufficient_quota' } }, 'QUOTA_EXHAUSTED', true, 'no', 429],
    ['401 → AUTH_INVALID (this instance\'s credentials)', new UpstreamError(401), 'AUTH_INVALID', true, 'no', 401],
    ['403 → AUTH_INVALID', { response: { status: 403 } }, 'AUTH_INVALID', true, 'no', 403],
    ['400 → CLIENT_4XX, the request itself: never retried', new UpstreamError(400), 'CLIENT_4XX', false, 'maybe', 400],
    ['422 → CLIENT_4XX', { status: 422 }, 'CLIENT_4XX', false, 'maybe', 422],
    ['404 → CLIENT_4XX', { $metadata: { httpStatusCode: 404 } }, 'CLIENT_4XX', false, 'maybe', 404],
    ['explicit errorType wins', new UpstreamError(429, 'quota', { errorType: 'QUOTA_EXHAUSTED' }), 'QUOTA_EXHAUSTED', true, 'no', 429],
    ['connection refused → NETWORK, nothing sent', fetchFailed('ECONNREFUSED'), 'NETWORK', true, 'no'],
    ['DNS failure → NETWORK, nothing sent', sysErr('ENOTFOUND'), 'NETWORK', true, 'no'],
    ['connect timeout → TIMEOUT, nothing sent', fetchFailed('UND_ERR_CONNECT_TIMEOUT'), 'TIMEOUT', true, 'no'],
    ['reset mid-request → NETWORK, maybe processed', fetchFailed('ECONNRESET'), 'NETWORK', true, 'maybe'],
    ['socket closed → NETWORK', fetchFailed('UND_ERR_SOCKET'), 'NETWORK', true, 'maybe'],
    ['headers timeout → TIMEOUT', fetchFailed('UND_ERR_HEADERS_TIMEOUT'), 'TIMEOUT', true, 'maybe'],
    ['ETIMEDOUT → TIMEOUT', sysErr('ETIMEDOUT'), 'TIMEOUT', true, 'maybe'],
    ['fn\'s own AbortError → TIMEOUT', abortError(), 'TIMEOUT', true, 'maybe'],
    ['a bug in the caller (TypeError) → CLIENT_4XX, not retried', new TypeError('x is not a function'), 'CLIENT_4XX', false, 'maybe'],
    ['ReferenceError → CLIENT_4XX', new ReferenceError('y is not defined'), 'CLIENT_4XX', false, 'maybe'],
    ['anything else → UNKNOWN, retried', new Error('provider said no'), 'UNKNOWN', true, 'maybe'],
    ['a thrown string → UNKNOWN', 'boom', 'UNKNOWN', true, 'maybe'],
    ['a thrown null → UNKNOWN', null, 'UNKNOWN', true, 'maybe'],
  ];
  for (const [what, err, errorType, retryable, processed, statusCode] of table) {
    it(what, () => {
      const c = classifyFailure(err);
      expect(c.errorType).to.equal(errorType);
      expect(c.retryable).to.equal(retryable);
      expect(c.processed).to.equal(processed);
      expect(c.statusCode).to.equal(statusCode);
    });
  }

  it('what stopped the attempt decides first: the caller\'s abort is not the instance\'s fault, never retried', () => {
    const c = classifyFailure(new UpstreamError(503), 'caller');
    expect(c).to.include({ errorType: 'CLIENT_4XX', retryable: false });
    expect(c.message).to.match(/aborted by the caller/);
  });

  it('the SDK\'s deadline or attempt timeout is a TIMEOUT (a timeout of that instance)', () => {
    expect(classifyFailure(abortError(), 'deadline')).to.include({ errorType: 'TIMEOUT', retryable: true, processed: 'maybe' });
    expect(classifyFailure(abortError(), 'attempt_timeout')).to.include({ errorType: 'TIMEOUT', retryable: true });
  });

  it('reads Retry-After from the error\'s headers (fetch Headers, a record, the response\'s)', () => {
    expect(classifyFailure({ status: 429, headers: new Headers({ 'retry-after': '7' }) }).retryAfterMs).to.equal(7000);
    expect(classifyFailure({ status: 429, headers: { 'Retry-After': '2' } }).retryAfterMs).to.equal(2000);
    expect(classifyFailure({ status: 503, response: { status: 503, headers: { 'retry-after-ms': '150' } } }).retryAfterMs).to.equal(150);
    expect(classifyFailure(new UpstreamError(429, 'x', { retryAfterMs: 900 })).retryAfterMs).to.equal(900);
  });

  it('ignores status-like fields that are not HTTP statuses', () => {
    expect(statusOf({ status: 'failed' })).to.equal(undefined);
    expect(statusOf({ status: 42 })).to.equal(undefined);
    expect(statusOf({ status: 500.5 })).to.equal(undefined);
    expect(classifyFailure({ status: 'failed' }).errorType).to.equal('UNKNOWN');
  });

  it('survives hostile errors (cyclic causes, throwing getters do not reach it)', () => {
    const a: Record<string, unknown> = { message: 'cyclic' };
    a['cause'] = a;
    expect(classifyFailure(a).errorType).to.equal('UNKNOWN');
  });
});
