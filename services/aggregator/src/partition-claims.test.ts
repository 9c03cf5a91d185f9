import { expect } from 'chai';
import { PartitionClaims } from './partition-claims';

/** The generation bookkeeping (the epoch itself is raised by a Lua script, tested against the real Redis). */
describe('partition claims', () => {
  function claimsWith(replies: { epoch: string; applied: bigint | null }[]) {
    const calls: string[] = [];
    let release: (() => void) | null = null;
    let gate: Promise<void> | null = null;
    const claims = new PartitionClaims({
      async claimPartition(field: string) {
        calls.push(field);
        if (gate) await gate;
        return replies.shift()!;
      },
    });
    return { claims, calls, hold: () => {
      gate = new Promise<void>((r) => (release = r));
    }, release: () => release?.() };
  }

  it('claims a partition once per generation, and again after a rebalance', async () => {
    const { claims, calls } = claimsWith([{ epoch: '10', applied: 5n }, { epoch: '11', applied: 7n }]);
    const first = await claims.claim('t:0');
    expect(first).to.deep.include({ epoch: '10', applied: 5n, fenced: false });
    expect(await claims.claim('t:0')).to.equal(first);
    claims.reset();
    expect(await claims.claim('t:0')).to.deep.include({ epoch: '11', applied: 7n });
    expect(calls).to.deep.equal(['t:0', 't:0']);
  });

  it('starts from offset 0 when nothing was applied before', async () => {
    const { claims } = claimsWith([{ epoch: '1', applied: null }]);
    expect((await claims.claim('t:1'))?.applied).to.equal(0n);
  });

  it('drops a claim that completes after the generation changed', async () => {
    const c = claimsWith([{ epoch: '10', applied: null }]);
    c.hold();
    const pending = c.claims.claim('t:0');
    await Promise.resolve();
    c.claims.reset();
    c.release();
    expect(await pending).to.equal(null);
    expect(c.claims.size).to.equal(0);
  });

  it('fences instances by their partition, not once it is fenced or after a rebalance', async () => {
    const { claims } = claimsWith([{ epoch: '10', applied: null }]);
    const claim = (await claims.claim('t:0'))!;
    claims.bind('a', 't:0');
    claims.bind('b', 't:0');
    expect(claims.fenceOf('a')).to.deep.equal({ field: 't:0', epoch: '10' });
    expect(claims.isCurrent(claim)).to.equal(true);
    expect(claims.fenceOf('nobody')).to.equal(null);
    expect(claims.instancesOf('t:0')).to.deep.equal(['a', 'b']);
    claim.fenced = true;
    expect(claims.fenceOf('a')).to.equal(null);
    claims.reset();
    expect(claims.isCurrent(claim), 'a claim of an earlier generation').to.equal(false);
    expect(claims.fenceOf('b')).to.equal(null);
    expect(claims.instancesOf('t:0')).to.deep.equal([]);
  });
});
