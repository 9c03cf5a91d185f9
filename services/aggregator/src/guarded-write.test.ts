import { expect } from 'chai';
import { initialBreaker, type HealthRecord } from '@apg/core';
import { guardedWriteArgs, refusedOf } from './guarded-write';

const record = (state: HealthRecord['state'], since: number): HealthRecord => ({
  ...initialBreaker(since), state, cooldownUntil: null, stats: null, updatedAt: since,
});

describe('guarded write arguments', () => {
  const keys = { hash: 'p:breaker-states', offsets: 'p:aggregator:offsets:g', channel: 'p:events:breaker', offsetsTtlMs: 1000 };

  it('lays out records, windows and the offset as the script reads them', () => {
    const a = record('OPEN', 11);
    const b = record('FORCED_OPEN', 12);
    const { keys: k, argv } = guardedWriteArgs(
      keys,
      [{ instanceId: 'a', mode: 'normal', record: a }, { instanceId: 'b', mode: 'keep', record: b }],
      [{ key: 'p:window:a', json: '{"w":1}', ttlMs: 61_000.4 }],
      { field: 't:0', next: '42' },
    );
    expect(k).to.deep.equal(['p:breaker-states', 'p:aggregator:offsets:g', 'p:window:a']);
    expect(argv).to.deep.equal([
      'p:events:breaker', 't:0', '42', '1000', '2',
      'a', 'n', JSON.stringify(a), 'OPEN', '11',
      'b', 'k', JSON.stringify(b), 'FORCED_OPEN', '12',
      '{"w":1}', '61000',
    ]);
  });

  it('writes no offset when there is none, and absent mode as a', () => {
    const { argv } = guardedWriteArgs(keys, [{ instanceId: 'x', mode: 'absent', record: record('CLOSED', 1) }], [], null);
    expect(argv.slice(0, 6)).to.deep.equal(['p:events:breaker', '', '', '1000', '1', 'x']);
    expect(argv[6]).to.equal('a');
  });

  const replies: { name: string; reply: unknown; want: [string, string][] }[] = [
    { name: 'nothing refused', reply: [], want: [] },
    { name: 'pairs', reply: ['a', '{"state":"FORCED_OPEN"}', 'b', '{}'], want: [['a', '{"state":"FORCED_OPEN"}'], ['b', '{}']] },
    { name: 'odd tail ignored', reply: ['a', '{}', 'b'], want: [['a', '{}']] },
    { name: 'not an array', reply: null, want: [] },
  ];
  for (const r of replies) it(`parses the reply: ${r.name}`, () => expect([...refusedOf(r.reply)]).to.deep.equal(r.want));
});
