import type { CallResultEvent } from '@apg/contracts';
import type { Logger } from '@apg/platform';
import { HttpError } from '../http/http-error';
import type { ReportProducer } from '../gateway/report-producer';
import { SpoolFullError, type ReportSpool, type SpoolBatch } from './report-spool';

/** How often an idle drainer looks at the spool (an append wakes it sooner). */
const IDLE_MS = 1000;

/** Where a report went: straight to Kafka, or into the local spool to be drained when Kafka takes it. */
export type Delivery = 'KAFKA' | 'SPOOLED';

export interface ReportDeliveryOptions {
  /** Spooled reports older than this are dropped (counted), never produced: the consumers refuse them past the raw retention. */
  maxAgeMs: number;
  /** @default 500 */
  drainRecords?: number;
  /** @default 1 MiB */
  drainBytes?: number;
  /** Pause after a failed drain, doubled up to `maxBackoffMs`. @default 200 */
  backoffMs?: number;
  /** @default 5000 */
  maxBackoffMs?: number;
  now?: () => number;
  /** Reports produced from the spool (`apg_report_spool_drained_total`). */
  drained?: (n: number) => void;
}

/**
 * How the api hands a report on (architecture §9, Kafka row): to Kafka while the spool is empty; when Kafka
 * cannot take it (not connected, no acknowledgement in `REPORT_TIMEOUT_MS`, refused) into the write-ahead
 * {@link ReportSpool}, and from then on every report goes behind the spooled ones until the spool is drained —
 * in order, so a partition's events reach Kafka in the order the api took them. A report answers 503 only when
 * the spool cannot take it either (`REPORT_SPOOL_FULL`, or a failed disk write). A report that timed out may
 * still reach Kafka and be spooled too: the same `eventId` twice, which every consumer counts once.
 */
export class ReportDelivery {
  private stopped = true;
  private loop: Promise<void> | null = null;
  private wake: (() => void) | null = null;
  private idle = false;

  constructor(
    private readonly producer: ReportProducer,
    private readonly spool: ReportSpool,
    private readonly log: Logger,
    private readonly opts: ReportDeliveryOptions,
  ) {}

  /** Kafka's producer is connected (it may still refuse a send). */
  isConnected(): boolean {
    return this.producer.isConnected();
  }

  async send(events: CallResultEvent[], requestId?: string): Promise<Delivery> {
    if (this.spool.isEmpty()) {
      try {
        await this.producer.send(events, requestId);
        return 'KAFKA';
      } catch (err) {
        if (!(err instanceof HttpError) || err.errorCode !== 'DEPENDENCY_UNAVAILABLE') throw err;
      }
    }
    try {
      await this.spool.append({ spooledAt: this.now(), events, ...(requestId === undefined ? {} : { requestId }) });
    } catch (err) {
      if (err instanceof SpoolFullError) {
        throw new HttpError('REPORT_SPOOL_FULL', 'Kafka cannot take reports and the local report spool is full; retry later');
      }
      this.log.error({ err: (err as Error).message }, 'report neither produced nor spooled');
      throw new HttpError('DEPENDENCY_UNAVAILABLE', 'Kafka cannot take reports and the local report spool cannot write; retry later');
    }
    // Wakes a drainer idling on an empty spool, not one backing off from Kafka (that would undo the backoff).
    if (this.idle) this.wake?.();
    return 'SPOOLED';
  }

  start(): void {
    if (!this.stopped) return;
    this.stopped = false;
    this.loop = this.drainLoop();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    this.wake?.();
    await this.loop;
    this.loop = null;
  }

  /** Drains until stopped: head batch by head batch, each one produced (or dropped for age) before the next is read. */
  private async drainLoop(): Promise<void> {
    const initial = this.opts.backoffMs ?? 200;
    let backoff = initial;
    while (!this.stopped) {
      let outcome: 'drained' | 'empty' | 'failed';
      try {
        const batch = this.spool.stats().records > 0 ? await this.spool.read(this.opts.drainRecords ?? 500, this.opts.drainBytes ?? 1 << 20) : null;
        outcome = batch === null ? 'empty' : (await this.drainBatch(batch)) ? 'drained' : 'failed';
      } catch (err) {
        this.log.error({ err: (err as Error).message, dir: this.spool.dir }, 'report spool drain failed');
        outcome = 'failed';
      }
      if (outcome === 'drained') {
        backoff = initial;
        continue;
      }
      this.idle = outcome === 'empty';
      await this.sleep(this.idle ? IDLE_MS : backoff);
      this.idle = false;
      if (outcome === 'failed') backoff = Math.min(backoff * 2, this.opts.maxBackoffMs ?? 5000);
    }
  }

  /** One head batch; false when Kafka did not take it (the head stays, to be sent again). */
  private async drainBatch(batch: SpoolBatch): Promise<boolean> {
    const now = this.now();
    // Spool order is arrival order, so the expired reports (and undecodable ones before them) are a prefix.
    let first = 0;
    let expired = 0;
    for (const item of batch.items) {
      if (item.report !== null && now - item.report.spooledAt <= this.opts.maxAgeMs) break;
      if (item.report !== null) expired++;
      first++;
    }
    if (first > 0) {
      await this.spool.commit(batch, first, expired);
      return true;
    }
    if (batch.items.length === 0) {
      await this.spool.commit(batch);
      return true;
    }
    if (!this.producer.isConnected()) {
      void this.producer.connect();
      return false;
    }
    const reports = batch.items.flatMap((i) => (i.report === null ? [] : [i.report]));
    // Sent in the same turn, so ReportProducer puts them into one produce call, in spool order.
    const outcomes = await Promise.allSettled(reports.map((r) => this.producer.send(r.events, r.requestId)));
    const failed = outcomes.find((o): o is PromiseRejectedResult => o.status === 'rejected');
    if (failed) {
      // The whole batch goes again: events of partitions that were written are then written twice, same eventIds.
      this.log.warn({ err: (failed.reason as Error).message, records: this.spool.stats().records }, 'Kafka did not take spooled reports; retrying');
      return false;
    }
    await this.spool.commit(batch);
    this.opts.drained?.(reports.length);
    if (this.spool.stats().records === 0) this.log.info({ dir: this.spool.dir }, 'report spool drained');
    return true;
  }

  private sleep(ms: number): Promise<void> {
    return new Promise<void>((resolve) => {
      const timer = setTimeout(done, ms);
      function done() {
        clearTimeout(timer);
        resolve();
      }
      this.wake = () => {
        this.wake = null;
        done();
      };
    });
  }

  private now(): number {
    return (this.opts.now ?? Date.now)();
  }
}
