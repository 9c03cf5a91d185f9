import { expect } from 'chai';
import { MAX_RETRY_AFTER_MS, UpstreamError, retryAfterOf, throwIfNotOk } from './errors';

describe('retryAfterOf', () => {
  const now = Date.parse('2026-01-01T00:00:00Z');
  it('reads seconds, ms headers and HTTP dates', () => {
    expect(retryAfterOf(new Headers({ 'retry-after': '3' }), now)).to.equal(3000);
    expect(retryAfterOf(new Headers({ 'retry-after': '1.5' }), now)).to.equal(1500);
    expect(retryAfterOf({ 'retry-after-ms': '250', 'retry-after': '9' }, now)).to.equal(250);
    expect(retryAfterOf({ 'x-ms-retry-after-ms': 40 }, now)).to.equal(40);
    expect(retryAfterOf({ 'retry-after': 'Thu, 01 Jan 2026 00:00:05 GMT' }, now)).to.equal(5000);
  });
  it('clamps a date in the past to 0 and an absurd value to a day; ignores garbage', () => {
    expect(retryAfterOf({ 'retry-after': 'Wed, 31 Dec 2025 00:00:00 GMT' }, now)).to.equal(0);
    expect(retryAfterOf({ 'retry-after': '99999999999' }, now)).to.equal(MAX_RETRY_AFTER_MS);
    expect(retryAfterOf({ 'retry-after': 'soon' }, now)).to.equal(undefined);
    expect(retryAfterOf({ 'retry-after': '-5' }, now)).to.equal(undefined);
    expect(retryAfterOf(null, now)).to.equal(undefined);
    expect(retryAfterOf('retry-after: 5', now)).to.equal(undefined);
  });
});

describe('UpstreamError.fromResponse / throwIfNotOk', () => {
  it('keeps the status, Retry-After and the start of the body', async () => {
    const res = new Response('x'.repeat(1000), { status: 429, headers: { 'retry-after': '2' } });
    const err = await UpstreamError.fromResponse(res);
    expect(err.status).to.equal(429);
    expect(err.retryAfterMs).to.equal(2000);
    expect(err.message.length).to.be.below(400);
  });
  it('passes a 2xx through and throws on anything else', async () => {
    const ok = new Response('{}', { status: 200 });
    expect(await throwIfNotOk(ok)).to.equal(ok);
    let thrown: unknown;
    try {
      await throwIfNotOk(new Response('nope', { status: 503 }));
    } catch (err) {
      thrown = err;
    }
    expect(thrown).to.be.instanceOf(UpstreamError);
    expect((thrown as UpstreamError).status).to.equal(503);
  });
});
