import type { IHeaders, KafkaMessage, Message, Producer } from 'kafkajs';
import { ClassifiedError } from './error-class';

export type DeadLetterReason =
  | 'malformed_json'
  | 'unknown_schema_version'
  | 'invalid_event'
  | 'oversized'
  | 'unknown_instance'
  | 'foreign_instance'
  /** callTimestamp outside [now − raw retention, now + 5 min] (contracts' callTimestampProblem). */
  | 'timestamp_out_of_range'
  /** Older than the oldest raw partition kept (the ingestor has nowhere to put it). */
  | 'expired'
  /** Postgres refused the row on its data (SQLSTATE class 22/23/54), found by bisecting the write. */
  | 'rejected_by_database'
  // Signatures (contracts event-signature.ts, platform event-intake.ts):
  /** No apg-key-id / apg-signature headers (only while REQUIRE_SIGNED_EVENTS is on). */
  | 'unsigned'
  /** Signature headers malformed, repeated or half present, or a MAC that does not match the value. */
  | 'bad_signature'
  /** No key (project key or service credential) with that apg-key-id. */
  | 'unknown_key'
  | 'revoked_key'
  | 'expired_key'
  /** A project key signing an event of another project. */
  | 'key_project_mismatch'
  /** The key's project is deactivated (the api answers its key 403; its direct events do not count either). */
  | 'inactive_project';

export interface DeadLetter {
  message: KafkaMessage;
  partition: number;
  reason: DeadLetterReason;
  detail: string;
}

/**
 * Budgets of what a dead letter copies from the original, so that the DLQ record always fits the
 * broker's default 1 MiB `max.message.bytes` even when the original itself nearly filled it (a message
 * of 900 KB of headers, say): key ≤ 4 KiB, original headers ≤ 64 KiB in total, value ≤ 768 KiB, and our
 * own headers (detail cut to 1,000 characters) a few KiB. Whatever is left out is named in a header.
 */
export const DLQ_KEY_BUDGET_BYTES = 4 * 1024;
export const DLQ_HEADER_BUDGET_BYTES = 64 * 1024;
export const DLQ_VALUE_BUDGET_BYTES = 768 * 1024;
/** Bytes of records sent in one produce request (the broker checks a partition's batch as one message). */
export const DLQ_REQUEST_BYTES = 512 * 1024;
const DETAIL_MAX = 1000;

/** Header names this module writes; copies of them in the original are dropped (they could be forged). */
export const DLQ_HEADERS = {
  reason: 'apg-dlq-reason',
  detail: 'apg-dlq-detail',
  source: 'apg-dlq-source',
  at: 'apg-dlq-at',
  headersDropped: 'apg-dlq-headers-dropped',
  valueTruncated: 'apg-dlq-value-truncated',
  keyDropped: 'apg-dlq-key-dropped',
  minimal: 'apg-dlq-minimal',
} as const;

const headerBytes = (key: string, value: IHeaders[string]): number => {
  const one = (v: Buffer | string) => (Buffer.isBuffer(v) ? v.length : Buffer.byteLength(v));
  if (value === undefined) return key.length;
  return Buffer.byteLength(key) + (Array.isArray(value) ? value.reduce((s, v) => s + one(v), 0) : one(value));
};

function ownHeaders(l: DeadLetter, sourceTopic: string, now: number): IHeaders {
  return {
    [DLQ_HEADERS.reason]: l.reason,
    [DLQ_HEADERS.detail]: l.detail.slice(0, DETAIL_MAX),
    [DLQ_HEADERS.source]: `${sourceTopic}/${l.partition}/${l.message.offset}`,
    [DLQ_HEADERS.at]: String(now),
  };
}

/**
 * The DLQ record of a letter: the original key, value and headers within the budgets above (original
 * headers are kept in order while they fit; the rest are dropped and counted), plus headers naming the
 * reason and the origin, so it can be inspected and replayed. Pure.
 */
