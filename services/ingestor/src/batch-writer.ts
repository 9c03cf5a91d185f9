import { requestIdOfHeaders, type CallResultEvent } from '@apg/contracts';
import { ABANDON, type BatchRetrier, type DeadLetter, type Logger } from '@apg/platform';
import type { KafkaMessage } from 'kafkajs';
import type { CallResultWriter } from './call-result-store';
import type { OffsetTracker, TrackedBatch } from './offset-tracker';

/** One admitted event with where it came from (to dead-letter it if Postgres refuses its data). */
export interface WriteItem {
  event: CallResultEvent;
  message: KafkaMessage;
  partition: number;
}

/** The admitted events of one Kafka batch, and that batch's place in the commit order. */
export interface WriteJob {
  items: WriteItem[];
  batch: TrackedBatch;
}

export interface BatchWriterOptions {
  /** Rows per database write; queued jobs are merged up to this. @default 10000 */
  maxRowsPerWrite: number;
  /** Writes in flight at once (each on its own connection). @default 2 */
  concurrency: number;
}

export interface BatchWriterDeps {
  options: BatchWriterOptions;
  store: CallResultWriter;
  tracker: OffsetTracker;
  log: Logger;
  /** Commits offsets (per partition: the next offset to read). Failures are logged, not fatal. */
  commit(offsets: { partition: number; offset: string }[], epoch: number): Promise<void>;
  /** Dead-letters events Postgres refused on their data (never an infrastructure error). */
  deadLetter(letters: DeadLetter[]): Promise<void>;
  /** Counts per outcome, once a write is committed. */
  onWritten(outcome: { written: number; duplicate: number; dlq: number; rows: number }): void;
  /** The consumer paths' retry policy: infrastructure retried (and shown), data rethrown, bugs fatal. */
  retrier: BatchRetrier;
  /** A bug outside a retried step (the bookkeeping after a write): the process must exit. */
  onBug(err: unknown, where: string): void;
}


/**
 * Between the Kafka consumer and Postgres: jobs are queued by the consumer (which then moves on to the
 * next fetch), merged into writes of up to `maxRowsPerWrite` rows while earlier writes are running,
 * written with `concurrency` writes in flight, and their offsets committed — in consumption order per
 * partition — only after the database commit. So fetching, decoding and writing overlap instead of
 * taking turns, and a busy database gets bigger, cheaper writes.
 *
 * Failures are classified (platform error-class.ts): an infrastructure error is retried with capped
 * backoff for as long as it lasts, holding the job (visible in the retrier's metrics and `/readyz`); a
 * data error means poison rows in the write, which are found by bisecting and dead-lettered alone; a bug
 * abandons the job uncommitted and goes to `onBug` (the process exits and resumes from the committed
 * offsets). `drain()` finishes what is queued; `abort()` gives up waiting, leaving unwritten jobs
 * uncommitted (they are redelivered and the idempotent write absorbs them).
 */
export class BatchWriter {
  private readonly queue: WriteJob[] = [];
  private queuedRows = 0;
  private inFlightRows = 0;
  private active = 0;
  private scheduled = false;
  private commitChain: Promise<void> = Promise.resolve();
  private readonly abortController = new AbortController();
  private waiters: (() => void)[] = [];

  constructor(private readonly deps: BatchWriterDeps) {}

  /** Rows queued or being written. */
  pendingRows(): number {
    return this.queuedRows + this.inFlightRows;
  }

  enqueue(job: WriteJob): void {
    this.queue.push(job);
    this.queuedRows += job.items.length;
    // Linger one turn of the event loop, so the batches of one fetch (handed out together) share a write.
    if (!this.scheduled) {
      this.scheduled = true;
      setImmediate(() => {
        this.scheduled = false;
        this.pump();
      });
    }
  }

