import { expect } from 'chai';
import { ClientThrottle, clientKey } from './client-throttle';

const clock = () => {
  let t = 1_000_000;
  return { now: () => t, tick: (ms: number) => (t += ms) };
};

const drain = (th: ClientThrottle, client: string, n: number) => Array.from({ length: n }, () => th.take(client).ok);

describe('ClientThrottle', () => {
  it('admits a burst, then refuses with a Retry-After, then refills at the rate', () => {
    const c = clock();
    const th = new ClientThrottle({ ratePerSecond: 2, burst: 3, maxClients: 10 }, c.now);
    expect(drain(th, 'a', 4)).to.deep.equal([true, true, true, false]);
    expect(th.take('a')).to.deep.equal({ ok: false, retryAfterS: 1 });
    c.tick(500);
    expect(drain(th, 'a', 2)).to.deep.equal([true, false]);
    c.tick(10_000);
    expect(drain(th, 'a', 4)).to.deep.equal([true, true, true, false]);
  });

  it('keeps clients apart', () => {
    const c = clock();
    const th = new ClientThrottle({ ratePerSecond: 1, burst: 2, maxClients: 10 }, c.now);
    expect(drain(th, 'a', 3)).to.deep.equal([true, true, false]);
    expect(drain(th, 'b', 2)).to.deep.equal([true, true]);
  });

  it('Retry-After covers the wait for one token at slow rates', () => {
    const c = clock();
    const th = new ClientThrottle({ ratePerSecond: 0.1, burst: 1, maxClients: 10 }, c.now);
    th.take('a');
    expect(th.take('a')).to.deep.equal({ ok: false, retryAfterS: 10 });
  });

  it('stays within maxClients, dropping idle (refilled) clients first', () => {
    const c = clock();
    const th = new ClientThrottle({ ratePerSecond: 1, burst: 2, maxClients: 100 }, c.now);
    for (let i = 0; i < 10_000; i++) {
      th.take(`idle-${i}`);
      c.tick(1000); // each has refilled by the time the table is full
    }
    expect(th.clients).to.equal(100);
  });

  it('a flood from more addresses than it remembers shares one overflow bucket (rotation buys nothing)', () => {
    const c = clock();
    const th = new ClientThrottle({ ratePerSecond: 1, burst: 5, maxClients: 50 }, c.now);
    // 50 active attackers fill the table with half-empty buckets …
    for (let i = 0; i < 50; i++) th.take(`busy-${i}`);
    // … then 1,000 fresh addresses get 5 requests together, not 5 each.
    const admitted = Array.from({ length: 1000 }, (_, i) => th.take(`fresh-${i}`).ok).filter(Boolean).length;
    expect(admitted).to.equal(5);
    expect(th.clients).to.equal(50);
  });
});

describe('clientKey', () => {
  const cases: [string | undefined, string][] = [
    ['203.0.113.9', '203.0.113.9'],
    ['::ffff:203.0.113.9', '203.0.113.9'],
    ['2001:db8:1:2:3:4:5:6', '2001:db8:1:2::/64'],
    ['2001:db8:1:2:ffff:ffff:ffff:ffff', '2001:db8:1:2::/64'],
    ['2001:0db8:0001:0002::1', '2001:db8:1:2::/64'],
    ['2001:db8::1', '2001:db8:0:0::/64'],
    ['::1', '0:0:0:0::/64'],
    ['fe80::1%eth0', 'fe80:0:0:0::/64'],
    ['64:ff9b::192.0.2.1', '64:ff9b:0:0::/64'],
    ['not an address', 'unknown'],
    [undefined, 'unknown'],
  ];
  for (const [input, want] of cases) it(`${String(input)} → ${want}`, () => expect(clientKey(input)).to.equal(want));
});
