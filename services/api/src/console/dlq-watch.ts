import type { Kafka, Logger } from '@apg/platform';

type Admin = ReturnType<Kafka['admin']>;

/** What the console shows of the dead-letter topic. */
export interface DlqFigures {
  topic: string;
  /** Messages the topic ever received (sum of its partitions' end offsets); null when Kafka could not say. */
  total: number | null;
  /** Messages per minute between the oldest and newest sample of the last ~10 minutes; null with < 2 samples. */
  perMinute: number | null;
}

const SAMPLE_EVERY_MS = 10_000;
const KEEP_MS = 10 * 60_000;

/**
 * The dead-letter rate as Kafka sees it: the DLQ topic's end offsets, read at most every 10 s and only when
 * the console asks (no background polling), kept for ten minutes to derive a rate. Kafka's view counts the
 * dead letters of every ingestor replica, running or not. A read takes at most 2 s; a failure answers nulls.
 */
export class DlqWatch {
  private admin: Admin | null = null;
  private connecting: Promise<Admin> | null = null;
  private readonly samples: { at: number; total: number }[] = [];
  private lastTry = 0;

  constructor(private readonly kafka: Kafka, private readonly topic: string, private readonly log: Logger, private readonly now: () => number = Date.now) {}

  async figures(): Promise<DlqFigures> {
    const now = this.now();
    if (now - this.lastTry >= SAMPLE_EVERY_MS) {
      this.lastTry = now;
      try {
        const total = await withTimeout(this.read(), 2000);
        this.samples.push({ at: now, total });
      } catch (err) {
        this.log.warn({ err: (err as Error).message, topic: this.topic }, 'dead-letter offsets not read');
      }
      while (this.samples.length > 0 && now - this.samples[0]!.at > KEEP_MS) this.samples.shift();
    }
    const last = this.samples.at(-1);
    const first = this.samples[0];
    const perMinute = first && last && last.at - first.at >= SAMPLE_EVERY_MS ? ((last.total - first.total) * 60_000) / (last.at - first.at) : null;
    return { topic: this.topic, total: last?.total ?? null, perMinute: perMinute === null ? null : Math.round(perMinute * 100) / 100 };
  }

  async stop(): Promise<void> {
    const admin = this.admin;
    this.admin = null;
    this.connecting = null;
    await admin?.disconnect().catch(() => undefined);
  }

  private async read(): Promise<number> {
    const admin = await this.connect();
    const topics = await admin.listTopics();
    if (!topics.includes(this.topic)) return 0;
    const offsets = await admin.fetchTopicOffsets(this.topic);
    return offsets.reduce((sum, p) => sum + Number(p.high), 0);
  }

  private async connect(): Promise<Admin> {
    if (this.admin) return this.admin;
    this.connecting ??= (async () => {
      const admin = this.kafka.admin();
      try {
        await admin.connect();
      } catch (err) {
        this.connecting = null;
        throw err;
      }
      this.admin = admin;
      return admin;
    })();
    return this.connecting;
  }
}

function withTimeout<T>(p: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`no answer within ${ms} ms`)), ms);
  });
  return Promise.race([p, timeout]).finally(() => clearTimeout(timer));
}
