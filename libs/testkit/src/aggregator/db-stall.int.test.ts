import { expect } from 'chai';
import type { Producer } from 'kafkajs';
import { freePort, serviceEnv, spawnService, type ChildService } from '../child-service';
import { startTcpProxy, type TcpProxy } from '../ingest/tcp-proxy';
import { openProbe, stackNames, type Probe, type StackNames } from '../stack';
import { testEnv } from '../test-env';
import { waitFor } from '../wait-for';
import { callsAre, registerInstances, send, times, waitForCaughtUp, waitForRecord, type TestInstance } from './fixtures';

/**
 * Issue 13 §3, the aggregator's Postgres (instance ownership, breaker configs, signing keys, transitions) hung
 * behind a TCP proxy for 2.5 consumer sessions while events of instances it has never seen arrive (their
 * checks need Postgres): the real binary says so (`/readyz` 503), gets back into its group by itself (kept,
 * or evicted and its consumer replaced in-process) and applies every event exactly once, without exiting.
 */
describe('aggregator: Postgres hung past the consumer session (real binary, TCP proxy)', function () {
  this.timeout(180_000);
  let names: StackNames;
  let probe: Probe;
  let producer: Producer;
  let proxy: TcpProxy;
  let child: ChildService;
  let ops: string;

  before(async () => {
    names = stackNames();
    probe = await openProbe(names);
    producer = probe.kafka.producer();
    await producer.connect();
    const pg = new URL(testEnv().databaseUrl);
    proxy = await startTcpProxy({ host: pg.hostname, port: Number(pg.port || 5432) });
    const port = await freePort();
    ops = `http://127.0.0.1:${port}`;
    child = spawnService('aggregator', serviceEnv(names, {
      AGGREGATOR_PORT: String(port),
      DATABASE_URL: proxy.rewrite(testEnv().databaseUrl),
      AGGREGATOR_SESSION_TIMEOUT_MS: '6000',
      AGGREGATOR_REBALANCE_TIMEOUT_MS: '6000',
      AGGREGATOR_MAX_HELD_MS: '2000',
    }));
    await waitFor('aggregator ready', async () => (await fetch(`${ops}/readyz`).catch(() => null))?.status === 200, { timeoutMs: 60_000 });
  });

  after(async () => {
    proxy?.resume();
    await child?.kill('SIGTERM');
    await proxy?.close();
    await producer?.disconnect();
    await probe?.close();
  });

  it('503 while held, back in its group by itself afterwards, every event applied once, no exit', async () => {
    const [known] = (await registerInstances(probe.db, [{}])) as [TestInstance];
    await send(producer, names, times(1, known, false));
    await waitForRecord(probe.redis, names, known.id, 'first event applied', callsAre(1));

    proxy.stall();
    const stalledAt = Date.now();
    const fresh = await registerInstances(probe.db, Array.from({ length: 4 }, () => ({})));
    await send(producer, names, [...fresh.flatMap((i) => times(2, i, false)), ...times(2, known, false)]);
    await waitFor('/readyz 503 while the batch is held', async () => (await fetch(`${ops}/readyz`)).status === 503, { timeoutMs: 20_000, intervalMs: 100 });
    while (Date.now() - stalledAt < 15_000) await new Promise((r) => setTimeout(r, 250));
    proxy.resume();

    for (const i of fresh) await waitForRecord(probe.redis, names, i.id, 'held events of a new instance applied once', callsAre(2), 60_000);
    await waitForRecord(probe.redis, names, known.id, 'held events of a known instance applied once', callsAre(3), 60_000);
    await send(producer, names, times(1, known, false));
    await waitForRecord(probe.redis, names, known.id, 'consuming again', callsAre(4), 60_000);
    await waitForCaughtUp(probe.kafka, names, 60_000);
    await waitFor('ready again', async () => (await fetch(`${ops}/readyz`)).status === 200, { timeoutMs: 30_000 });
    const restarts = /apg_aggregator_consumer_restarts_total\{[^}]*\} (\d+)/.exec(await (await fetch(`${ops}/metrics`)).text());
    console.log(`      Postgres hung 15 s (session 6 s): consumer replaced in-process ${restarts?.[1] ?? '?'} time(s); exit code ${String(child.child.exitCode)}`);
    expect(child.child.exitCode, child.output().slice(-2000)).to.equal(null);
  });
});
