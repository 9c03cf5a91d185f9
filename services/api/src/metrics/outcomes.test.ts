import { expect } from 'chai';
import { HttpError } from '../http/http-error';
import { NoInstanceError, reportOutcomeOf, selectOutcomeOf, selectOutcomeOfError } from './outcomes';

describe('select and report outcomes', () => {
  const errors: [string, unknown, string][] = [
    ['no ACTIVE instance', new NoInstanceError('NO_AVAILABLE_INSTANCE', 'x', 'no_instance'), 'no_instance'],
    ['none routable', new NoInstanceError('NO_HEALTHY_INSTANCE', 'x', 'no_healthy'), 'no_healthy'],
    ['fallback chain with no instance at all', new NoInstanceError('FALLBACK_EXHAUSTED', 'x', 'no_instance'), 'no_instance'],
    ['fallback chain exhausted (plain error)', new HttpError('FALLBACK_EXHAUSTED', 'x'), 'no_healthy'],
    ['rate limit', new HttpError('RATE_LIMITED', 'x'), 'rate_limited'],
    ['STRICT affinity', new HttpError('AFFINITY_UNAVAILABLE', 'x'), 'affinity_unavailable'],
    ['bad strategy', new HttpError('VALIDATION_FAILED', 'x'), 'invalid'],
    ['unauthorized', new HttpError('UNAUTHORIZED', 'x'), 'invalid'],
    ['a dependency', new HttpError('DEPENDENCY_UNAVAILABLE', 'x'), 'error'],
    ['a bug', new TypeError('x is undefined'), 'error'],
    ['a thrown string', 'boom', 'error'],
  ];
  for (const [what, err, outcome] of errors) {
    it(`select error: ${what} → ${outcome}`, () => expect(selectOutcomeOfError(err)).to.equal(outcome));
  }

  it('select answers: plain, fallback, panic (panic wins)', () => {
    expect(selectOutcomeOf({ fallbackUsed: false })).to.equal('ok');
    expect(selectOutcomeOf({ fallbackUsed: true })).to.equal('fallback');
    expect(selectOutcomeOf({ fallbackUsed: true, panic: true })).to.equal('panic');
    expect(selectOutcomeOf({ fallbackUsed: false, panic: true })).to.equal('panic');
  });

  const statuses: [number, string][] = [
    [200, 'accepted'], [400, 'invalid'], [413, 'invalid'], [415, 'invalid'], [401, 'unauthorized'], [403, 'unauthorized'],
    [404, 'not_found'], [429, 'rate_limited'], [503, 'unavailable'], [500, 'error'], [502, 'error'],
  ];
  for (const [status, outcome] of statuses) {
    it(`report answered ${status} → ${outcome}`, () => expect(reportOutcomeOf(status)).to.equal(outcome));
  }
});
