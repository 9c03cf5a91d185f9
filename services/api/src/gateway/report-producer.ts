import { encodeCallResultEvent, type CallResultEvent } from '@apg/contracts';
import type { Kafka, Logger } from '@apg/platform';
import { Partitioners, type Producer } from 'kafkajs';
import { HttpError } from '../http/http-error';

/**
 * Produces call results to Kafka with acks from all in-sync replicas. A report is answered 200 only
 * once the broker acknowledged; when Kafka cannot take it within `timeoutMs` the caller gets a 503
 * at once instead of a hanging request.
 */
export class ReportProducer {
  private readonly producer: Producer;
  private connected = false;
  private connecting: Promise<void> | null = null;
  private pending: { events: CallResultEvent[]; resolve: () => void; reject: (err: Error) => void }[] = [];

  constructor(
    kafka: Kafka,
    private readonly topic: string,
    private readonly log: Logger,
    private readonly opts: { timeoutMs: number },
  ) {
    this.producer = kafka.producer({ allowAutoTopicCreation: false, createPartitioner: Partitioners.DefaultPartitioner, retry: { retries: 2, initialRetryTime: 50, maxRetryTime: 500 } });
    this.producer.on('producer.disconnect', () => {
      this.connected = false;
    });
  }

  isConnected(): boolean {
    return this.connected;
  }

  /** Connects, or keeps trying in the background: the api must serve selects without Kafka. */
  connect(): Promise<void> {
    this.connecting ??= this.producer
      .connect()
      .then(() => {
        this.connected = true;
      })
      .catch((err: Error) => {
        this.log.warn({ err: err.message }, 'Kafka producer not connected; reports answer 503 until it is');
      })
      .finally(() => {
        this.connecting = null;
      });
    return this.connecting;
  }

  async send(events: CallResultEvent[]): Promise<void> {
    if (!this.connected) {
      // Still (re)connecting: wait for it, but never longer than a report may take.
      await Promise.race([this.connect(), new Promise((r) => setTimeout(r, this.opts.timeoutMs).unref())]);
      if (!this.connected) throw new HttpError('DEPENDENCY_UNAVAILABLE', 'event bus unavailable; report not accepted, retry later');
    }
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new HttpError('DEPENDENCY_UNAVAILABLE', 'event bus did not acknowledge in time; retry later')), this.opts.timeoutMs);
    });
    try {
      await Promise.race([this.enqueue(events), timeout]);
    } catch (err) {
      if (err instanceof HttpError) throw err;
      this.log.warn({ err: (err as Error).message }, 'report not produced');
      throw new HttpError('DEPENDENCY_UNAVAILABLE', 'event bus rejected the report; retry later');
    } finally {
      clearTimeout(timer);
    }
  }

  /**
   * Joins the reports that arrive in the same event-loop turn into one produce request: one broker
   * round trip (and acknowledgement) for all of them instead of one each. Each caller still resolves
   * only once the broker acknowledged its events.
   */
  private enqueue(events: CallResultEvent[]): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      this.pending.push({ events, resolve, reject });
      if (this.pending.length === 1) setImmediate(() => void this.flush());
    });
  }

  private async flush(): Promise<void> {
    const batch = this.pending;
    this.pending = [];
    try {
      await this.producer.send({
        topic: this.topic,
        acks: -1,
        messages: batch.flatMap((p) => p.events.map((e) => ({ key: e.instanceId, value: encodeCallResultEvent(e) }))),
      });
      for (const p of batch) p.resolve();
    } catch (err) {
      for (const p of batch) p.reject(err as Error);
    }
  }

  async stop(): Promise<void> {
    await this.producer.disconnect().catch(() => undefined);
    this.connected = false;
  }
}
