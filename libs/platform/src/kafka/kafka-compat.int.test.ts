// Integration test: proves kafkajs 2.2.4 works against the local Kafka 3.9 KRaft broker
// (infra/kafka/kafka.sh) for everything the gateway relies on: admin topic management, keyed
// produce with acks=-1, consumer groups with autoCommit off + explicit commitOffsets, and resuming
// a group from its committed offsets. The broker is started by the global root hook, not here.
import { randomUUID } from 'node:crypto';

import { expect } from 'chai';
import { Kafka, logLevel, Partitioners } from 'kafkajs';
import type { Admin, Consumer, logCreator, Producer } from 'kafkajs';

const BROKERS = (process.env.KAFKA_BROKERS ?? '127.0.0.1:9092')
  .split(',')
  .map((b) => b.trim())
  .filter((b) => b.length > 0);

interface Received {
  partition: number;
  offset: string;
  key: string;
  seq: number;
}

/** Polls `condition` until it returns true, or fails after `timeoutMs` with `what` in the message. */
async function waitFor(what: string, condition: () => boolean | Promise<boolean>, timeoutMs = 20_000, intervalMs = 50): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (await condition()) return;
    if (Date.now() >= deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, intervalMs));
  }
}

// A fresh broker creates __consumer_offsets on the first FindCoordinator, so kafkajs logs one
// retriable "group coordinator is not available" error and retries; drop that, print the rest.
const RETRIABLE_STARTUP = /coordinator (?:is not available|is loading)/i;
const quietLogCreator: logCreator = () => ({ namespace, label, log }) => {
  const error = typeof log.error === 'string' ? log.error : '';
  if (RETRIABLE_STARTUP.test(error)) return;
  console.error(`[kafkajs ${label}] ${namespace}: ${log.message}${error ? ` (${error})` : ''}`);
};

function keyFor(seq: number): string {
  return `key-${seq % 7}`;
}

