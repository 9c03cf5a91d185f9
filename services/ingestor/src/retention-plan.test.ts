import { expect } from 'chai';
import { DAY_MS, partitionDay, partitionName, planPartitions, retentionHorizon, utcDayStart } from './retention-plan';

const day = (iso: string) => Date.parse(`${iso}T00:00:00Z`);

describe('retention plan', () => {
  const now = Date.parse('2026-03-10T15:30:00Z');

  it('names partitions by UTC day and reads the names back', () => {
    expect(partitionName(day('2026-03-10'))).to.equal('call_results_p20260310');
    expect(partitionDay('call_results_p20260310')).to.equal(day('2026-03-10'));
    for (const other of ['call_results_default', 'call_results_p2026031', 'call_results_p20261341', 'x_p20260310']) expect(partitionDay(other), other).to.equal(null);
  });

  it('keeps R full days behind today', () => {
    expect(utcDayStart(now)).to.equal(day('2026-03-10'));
    expect(retentionHorizon(now, 7)).to.equal(day('2026-03-03'));
  });

  it('creates every missing day from the horizon to the days ahead, and drops the days behind', () => {
    const existing = [day('2026-02-20'), day('2026-03-02'), day('2026-03-03'), day('2026-03-10'), day('2026-03-11')];
    const plan = planPartitions(now, existing, { retentionDays: 7, premakeDays: 3 });
    expect(plan.horizon).to.equal(day('2026-03-03'));
    expect(plan.create.map(partitionName)).to.deep.equal([
      'call_results_p20260304', 'call_results_p20260305', 'call_results_p20260306', 'call_results_p20260307',
      'call_results_p20260308', 'call_results_p20260309', 'call_results_p20260312', 'call_results_p20260313',
    ]);
    expect(plan.drop.map(partitionName)).to.deep.equal(['call_results_p20260220', 'call_results_p20260302']);
  });

  it('is a no-op once everything exists', () => {
    const first = planPartitions(now, [], { retentionDays: 2, premakeDays: 1 });
    expect(first.create).to.have.length(4);
    const again = planPartitions(now, first.create, { retentionDays: 2, premakeDays: 1 });
    expect(again).to.deep.equal({ create: [], drop: [], horizon: first.horizon });
    // A day later the oldest goes and one more comes.
    const tomorrow = planPartitions(now + DAY_MS, first.create, { retentionDays: 2, premakeDays: 1 });
    expect(tomorrow.drop).to.deep.equal([first.create[0]]);
    expect(tomorrow.create).to.deep.equal([day('2026-03-12')]);
  });
});
