import { expect } from 'chai';
import { Partitioners, type Producer } from 'kafkajs';
import { openProbe, stackNames, type Probe, type StackNames } from '../stack';
import { testEnv } from '../test-env';
import { waitFor } from '../wait-for';
import { callEvent, countStored, eventMessage, metricValue, produceMessages, registerInstances, startIngestorInProcess, topicMessageCount } from './ingest-fixture';
import { startTcpProxy, type TcpProxy } from './tcp-proxy';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/**
 * Postgres unreachable in the middle of a load: every connection of the ingestor goes through a proxy
 * the test cuts (open connections dropped, new ones refused) and later restores. The ingestor must hold
 * its batches (no dead-lettering, no commit), retry with backoff, and resume by itself — with nothing
 * lost and nothing counted twice, even for writes whose commit succeeded but whose answer was lost.
 */
describe('ingestor with its Postgres connections cut mid-load', function () {
  this.timeout(90_000);
  let names: StackNames;
  let probe: Probe;
  let producer: Producer;
  let proxy: TcpProxy;
  let ingestor: Awaited<ReturnType<typeof startIngestorInProcess>> | undefined;

  before(async () => {
    names = stackNames();
    probe = await openProbe(names);
    producer = probe.kafka.producer({ createPartitioner: Partitioners.DefaultPartitioner });
    await producer.connect();
    const db = new URL(testEnv().databaseUrl);
    proxy = await startTcpProxy({ host: db.hostname, port: Number(db.port || 5432) });
  });

  after(async () => {
    proxy?.restore();
    await ingestor?.close();
    await proxy?.close();
    await producer?.disconnect();
    const admin = probe.kafka.admin();
    await admin.connect();
    await admin.deleteTopics({ topics: [names.topic, names.dlqTopic] }).catch(() => undefined);
    await admin.disconnect();
    await probe?.close();
  });

  it('holds, retries, resumes by itself and stores every event exactly once', async () => {
    const { projectId, instances } = await registerInstances(probe.db, 12);
    const N = 30_000;
    const messages = Array.from({ length: N }, (_, i) => eventMessage(callEvent(instances[i % instances.length]!, { latencyMs: i % 900 })));
    ingestor = await startIngestorInProcess(names, { databaseUrl: proxy.rewrite(testEnv().databaseUrl), options: { maxBatchHoldMs: 1000 } });

    await produceMessages(producer, names.topic, messages.slice(0, 10_000));
    await waitFor('writes under way', async () => (await countStored(probe.db, projectId)).rows >= 2000, { intervalMs: 10 });
    proxy.cut();
    // More load arrives while the database is unreachable.
    await produceMessages(producer, names.topic, messages.slice(10_000, 20_000));
    await sleep(1500);
    const during = await countStored(probe.db, projectId);
    await sleep(1500);
    expect((await countStored(probe.db, projectId)).rows, 'nothing written while cut off').to.equal(during.rows);
    expect(during.rows).to.be.below(N);
    expect(await metricValue(ingestor.metrics, 'apg_ingestor_batch_retries_total', { stage: 'write' }), 'retried').to.be.above(0);
    expect(ingestor.service.isRunning()).to.equal(true);
    // Visible: the held batch's age is exported and /readyz turns 503 past INGEST_MAX_BATCH_HOLD_MS.
    expect(await metricValue(ingestor.metrics, 'apg_ingestor_batch_held_seconds')).to.be.above(1);
    expect(ingestor.service.isReady(), 'unready while a batch is held').to.equal(false);

    proxy.restore();
    await produceMessages(producer, names.topic, messages.slice(20_000));
    await waitFor('every event stored after the outage', async () => {
      const s = await countStored(probe.db, projectId);
      return s.rows >= N && s.rollupCalls >= N;
    }, { timeoutMs: 45_000, intervalMs: 100 });
    await sleep(300);
    expect(await countStored(probe.db, projectId)).to.deep.equal({ rows: N, distinct: N, rollupCalls: N, histogramCalls: N });
    await waitFor('ready again', () => ingestor!.service.isReady());
    expect(await metricValue(ingestor.metrics, 'apg_ingestor_batch_held_seconds')).to.equal(0);
    expect(await topicMessageCount(probe.kafka, names.dlqTopic), 'no infrastructure error dead-lettered').to.equal(0);
    expect(await metricValue(ingestor.metrics, 'apg_ingestor_messages_total', { outcome: 'dlq' })).to.equal(0);
    // A write whose commit went through but whose answer was lost with the connection is retried and
    // finds its rows there: those count as duplicates, never as second rows or second rollup counts.
    const written = await metricValue(ingestor.metrics, 'apg_ingestor_messages_total', { outcome: 'written' });
    const duplicate = await metricValue(ingestor.metrics, 'apg_ingestor_messages_total', { outcome: 'duplicate' });
    expect(written + duplicate).to.equal(N);
  });
});
