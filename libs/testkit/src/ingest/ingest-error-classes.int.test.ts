import { expect } from 'chai';
import { Partitioners, type Producer } from 'kafkajs';
import { EXIT_ON_BUG } from '@apg/platform';
import { openProbe, stackNames, type Probe, type StackNames } from '../stack';
import { waitFor } from '../wait-for';
import {
  callEvent,
  committedMessages,
  countStored,
  eventMessage,
  metricValue,
  produceMessages,
  readDeadLetters,
  registerInstances,
  startIngestorChild,
  startIngestorInProcess,
  topicMessageCount,
  type IngestorChild,
} from './ingest-fixture';
import { installPoisonTrigger, type PoisonTrigger } from './poison-trigger';

const N = 3000;

async function cleanUp(probe: Probe, names: StackNames): Promise<void> {
  const admin = probe.kafka.admin();
  await admin.connect();
  await admin.deleteTopics({ topics: [names.topic, names.dlqTopic] }).catch(() => undefined);
  await admin.deleteGroups([names.ingestorGroup]).catch(() => undefined);
  await admin.disconnect();
}

/**
 * The two non-infrastructure classes on the real stack (infrastructure: ingest-db-outage). Postgres
 * refuses chosen events through a trigger (poison-trigger.ts): with a data SQLSTATE the offending events
 * alone go to the DLQ and the partitions move on; with a bug SQLSTATE the real ingestor binary exits 70,
 * keeps exiting on restart while the bug is there (nothing skipped), and once it is fixed resumes from
 * the committed offsets with every event stored exactly once.
 */
describe('ingestor error classes on the real stack', function () {
  this.timeout(150_000);
  let names: StackNames;
  let probe: Probe;
  let producer: Producer;
  let trigger: PoisonTrigger | undefined;

  beforeEach(async () => {
    names = stackNames();
    probe = await openProbe(names);
    producer = probe.kafka.producer({ createPartitioner: Partitioners.DefaultPartitioner });
    await producer.connect();
    trigger = await installPoisonTrigger(probe.db);
  });

  afterEach(async () => {
    await trigger?.remove();
    await producer?.disconnect();
    await cleanUp(probe, names);
    await probe?.close();
  });

  it('data error: dead-letters exactly the refused events (found by bisecting) and moves on', async () => {
    const { projectId, instances } = await registerInstances(probe.db, 6);
    const events = Array.from({ length: N }, (_, i) => callEvent(instances[i % instances.length]!, { latencyMs: i }));
    const refused = new Map([[events[17]!, '23514'], [events[1234]!, '22003'], [events[1235]!, '54000'], [events[N - 1]!, '23502']]);
    for (const [e, code] of refused) await trigger!.poison(e.eventId, code);
    const ingestor = await startIngestorInProcess(names);
    try {
      await produceMessages(producer, names.topic, events.map(eventMessage), 250);
      const total = await topicMessageCount(probe.kafka, names.topic);
      await waitFor('every offset committed', async () => (await committedMessages(probe.kafka, names)) === total, { timeoutMs: 60_000 });
      expect(await countStored(probe.db, projectId)).to.deep.equal({ rows: N - refused.size, distinct: N - refused.size, rollupCalls: N - refused.size, histogramCalls: N - refused.size });
      const letters = await readDeadLetters(probe.kafka, names.dlqTopic, refused.size);
      expect(letters).to.have.length(refused.size);
      for (const l of letters) {
        const event = events.find((e) => e.eventId === (JSON.parse(l.value) as { eventId: string }).eventId)!;
        expect(l.reason).to.equal('rejected_by_database');
        expect(l.detail).to.match(new RegExp(`^SQLSTATE ${refused.get(event)}: `));
      }
      expect(await metricValue(ingestor.metrics, 'apg_ingestor_batch_retries_total'), 'a data error is never retried').to.equal(0);
      expect(await metricValue(ingestor.metrics, 'apg_ingestor_dead_letters_total', { reason: 'rejected_by_database' })).to.equal(refused.size);
      expect(ingestor.service.isRunning()).to.equal(true);
    } finally {
      await ingestor.close();
    }
  });

  it('bug: the ingestor exits 70 without committing past it, crash-loops while it lasts, then resumes exactly once', async () => {
    const { projectId, instances } = await registerInstances(probe.db, 6);
    const events = Array.from({ length: N }, (_, i) => callEvent(instances[i % instances.length]!, { latencyMs: i }));
    const culprit = events[N / 2]!;
    await trigger!.poison(culprit.eventId, '42703'); // undefined_column: code ahead of its migration
    const children: IngestorChild[] = [];
    const start = () => {
      const c = startIngestorChild(names);
      children.push(c);
      return c;
    };
    try {
      await produceMessages(producer, names.topic, events.map(eventMessage), 250);
      const total = await topicMessageCount(probe.kafka, names.topic);
      const first = start();
      expect(await first.exited, first.stderr()).to.equal(EXIT_ON_BUG);
      expect(first.stderr()).to.match(/bug in .*42703|bug in .*injected failure/s);
      const stored = await countStored(probe.db, projectId);
      expect(stored.rows).to.be.below(N);
      const culpritRows = async () => (await probe.db.query<{ n: number }>('test.culprit', 'SELECT count(*)::int AS n FROM call_results WHERE event_id = $1', [culprit.eventId])).rows[0]!.n;
      expect(await culpritRows()).to.equal(0);
      expect(await committedMessages(probe.kafka, names), 'nothing committed beyond what is stored').to.be.at.most(stored.rows);

      // Restarted by its supervisor while the bug is still there: it stops at the same event again.
      const second = start();
      expect(await second.exited, second.stderr()).to.equal(EXIT_ON_BUG);
      expect(await culpritRows()).to.equal(0);
      expect(await committedMessages(probe.kafka, names)).to.be.below(total);
      expect(await topicMessageCount(probe.kafka, names.dlqTopic), 'a bug never dead-letters').to.equal(0);

      // The fix is deployed: it resumes from the committed offsets, nothing lost, nothing twice.
      await trigger!.remove();
      const third = start();
      await waitFor('every offset committed', async () => (await committedMessages(probe.kafka, names)) === total, { timeoutMs: 60_000, intervalMs: 100 });
      expect(await countStored(probe.db, projectId)).to.deep.equal({ rows: N, distinct: N, rollupCalls: N, histogramCalls: N });
      expect(await culpritRows()).to.equal(1);
      expect(await topicMessageCount(probe.kafka, names.dlqTopic)).to.equal(0);
      expect(await third.kill('SIGTERM'), third.stderr()).to.equal(0);
    } finally {
      await Promise.all(children.map((c) => c.kill('SIGKILL')));
    }
  });
});
