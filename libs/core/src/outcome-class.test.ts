import { expect } from 'chai';
import { classifyOutcome, type OutcomeClass, type ReportedOutcome } from './outcome-class.js';

const at = 1_000_000;
const cases: { name: string; o: Omit<ReportedOutcome, 'callTimestamp'>; want: OutcomeClass }[] = [
  { name: 'success', o: { success: true }, want: { countsAsFailure: false, cooldownUntil: null, park: null, recordInWindow: true } },
  { name: 'plain failure', o: { success: false }, want: { countsAsFailure: true, cooldownUntil: null, park: null, recordInWindow: true } },
  { name: 'unknown class counts', o: { success: false, errorType: 'WEIRD' }, want: { countsAsFailure: true, cooldownUntil: null, park: null, recordInWindow: true } },
  { name: '429 with retry-after cools down only', o: { success: false, errorType: 'RATE_LIMITED', retryAfterMs: 5000 }, want: { countsAsFailure: false, cooldownUntil: at + 5000, park: null, recordInWindow: false } },
  { name: 'status 429 without class', o: { success: false, statusCode: 429 }, want: { countsAsFailure: false, cooldownUntil: at + 1000, park: null, recordInWindow: false } },
  { name: 'quota exhausted', o: { success: false, errorType: 'QUOTA_EXHAUSTED' }, want: { countsAsFailure: false, cooldownUntil: at + 300_000, park: null, recordInWindow: false } },
  { name: 'caller 4xx is not the instance', o: { success: false, statusCode: 422 }, want: { countsAsFailure: false, cooldownUntil: null, park: null, recordInWindow: false } },
  { name: 'auth invalid parks', o: { success: false, statusCode: 401 }, want: { countsAsFailure: true, cooldownUntil: null, park: 'parked: AUTH_INVALID (upstream rejected the credentials)', recordInWindow: true } },
  { name: '5xx counts', o: { success: false, statusCode: 503 }, want: { countsAsFailure: true, cooldownUntil: null, park: null, recordInWindow: true } },
  { name: 'timeout counts', o: { success: false, errorType: 'timeout' }, want: { countsAsFailure: true, cooldownUntil: null, park: null, recordInWindow: true } },
];

describe('classifyOutcome', () => {
  for (const c of cases) it(c.name, () => expect(classifyOutcome({ ...c.o, callTimestamp: at })).to.deep.equal(c.want));
});
