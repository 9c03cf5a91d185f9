import { Kafka, Partitioners, logLevel, type Producer, type SASLOptions } from 'kafkajs';
import type { ConnectionOptions } from 'node:tls';
import { apiKeyDigest, encodeCallResultEvent, signWithSecret, signingKeyIdOfDigest, signingSecretOfDigest } from '@apg/contracts';
import { buildCallResultEvent } from './report-event';
import { sleep, timerDelay, withTimeout } from './timers';
import { DROP_REASONS, SendBuffer, type DropReason, type OutgoingMessage } from './send-buffer';
import type { KafkaCallOutcome, ResultReporter } from './types';

/** Options of {@link KafkaReporter}. */
export interface KafkaReporterOptions {
  /** Bootstrap brokers, `host:port`. */
  brokers: string[];
  /** The project's API key: signs every event (headers `apg-key-id`, `apg-signature`); never sent itself. */
  apiKey: string;
  /** The topic the gateway's consumers read. @default 'apg.call-results' */
  topic?: string;
  /** Kafka client id. @default 'apg-sdk' */
  clientId?: string;
  /** TLS to the brokers (`true` or Node TLS options). @default undefined (plaintext) */
  ssl?: boolean | ConnectionOptions;
  /** SASL authentication (plain, scram-sha-256/512, aws, oauthbearer), as kafkajs takes it. @default undefined */
  sasl?: SASLOptions;
  /** Most events per produce request. @default 500 */
  batchSize?: number;
  /**
   * Most bytes per produce request (values, keys, headers). A request is checked by the broker against its
   * `max.message.bytes` (1 MiB by default) per partition, and one refused request would drop the whole batch:
   * 500 events with long non-ASCII error messages weigh ~1.4 MB. @default 524288 (512 KiB)
   */
  maxBatchBytes?: number;
  /** How long a partial batch waits for more events before it is sent. @default 20 */
  lingerMs?: number;
  /** Most events held at once, queued and in flight; beyond it reports are dropped (`buffer_full`). @default 10000 */
  maxBufferedEvents?: number;
  /** Retries of a failed batch before its events are dropped (`send_failed`). @default 3 */
  sendRetries?: number;
  /** First wait before a batch is retried; doubles per retry, with jitter. @default 200 */
  retryBackoffMs?: number;
  /** Longest wait for one produce request (connecting included) before it counts as failed. @default 5000 */
  sendTimeoutMs?: number;
  /** TCP connect timeout to a broker. @default 3000 */
  connectionTimeoutMs?: number;
  /** Told whenever events are dropped, with how many and why. Must not throw (a throw is ignored). @default undefined */
  onDrop?: (drop: DropNotice) => void;
  /** Told about each failed produce attempt (before the retry), for logs. @default undefined */
  onSendError?: (err: Error, attempt: number) => void;
}

/** What {@link KafkaReporterOptions.onDrop} is told. */
export interface DropNotice {
  reason: DropReason;
  count: number;
  detail: string;
  /**
   * Event ids of the dropped events, where they were built: `send_failed` and `closed`. Empty for `invalid`
   * (no valid event) and `buffer_full` (refused before any work, so overload costs the caller least).
   */
  eventIds: string[];
}

/** Counters of a {@link KafkaReporter} since it was made. */
export interface ReporterStats {
  /** Outcomes given to `report()`. */
  reported: number;
  /** Events Kafka acknowledged. */
  sent: number;
  /** Events waiting in the buffer. */
  queued: number;
  /** Events in a produce request that is not settled. */
  inFlight: number;
  dropped: Record<DropReason, number>;
  droppedTotal: number;
  /** Produce attempts that failed (a batch retried three times and then sent counts three). */
  sendErrors: number;
}

const DEFAULTS = {
  topic: 'apg.call-results',
  clientId: 'apg-sdk',
  batchSize: 500,
  maxBatchBytes: 512 * 1024,
  lingerMs: 20,
  maxBufferedEvents: 10_000,
  sendRetries: 3,
  retryBackoffMs: 200,
  sendTimeoutMs: 5000,
  connectionTimeoutMs: 3000,
};

