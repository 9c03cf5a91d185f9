import { expect } from 'chai';
import { CallResultEventSchema, selectionEventId } from '@apg/contracts';
import { buildCallResultEvent, reportRequestOf } from './report-event';
import type { KafkaCallOutcome } from './types';

const ctx = { projectId: 'a'.repeat(32), apiIdentifier: 'gpt4o', apiType: 'MODEL' as const };
const outcome = (over: Partial<KafkaCallOutcome> = {}): KafkaCallOutcome => ({ ...ctx, instanceId: 'b'.repeat(32), businessId: 'm1', success: true, latencyMs: 12.4, ...over });

describe('buildCallResultEvent', () => {
  it('derives the eventId from the selection as the api does, and flags probes', () => {
    const built = buildCallResultEvent(outcome({ selectionId: 'sel-1.probe' }), 1000);
    expect(built.ok).to.equal(true);
    if (!built.ok) return;
    expect(built.event.eventId).to.equal(selectionEventId(ctx.projectId, 'sel-1.probe'));
    expect(built.event.probe).to.equal(true);
    expect(built.event.latencyMs).to.equal(12);
    expect(built.event.callTimestamp).to.equal(1000);
    expect(CallResultEventSchema.safeParse(built.event).success).to.equal(true);
  });

  it('uses a fresh id without a selection', () => {
    const a = buildCallResultEvent(outcome(), 1);
    const b = buildCallResultEvent(outcome(), 1);
    expect(a.ok && b.ok && a.event.eventId !== b.event.eventId).to.equal(true);
  });

  it('cuts a long error message and keeps usage', () => {
    const built = buildCallResultEvent(outcome({ success: false, errorMessage: 'é'.repeat(5000), errorType: 'UPSTREAM_5XX', statusCode: 503, usage: { totalTokens: 10 } }), 1);
    expect(built.ok).to.equal(true);
    if (built.ok) {
      expect(built.event.errorMessage!.length).to.equal(1024);
      expect(built.event.usage).to.deep.equal({ totalTokens: 10 });
    }
  });

  it('answers why instead of throwing for what cannot be an event', () => {
    const cases: unknown[] = [
      outcome({ projectId: 'not-hex' }),
      outcome({ latencyMs: -1 }),
      outcome({ latencyMs: Number.NaN }),
      outcome({ apiType: 'SPACESHIP' as never }),
      outcome({ statusCode: 999 }),
      { ...outcome(), instanceId: undefined },
      null,
      Object.defineProperty({}, 'success', { get() { throw new Error('hostile getter'); } }),
    ];
    for (const c of cases) {
      const built = buildCallResultEvent(c as KafkaCallOutcome, 1);
      expect(built.ok, JSON.stringify(c)).to.equal(false);
    }
  });

  it('refuses a callTimestamp more than 5 min ahead (the consumers would dead-letter it as timestamp_out_of_range)', () => {
    const now = Date.parse('2026-11-30T12:00:00Z');
    expect(buildCallResultEvent(outcome({ callTimestamp: now + 5 * 60_000 }), now).ok).to.equal(true);
    const ahead = buildCallResultEvent(outcome({ callTimestamp: now + 5 * 60_000 + 1 }), now);
    expect(ahead.ok).to.equal(false);
    expect(ahead.ok ? '' : ahead.detail).to.match(/future/);
    expect(buildCallResultEvent(outcome({ callTimestamp: Date.parse('2100-01-01T00:00:00Z') }), now).ok).to.equal(false);
  });
});

describe('reportRequestOf', () => {
  it('is the HTTP report body (usage as usageMetrics)', () => {
    expect(reportRequestOf({ instanceId: 'i', businessId: 'b', success: false, latencyMs: 3.6, selectionId: 's', statusCode: 503, errorType: 'UPSTREAM_5XX', usage: { promptTokens: 1 } })).to.deep.equal({
      instanceId: 'i', businessId: 'b', success: false, latencyMs: 4, selectionId: 's', statusCode: 503, errorType: 'UPSTREAM_5XX', usageMetrics: { promptTokens: 1 },
    });
  });
});
