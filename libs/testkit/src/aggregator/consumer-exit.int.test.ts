import { expect } from 'chai';
import type { Producer } from 'kafkajs';
import { freePort, serviceEnv, spawnService, type ChildService } from '../child-service';
import { startTcpProxy, type TcpProxy } from '../ingest/tcp-proxy';
import { openProbe, stackNames, type Probe, type StackNames } from '../stack';
import { testEnv } from '../test-env';
import { waitFor } from '../wait-for';
import { callsAre, registerInstances, send, times, waitForCaughtUp, waitForRecord, type TestInstance } from './fixtures';

/**
 * Issue 13 §3, the other way out: a consumer kafkajs ended for good (Redis stalled past the session, the
 * member evicted, "The coordinator is not aware of this member") that may not be replaced in-process
 * (`AGGREGATOR_MAX_CONSUMER_RESTARTS=0`; by default 5 replacements in a row are tried first, see
 * redis-stall.int.test.ts) makes the real binary answer `/readyz` 503 and exit 70 — never a live process
 * consuming nothing. Restarted as a supervisor would, it applies every event exactly once.
 */
describe('aggregator: a consumer ended by kafkajs exits the process to be restarted (real binary)', function () {
  this.timeout(180_000);
  let names: StackNames;
  let probe: Probe;
  let producer: Producer;
  let proxy: TcpProxy;
  const children: ChildService[] = [];

  before(async () => {
    names = stackNames();
    probe = await openProbe(names);
    producer = probe.kafka.producer();
    await producer.connect();
    const redis = new URL(testEnv().redisUrl);
    proxy = await startTcpProxy({ host: redis.hostname, port: Number(redis.port || 6379) });
  });

  after(async () => {
    proxy?.resume();
    for (const c of children) await c.kill('SIGKILL');
    await proxy?.close();
    await producer?.disconnect();
    await probe?.close();
  });

  async function spawnAggregator(): Promise<{ child: ChildService; ops: string }> {
    const port = await freePort();
    const child = spawnService('aggregator', serviceEnv(names, {
      AGGREGATOR_PORT: String(port),
      REDIS_URL: proxy.rewrite(testEnv().redisUrl),
      AGGREGATOR_SESSION_TIMEOUT_MS: '6000',
      AGGREGATOR_REBALANCE_TIMEOUT_MS: '6000',
      AGGREGATOR_MAX_HELD_MS: '2000',
      AGGREGATOR_MAX_CONSUMER_RESTARTS: '0',
    }));
    children.push(child);
    const ops = `http://127.0.0.1:${port}`;
    await waitFor('aggregator ready', async () => (await fetch(`${ops}/readyz`).catch(() => null))?.status === 200, { timeoutMs: 60_000 });
    return { child, ops };
  }

  it('503 while stalled, exit 70 once kafkajs gave the consumer up, and a restart resumes exactly once', async () => {
    const [inst] = (await registerInstances(probe.db, [{}])) as [TestInstance];
    const first = await spawnAggregator();
    await send(producer, names, times(1, inst, false));
    await waitForRecord(probe.redis, names, inst.id, 'first event applied', callsAre(1));

    proxy.stall();
    await send(producer, names, times(2, inst, false));
    await waitFor('/readyz 503 while the batch is held', async () => (await fetch(`${first.ops}/readyz`)).status === 503, { timeoutMs: 20_000, intervalMs: 100 });
    const admin = probe.kafka.admin();
    await admin.connect();
    await waitFor('the stalled member evicted from its group', async () => (await admin.describeGroups([names.aggregatorGroup])).groups[0]?.members.length === 0, { timeoutMs: 30_000, intervalMs: 250 });
    await admin.disconnect();
    proxy.resume();

    const statuses: number[] = [];
    const poll = (async () => {
      while (first.child.child.exitCode === null) {
        const r = await fetch(`${first.ops}/readyz`).catch(() => null);
        if (r) statuses.push(r.status);
        await new Promise((res) => setTimeout(res, 50));
      }
    })();
    const code = await Promise.race([first.child.exited, new Promise<string>((res) => setTimeout(() => res('still running'), 30_000))]);
    await poll;
    console.log(`      exit ${String(code)}; /readyz after the resume: ${statuses.length} answers, ${statuses.filter((s) => s === 200).length} × 200`);
    expect(code, first.child.output().slice(-3000)).to.equal(70);
    expect(first.child.output()).to.include('consumer crashed for good and could not be restarted; exiting');

    // What the supervisor does: start it again. It resumes from the committed offsets, counting each event once.
    await spawnAggregator();
    await waitForRecord(probe.redis, names, inst.id, 'the held events applied once', callsAre(3), 60_000);
    await send(producer, names, times(1, inst, false));
    await waitForRecord(probe.redis, names, inst.id, 'consuming again', callsAre(4), 60_000);
    await waitForCaughtUp(probe.kafka, names, 60_000);
  });
});
