import { expect } from 'chai';
import { initialBreaker, type HealthRecord } from '@apg/core';
import { guardedWriteArgs, guardedWriteResult, type GuardedWriteInput } from './guarded-write';

const record = (state: HealthRecord['state'], since: number): HealthRecord => ({
  ...initialBreaker(since), state, cooldownUntil: null, stats: null, updatedAt: since,
});

const none: GuardedWriteInput = { records: [], windows: [], applied: [], offset: null, fence: null, now: 1000 };

describe('guarded write arguments', () => {
  const keys = { hash: 'p:breaker-states', offsets: 'p:aggregator:offsets:g', epochs: 'p:aggregator:epochs:g', channel: 'p:events:breaker', offsetsTtlMs: 1000 };

  it('lays out the fence, records, windows, applied eventIds and the offset as the script reads them', () => {
    const a = record('OPEN', 11);
    const b = record('FORCED_OPEN', 12);
    const { keys: k, argv } = guardedWriteArgs(keys, {
      records: [{ instanceId: 'a', mode: 'normal', record: a }, { instanceId: 'b', mode: 'keep', record: b }],
      windows: [{ key: 'p:window:a', json: '{"w":1}', ttlMs: 61_000.4 }],
      applied: [{ key: 'p:applied:a', eventIds: ['e1', 'e2'], retentionMs: 600_000, maxCount: 20_000 }],
      offset: { field: 't:0', next: '42' },
      fence: { field: 't:0', epoch: '1732900000000000' },
      now: 5000.7,
    });
    expect(k).to.deep.equal(['p:breaker-states', 'p:aggregator:offsets:g', 'p:aggregator:epochs:g', 'p:window:a', 'p:applied:a']);
    expect(argv).to.deep.equal([
      'p:events:breaker', 't:0', '42', '1000', 't:0', '1732900000000000', '5001', '2', '1',
      'a', 'n', JSON.stringify(a), 'OPEN', '11',
      'b', 'k', JSON.stringify(b), 'FORCED_OPEN', '12',
      '{"w":1}', '61000',
      '600000', '20000', '2', 'e1', 'e2',
    ]);
  });

  it('writes no offset and no fence when there is none, and absent mode as a', () => {
    const { argv } = guardedWriteArgs(keys, { ...none, records: [{ instanceId: 'x', mode: 'absent', record: record('CLOSED', 1) }] });
    expect(argv.slice(0, 10)).to.deep.equal(['p:events:breaker', '', '', '1000', '', '0', '1000', '1', '0', 'x']);
    expect(argv[10]).to.equal('a');
  });

  it('never sends an absurd TTL (issue 8: PX 1e+21)', () => {
    const { argv } = guardedWriteArgs(keys, {
      ...none,
      windows: [{ key: 'w', json: '{}', ttlMs: 1e21 }, { key: 'v', json: '{}', ttlMs: NaN }, { key: 'u', json: '{}', ttlMs: -5 }],
      applied: [{ key: 's', eventIds: ['e'], retentionMs: 1e300, maxCount: 1e15 }],
    });
    for (const v of argv.slice(9)) if (/^[-\d.e+]+$/i.test(v) && v !== 'e') expect(v).to.match(/^\d+$/);
    expect(argv.slice(9, 15)).to.deep.equal(['{}', '86400000', '{}', '1', '{}', '1']);
  });

  const replies: { name: string; reply: unknown; want: ReturnType<typeof guardedWriteResult> }[] = [
    { name: 'nothing refused', reply: ['ok'], want: { fenced: false, refused: new Map() } },
    { name: 'pairs', reply: ['ok', 'a', '{"state":"FORCED_OPEN"}', 'b', '{}'], want: { fenced: false, refused: new Map([['a', '{"state":"FORCED_OPEN"}'], ['b', '{}']]) } },
    { name: 'odd tail ignored', reply: ['ok', 'a', '{}', 'b'], want: { fenced: false, refused: new Map([['a', '{}']]) } },
    { name: 'fenced', reply: ['fenced'], want: { fenced: true } },
  ];
  for (const r of replies) it(`parses the reply: ${r.name}`, () => expect(guardedWriteResult(r.reply)).to.deep.equal(r.want));
  for (const bad of [null, [], ['nope'], 'ok']) {
    it(`throws on an unexpected reply ${JSON.stringify(bad)}`, () => expect(() => guardedWriteResult(bad)).to.throw(/unexpected guarded write reply/));
  }
});
