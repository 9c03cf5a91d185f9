import { encodeCallResultEvent, requestIdHeaders, type CallResultEvent } from '@apg/contracts';
import { namedIo, type IoMetrics, type Kafka, type Logger } from '@apg/platform';
import { Partitioners, type Message, type PartitionerArgs, type Producer } from 'kafkajs';
import type { Counter, Histogram } from 'prom-client';
import { HttpError } from '../http/http-error';

/** Where produce calls are measured (ApiMetrics' `apg_kafka_produce_duration_seconds` and `apg_kafka_produce_errors_total`). */
export interface ProduceMetrics {
  duration: Histogram<'outcome'>;
  errors: Counter;
}

/** One produce call to the topic: resolves once the broker acknowledged every message, rejects otherwise. */
export type SendMessages = (messages: Message[]) => Promise<void>;

/** The signature headers of an event value (contracts' signWithSecret under the api's service credential). */
export type SignValue = (value: Buffer) => Record<string, string>;

/** Reports waiting for the next produce call, and how each caller learns its outcome. */
export interface PendingReport {
  events: CallResultEvent[];
  /** Id of the HTTP request that reported them, sent as the `apg-request-id` header of each message. */
  requestId?: string | undefined;
  resolve: () => void;
  reject: (err: Error) => void;
  /** The caller already answered 503 (timeout): not sent any more if it has not gone out yet. */
  abandoned?: boolean;
}

const defaultPartitioner = Partitioners.DefaultPartitioner();
const metadataOf = new Map<number, PartitionerArgs['partitionMetadata']>();

/** The partition kafkajs' DefaultPartitioner (murmur2 of the key, like the Java client) gives `key` among `count`. */
export function partitionOfKey(key: string, count: number): number {
  let partitionMetadata = metadataOf.get(count);
  if (!partitionMetadata) {
    // Only the count matters for a keyed message (murmur2(key) % count); the rest is filled for the type.
    partitionMetadata = Array.from({ length: count }, (_, partitionId) => ({ partitionId, leader: 0, partitionErrorCode: 0, replicas: [0], isr: [0] }));
    metadataOf.set(count, partitionMetadata);
  }
  return defaultPartitioner({ topic: '', partitionMetadata, message: { key, value: null } });
}

/**
 * Produces one flush of reports, in produce calls of at most `maxBytes` each. Each call goes first whole (one
 * broker round trip for all of its reports). When
 * that fails, Kafka may have refused one partition and written the others (kafkajs fails the whole call on any
 * partition error), so each partition's messages are sent again on their own: only the reports whose partition
 * still fails are rejected, the others resolve. Re-sending the partitions that were written is safe because the
 * producer is idempotent: kafkajs rolled their sequence numbers back, so each re-sent batch carries the same
 * producer id and sequence as the one the broker holds, and the broker acknowledges it without writing it twice.
 * `partitionOf` is `null` until the partition count is known; the flush then cannot be split and fails whole.
 * Every message is signed (`sign`): the consumers count only signed events.
 */
export async function flushReports(
  batch: readonly PendingReport[],
  send: SendMessages,
  partitionOf: (key: string) => number | null,
  sign: SignValue,
  maxBytes: number = MAX_PRODUCE_BYTES,
): Promise<void> {
  const items = batch.map((p) => {
    const requestHeaders = p.requestId === undefined ? {} : requestIdHeaders(p.requestId);
    let bytes = 0;
    const messages = p.events.map((e) => {
      const value = encodeCallResultEvent(e);
      const headers = { ...requestHeaders, ...sign(value) };
      bytes += value.length + e.instanceId.length + MESSAGE_OVERHEAD_BYTES;
      for (const [k, v] of Object.entries(headers)) bytes += k.length + v.length;
      return { key: e.instanceId, value, headers };
    });
    return { p, messages, bytes };
  });
  // One produce call at a time, each under the broker's batch limit: a flush of many heavy reports of one
  // instance would otherwise be one record batch over `message.max.bytes`, refused whole on every retry (and,
  // from the spool, forever). A single report larger than the cap still goes alone.
  let chunk: Item[] = [];
  let chunkBytes = 0;
  for (const item of items) {
    if (chunk.length > 0 && chunkBytes + item.bytes > maxBytes) {
      await flushChunk(chunk, send, partitionOf);
      chunk = [];
      chunkBytes = 0;
    }
    chunk.push(item);
    chunkBytes += item.bytes;
  }
  if (chunk.length > 0) await flushChunk(chunk, send, partitionOf);
}

