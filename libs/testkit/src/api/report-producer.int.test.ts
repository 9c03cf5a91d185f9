import { randomUUID } from 'node:crypto';
import { expect } from 'chai';
import { CALL_RESULT_SCHEMA_VERSION, type CallResultEvent } from '@apg/contracts';
import type { Kafka } from 'kafkajs';
import { createKafka, createLogger } from '@apg/platform';
import { ReportProducer, partitionOfKey } from '@apg/api';
import { serviceSignature } from '../signing';
import { testEnv, uniqueName } from '../test-env';
import { waitFor } from '../wait-for';

const PARTITIONS = 3;

/**
 * A flush whose produce request Kafka refuses for one partition and accepts for the others, for real: the topic's
 * `max.message.bytes` is under the size of one report's batch, so its partition answers MESSAGE_TOO_LARGE while
 * the small reports' partitions are written. Only the big report may fail, and the small one, written once by the
 * first request and sent again alone, must be on the topic exactly once (the idempotent producer's sequence).
 */
describe('api report producer: one failed partition (real Kafka)', function () {
  this.timeout(60_000);
  const log = createLogger('test', process.env['TEST_LOG_LEVEL'] ?? 'silent');
  let kafka: Kafka;
  let topic: string;
  let producer: ReportProducer;

  /** Instance ids (the message keys) that land on `partition`. */
  const idOn = (partition: number): string => {
    for (let i = 0; ; i++) {
      const id = randomUUID().replace(/-/g, '');
      if (partitionOfKey(id, PARTITIONS) === partition || i > 10_000) return id;
    }
  };
  const event = (instanceId: string, errorMessage?: string): CallResultEvent => ({
    eventId: randomUUID(),
    schemaVersion: CALL_RESULT_SCHEMA_VERSION,
    projectId: 'f'.repeat(32),
    instanceId,
    apiIdentifier: 'm',
    apiType: 'MODEL',
    businessId: 'b',
    success: errorMessage === undefined,
    latencyMs: 5,
    callTimestamp: Date.now(),
    ...(errorMessage === undefined ? {} : { errorMessage }),
  });

  before(async () => {
    kafka = createKafka({ brokers: testEnv().brokers, clientId: 'test-report-producer', logger: log });
    topic = uniqueName('apg.test.partial');
    const admin = kafka.admin();
    await admin.connect();
    try {
      await admin.createTopics({
        waitForLeaders: true,
        topics: [{ topic, numPartitions: PARTITIONS, replicationFactor: 1, configEntries: [{ name: 'max.message.bytes', value: '900' }] }],
      });
    } finally {
      await admin.disconnect();
    }
    producer = new ReportProducer(kafka, topic, log, { timeoutMs: 10_000, sign: serviceSignature });
    await producer.connect();
    expect(producer.isConnected()).to.equal(true);
    // The first send teaches the producer the partition count (from kafkajs' metadata).
    await producer.send([event(idOn(0))]);
  });

  after(async () => {
    await producer?.stop();
    if (!kafka) return;
    const admin = kafka.admin();
    await admin.connect();
    await admin.deleteTopics({ topics: [topic] }).catch(() => undefined);
    await admin.disconnect();
  });

  it('fails only the report of the refusing partition; the others succeed and are written once', async () => {
    const small = [event(idOn(1)), event(idOn(2))];
    const big = event(idOn(0), 'x'.repeat(1000));
    // Same event-loop turn: one flush, one produce request for all three.
    const outcomes = await Promise.allSettled([producer.send([small[0]!]), producer.send([big]), producer.send([small[1]!])]);
    expect(outcomes.map((o) => o.status)).to.deep.equal(['fulfilled', 'rejected', 'fulfilled']);
    expect((outcomes[1] as PromiseRejectedResult).reason).to.include({ errorCode: 'DEPENDENCY_UNAVAILABLE' });

    const seen: string[] = [];
    const consumer = kafka.consumer({ groupId: uniqueName('partial-reader'), maxWaitTimeInMs: 100 });
    await consumer.connect();
    try {
      await consumer.subscribe({ topic, fromBeginning: true });
      await consumer.run({ eachMessage: async ({ message }) => void seen.push((JSON.parse(message.value!.toString('utf8')) as CallResultEvent).eventId) });
      await waitFor('the two small reports on the topic', () => small.every((e) => seen.includes(e.eventId)), { timeoutMs: 20_000 });
      await new Promise((r) => setTimeout(r, 1000)); // room for a duplicate to show up
    } finally {
      await consumer.disconnect();
    }
    for (const e of small) expect(seen.filter((id) => id === e.eventId), `${e.eventId} written once`).to.have.length(1);
    expect(seen).to.not.include(big.eventId);
  });
});

/**
 * Heavy reports of one instance arriving together (here 400 with the largest error message allowed, ~3 KB each)
 * would make one record batch of ~1.2 MB for one partition, over Kafka's default 1 MiB `message.max.bytes`,
 * refused whole on every retry. The producer cuts a flush into produce calls under a byte cap instead.
 */
describe('api report producer: a flush of heavy reports for one instance (real Kafka, default limits)', function () {
  this.timeout(60_000);
  const log = createLogger('test', process.env['TEST_LOG_LEVEL'] ?? 'silent');
  let kafka: Kafka;
  let topic: string;
  let producer: ReportProducer;

  before(async () => {
    kafka = createKafka({ brokers: testEnv().brokers, clientId: 'test-report-producer-heavy', logger: log });
    topic = uniqueName('apg.test.heavy');
    const admin = kafka.admin();
    await admin.connect();
    try {
      await admin.createTopics({ waitForLeaders: true, topics: [{ topic, numPartitions: PARTITIONS, replicationFactor: 1 }] });
    } finally {
      await admin.disconnect();
    }
    producer = new ReportProducer(kafka, topic, log, { timeoutMs: 20_000, sign: serviceSignature });
    await producer.connect();
  });

  after(async () => {
    await producer?.stop();
    if (!kafka) return;
    const admin = kafka.admin();
    await admin.connect();
    await admin.deleteTopics({ topics: [topic] }).catch(() => undefined);
    await admin.disconnect();
  });

  it('every report is acknowledged and on the topic once', async () => {
    const instanceId = randomUUID().replace(/-/g, '');
    const heavy = (): CallResultEvent => ({
      eventId: randomUUID(), schemaVersion: CALL_RESULT_SCHEMA_VERSION, projectId: 'f'.repeat(32), instanceId,
      apiIdentifier: 'm', apiType: 'MODEL', businessId: 'b', success: false, latencyMs: 5, callTimestamp: Date.now(),
      errorMessage: '错'.repeat(1024),
    });
    const events = Array.from({ length: 400 }, heavy);
    const outcomes = await Promise.allSettled(events.map((e) => producer.send([e])));
    expect(outcomes.filter((o) => o.status === 'rejected').map((o) => String((o).reason))).to.deep.equal([]);
    const admin = kafka.admin();
    await admin.connect();
    try {
      const offsets = await admin.fetchTopicOffsets(topic);
      expect(offsets.reduce((n, o) => n + Number(o.high), 0)).to.equal(400);
    } finally {
      await admin.disconnect();
    }
  });
});
