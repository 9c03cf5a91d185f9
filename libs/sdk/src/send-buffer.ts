/** Why the reporter gave up on events. */
export type DropReason =
  /** The buffer held `maxBufferedEvents` (queued plus in flight) when the event came. */
  | 'buffer_full'
  /** The outcome could not become a valid `CallResultEvent` (a missing field, a negative latency…). */
  | 'invalid'
  /** Kafka refused or did not answer through every retry of the batch. */
  | 'send_failed'
  /** Reported after `close()`, or still unsent when `close()` ran out of time. */
  | 'closed';

export const DROP_REASONS: readonly DropReason[] = ['buffer_full', 'invalid', 'send_failed', 'closed'];

/** A signed message ready for the producer. */
export interface OutgoingMessage {
  key: string;
  value: Buffer;
  headers: Record<string, string>;
  eventId: string;
}

/** Per-record overhead in a Kafka record batch (length, attributes, deltas, varints), rounded up. */
const RECORD_OVERHEAD_BYTES = 32;

/** What a message adds to a produce request, near enough to keep a batch under the broker's limit. */
export function messageBytes(m: OutgoingMessage): number {
  let n = RECORD_OVERHEAD_BYTES + m.value.length + Buffer.byteLength(m.key);
  for (const [k, v] of Object.entries(m.headers)) n += Buffer.byteLength(k) + Buffer.byteLength(v) + 4;
  return n;
}

/**
 * A FIFO with a hard bound on what it holds — queued and in flight together, so memory stays bounded while a
 * batch is retried against a dead broker. Pure: no timers, no I/O; the reporter drives it.
 */
export class SendBuffer {
  private items: (OutgoingMessage | undefined)[] = [];
  private head = 0;
  private inFlightCount = 0;

  constructor(readonly capacity: number) {
    if (!Number.isInteger(capacity) || capacity < 1) throw new RangeError(`capacity must be an integer ≥ 1, got ${capacity}`);
  }

  /** Queued, not yet taken. */
  get queued(): number {
    return this.items.length - this.head;
  }

  /** Taken by a batch that is not settled yet. */
  get inFlight(): number {
    return this.inFlightCount;
  }

  /** Queued plus in flight reach the capacity: a push would be refused. */
  get full(): boolean {
    return this.queued + this.inFlightCount >= this.capacity;
  }

  /** Adds at the end; false (nothing added) when queued plus in flight already reach the capacity. */
  push(m: OutgoingMessage): boolean {
    if (this.full) return false;
    this.items.push(m);
    return true;
  }

  /**
   * Takes up to `n` from the front, and no more than `maxBytes` of them (by {@link messageBytes}; the first is
   * always taken, so a batch never comes out empty); they count as in flight until {@link settle}.
   */
  take(n: number, maxBytes = Infinity): OutgoingMessage[] {
    let end = Math.min(this.items.length, this.head + Math.max(0, n));
    if (maxBytes !== Infinity) {
      let bytes = 0;
      for (let i = this.head; i < end; i++) {
        bytes += messageBytes(this.items[i]!);
        if (bytes > maxBytes && i > this.head) {
          end = i;
          break;
        }
      }
    }
    const batch = this.items.slice(this.head, end) as OutgoingMessage[];
    for (let i = this.head; i < end; i++) this.items[i] = undefined; // let the bytes go
    this.head = end;
    this.inFlightCount += batch.length;
    // Compact now and then instead of shifting on every take (shift is O(n) per call).
    if (this.head > 1024 && this.head * 2 > this.items.length) {
      this.items = this.items.slice(this.head);
      this.head = 0;
    }
    return batch;
  }

  /** A taken batch is done (sent or dropped): its room is free again. */
  settle(n: number): void {
    this.inFlightCount = Math.max(0, this.inFlightCount - n);
  }

  /** Empties the queue (not what is in flight) and returns what it held. */
  drain(): OutgoingMessage[] {
    const rest = this.items.slice(this.head) as OutgoingMessage[];
    this.items = [];
    this.head = 0;
    return rest;
  }
}
