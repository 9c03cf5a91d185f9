import { expect } from 'chai';
import type { FailureClass } from './classify';
import { DEFAULT_BACKOFF, backoffDelayMs, nextStep } from './retry-plan';

const f = (over: Partial<FailureClass> = {}): FailureClass => ({ errorType: 'UPSTREAM_5XX', message: 'x', retryable: true, processed: 'maybe', ...over });
const base = { attempt: 1, maxAttempts: 3, idempotent: true, remainingMs: 10_000, backoff: DEFAULT_BACKOFF, rand: () => 0.5 };

describe('nextStep: retry on the next instance, or stop and say why', () => {
  it('retries a retryable failure with attempts and time left', () => {
    expect(nextStep({ ...base, failure: f() })).to.deep.equal({ retry: true, delayMs: 12 });
  });
  it('stops on a failure every instance would share', () => {
    expect(nextStep({ ...base, failure: f({ retryable: false, errorType: 'CLIENT_4XX' }) })).to.deep.equal({ retry: false, reason: 'not_retryable' });
  });
  it('a call that is not idempotent: stops after an ambiguous failure, retries one where nothing was processed', () => {
    expect(nextStep({ ...base, idempotent: false, failure: f({ processed: 'maybe' }) })).to.deep.equal({ retry: false, reason: 'not_retryable' });
    expect(nextStep({ ...base, idempotent: false, failure: f({ processed: 'no', errorType: 'NETWORK' }) }).retry).to.equal(true);
  });
  it('stops at maxAttempts', () => {
    expect(nextStep({ ...base, attempt: 3, failure: f() })).to.deep.equal({ retry: false, reason: 'max_attempts' });
    expect(nextStep({ ...base, attempt: 1, maxAttempts: 1, failure: f() })).to.deep.equal({ retry: false, reason: 'max_attempts' });
  });
  it('stops at the deadline, also when the wait would not fit in what is left', () => {
    expect(nextStep({ ...base, remainingMs: 0, failure: f() })).to.deep.equal({ retry: false, reason: 'deadline' });
    expect(nextStep({ ...base, remainingMs: -5, failure: f() })).to.deep.equal({ retry: false, reason: 'deadline' });
    expect(nextStep({ ...base, remainingMs: 10, rand: () => 0.99, attempt: 2, failure: f() })).to.deep.equal({ retry: false, reason: 'deadline' });
  });
});

describe('backoffDelayMs: full jitter under an exponential ceiling', () => {
  it('grows by the multiplier and is capped', () => {
    const top = (retry: number) => backoffDelayMs(retry, { initialMs: 100, maxMs: 1000, multiplier: 2 }, () => 0.999999);
    expect([1, 2, 3, 4, 5, 10].map(top)).to.deep.equal([99, 199, 399, 799, 999, 999]);
  });
  it('draws within [0, ceiling]', () => {
    for (let i = 0; i < 200; i++) {
      const d = backoffDelayMs(3, DEFAULT_BACKOFF, Math.random);
      expect(d).to.be.at.least(0).and.at.most(100);
    }
    expect(backoffDelayMs(1, DEFAULT_BACKOFF, () => 0)).to.equal(0);
  });
  it('a zero initial wait means no wait', () => {
    expect(backoffDelayMs(4, { initialMs: 0, maxMs: 1000, multiplier: 2 }, () => 0.9)).to.equal(0);
  });
});
