import { expect } from 'chai';
import { Partitioners, type Admin, type Producer } from 'kafkajs';
import { freePort, serviceEnv, spawnService, type ChildService } from '../child-service';
import { openProbe, stackNames, type Probe, type StackNames } from '../stack';
import { testEnv } from '../test-env';
import { waitFor } from '../wait-for';
import { callEvent, countStored, eventMessage, produceMessages, registerInstances, type TestInstance } from './ingest-fixture';
import { startTcpProxy, type TcpProxy } from './tcp-proxy';

const SESSION_MS = 6000;
const STALL_MS = 15_000;

/**
 * Issue 13 §3 for the ingestor, on the real binary, its Postgres behind a TCP proxy:
 * - hung for 2.5 consumer sessions while new instances arrive (the intake must ask Postgres about them, the
 *   step that used to hang without heart-beating and cost the membership): the member stays in its group
 *   throughout, resumes by itself, and every event is stored once;
 * - every open connection black-holed for good (no reset ever, bytes dropped) while new ones work: the
 *   statements time out (`DATABASE_QUERY_TIMEOUT_MS`), their connections are destroyed, the retries run on
 *   fresh ones, nothing is lost or doubled — no restart needed.
 */
describe('ingestor: Postgres hung past the consumer session, then connections black-holed for good (real binary)', function () {
  this.timeout(240_000);
  let names: StackNames;
  let probe: Probe;
  let producer: Producer;
  let admin: Admin;
  let proxy: TcpProxy;
  let child: ChildService;
  let ops: string;

  before(async () => {
    names = stackNames();
    probe = await openProbe(names);
    producer = probe.kafka.producer({ createPartitioner: Partitioners.DefaultPartitioner });
    await producer.connect();
    admin = probe.kafka.admin();
    await admin.connect();
    const db = new URL(testEnv().databaseUrl);
    proxy = await startTcpProxy({ host: db.hostname, port: Number(db.port || 5432) });
  });

  /** The ingestor binary with its Postgres through the proxy, ready. */
  async function startIngestor(extra: Record<string, string>): Promise<void> {
    const port = await freePort();
    ops = `http://127.0.0.1:${port}`;
    child = spawnService('ingestor', serviceEnv(names, {
      INGESTOR_PORT: String(port),
      DATABASE_URL: proxy.rewrite(testEnv().databaseUrl),
      INGEST_SESSION_TIMEOUT_MS: String(SESSION_MS),
      INGEST_MAX_BATCH_HOLD_MS: '2000',
      ...extra,
    }));
    await waitFor('ingestor ready', async () => (await fetch(`${ops}/readyz`).catch(() => null))?.status === 200, { timeoutMs: 60_000 });
  }

  after(async () => {
    proxy?.resume();
    await child?.kill('SIGTERM');
    await proxy?.close();
    await admin?.disconnect();
    await producer?.disconnect();
    const a = probe.kafka.admin();
    await a.connect();
    await a.deleteTopics({ topics: [names.topic, names.dlqTopic] }).catch(() => undefined);
    await a.disconnect();
    await probe?.close();
  });

  const members = async () => (await admin.describeGroups([names.ingestorGroup])).groups[0]?.members.length ?? 0;
  const produce = (instances: TestInstance[], n: number) =>
    produceMessages(producer, names.topic, Array.from({ length: n }, (_, i) => eventMessage(callEvent(instances[i % instances.length]!, { latencyMs: i % 500 }))));
  const storedExactly = async (projectId: string, n: number, what: string, timeoutMs = 60_000) => {
    await waitFor(what, async () => (await countStored(probe.db, projectId)).rows >= n, { timeoutMs, intervalMs: 250 });
    await new Promise((r) => setTimeout(r, 500));
    expect(await countStored(probe.db, projectId), what).to.deep.equal({ rows: n, distinct: n, rollupCalls: n, histogramCalls: n });
  };
  const readyz = async () => (await fetch(`${ops}/readyz`)).status;

  it('hung for 2.5 sessions: stays in its group, resumes by itself, every event stored once', async () => {
    // Statement timeout (the default, 30 s) longer than the stall: only heart-beating while a step waits
    // keeps the member in its group.
    await startIngestor({});
    const a = await registerInstances(probe.db, 6);
    await produce(a.instances, 300);
    await storedExactly(a.projectId, 300, 'first events stored');
    expect(await members()).to.equal(1);

    proxy.stall();
    const stalledAt = Date.now();
    // Instances the ingestor has never seen: admitting their events needs Postgres.
    const b = await registerInstances(probe.db, 6);
    await produce(b.instances, 300);
    await produce(a.instances, 300);
    const seen: number[] = [];
    let unready = false;
    while (Date.now() - stalledAt < STALL_MS) {
      seen.push(await members());
      if ((await readyz()) === 503) unready = true;
      await new Promise((r) => setTimeout(r, 500));
    }
    proxy.resume();
    console.log(`      Postgres hung ${Date.now() - stalledAt} ms (session ${SESSION_MS} ms): group members sampled ${seen.length}×, min ${Math.min(...seen)}, max ${Math.max(...seen)}`);
    expect(unready, '/readyz 503 while batches are held').to.equal(true);
    expect(Math.min(...seen), 'never evicted from its group').to.equal(1);

    await storedExactly(a.projectId, 600, 'held events stored after the stall');
    await storedExactly(b.projectId, 300, 'events of new instances stored after the stall');
    // Consuming again, not merely alive.
    await produce(b.instances, 100);
    await storedExactly(b.projectId, 400, 'new events after the stall');
    await waitFor('ready again', async () => (await readyz()) === 200, { timeoutMs: 30_000 });
    expect(child.child.exitCode, child.output().slice(-2000)).to.equal(null);
  });

  it('connections black-holed for good: statements time out, fresh connections carry on, nothing lost or doubled', async () => {
    expect(await child.kill('SIGTERM')).to.equal(0);
    await startIngestor({ DATABASE_QUERY_TIMEOUT_MS: '4000', DATABASE_CONNECT_TIMEOUT_MS: '3000' });
    const c = await registerInstances(probe.db, 6);
    await produce(c.instances, 200);
    await storedExactly(c.projectId, 200, 'events stored before');
    proxy.stall();
    await produce(c.instances, 300);
    await new Promise((r) => setTimeout(r, 1000));
    const strandedAt = Date.now();
    // Every connection the pool holds now never answers again (and is never reset); new ones go through.
    proxy.strand();
    await storedExactly(c.projectId, 500, 'stored through fresh connections', 90_000);
    console.log(`      black-holed connections: everything stored ${Date.now() - strandedAt} ms after (statement timeout 4000 ms)`);
    expect(await members()).to.equal(1);
    expect(child.output()).to.match(/Query read timeout|timeout exceeded when trying to connect|Connection terminated/);
    expect(child.child.exitCode, 'no restart needed').to.equal(null);
    await waitFor('ready again', async () => (await readyz()) === 200, { timeoutMs: 30_000 });
  });

  it('frozen past its session (SIGSTOP: a GC pause, a VM stalled): evicted, rejoins by itself on waking, exactly once', async () => {
    const d = await registerInstances(probe.db, 6);
    await produce(d.instances, 100);
    await storedExactly(d.projectId, 100, 'stored before the freeze');
    child.child.kill('SIGSTOP');
    const frozenAt = Date.now();
    try {
      await produce(d.instances, 200);
      await waitFor('the frozen member evicted from its group', async () => (await members()) === 0, { timeoutMs: 30_000, intervalMs: 250 });
    } finally {
      child.child.kill('SIGCONT');
    }
    const wokeAt = Date.now();
    await storedExactly(d.projectId, 300, 'events produced during the freeze stored', 90_000);
    await waitFor('back in its group', async () => (await members()) === 1, { timeoutMs: 30_000, intervalMs: 250 });
    console.log(`      frozen ${wokeAt - frozenAt} ms (session ${SESSION_MS} ms); caught up ${Date.now() - wokeAt} ms after waking; exit code ${String(child.child.exitCode)}`);
    expect(child.child.exitCode, 'rejoined in-process').to.equal(null);
    await produce(d.instances, 50);
    await storedExactly(d.projectId, 350, 'consuming again');
    await waitFor('ready again', async () => (await readyz()) === 200, { timeoutMs: 30_000 });
  });
});