/**
 * Publishes call outcomes straight to the gateway's topic, signed with the project's API key. `report()` is
 * synchronous and bounded: it builds and validates the event, signs its exact bytes and enqueues it — it
 * never waits for Kafka and never throws. A background loop sends batches (key = instanceId, acks from all
 * in-sync replicas), retries a failed batch a few times and then drops it; whatever is dropped is counted by
 * reason ({@link stats}) and told to `onDrop`. A dead broker therefore costs dropped events, never a blocked
 * caller or unbounded memory.
 */
export class KafkaReporter implements ResultReporter {
  private readonly opts: typeof DEFAULTS & KafkaReporterOptions;
  private readonly kafka: Kafka;
  private producer: Producer | null = null;
  private connecting: Promise<void> | null = null;
  private readonly buffer: SendBuffer;
  private readonly counts = { reported: 0, sent: 0, sendErrors: 0 };
  private readonly dropped: Record<DropReason, number> = { buffer_full: 0, invalid: 0, send_failed: 0, closed: 0 };
  private timer: NodeJS.Timeout | null = null;
  private pumping: Promise<void> | null = null;
  private idleWaiters: (() => void)[] = [];
  private closed = false;
  /** Set when close() gives up: the pump stops, the batch in flight is written off as `closed`. */
  private readonly stop = new AbortController();
  /** The signing key id and secret follow from the API key alone: derived once, not per event. */
  private readonly signing: { keyId: string; secret: Buffer };
  private current: { batch: OutgoingMessage[]; writtenOff: boolean } | null = null;

  constructor(options: KafkaReporterOptions) {
    const bad = validate(options);
    if (bad.length) throw new TypeError(`KafkaReporter: ${bad.join('; ')}`);
    this.opts = { ...DEFAULTS, ...stripUndefined(options), brokers: options.brokers, apiKey: options.apiKey };
    this.buffer = new SendBuffer(this.opts.maxBufferedEvents);
    const digest = apiKeyDigest(options.apiKey);
    this.signing = { keyId: signingKeyIdOfDigest(digest), secret: signingSecretOfDigest(digest) };
    this.kafka = new Kafka({
      clientId: this.opts.clientId,
      brokers: this.opts.brokers,
      ...(this.opts.ssl !== undefined ? { ssl: this.opts.ssl } : {}),
      ...(this.opts.sasl !== undefined ? { sasl: this.opts.sasl } : {}),
      connectionTimeout: this.opts.connectionTimeoutMs,
      requestTimeout: this.opts.sendTimeoutMs,
      // The reporter retries whole batches itself (bounded, then drops); kafkajs's own retries stay short so
      // one attempt cannot outlive sendTimeoutMs by much.
      retry: { retries: 1, initialRetryTime: 100, maxRetryTime: 1000 },
      logLevel: logLevel.NOTHING,
    });
  }

  /**
   * Enqueues one outcome. Synchronous, never throws, never waits: an outcome that is invalid, comes after
   * `close()` or finds the buffer full is dropped and counted. `projectId`, `apiIdentifier` and `apiType` are
   * required (the selected instance has them; the GatewayClient passes them on).
   */
  report(result: KafkaCallOutcome): void {
    try {
      this.counts.reported++;
      if (this.closed) return this.drop('closed', 1, 'reported after close()', []);
      if (this.buffer.full) return this.drop('buffer_full', 1, `${this.opts.maxBufferedEvents} events already buffered`, []);
      const built = buildCallResultEvent(result, Date.now());
      if (!built.ok) return this.drop('invalid', 1, built.detail, []);
      const value = encodeCallResultEvent(built.event);
      // The same headers as signEvent(value, apiKey), with the key's derivation done once.
      const message: OutgoingMessage = { key: built.event.instanceId, value, headers: signWithSecret(value, this.signing.keyId, this.signing.secret), eventId: built.event.eventId };
      this.buffer.push(message); // room checked above; nothing ran in between
      this.schedule();
    } catch (err) {
      // Defensive: nothing above should throw, and the caller's call must not fail because of a report.
      this.drop('invalid', 1, `report failed: ${(err as Error).message}`, []);
    }
  }

