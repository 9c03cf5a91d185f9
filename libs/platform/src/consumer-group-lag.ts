import type { Admin, Kafka } from 'kafkajs';
import { GroupLagBook } from './group-lag-book';
import type { Logger } from './logger';
import { namedIo, type IoMetrics } from './metrics';

export interface ConsumerGroupLagOptions {
  groupId: string;
  topic: string;
  /** How often the committed offsets and the log ends are read. @default 5000 */
  intervalMs?: number;
}

/**
 * Polls one consumer group's committed offsets and its topic's ends from the broker (kafkajs admin
 * `fetchOffsets` + `fetchTopicOffsets`) on an interval, into a {@link GroupLagBook}. This is the group's
 * lag as Kafka sees it, whoever asks: a member of the group (its `/metrics` and `/readyz`) or the api
 * (`/api/health`), and it keeps growing while the consumer is stalled, crashed or gone.
 *
 * A missing topic counts as nothing waiting. A failed poll keeps the last figures (a broker outage stops
 * the consumers too; the services report Kafka's state on their own); polls never overlap.
 */
export class ConsumerGroupLag {
  readonly book = new GroupLagBook();
  private admin: Admin | null = null;
  private timer: NodeJS.Timeout | null = null;
  private polling: Promise<boolean> | null = null;
  private stopped = false;

  constructor(
    private readonly kafka: Kafka,
    private readonly options: ConsumerGroupLagOptions,
    private readonly log: Logger,
    private readonly io?: IoMetrics,
    private readonly now: () => number = Date.now,
  ) {}

  /** Polls now, then every `intervalMs`; returns once the first poll is done (successful or not). */
  async start(): Promise<void> {
    this.stopped = false;
    await this.poll();
    if (this.stopped) return;
    this.timer ??= setInterval(() => void this.poll(), this.options.intervalMs ?? 5000);
    this.timer.unref();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
    await this.polling?.catch(() => undefined);
    const admin = this.admin;
    this.admin = null;
    await admin?.disconnect().catch(() => undefined);
  }

  /** One poll; true when it succeeded. Concurrent callers share the poll in progress. */
  poll(): Promise<boolean> {
    this.polling ??= this.pollOnce().finally(() => {
      this.polling = null;
    });
    return this.polling;
  }

  private async pollOnce(): Promise<boolean> {
    const { groupId, topic } = this.options;
    try {
      const admin = await this.connected();
      // listTopics first: asking for the offsets of a missing topic would make the admin client refresh
      // metadata for it (and fail) on every later call.
      const topics = await namedIo(this.io, 'kafka', 'lag.list_topics', () => admin.listTopics());
      const at = this.now();
      if (!topics.includes(topic)) {
        this.book.clear(at);
        return true;
      }
      const [ends, committed] = await Promise.all([
        namedIo(this.io, 'kafka', 'lag.topic_offsets', () => admin.fetchTopicOffsets(topic)),
        namedIo(this.io, 'kafka', 'lag.group_offsets', () => admin.fetchOffsets({ groupId, topics: [topic] })),
      ]);
      const byPartition = new Map((committed.find((t) => t.topic === topic)?.partitions ?? []).map((p) => [p.partition, p.offset]));
      this.book.observe(this.now(), ends.map((e) => ({ partition: e.partition, high: e.high, low: e.low, committed: byPartition.get(e.partition) ?? '-1' })));
      return true;
    } catch (err) {
      this.log.debug({ err: (err as Error).message, groupId, topic }, 'consumer lag not polled');
      // A broken connection is rebuilt on the next poll.
      const admin = this.admin;
      this.admin = null;
      await admin?.disconnect().catch(() => undefined);
      return false;
    }
  }

  private async connected(): Promise<Admin> {
    if (this.admin) return this.admin;
    // Few retries: the next poll is the retry, and a poll must not outlast its interval by much.
    const admin = this.kafka.admin({ retry: { retries: 1, initialRetryTime: 100, maxRetryTime: 1000 } });
    await admin.connect();
    if (this.stopped) {
      await admin.disconnect().catch(() => undefined);
      throw new Error('stopped');
    }
    this.admin = admin;
    return admin;
  }
}
