import type { Consumer, EachBatchPayload, Kafka } from 'kafkajs';
import { backoffDelay, type Logger } from '@apg/platform';

export interface ConsumerLifecycleOptions {
  topic: string;
  groupId: string;
  /** Broker evicts a member it has not heard from for this long (a crashed one included). */
  sessionTimeoutMs: number;
  /** How often the member tells the coordinator it is alive (well under the session timeout). */
  heartbeatIntervalMs: number;
  /** How long a rebalance waits for members to rejoin before it evicts them. */
  rebalanceTimeoutMs: number;
  /**
   * Consumer restarts in a row (without a successful group join in between) before the process gives up.
   * @default 5
   */
  maxRestarts?: number;
}

export interface ConsumerHooks {
  eachBatch(payload: EachBatchPayload): Promise<void>;
  /** A new generation: `assignment` is what this member now holds (possibly nothing). */
  onAssigned(assignment: Record<string, number[]>): void;
  /** The consumer ended for good and could not be brought back: the process must exit (non-zero). */
  onFatal(err: Error): void;
  /** A crashed consumer is being replaced by a new one (for a metric). */
  onRestart?(): void;
}

export type CrashAction = 'ignore' | 'kafkajs-restarts' | 'restart' | 'exit';


/**
 * What to do when kafkajs reports a CRASH: it restarts the consumer itself only for errors it deems
 * retriable; otherwise the consumer is disconnected for good ("The coordinator is not aware of this
 * member" after a stall longer than the session, a non-retriable protocol error) and a process left
 * like that would consume nothing while looking alive. We start a new consumer, a few times in a row at
 * most; then exit so the supervisor restarts the whole process.
 */
export function crashAction(s: { restart: boolean; stopping: boolean; current: boolean; restartsInARow: number; maxRestarts: number }): CrashAction {
  if (s.stopping || !s.current) return 'ignore';
  if (s.restart) return 'kafkajs-restarts';
  return s.restartsInARow < s.maxRestarts ? 'restart' : 'exit';
}

/**
 * The aggregator's Kafka consumer over its whole life: tuned group timeouts, what it holds in the
 * current generation, replacement after a crash kafkajs does not recover from, and a graceful leave.
 *
 * kafkajs has no static membership (KIP-345), so a member that dies without leaving holds its
 * partitions until the broker's session timeout: that timeout is what a `kill -9` costs. Leaving on
 * SIGTERM (`disconnect`) hands the partitions over at once.
 */
export class ConsumerLifecycle {
  private consumer: Consumer | null = null;
  private assignment: Record<string, number[]> | null = null;
  private memberId = '';
  private restartsInARow = 0;
  private restartTimer: NodeJS.Timeout | null = null;
  private stopping = false;
  /** Since when no consumer of ours has been in the group (null: one is). */
  private outOfGroupSince: number | null = Date.now();

  constructor(
    private readonly kafka: Kafka,
    private readonly options: ConsumerLifecycleOptions,
    private readonly hooks: ConsumerHooks,
    private readonly log: Logger,
  ) {}

  async start(): Promise<void> {
    const c = this.kafka.consumer({
      groupId: this.options.groupId,
      sessionTimeout: this.options.sessionTimeoutMs,
      heartbeatInterval: this.options.heartbeatIntervalMs,
      rebalanceTimeout: this.options.rebalanceTimeoutMs,
      maxWaitTimeInMs: 100,
    });
    this.consumer = c;
    c.on(c.events.GROUP_JOIN, (e) => {
      if (c !== this.consumer) return;
      this.assignment = e.payload.memberAssignment;
      this.memberId = e.payload.memberId;
      this.outOfGroupSince = null;
      this.restartsInARow = 0;
      this.hooks.onAssigned(e.payload.memberAssignment);
    });
    c.on(c.events.CRASH, (e) => this.onCrash(c, e.payload.error, e.payload.restart));
    await c.connect();
    await c.subscribe({ topic: this.options.topic, fromBeginning: true });
    await c.run({ autoCommit: false, eachBatchAutoResolve: false, partitionsConsumedConcurrently: 2, eachBatch: (p) => this.hooks.eachBatch(p) });
  }

  /** Partitions held in the current generation; 0 before the first join, after a crash and once stopped. */
  partitions(): number {
    if (!this.assignment) return 0;
    return Object.values(this.assignment).reduce((n, ps) => n + ps.length, 0);
  }

  /** How long no consumer of ours has been in the group, 0 while one is (or once stopped). */
  outOfGroupMs(now: number): number {
    return this.outOfGroupSince === null || this.stopping ? 0 : Math.max(0, now - this.outOfGroupSince);
  }

  member(): string {
    return this.memberId;
  }

  async commitOffsets(offsets: { topic: string; partition: number; offset: string }[]): Promise<void> {
    const c = this.consumer;
    if (!c) throw new Error('consumer not running');
    await c.commitOffsets(offsets);
  }

  private onCrash(c: Consumer, error: Error, restart: boolean): void {
    if (c === this.consumer) {
      this.assignment = null;
      this.outOfGroupSince ??= Date.now();
    }
    const action = crashAction({ restart, stopping: this.stopping, current: c === this.consumer, restartsInARow: this.restartsInARow, maxRestarts: this.options.maxRestarts ?? 5 });
    if (action === 'ignore') return;
    if (action === 'kafkajs-restarts') {
      this.log.warn({ err: error.message }, 'consumer crashed; kafkajs restarts it');
      return;
    }
    if (action === 'exit') {
      this.log.error({ err: error.message, restarts: this.restartsInARow }, 'consumer crashed for good and could not be restarted; exiting');
      this.hooks.onFatal(error);
      return;
    }
    this.restartsInARow++;
    this.hooks.onRestart?.();
    const delay = backoffDelay(this.restartsInARow - 1, 500, 10_000);
    this.log.error({ err: error.message, attempt: this.restartsInARow, delay }, 'consumer crashed for good; starting a new one');
    this.restartTimer = setTimeout(() => void this.replace(c), delay);
  }

  private async replace(old: Consumer): Promise<void> {
    this.restartTimer = null;
    if (this.stopping || old !== this.consumer) return;
    await old.disconnect().catch(() => undefined);
    try {
      await this.start();
    } catch (err) {
      // Not even connected: counts as one more crash in a row.
      const failed = this.consumer;
      if (failed) this.onCrash(failed, err as Error, false);
    }
  }

  /** Leaves the group (partitions handed over at once) and disconnects. Idempotent. */
  async stop(): Promise<void> {
    this.stopping = true;
    if (this.restartTimer) clearTimeout(this.restartTimer);
    this.restartTimer = null;
    this.assignment = null;
    const c = this.consumer;
    this.consumer = null;
    await c?.disconnect().catch(() => undefined);
  }
}