export function deadLetterRecord(l: DeadLetter, sourceTopic: string, now: number): Message {
  const headers: IHeaders = {};
  let used = 0;
  let dropped = 0;
  let droppedBytes = 0;
  for (const [k, v] of Object.entries(l.message.headers ?? {})) {
    if (k.startsWith('apg-dlq-')) continue;
    const size = headerBytes(k, v);
    if (used + size > DLQ_HEADER_BUDGET_BYTES) {
      dropped++;
      droppedBytes += size;
      continue;
    }
    used += size;
    headers[k] = v;
  }
  if (dropped) headers[DLQ_HEADERS.headersDropped] = `${dropped} original headers (${droppedBytes} bytes) dropped: over the ${DLQ_HEADER_BUDGET_BYTES}-byte budget`;
  let value = l.message.value;
  if (value && value.length > DLQ_VALUE_BUDGET_BYTES) {
    headers[DLQ_HEADERS.valueTruncated] = String(value.length);
    value = value.subarray(0, DLQ_VALUE_BUDGET_BYTES);
  }
  let key = l.message.key;
  if (key && key.length > DLQ_KEY_BUDGET_BYTES) {
    headers[DLQ_HEADERS.keyDropped] = String(key.length);
    key = null;
  }
  return { key, value, headers: { ...headers, ...ownHeaders(l, sourceTopic, now) } };
}

/** The smallest record that still says what happened: no key, no value, no original headers. */
export function minimalDeadLetterRecord(l: DeadLetter, sourceTopic: string, now: number): Message {
  return { key: null, value: null, headers: { ...ownHeaders(l, sourceTopic, now), [DLQ_HEADERS.minimal]: 'original too large for the DLQ topic' } };
}

function recordBytes(m: Message): number {
  let n = 64 + (m.key?.length ?? 0) + (Buffer.isBuffer(m.value) ? m.value.length : m.value ? Buffer.byteLength(m.value) : 0);
  for (const [k, v] of Object.entries(m.headers ?? {})) n += headerBytes(k, v);
  return n;
}

/** A produce refused because a record or the request is over the broker's limits (about the data). */
export function isTooLargeError(err: unknown): boolean {
  for (let e = err as { type?: unknown; message?: unknown; cause?: unknown } | undefined, depth = 0; e && depth < 5; e = e.cause as typeof e, depth++) {
    if (e.type === 'MESSAGE_TOO_LARGE' || e.type === 'RECORD_LIST_TOO_LARGE') return true;
    if (/larger than the max message size|too large/i.test(String(e.message))) return true;
  }
  return false;
}

type Send = (records: Message[]) => Promise<void>;

/**
 * Sends bad messages to the DLQ, awaited before the offsets are committed, so a message is never lost
 * between the topic and the DLQ. It never retries a refusal for ever: records go in requests of at most
 * DLQ_REQUEST_BYTES; a request refused as too large is split; a record refused on its own is replaced by
 * its minimal record; a minimal record refused means the DLQ topic is misconfigured — a bug, not
 * something to retry. Infrastructure errors are thrown for the caller's retry policy.
 */
export async function sendToDeadLetter(producer: Producer, dlqTopic: string, sourceTopic: string, letters: DeadLetter[], now: () => number = Date.now): Promise<void> {
  if (letters.length === 0) return;
  const send: Send = async (records) => {
    await producer.send({ topic: dlqTopic, acks: -1, messages: records });
  };
  await sendDeadLetterRecords(send, letters, sourceTopic, now());
}

/** The sending strategy of {@link sendToDeadLetter}, over any `send` (unit-tested without a broker). */
export async function sendDeadLetterRecords(send: Send, letters: DeadLetter[], sourceTopic: string, now: number): Promise<void> {
  let chunk: DeadLetter[] = [];
  let bytes = 0;
  for (const letter of letters) {
    const size = recordBytes(deadLetterRecord(letter, sourceTopic, now));
    if (chunk.length > 0 && bytes + size > DLQ_REQUEST_BYTES) {
      await sendSplitting(send, chunk, sourceTopic, now);
      chunk = [];
      bytes = 0;
    }
    chunk.push(letter);
    bytes += size;
  }
  if (chunk.length > 0) await sendSplitting(send, chunk, sourceTopic, now);
}

async function sendSplitting(send: Send, letters: DeadLetter[], sourceTopic: string, now: number): Promise<void> {
  try {
    await send(letters.map((l) => deadLetterRecord(l, sourceTopic, now)));
  } catch (err) {
    if (!isTooLargeError(err)) throw err;
    if (letters.length > 1) {
      const mid = letters.length >>> 1;
      await sendSplitting(send, letters.slice(0, mid), sourceTopic, now);
      await sendSplitting(send, letters.slice(mid), sourceTopic, now);
      return;
    }
    try {
      await send([minimalDeadLetterRecord(letters[0]!, sourceTopic, now)]);
    } catch (minimalErr) {
      if (!isTooLargeError(minimalErr)) throw minimalErr;
      throw new ClassifiedError('bug', 'the DLQ topic refuses even a minimal record (check its max.message.bytes)', { cause: minimalErr });
    }
  }
}
