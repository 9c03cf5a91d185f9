import { expect } from 'chai';
import { dedupeRetentionMs, MAX_DEDUPE_MS, MAX_TTL_MS, MIN_DEDUPE_MS, redisTtlMs, windowTtlMs } from './redis-bounds';

/** Whatever a stored config says, the numbers sent to Redis stay whole and in range (issue 8: `PX 1e+21`). */
describe('redis bounds', () => {
  const ttl: [number, number][] = [
    [1e21, MAX_TTL_MS],
    [1e300, MAX_TTL_MS],
    [Infinity, 5000],
    [NaN, 5000],
    [-1, 1],
    [0, 1],
    [0.5, 1],
    [1.4, 1],
    [61_000.6, 61_001],
  ];
  for (const [input, want] of ttl) it(`redisTtlMs(${input}) = ${want}`, () => expect(redisTtlMs(input, 5000)).to.equal(want));

  const windows: [number, number][] = [[60_000, 120_000], [1e21, MAX_TTL_MS], [0.5, 60_001], [NaN, 120_000]];
  for (const [windowMs, want] of windows) {
    it(`window TTL for windowMs ${windowMs} is ${want}`, () => {
      const got = windowTtlMs({ windowMs });
      expect(got).to.equal(want);
      expect(Number.isInteger(got)).to.equal(true);
      // What the script sends is String(ttl): never an exponent or a fraction.
      expect(String(got)).to.match(/^\d+$/);
    });
  }

  const dedupe: [number, number][] = [[60_000, MIN_DEDUPE_MS], [30 * 60_000, 30 * 60_000], [1e21, MAX_DEDUPE_MS], [0.5, MIN_DEDUPE_MS], [NaN, MIN_DEDUPE_MS]];
  for (const [windowMs, want] of dedupe) it(`eventIds kept ${want} ms for windowMs ${windowMs}`, () => expect(dedupeRetentionMs({ windowMs })).to.equal(want));
});
