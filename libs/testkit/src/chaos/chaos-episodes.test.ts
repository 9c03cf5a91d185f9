import { strict as assert } from 'node:assert';
import { episodesOf } from './chaos-episodes';

describe('chaos episodes of the dead instance', () => {
  it('splits calls at gaps of at least gapMs, in time order, counting per replica', () => {
    const calls = [
      { at: 1000, replica: 'a' }, { at: 1010, replica: 'b' }, { at: 1300, replica: 'a' },
      { at: 4000, replica: 'b' }, { at: 3400, replica: 'a' }, { at: 9000, replica: 'a' },
    ];
    const eps = episodesOf(calls, 1000);
    assert.deepEqual(eps.map((e) => [e.start, e.end, e.calls]), [[1000, 1300, 3], [3400, 4000, 2], [9000, 9000, 1]]);
    assert.deepEqual([...eps[0]!.byReplica], [['a', 2], ['b', 1]]);
  });

  it('a breaker that never leaves a gap yields one growing episode (so the bound catches it)', () => {
    const calls = Array.from({ length: 50 }, (_, i) => ({ at: i * 500, replica: 'a' }));
    assert.deepEqual(episodesOf(calls, 1000).map((e) => e.calls), [50]);
    assert.deepEqual(episodesOf([], 1000), []);
  });
});