  /** Resolves when rows pending drop to `maxRows` or below, or after `timeoutMs` (for a heartbeat). */
  async waitForRoom(maxRows: number, timeoutMs: number): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (this.pendingRows() > maxRows && Date.now() < deadline) await this.nextChange(deadline - Date.now());
  }

  /** Waits until everything queued is written and committed, or `timeoutMs` passes; true when idle. */
  async drain(timeoutMs: number): Promise<boolean> {
    const deadline = Date.now() + timeoutMs;
    while (this.queue.length > 0 || this.active > 0) {
      if (Date.now() >= deadline) return false;
      await this.nextChange(deadline - Date.now());
    }
    await this.commitChain;
    return true;
  }

  /** Resolves at the next finished write (or abort), or after `timeoutMs`. */
  private nextChange(timeoutMs: number): Promise<void> {
    return new Promise<void>((resolve) => {
      const done = () => {
        clearTimeout(timer);
        this.waiters = this.waiters.filter((w) => w !== done);
        resolve();
      };
      const timer = setTimeout(done, Math.max(0, timeoutMs));
      this.waiters.push(done);
    });
  }

  /** Stops retrying: writes in flight finish or fail, nothing queued is started. */
  abort(): void {
    this.abortController.abort();
    this.queue.length = 0;
    this.queuedRows = 0;
    this.wake();
  }

  private wake(): void {
    for (const w of [...this.waiters]) w();
  }

  private pump(): void {
    const { maxRowsPerWrite, concurrency } = this.deps.options;
    while (this.active < concurrency && this.queue.length > 0 && !this.abortController.signal.aborted) {
      const jobs: WriteJob[] = [];
      let rows = 0;
      while (this.queue.length > 0 && (jobs.length === 0 || rows + this.queue[0]!.items.length <= maxRowsPerWrite)) {
        const job = this.queue.shift()!;
        jobs.push(job);
        rows += job.items.length;
      }
      this.queuedRows -= rows;
      this.inFlightRows += rows;
      this.active++;
      void this.run(jobs)
        .catch((err: unknown) => this.deps.onBug(err, 'batch writer'))
        .finally(() => {
          this.active--;
          this.inFlightRows -= rows;
          this.wake();
          this.pump();
        });
    }
  }

  private async run(jobs: WriteJob[]): Promise<void> {
    // The same event twice (a producer retry, a redelivery, a client retry stamped with another
    // callTimestamp) is one row: keyed by eventId alone, the first copy wins (as it does in the store).
    const unique = new Map<string, WriteItem>();
    let admitted = 0;
    for (const job of jobs) {
      admitted += job.items.length;
      for (const item of job.items) if (!unique.has(item.event.eventId)) unique.set(item.event.eventId, item);
    }
    const result = await this.write([...unique.values()]);
    if (result === ABANDON) return;
    this.deps.onWritten({ written: result.inserted, duplicate: admitted - result.inserted - result.rejected, dlq: result.rejected, rows: unique.size });
    const epoch = this.deps.tracker.epoch;
    const commits = this.deps.tracker.complete(jobs.map((j) => j.batch));
    if (commits.length === 0) return;
    // Commits go out one at a time in completion order, so a partition's committed offset only grows.
    this.commitChain = this.commitChain.then(() =>
      this.deps.commit(commits, epoch).catch((err: Error) => this.deps.log.warn({ err: err.message }, 'offset commit failed; the batch will be redelivered')),
    );
    await this.commitChain;
  }

  /** Writes the items, retrying infrastructure errors and isolating data errors; ABANDON on abort or bug. */
  private async write(items: WriteItem[]): Promise<{ inserted: number; rejected: number } | typeof ABANDON> {
    const scope = { signal: this.abortController.signal };
    try {
      const inserted = await this.deps.retrier.run('write', () => this.deps.store.insertBatch(items.map((i) => i.event)), scope);
      return inserted === ABANDON ? ABANDON : { inserted, rejected: 0 };
    } catch (err) {
      // Only data errors get here (the retrier retries the rest or hands them to onBug).
      return this.isolate(items, err);
    }
  }

  /**
   * Bisects a write that failed on its data until the offending rows are alone, and dead-letters them:
   * k bad rows among n cost about 2·k·log2(n) statements, and every good row is written.
   */
  private async isolate(items: WriteItem[], err: unknown): Promise<{ inserted: number; rejected: number } | typeof ABANDON> {
    if (items.length === 1) {
      const item = items[0]!;
      const message = err instanceof Error ? err.message : String(err);
      const code = (err as { code?: unknown }).code;
      const letter: DeadLetter = {
        message: item.message, partition: item.partition, reason: 'rejected_by_database',
        detail: `${typeof code === 'string' ? `SQLSTATE ${code}: ` : ''}${message}`,
      };
      const sent = await this.deps.retrier.run('dead-letter', () => this.deps.deadLetter([letter]), { signal: this.abortController.signal });
      if (sent === ABANDON) return ABANDON;
      this.deps.log.warn({ eventId: item.event.eventId, requestId: requestIdOfHeaders(item.message.headers), err: message }, 'event refused by the database; dead-lettered');
      return { inserted: 0, rejected: 1 };
    }
    const mid = items.length >>> 1;
    const left = await this.write(items.slice(0, mid));
    if (left === ABANDON) return ABANDON;
    const right = await this.write(items.slice(mid));
    if (right === ABANDON) return ABANDON;
    return { inserted: left.inserted + right.inserted, rejected: left.rejected + right.rejected };
  }
}
