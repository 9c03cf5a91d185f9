import { Kafka, logLevel, Partitioners, type LogEntry } from 'kafkajs';
import type { Logger } from './logger';

export { Kafka, Partitioners };

/** kafkajs client whose log lines go through our structured logger. */
export function createKafka(opts: { brokers: string[]; clientId: string; logger: Logger }): Kafka {
  const log = opts.logger.child({ component: 'kafkajs' });
  return new Kafka({
    clientId: opts.clientId,
    brokers: opts.brokers,
    connectionTimeout: 3000,
    requestTimeout: 10000,
    retry: { initialRetryTime: 100, retries: 8, maxRetryTime: 5000 },
    logLevel: logLevel.WARN,
    logCreator: () => (entry: LogEntry) => {
      const { message, ...extra } = entry.log;
      const level = entry.level <= logLevel.ERROR ? 'error' : entry.level === logLevel.WARN ? 'warn' : 'debug';
      log[level]({ ns: entry.namespace, ...extra }, message);
    },
  });
}

/**
 * How topics are replicated: `factor` copies of each partition; with `minInsyncReplicas` a write with
 * acks=all is refused (NOT_ENOUGH_REPLICAS, retried by the producer) unless that many copies have it, so
 * an acknowledged report survives the loss of any `minInsyncReplicas - 1` brokers. Unset: the broker's
 * `min.insync.replicas`.
 */
export interface TopicReplication {
  /** @default 1 */
  factor: number;
  minInsyncReplicas?: number | undefined;
}

/** Creates the topics that are missing (idempotent; safe when several services start together). */
export async function ensureTopics(
  kafka: Kafka,
  topics: { topic: string; numPartitions: number }[],
  replication: TopicReplication = { factor: 1 },
): Promise<void> {
  const admin = kafka.admin();
  await admin.connect();
  try {
    const existing = new Set(await admin.listTopics());
    const missing = topics.filter((t) => !existing.has(t.topic));
    if (missing.length) {
      await admin.createTopics({
        waitForLeaders: true,
        topics: missing.map((t) => ({
          topic: t.topic,
          numPartitions: t.numPartitions,
          replicationFactor: replication.factor,
          configEntries: replication.minInsyncReplicas === undefined ? [] : [{ name: 'min.insync.replicas', value: String(replication.minInsyncReplicas) }],
        })),
      });
    }
  } catch (err) {
    // Another service created it between listTopics and createTopics; or, on a cluster, waitForLeaders asked
    // a broker that had not heard of the new topic yet (it exists: the consumer and producer retry).
    if (!/already exists|does not host this topic-partition/i.test((err as Error).message)) throw err;
  } finally {
    await admin.disconnect();
  }
}
