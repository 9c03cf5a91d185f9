import type { Consumer, EachBatchPayload, Producer } from 'kafkajs';
import { Counter, type Registry } from 'prom-client';
import {
  ABANDON,
  admitEvents,
  ensureTopics,
  InstanceDirectory,
  retryInBatch,
  sendToDeadLetter,
  type Db,
  type Kafka,
  type Logger,
} from '@apg/platform';
import { CallResultStore } from './call-result-store';

export interface IngestorOptions {
  topic: string;
  dlqTopic: string;
  partitions: number;
  groupId: string;
  maxEventBytes: number;
  slowCallMs: number;
}

export interface IngestorDeps {
  options: IngestorOptions;
  log: Logger;
  db: Db;
  kafka: Kafka;
  metrics: Registry;
}

export interface IngestorService {
  start(): Promise<void>;
  stop(): Promise<void>;
  isRunning(): boolean;
}

/**
 * Kafka → Postgres. Per batch: decide each message's outcome (row or DLQ), dead-letter the bad ones,
 * write the good ones in one statement, and only then commit the offsets. A database outage is
 * retried with backoff for as long as it lasts (never dead-lettered); a stop abandons the batch
 * uncommitted, so it is redelivered and the idempotent write absorbs it.
 */
export function createIngestor(deps: IngestorDeps): IngestorService {
  const { options, log, db, kafka } = deps;
  const store = new CallResultStore(db, options.slowCallMs);
  const directory = new InstanceDirectory(db);
  const outcomes = new Counter({
    name: 'apg_ingestor_messages_total',
    help: 'Messages handled by the ingestor, by outcome',
    labelNames: ['outcome'] as const,
    registers: [deps.metrics],
  });
  const retries = new Counter({ name: 'apg_ingestor_retries_total', help: 'Batch write retries after infrastructure errors', registers: [deps.metrics] });

  let consumer: Consumer | null = null;
  let producer: Producer | null = null;
  let running = false;
  const abort = new AbortController();

  async function handleBatch(payload: EachBatchPayload): Promise<void> {
    const { batch } = payload;
    if (batch.messages.length === 0) return;
    const ctx = { payload, signal: abort.signal, log, onRetry: () => retries.inc() };
    const persist = <T>(what: string, fn: () => Promise<T>) => retryInBatch(what, fn, ctx);
    const intake = await persist('admit', () => admitEvents(batch.messages, batch.partition, directory, options.maxEventBytes));
    if (intake === ABANDON) return;
    const dlq = await persist('dead-letter', () => sendToDeadLetter(producer!, options.dlqTopic, batch.topic, intake.rejected));
    if (dlq === ABANDON) return;
    // The same event twice in one batch (a producer retry) is one row.
    const unique = [...new Map(intake.admitted.map((a) => [a.event.eventId, a.event])).values()];
    const inserted = await persist('insert', () => store.insertBatch(unique));
    if (inserted === ABANDON) return;
    const last = batch.messages[batch.messages.length - 1]!;
    await consumer!.commitOffsets([{ topic: batch.topic, partition: batch.partition, offset: (BigInt(last.offset) + 1n).toString() }]);
    payload.resolveOffset(last.offset);
    outcomes.inc({ outcome: 'written' }, inserted);
    outcomes.inc({ outcome: 'duplicate' }, intake.admitted.length - inserted);
    outcomes.inc({ outcome: 'dlq' }, intake.rejected.length);
    if (intake.rejected.length) log.warn({ count: intake.rejected.length, reasons: [...new Set(intake.rejected.map((r) => r.reason))] }, 'messages dead-lettered');
  }

  return {
    isRunning: () => running,
    async start() {
      await ensureTopics(kafka, [
        { topic: options.topic, numPartitions: options.partitions },
        { topic: options.dlqTopic, numPartitions: 1 },
      ]);
      producer = kafka.producer({ allowAutoTopicCreation: false });
      await producer.connect();
      consumer = kafka.consumer({ groupId: options.groupId, sessionTimeout: 30_000, heartbeatInterval: 3000, maxWaitTimeInMs: 500, maxBytesPerPartition: 4 * 1024 * 1024 });
      await consumer.connect();
      await consumer.subscribe({ topic: options.topic, fromBeginning: true });
      await consumer.run({ autoCommit: false, eachBatchAutoResolve: false, partitionsConsumedConcurrently: 2, eachBatch: handleBatch });
      running = true;
      log.info({ topic: options.topic, groupId: options.groupId }, 'ingestor consuming');
    },
    async stop() {
      if (!consumer && !producer) return;
      abort.abort();
      running = false;
      const c = consumer;
      const p = producer;
      consumer = null;
      producer = null;
      await c?.disconnect().catch(() => undefined);
      await p?.disconnect().catch(() => undefined);
    },
  };
}

