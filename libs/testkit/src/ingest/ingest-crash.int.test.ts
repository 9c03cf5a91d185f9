import { expect } from 'chai';
import type { Producer } from 'kafkajs';
import type { Probe, StackNames } from '../stack';
import { waitFor } from '../wait-for';
import { callEvent, countStored, eventMessage, produceMessages, registerInstances, startIngestorChild, topicMessageCount, type IngestorChild, closeIngestSuite, openIngestSuite, type IngestSuite } from './ingest-fixture';

const N = 100_000;

async function committedMessages(probe: Probe, names: StackNames): Promise<number> {
  const admin = probe.kafka.admin();
  await admin.connect();
  try {
    const [topic] = await admin.fetchOffsets({ groupId: names.ingestorGroup, topics: [names.topic] });
    return (topic?.partitions ?? []).reduce((s, p) => s + Math.max(0, Number(p.offset)), 0);
  } finally {
    await admin.disconnect();
  }
}

/**
 * Crash safety of the real service binary: `kill -9` of `node services/ingestor/dist/main.js` while it
 * ingests, a restart, a SIGTERM while it ingests again, another restart. Whatever was in flight
 * (written but not committed, or neither) is read again, and the idempotent write must absorb it:
 * exactly N rows, and rollups that count N calls.
 */
describe('ingestor killed with SIGKILL, then stopped with SIGTERM, in the middle of a 100,000-event load', function () {
  this.timeout(120_000);
  let suite: IngestSuite | undefined;
  let names: StackNames;
  let probe: Probe;
  let producer: Producer;
  const children: IngestorChild[] = [];

  before(async () => {
    suite = await openIngestSuite();
    ({ names, probe, producer } = suite);
  });

  after(async () => {
    await Promise.all(children.map((c) => c.kill('SIGKILL')));
    await closeIngestSuite(suite);
  });

  it('stores exactly 100,000 rows and rollups summing to 100,000 after kill -9, a graceful stop and restarts', async () => {
    const { projectId, instances } = await registerInstances(probe.db, 30);
    const messages = Array.from({ length: N }, (_, i) =>
      eventMessage(callEvent(instances[i % instances.length]!, { success: i % 10 !== 0, latencyMs: (i * 7919) % 4000 })));

    const first = startIngestorChild(names);
    children.push(first);
    const producing = produceMessages(producer, names.topic, messages);
    const atKill = await waitFor('a quarter of the load stored', async () => {
      const s = await countStored(probe.db, projectId);
      return s.rows >= N / 4 ? s : null;
    }, { timeoutMs: 60_000, intervalMs: 20 });
    expect(await first.kill('SIGKILL'), first.stderr()).to.equal(-1);
    // Offsets are committed only after the rows: at the crash, Kafka never claims more than Postgres holds.
    const stored = await countStored(probe.db, projectId);
    const committed = await committedMessages(probe, names);
    expect(committed, 'committed offsets ≤ rows stored').to.be.at.most(stored.rows);
    await producing;
    expect(atKill.rows, 'killed mid-load').to.be.below(N);

    // A graceful stop in the middle of the rest of the load: it drains what it holds and exits 0.
    const second = startIngestorChild(names);
    children.push(second);
    // Wait until the second one is itself writing (its signal handlers are installed by then); the first may
    // already have stored more than half, and a SIGTERM during boot would kill it before it can drain.
    const rowsAtStart = (await countStored(probe.db, projectId)).rows;
    const target = Math.min(N, Math.max(N / 2, rowsAtStart + 1000));
    await waitFor('the second ingestor writing, and more than half of the load stored', async () => (await countStored(probe.db, projectId)).rows >= target, { timeoutMs: 60_000, intervalMs: 20 });
    const stopAsked = Date.now();
    expect(await second.kill('SIGTERM'), second.stderr()).to.equal(0);
    expect(Date.now() - stopAsked, 'stopped within its drain timeout').to.be.below(15_000);
    expect(await committedMessages(probe, names)).to.be.at.most((await countStored(probe.db, projectId)).rows);

    const third = startIngestorChild(names);
    children.push(third);
    await waitFor('every event stored and counted', async () => {
      const s = await countStored(probe.db, projectId);
      return s.rows >= N && s.rollupCalls >= N;
    }, { timeoutMs: 60_000, intervalMs: 100 });
    // Give a late duplicate the time to show up, if there were one.
    await new Promise((r) => setTimeout(r, 500));
    expect(await countStored(probe.db, projectId)).to.deep.equal({ rows: N, distinct: N, rollupCalls: N, histogramCalls: N });
    const { rows } = await probe.db.query<{ failures: number }>('test.failures', 'SELECT sum(failures)::int AS failures FROM call_rollups_minute WHERE project_id = $1', [projectId]);
    expect(rows[0]!.failures).to.equal(N / 10);
    expect(await topicMessageCount(probe.kafka, names.dlqTopic), 'nothing dead-lettered').to.equal(0);

    expect(await third.kill('SIGTERM'), third.stderr()).to.equal(0);
  });
});
