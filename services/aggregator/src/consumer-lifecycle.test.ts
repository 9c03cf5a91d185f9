import { expect } from 'chai';
import { consumerWatchdogMs } from '@apg/platform';
import { crashAction, type CrashAction } from './consumer-lifecycle';

describe('consumer lifecycle: what a kafkajs CRASH leads to', () => {
  const base = { restart: false, stopping: false, current: true, restartsInARow: 0, maxRestarts: 5 };
  const cases: { name: string; s: Partial<typeof base>; want: CrashAction }[] = [
    { name: 'kafkajs restarts retriable crashes itself', s: { restart: true }, want: 'kafkajs-restarts' },
    { name: 'a consumer kafkajs gave up on is replaced', s: {}, want: 'restart' },
    { name: 'still replaced on the last allowed attempt', s: { restartsInARow: 4 }, want: 'restart' },
    { name: 'too many in a row without a join: exit for the supervisor', s: { restartsInARow: 5 }, want: 'exit' },
    { name: 'never with no restarts allowed', s: { maxRestarts: 0 }, want: 'exit' },
    { name: 'a crash while stopping is the stop itself', s: { stopping: true }, want: 'ignore' },
    { name: 'a crash of a consumer already replaced', s: { current: false }, want: 'ignore' },
    { name: 'stopping wins over exit', s: { stopping: true, restartsInARow: 99 }, want: 'ignore' },
  ];
  for (const c of cases) it(c.name, () => expect(crashAction({ ...base, ...c.s })).to.equal(c.want));
});

describe('consumer watchdog bound', () => {
  it('is several sessions, never under a minute', () => {
    expect(consumerWatchdogMs(6000)).to.equal(60_000);
    expect(consumerWatchdogMs(30_000)).to.equal(120_000);
  });
});