  /** Counters since construction; `dropped` by reason. */
  get stats(): ReporterStats {
    const dropped = { ...this.dropped };
    return {
      ...this.counts,
      queued: this.buffer.queued,
      inFlight: this.buffer.inFlight,
      dropped,
      droppedTotal: DROP_REASONS.reduce((s, r) => s + dropped[r], 0),
    };
  }

  /**
   * Sends what is buffered now, without waiting for the linger. Resolves true once nothing is queued or in
   * flight, false if `timeoutMs` passed first (the events stay buffered and keep being retried). Never rejects.
   * @param timeoutMs Longest wait; `Infinity` waits until idle (timers cap at ~24.8 days), NaN means the default. @default 10000
   */
  async flush(timeoutMs = 10_000): Promise<boolean> {
    if (this.idle()) return true;
    // Plain-JS callers: a NaN or non-number timeout means the default, not "give up at once".
    if (typeof timeoutMs !== 'number' || Number.isNaN(timeoutMs)) timeoutMs = 10_000;
    this.kick();
    let timer: NodeJS.Timeout | undefined;
    const idle = new Promise<boolean>((resolve) => this.idleWaiters.push(() => resolve(true)));
    const timeout = new Promise<boolean>((resolve) => (timer = setTimeout(() => resolve(false), timerDelay(timeoutMs))));
    try {
      return await Promise.race([idle, timeout]);
    } finally {
      clearTimeout(timer);
    }
  }

  /**
   * Stops taking reports, sends what is buffered, disconnects; all within `timeoutMs`. What could not be sent
   * by then is dropped as `closed`. Resolves with the final counters; never rejects; idempotent.
   * @param timeoutMs Budget of the whole close; `Infinity` waits until everything is sent, NaN means the default. @default 10000
   */
  async close(timeoutMs = 10_000): Promise<ReporterStats> {
    if (typeof timeoutMs !== 'number' || Number.isNaN(timeoutMs)) timeoutMs = 10_000;
    const deadline = Date.now() + Math.max(0, timeoutMs);
    this.closed = true;
    // Leave a little of the budget for the disconnect.
    const reserve = Math.min(1000, Math.floor(timeoutMs / 5));
    await this.flush(Math.max(0, deadline - reserve - Date.now()));
    this.stop.abort();
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    const rest = this.buffer.drain();
    if (rest.length) this.drop('closed', rest.length, 'unsent when close() timed out', rest.map((m) => m.eventId));
    if (this.current && !this.current.writtenOff) {
      this.current.writtenOff = true;
      this.buffer.settle(this.current.batch.length);
      this.drop('closed', this.current.batch.length, 'in flight when close() timed out', this.current.batch.map((m) => m.eventId));
    }
    const producer = this.producer;
    this.producer = null;
    if (producer) await withTimeout(producer.disconnect(), Math.max(1, deadline - Date.now())).catch(() => undefined);
    this.wakeIdle();
    return this.stats;
  }

  private idle(): boolean {
    return this.buffer.queued === 0 && this.buffer.inFlight === 0;
  }

  private drop(reason: DropReason, count: number, detail: string, eventIds: string[]): void {
    this.dropped[reason] += count;
    if (!this.opts.onDrop) return;
    try {
      this.opts.onDrop({ reason, count, detail, eventIds });
    } catch {
      // A throwing callback must not turn a drop into an exception in the caller.
    }
  }

  private schedule(): void {
    if (this.pumping) return; // the running pump takes it
    if (this.buffer.queued >= this.opts.batchSize) return this.kick();
    if (this.timer) return;
    this.timer = setTimeout(() => this.kick(), timerDelay(this.opts.lingerMs));
    // A buffered event must not keep a finished process alive: close() (or flush()) sends it.
    this.timer.unref();
  }