/**
 * Most bytes (values, keys, headers) one produce call carries: half of Kafka's default `message.max.bytes`
 * (1 MiB per record batch, i.e. per partition), leaving room for the record framing.
 */
export const MAX_PRODUCE_BYTES = 512 * 1024;
/** Framing Kafka adds per record (lengths, offsets, timestamps), counted generously. */
const MESSAGE_OVERHEAD_BYTES = 32;

interface Item {
  p: PendingReport;
  messages: { key: string; value: Buffer; headers: Record<string, string> }[];
  bytes: number;
}

async function flushChunk(items: readonly Item[], send: SendMessages, partitionOf: (key: string) => number | null): Promise<void> {
  let error: Error;
  try {
    await send(items.flatMap((i) => i.messages));
    for (const { p } of items) p.resolve();
    return;
  } catch (err) {
    error = err as Error;
  }
  // Callers already answered 503 (the first call outlived their timeout) are not sent again: a write now would
  // duplicate the retry they were told to make.
  for (const { p } of items) if (p.abandoned) p.reject(error);
  const live = items.filter(({ p }) => !p.abandoned);
  const groups = new Map<number, { messages: Message[]; reports: Set<PendingReport> }>();
  for (const { p, messages } of live) {
    for (const m of messages) {
      const partition = partitionOf(m.key);
      if (partition === null) {
        for (const { p: q } of live) q.reject(error);
        return;
      }
      let g = groups.get(partition);
      if (!g) groups.set(partition, (g = { messages: [], reports: new Set() }));
      g.messages.push(m);
      g.reports.add(p);
    }
  }
  if (groups.size < 2) {
    for (const { p } of live) p.reject(error);
    return;
  }
  const failed = new Map<PendingReport, Error>();
  await Promise.all(
    [...groups.values()].map(async (g) => {
      try {
        await send(g.messages);
      } catch (err) {
        for (const p of g.reports) failed.set(p, err as Error);
      }
    }),
  );
  for (const { p } of live) {
    const err = failed.get(p);
    if (err) p.reject(err);
    else p.resolve();
  }
}

/**
 * Produces call results to Kafka with an idempotent producer (acks from all in-sync replicas, one request in
 * flight per broker, as kafkajs requires for idempotence). A report is answered 200 only once the broker
 * acknowledged; when Kafka cannot take it within `timeoutMs` the caller gets a 503 at once instead of a hanging
 * request. Reports that arrive together share one produce call, and a partition that fails fails only its own.
 */
export class ReportProducer {
  private readonly producer: Producer;
  private connected = false;
  private connecting: Promise<void> | null = null;
  private pending: PendingReport[] = [];
  private flushing = false;
  /** Partition count of the topic, learned from the partitioner kafkajs calls on every send. */
  private partitions: number | null = null;

  constructor(
    kafka: Kafka,
    private readonly topic: string,
    private readonly log: Logger,
    private readonly opts: {
      timeoutMs: number;
      /** Produce-call metrics (apg_kafka_produce_*) and the named-I/O histogram; none in tests that do not read them. */
      metrics?: ProduceMetrics;
      io?: IoMetrics;
      /** Signs each event (the api's service credential, `EVENT_SIGNING_SECRET`). */
      sign: SignValue;
    },
  ) {
    const learn = (count: number) => {
      this.partitions = count;
    };
    this.producer = kafka.producer({
      allowAutoTopicCreation: false,
      idempotent: true,
      // kafkajs' idempotence needs one request in flight (its Transactions guide: `maxInFlightRequests: 1` with
      // `idempotent: true`); it also serialises produce requests per broker itself.
      maxInFlightRequests: 1,
      createPartitioner: () => (args) => {
        learn(args.partitionMetadata.length);
        return defaultPartitioner(args);
      },
      // Bounded on purpose (kafkajs warns once that this "may invalidate EoS"): a report waits at most
      // `timeoutMs` anyway, and unbounded retries would keep an outage's reports in memory and write them long
      // after their callers were told 503. A retry within these attempts is deduplicated by the broker.
      retry: { retries: 2, initialRetryTime: 50, maxRetryTime: 500 },
    });
    this.producer.on('producer.disconnect', () => {
      if (this.connected) this.log.warn('Kafka producer disconnected');
      this.connected = false;
    });
  }

