import { expect } from 'chai';
import { messageBytes, SendBuffer, type OutgoingMessage } from './send-buffer';

const msg = (i: number): OutgoingMessage => ({ key: `k${i}`, value: Buffer.from(String(i)), headers: {}, eventId: `e${i}` });

describe('SendBuffer: a FIFO bounded over queued plus in flight', () => {
  it('refuses beyond its capacity, counting what is in flight', () => {
    const b = new SendBuffer(3);
    expect([1, 2, 3, 4].map((i) => b.push(msg(i)))).to.deep.equal([true, true, true, false]);
    expect(b.full).to.equal(true);
    expect(b.take(2).map((m) => m.eventId)).to.deep.equal(['e1', 'e2']);
    expect(b.queued).to.equal(1);
    expect(b.inFlight).to.equal(2);
    expect(b.push(msg(5)), 'two in flight still hold their room').to.equal(false);
    b.settle(2);
    expect(b.full).to.equal(false);
    expect(b.push(msg(5))).to.equal(true);
    expect(b.push(msg(6))).to.equal(true);
    expect(b.push(msg(7))).to.equal(false);
    expect(b.take(10).map((m) => m.eventId)).to.deep.equal(['e3', 'e5', 'e6']);
  });

  it('keeps order and stays bounded through many cycles (compaction)', () => {
    const b = new SendBuffer(5000);
    let next = 0;
    let expected = 0;
    for (let round = 0; round < 50; round++) {
      for (let i = 0; i < 3000; i++) if (b.push(msg(next))) next++;
      const got = b.take(2500);
      for (const m of got) expect(m.eventId).to.equal(`e${expected++}`);
      b.settle(got.length);
      expect(b.queued + b.inFlight).to.be.at.most(5000);
    }
  });

  it('drain empties the queue but not what is in flight', () => {
    const b = new SendBuffer(10);
    for (let i = 0; i < 5; i++) b.push(msg(i));
    b.take(2);
    expect(b.drain().map((m) => m.eventId)).to.deep.equal(['e2', 'e3', 'e4']);
    expect(b.queued).to.equal(0);
    expect(b.inFlight).to.equal(2);
  });

  it('rejects a capacity that bounds nothing', () => {
    expect(() => new SendBuffer(0)).to.throw(RangeError);
    expect(() => new SendBuffer(1.5)).to.throw(RangeError);
  });

  it('take(n, maxBytes): a batch stops before the message that would pass maxBytes, but never comes out empty', () => {
    const b = new SendBuffer(10);
    const big = (i: number): OutgoingMessage => ({ key: 'k', value: Buffer.alloc(1000), headers: { 'apg-key-id': 'x'.repeat(32) }, eventId: `e${i}` });
    for (let i = 0; i < 5; i++) b.push(big(i));
    const one = messageBytes(big(0));
    expect(one).to.be.within(1000 + 1 + 32 + 10, 1200);
    expect(b.take(10, 2 * one + 1).map((m) => m.eventId)).to.deep.equal(['e0', 'e1']);
    expect(b.take(10, 10).map((m) => m.eventId), 'one over the budget alone still goes').to.deep.equal(['e2']);
    expect(b.take(2, Infinity).map((m) => m.eventId)).to.deep.equal(['e3', 'e4']);
  });
});
