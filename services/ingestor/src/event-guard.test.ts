import { expect } from 'chai';
import type { CallResultEvent } from '@apg/contracts';
import { guardEvent } from './event-guard';

const NOW = Date.parse('2026-03-10T12:00:00Z');
const HORIZON = Date.parse('2026-03-03T00:00:00Z');
const event = (over: Partial<CallResultEvent> = {}): CallResultEvent => ({
  eventId: '00000000-0000-4000-8000-000000000000', schemaVersion: 1, projectId: 'b'.repeat(32), instanceId: 'a'.repeat(32),
  apiIdentifier: 'gpt4o', apiType: 'MODEL', businessId: 'b1', success: true, latencyMs: 10, callTimestamp: NOW, ...over,
});

describe('event guard', () => {
  it('passes an ordinary event through unchanged (same object)', () => {
    const e = event();
    expect(guardEvent(e, HORIZON)).to.deep.equal({ ok: true, event: e });
    expect((guardEvent(e, HORIZON) as { event: CallResultEvent }).event).to.equal(e);
  });

  it('keeps events from the future and right at the horizon', () => {
    expect(guardEvent(event({ callTimestamp: NOW + 400 * 86_400_000 }), HORIZON).ok).to.equal(true);
    expect(guardEvent(event({ callTimestamp: HORIZON }), HORIZON).ok).to.equal(true);
  });

  it('expires events older than the horizon', () => {
    const v = guardEvent(event({ callTimestamp: HORIZON - 1 }), HORIZON);
    expect(v).to.include({ ok: false, reason: 'expired' });
  });

  it('replaces NUL characters, which Postgres text cannot store', () => {
    const v = guardEvent(event({ errorMessage: 'a\u0000b', businessId: '\u0000' }), HORIZON);
    expect(v.ok).to.equal(true);
    const e = (v as { event: CallResultEvent }).event;
    expect(e.errorMessage).to.equal('a\uFFFDb');
    expect(e.businessId).to.equal('\uFFFD');
  });
});