  private kick(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    if (this.pumping || this.stop.signal.aborted) return;
    this.pumping = this.pump().finally(() => {
      this.pumping = null;
      if (this.buffer.queued > 0 && !this.stop.signal.aborted) this.schedule();
      if (this.idle()) this.wakeIdle();
    });
  }

  private wakeIdle(): void {
    const waiters = this.idleWaiters;
    this.idleWaiters = [];
    for (const w of waiters) w();
  }

  /** One batch at a time, in order: events of one instance keep their order on its partition. */
  private async pump(): Promise<void> {
    while (this.buffer.queued > 0 && !this.stop.signal.aborted) {
      const batch = this.buffer.take(this.opts.batchSize, this.opts.maxBatchBytes);
      const current = { batch, writtenOff: false };
      this.current = current;
      const error = await this.sendWithRetries(batch);
      this.current = null;
      if (current.writtenOff) continue; // close() already counted it
      this.buffer.settle(batch.length);
      if (error === null) this.counts.sent += batch.length;
      else this.drop('send_failed', batch.length, `after ${this.opts.sendRetries + 1} attempts: ${error.message}`, batch.map((m) => m.eventId));
    }
  }

  private async sendWithRetries(batch: OutgoingMessage[]): Promise<Error | null> {
    let last: Error = new Error('not sent');
    for (let attempt = 0; attempt <= this.opts.sendRetries; attempt++) {
      if (this.stop.signal.aborted) return last;
      try {
        await withTimeout(this.send(batch), this.opts.sendTimeoutMs);
        return null;
      } catch (err) {
        last = err instanceof Error ? err : new Error(String(err));
        this.counts.sendErrors++;
        try {
          this.opts.onSendError?.(last, attempt + 1);
        } catch {
          // ignored, as onDrop
        }
        if (attempt < this.opts.sendRetries) await sleep(this.opts.retryBackoffMs * 2 ** attempt * (0.5 + Math.random() / 2), this.stop.signal);
      }
    }
    return last;
  }

  private async send(batch: OutgoingMessage[]): Promise<void> {
    const producer = await this.connected();
    await producer.send({
      topic: this.opts.topic,
      acks: -1,
      messages: batch.map((m) => ({ key: m.key, value: m.value, headers: m.headers })),
    });
  }

  /** The connected producer; a connect that timed out is awaited again by the next attempt, not duplicated. */
  private async connected(): Promise<Producer> {
    if (!this.producer) {
      this.producer = this.kafka.producer({ createPartitioner: Partitioners.DefaultPartitioner, allowAutoTopicCreation: false });
    }
    const producer = this.producer;
    if (!this.connecting) {
      this.connecting = producer.connect().catch((err: unknown) => {
        this.connecting = null;
        throw err;
      });
    }
    await this.connecting;
    return producer;
  }
}

function stripUndefined<T extends object>(o: T): Partial<T> {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as Partial<T>;
}

function validate(o: KafkaReporterOptions): string[] {
  const bad: string[] = [];
  if (!Array.isArray(o?.brokers) || o.brokers.length === 0 || !o.brokers.every((b) => typeof b === 'string' && b.length > 0)) bad.push('brokers must be a non-empty list of host:port');
  if (typeof o?.apiKey !== 'string' || o.apiKey.length === 0) bad.push('apiKey is required');
  const ints: [keyof KafkaReporterOptions, number][] = [['batchSize', 1], ['maxBatchBytes', 1], ['lingerMs', 0], ['maxBufferedEvents', 1], ['sendRetries', 0], ['retryBackoffMs', 0], ['sendTimeoutMs', 1], ['connectionTimeoutMs', 1]];
  for (const [k, min] of ints) {
    const v = o?.[k];
    if (v !== undefined && (typeof v !== 'number' || !Number.isInteger(v) || v < min)) bad.push(`${k} must be an integer ≥ ${min}`);
  }
  return bad;
}