  isConnected(): boolean {
    return this.connected;
  }

  /** Connects, or keeps trying in the background: the api must serve selects without Kafka. */
  connect(): Promise<void> {
    const started = Date.now();
    this.connecting ??= this.producer
      .connect()
      .then(() => {
        this.connected = true;
        this.log.info({ ms: Date.now() - started }, 'Kafka producer connected');
      })
      .catch((err: Error) => {
        this.log.warn({ err: err.message }, 'Kafka producer not connected; reports answer 503 until it is');
      })
      .finally(() => {
        this.connecting = null;
      });
    return this.connecting;
  }

  async send(events: CallResultEvent[], requestId?: string): Promise<void> {
    if (!this.connected) {
      // Still (re)connecting: wait for it, but never longer than a report may take.
      await Promise.race([this.connect(), new Promise((r) => setTimeout(r, this.opts.timeoutMs).unref())]);
      if (!this.connected) throw new HttpError('DEPENDENCY_UNAVAILABLE', 'event bus unavailable; report not accepted, retry later');
    }
    let timer: NodeJS.Timeout | undefined;
    let entry: PendingReport | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => {
        if (entry) entry.abandoned = true;
        reject(new HttpError('DEPENDENCY_UNAVAILABLE', 'event bus did not acknowledge in time; retry later'));
      }, this.opts.timeoutMs);
    });
    try {
      await Promise.race([
        new Promise<void>((resolve, reject) => {
          entry = { events, requestId, resolve, reject };
          this.enqueue(entry);
        }),
        timeout,
      ]);
    } catch (err) {
      if (err instanceof HttpError) throw err;
      this.log.warn({ err: (err as Error).message }, 'report not produced');
      throw new HttpError('DEPENDENCY_UNAVAILABLE', 'event bus rejected the report; retry later');
    } finally {
      clearTimeout(timer);
    }
  }

  /**
   * Reports wait while a flush is in flight and go out together in the next one: one produce call at a time,
   * so a partition's sequence numbers are never shared by two flushes (which would break the per-partition retry
   * of {@link flushReports}), and batches grow with the load instead of the number of round trips.
   */
  private enqueue(entry: PendingReport): void {
    this.pending.push(entry);
    if (this.flushing) return;
    this.flushing = true;
    setImmediate(() => void this.drain());
  }

  private async drain(): Promise<void> {
    try {
      while (this.pending.length > 0) {
        // Callers already told 503 are not written any more: their retry would count the call twice.
        const batch = this.pending.filter((p) => !p.abandoned);
        this.pending = [];
        if (batch.length > 0) await flushReports(batch, this.sendMessages, this.partitionOf, this.opts.sign);
      }
    } catch (err) {
      // flushReports settles every report and never throws; this is a bug guard, not a path.
      this.log.error({ err: (err as Error).message }, 'report flush failed');
    } finally {
      this.flushing = false;
    }
  }

  private readonly sendMessages: SendMessages = async (messages) => {
    const end = this.opts.metrics?.duration.startTimer();
    try {
      await namedIo(this.opts.io, 'kafka', 'produce_reports', () => this.producer.send({ topic: this.topic, acks: -1, messages }));
      end?.({ outcome: 'ok' });
    } catch (err) {
      end?.({ outcome: 'error' });
      this.opts.metrics?.errors.inc();
      throw err;
    }
  };

  private readonly partitionOf = (key: string): number | null => (this.partitions === null ? null : partitionOfKey(key, this.partitions));

  async stop(): Promise<void> {
    await this.producer.disconnect().catch(() => undefined);
    this.connected = false;
  }
}
