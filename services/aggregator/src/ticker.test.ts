import { expect } from 'chai';
import { Counter, Registry } from 'prom-client';
import { DEFAULT_BREAKER_CONFIG, initialBreaker } from '@apg/core';
import { createLogger, type BreakerTransitionRecord } from '@apg/platform';
import { HealthBook } from './health-book';
import type { HealthStore, SaveInput } from './health-store';
import type { GuardedWriteResult } from './guarded-write';
import { newInstanceHealth } from './instance-health';
import { PartitionClaims } from './partition-claims';
import { Ticker } from './ticker';

/** The ticker over in-memory stores: which breakers it moves, under which fence, and what it drops. */
describe('ticker', () => {
  const NOW = 1_700_000_000_000;

  async function setup(save: () => GuardedWriteResult) {
    const saves: SaveInput[] = [];
    const audited: BreakerTransitionRecord[] = [];
    const store = {
      claimPartition: async () => ({ epoch: '7', applied: null }),
      save: async (input: SaveInput) => {
        saves.push(input);
        return save();
      },
    };
    const log = createLogger('test', 'silent');
    const book = new HealthBook(store as unknown as HealthStore, log);
    const claims = new PartitionClaims(store);
    const claim = (await claims.claim('t:0'))!;
    const open = (id: string, openUntil: number) => {
      const h = newInstanceHealth(id, 'p', { ...DEFAULT_BREAKER_CONFIG }, NOW - 60_000);
      h.breaker = { ...initialBreaker(NOW - 60_000), state: 'OPEN', openedAt: NOW - 30_000, openUntil, reason: 'test' };
      book.activate(h);
      claims.bind(id, 't:0');
      return h;
    };
    const ticker = new Ticker({
      book, claims, log, now: () => NOW,
      transitions: { insertMany: async (items: readonly BreakerTransitionRecord[]) => void audited.push(...items) },
      transitionCount: new Counter({ name: 'x', help: 'x', labelNames: ['to_state'] as const, registers: [new Registry()] }),
    });
    return { ticker, book, claim, open, saves, audited };
  }

  it('moves expired OPEN breakers to HALF_OPEN under their partition fence, and leaves the others', async () => {
    const t = await setup(() => ({ fenced: false, refused: new Map() }));
    const due = t.open('due', NOW - 1);
    const later = t.open('later', NOW + 1000);
    await t.ticker.tick();
    expect(due.breaker.state).to.equal('HALF_OPEN');
    expect(later.breaker.state).to.equal('OPEN');
    expect(t.saves).to.have.length(1);
    expect(t.saves[0]!.fence).to.deep.equal({ field: 't:0', epoch: '7' });
    expect(t.saves[0]!.records.map((r) => r.instanceId)).to.deep.equal(['due']);
    expect(t.audited.map((a) => [a.instanceId, a.from, a.to])).to.deep.equal([['due', 'OPEN', 'HALF_OPEN']]);
  });

  it('writes nothing for a partition already fenced off and drops its instances', async () => {
    const t = await setup(() => ({ fenced: false, refused: new Map() }));
    t.open('due', NOW - 1);
    t.claim.fenced = true;
    await t.ticker.tick();
    expect(t.saves).to.deep.equal([]);
    expect(t.book.active.has('due')).to.equal(false);
  });

  it('a write fenced off by Redis is not audited, and the instance is dropped for its new owner', async () => {
    const t = await setup(() => ({ fenced: true }));
    t.open('due', NOW - 1);
    await t.ticker.tick();
    expect(t.audited).to.deep.equal([]);
    expect(t.book.active.has('due')).to.equal(false);
  });

  it('a failed write drops the instance, so the next batch reloads it and the next tick moves it again', async () => {
    const t = await setup(() => {
      throw new Error('Connection is closed.');
    });
    t.open('due', NOW - 1);
    await t.ticker.tick();
    expect(t.audited).to.deep.equal([]);
    expect(t.book.active.has('due')).to.equal(false);
  });
});
