import { expect } from 'chai';
import type { CallResultEvent } from '@apg/contracts';
import { eventIdsByInstance, firstOfEachEventId } from './batch-handler';

const ev = (eventId: string, instanceId: string): CallResultEvent => ({
  eventId, instanceId, schemaVersion: 1, projectId: 'p', apiIdentifier: 'a', apiType: 'MODEL', businessId: 'b', success: true, latencyMs: 1, callTimestamp: 1,
});

describe('batch handler: eventIds within a batch', () => {
  const cases: { name: string; in: [string, string][]; unique: string[]; repeated: number }[] = [
    { name: 'nothing', in: [], unique: [], repeated: 0 },
    { name: 'all distinct', in: [['e1', 'a'], ['e2', 'a'], ['e3', 'b']], unique: ['e1', 'e2', 'e3'], repeated: 0 },
    { name: 'a producer duplicate keeps the first', in: [['e1', 'a'], ['e2', 'a'], ['e1', 'a']], unique: ['e1', 'e2'], repeated: 1 },
    { name: 'the same id for another instance is still a duplicate', in: [['e1', 'a'], ['e1', 'b']], unique: ['e1'], repeated: 1 },
  ];
  for (const c of cases) {
    it(c.name, () => {
      const r = firstOfEachEventId(c.in.map(([id, inst]) => ev(id, inst)));
      expect(r.unique.map((e) => e.eventId)).to.deep.equal(c.unique);
      expect(r.repeated).to.equal(c.repeated);
    });
  }

  it('groups eventIds by instance in batch order', () => {
    expect([...eventIdsByInstance([ev('1', 'a'), ev('2', 'b'), ev('3', 'a')])]).to.deep.equal([['a', ['1', '3']], ['b', ['2']]]);
  });
});