describe('kafka compat: kafkajs 2.2.4 against the local KRaft broker', function () {
  this.timeout(60_000);

  const runId = randomUUID();
  const topic = `kafka-compat-${runId}`;
  const groupId = `kafka-compat-group-${runId}`;
  const kafka = new Kafka({
    clientId: 'kafka-compat-test',
    brokers: BROKERS,
    logLevel: logLevel.ERROR,
    logCreator: quietLogCreator,
    connectionTimeout: 3_000,
    retry: { retries: 5, initialRetryTime: 100 },
  });

  let admin: Admin;
  let producer: Producer;
  const consumers: Consumer[] = [];
  let topicCreated = false;

  async function produce(fromSeq: number, count: number): Promise<void> {
    const messages = Array.from({ length: count }, (_, i) => {
      const seq = fromSeq + i;
      return { key: keyFor(seq), value: JSON.stringify({ seq }) };
    });
    const result = await producer.send({ topic, acks: -1, messages });
    expect(result.every((r) => r.errorCode === 0)).to.equal(true);
  }

  /** Starts a consumer in `groupId` that commits each message's next offset after processing it. */
  async function startConsumer(received: Received[]): Promise<Consumer> {
    // maxWaitTimeInMs: disconnect() waits for the in-flight long-poll fetch, so the 5 s default
    // would make every disconnect take ~5 s.
    const consumer = kafka.consumer({ groupId, sessionTimeout: 10_000, heartbeatInterval: 1_000, maxWaitTimeInMs: 250 });
    consumers.push(consumer);
    await consumer.connect();
    // fromBeginning only applies when the group has no committed offset: a resuming consumer that
    // ignored its commits would re-read everything, which the exact-count assertions would catch.
    await consumer.subscribe({ topics: [topic], fromBeginning: true });
    await consumer.run({
      autoCommit: false,
      eachMessage: async ({ topic: t, partition, message }) => {
        const value = message.value?.toString('utf8') ?? '';
        const parsed = JSON.parse(value) as { seq: number };
        received.push({ partition, offset: message.offset, key: message.key?.toString('utf8') ?? '', seq: parsed.seq });
        await consumer.commitOffsets([{ topic: t, partition, offset: (BigInt(message.offset) + 1n).toString() }]);
      },
    });
    return consumer;
  }

  /** Committed offset per partition; kafkajs reports "-1" for none, normalised to "0" (= an empty partition's high watermark). */
  async function committedOffsets(): Promise<Map<number, string>> {
    const res = await admin.fetchOffsets({ groupId, topics: [topic] });
    const entry = res.find((r) => r.topic === topic);
    return new Map((entry?.partitions ?? []).map((p) => [p.partition, p.offset === '-1' ? '0' : p.offset]));
  }

  async function highWatermarks(): Promise<Map<number, string>> {
    const res = await admin.fetchTopicOffsets(topic);
    return new Map(res.map((p) => [p.partition, p.high]));
  }

  async function committedEqualsHigh(): Promise<boolean> {
    const [committed, high] = await Promise.all([committedOffsets(), highWatermarks()]);
    return [...high].every(([partition, hw]) => committed.get(partition) === hw);
  }

  before(async function () {
    admin = kafka.admin();
    await admin.connect();
    const created = await admin.createTopics({
      waitForLeaders: true,
      topics: [{ topic, numPartitions: 3, replicationFactor: 1 }],
    });
    expect(created, 'createTopics').to.equal(true);
    topicCreated = true;
    producer = kafka.producer({ createPartitioner: Partitioners.DefaultPartitioner, allowAutoTopicCreation: false });
    await producer.connect();
  });

  after(async function () {
    for (const c of consumers) await c.disconnect().catch(() => undefined);
    await producer?.disconnect().catch(() => undefined);
    if (admin) {
      if (topicCreated) {
        await admin.deleteTopics({ topics: [topic] });
        await waitFor('topic deletion', async () => !(await admin.listTopics()).includes(topic), 10_000);
      }
      await admin.deleteGroups([groupId]).catch(() => undefined);
      await admin.disconnect();
    }
  });

  it('creates a 3-partition topic with the admin client', async function () {
    const meta = await admin.fetchTopicMetadata({ topics: [topic] });
    const t = meta.topics.find((m) => m.name === topic);
    expect(t, 'topic metadata').to.not.equal(undefined);
    expect(t?.partitions.map((p) => p.partitionId).sort()).to.deep.equal([0, 1, 2]);
  });

  it('consumes keyed messages with manual commits, then a new group member resumes from the committed offsets', async function () {
    // 1) 30 keyed messages, acks=-1.
    await produce(0, 30);
    const high1 = await highWatermarks();
    expect([...high1.values()].reduce((sum, h) => sum + Number(h), 0)).to.equal(30);

    // 2) First consumer reads all 30, committing after each message.
    const first: Received[] = [];
    const consumer1 = await startConsumer(first);
    await waitFor('30 messages on the first consumer', () => first.length >= 30);
    await waitFor('commits to reach the high watermarks', committedEqualsHigh);
    expect(first.map((r) => r.seq).sort((a, b) => a - b)).to.deep.equal(Array.from({ length: 30 }, (_, i) => i));

    // Same key -> same partition (default murmur2 partitioner), and per-partition order is offset order.
    const partitionOfKey = new Map<string, number>();
    for (const r of first) {
      expect(r.key).to.equal(keyFor(r.seq));
      const p = partitionOfKey.get(r.key);
      if (p === undefined) partitionOfKey.set(r.key, r.partition);
      else expect(r.partition, `partition of ${r.key}`).to.equal(p);
    }
    for (const partition of [0, 1, 2]) {
      const offsets = first.filter((r) => r.partition === partition).map((r) => Number(r.offset));
      expect(offsets).to.deep.equal([...offsets].sort((a, b) => a - b));
    }

    await consumer1.disconnect();

    // 3) admin.fetchOffsets shows the committed offsets (= high watermark of every partition).
    const committed1 = await committedOffsets();
    expect(committed1.size).to.equal(3);
    for (const [partition, hw] of high1) expect(committed1.get(partition), `committed p${partition}`).to.equal(hw);

    // 4) 10 more; a new consumer in the same group gets exactly those 10.
    await produce(30, 10);
    const second: Received[] = [];
    await startConsumer(second);
    await waitFor('the 10 new messages on the resumed consumer', () => second.length >= 10);
    // Within a partition delivery is in offset order, so any re-delivered old message would have
    // arrived before the new ones on that partition: having all 10 new ones and nothing else is exact.
    expect(second.map((r) => r.seq).sort((a, b) => a - b)).to.deep.equal(Array.from({ length: 10 }, (_, i) => 30 + i));
    expect(second).to.have.length(10);

    await waitFor('the resumed consumer commits to reach the new high watermarks', committedEqualsHigh);
    const committed2 = await committedOffsets();
    expect([...committed2.values()].reduce((sum, o) => sum + Number(o), 0)).to.equal(40);
    expect(second, 'still exactly 10 after the commits settled').to.have.length(10);
  });
});
