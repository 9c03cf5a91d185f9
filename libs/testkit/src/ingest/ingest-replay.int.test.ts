import { expect } from 'chai';
import type { Producer } from 'kafkajs';
import { mulberry32 } from '@apg/core';
import type { Probe, StackNames } from '../stack';
import { waitFor } from '../wait-for';
import {
  callEvent,
  committedMessages,
  countStored,
  eventMessage,
  produceMessages,
  registerInstances,
  startIngestorChild,
  topicMessageCount,
  type IngestorChild, closeIngestSuite, openIngestSuite, type IngestSuite } from './ingest-fixture';

const N = 20_000;

/**
 * One effect per event, whatever the path of the copies: every event of a 20,000-event load reaches the
 * real ingestor binary several ways — a client retry (same eventId, another callTimestamp, as the api
 * stamps a report retried without one), a producer duplicate (the same bytes twice), a redelivery after
 * `kill -9` of the ingestor mid-batch, and a full replay of the topic from offset 0 after a restart.
 * Postgres must hold exactly one row per eventId and the rollups must count each event once.
 */
describe('ingestor replay: client retries, producer duplicates, kill -9 mid-batch, full replay', function () {
  this.timeout(180_000);
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

  const start = () => {
    const child = startIngestorChild(names);
    children.push(child);
    return child;
  };

  it('stores and counts every eventId exactly once', async () => {
    const { projectId, instances } = await registerInstances(probe.db, 24);
    const rand = mulberry32(20261130);
    const now = Date.now();
    const originals = Array.from({ length: N }, (_, i) =>
      callEvent(instances[i % instances.length]!, { callTimestamp: now - Math.floor(rand() * 3_600_000), success: i % 7 !== 0, latencyMs: i % 3000 }));
    const messages = originals.map(eventMessage);
    // Every fifth event retried by its client: same eventId, a later callTimestamp (possibly another
    // minute, another rollup row), sent after the original.
    const retries = originals.filter((_, i) => i % 5 === 0).map((e) => eventMessage({ ...e, callTimestamp: e.callTimestamp + 1 + Math.floor(rand() * 120_000) }));
    // Every tenth sent twice by the producer, byte for byte.
    const duplicates = messages.filter((_, i) => i % 10 === 3);
    const all = [...messages.slice(0, N / 2), ...duplicates, ...messages.slice(N / 2), ...retries];

    const first = start();
    const producing = produceMessages(producer, names.topic, all, 500);
    await waitFor('a quarter of the load stored', async () => (await countStored(probe.db, projectId)).rows >= N / 4, { timeoutMs: 60_000, intervalMs: 20 });
    expect(await first.kill('SIGKILL'), first.stderr()).to.equal(-1);
    const atKill = await countStored(probe.db, projectId);
    expect(atKill.rows, 'killed mid-load').to.be.below(N);
    // Offsets are committed only after the rows: Kafka never claims more than Postgres holds.
    expect(await committedMessages(probe.kafka, names)).to.be.at.most(atKill.rows + duplicates.length + retries.length);
    await producing;

    const second = start();
    const total = await topicMessageCount(probe.kafka, names.topic);
    expect(total).to.equal(all.length);
    await waitFor('every message consumed and committed', async () => (await committedMessages(probe.kafka, names)) === total, { timeoutMs: 90_000, intervalMs: 100 });
    const once = { rows: N, distinct: N, rollupCalls: N, histogramCalls: N };
    expect(await countStored(probe.db, projectId)).to.deep.equal(once);
    expect(await topicMessageCount(probe.kafka, names.dlqTopic), 'nothing dead-lettered').to.equal(0);
    const failures = async () => (await probe.db.query<{ n: number }>('test.failures', 'SELECT sum(failures)::int AS n FROM call_rollups_minute WHERE project_id = $1', [projectId])).rows[0]!.n;
    expect(await failures()).to.equal(originals.filter((e) => !e.success).length);

    // A full replay from offset 0 (an operator resetting the group, a new deployment reading from the start).
    expect(await second.kill('SIGTERM'), second.stderr()).to.equal(0);
    const admin = probe.kafka.admin();
    await admin.connect();
    await admin.resetOffsets({ groupId: names.ingestorGroup, topic: names.topic, earliest: true });
    await admin.disconnect();
    expect(await committedMessages(probe.kafka, names)).to.equal(0);
    const third = start();
    await waitFor('the replay consumed and committed', async () => (await committedMessages(probe.kafka, names)) === total, { timeoutMs: 90_000, intervalMs: 100 });
    expect(await countStored(probe.db, projectId)).to.deep.equal(once);
    expect(await failures()).to.equal(originals.filter((e) => !e.success).length);
    expect(await third.kill('SIGTERM'), third.stderr()).to.equal(0);
  });
});
