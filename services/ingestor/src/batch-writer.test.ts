import { expect } from 'chai';
import type { CallResultEvent } from '@apg/contracts';
import { BatchRetrier, createLogger, type DeadLetter } from '@apg/platform';
import { Registry } from 'prom-client';
import { BatchWriter, type WriteItem } from './batch-writer';
import type { CallResultWriter } from './call-result-store';
import { OffsetTracker } from './offset-tracker';

let seq = 0;
const item = (partition = 0, over: Partial<CallResultEvent> = {}): WriteItem => {
  const n = seq++;
  const event: CallResultEvent = {
    eventId: `00000000-0000-4000-8000-${String(n).padStart(12, '0')}`, schemaVersion: 1, projectId: 'b'.repeat(32),
    instanceId: 'a'.repeat(32), apiIdentifier: 'gpt4o', apiType: 'MODEL', businessId: 'b1', success: true, latencyMs: 10,
    callTimestamp: 1_700_000_000_000, ...over,
  };
  return { event, partition, message: { offset: String(n), key: null, value: Buffer.from('{}'), timestamp: '0', attributes: 0, headers: {} } };
};

const pgError = (code: string, message: string) => Object.assign(new Error(message), { name: 'error', code, severity: 'ERROR' });
const refused = () => Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:5432'), { code: 'ECONNREFUSED' });

/** An in-memory store: rows keyed like the real unique key, scripted failures, every call recorded. */
class FakeStore implements CallResultWriter {
  readonly rows = new Set<string>();
  readonly calls: number[] = [];
  failures: Error[] = [];
  poison = new Set<string>();
  inFlight = 0;
  maxInFlight = 0;
  delayMs = 0;

  async insertBatch(events: readonly CallResultEvent[]): Promise<number> {
    this.calls.push(events.length);
    this.inFlight++;
    this.maxInFlight = Math.max(this.maxInFlight, this.inFlight);
    try {
      if (this.delayMs) await new Promise((r) => setTimeout(r, this.delayMs));
      const failure = this.failures.shift();
      if (failure) throw failure;
      if (events.some((e) => this.poison.has(e.eventId))) throw pgError('22003', 'numeric field overflow');
      let inserted = 0;
      for (const e of events) {
        const key = e.eventId;
        if (!this.rows.has(key)) inserted++;
        this.rows.add(key);
      }
      return inserted;
    } finally {
      this.inFlight--;
    }
  }
}

function setup(options = { maxRowsPerWrite: 100, concurrency: 1 }) {
  const store = new FakeStore();
  const tracker = new OffsetTracker();
  const commits: { partition: number; offset: string }[][] = [];
  const dlq: DeadLetter[] = [];
  const outcomes = { written: 0, duplicate: 0, dlq: 0 };
  const bugs: unknown[] = [];
  const metrics = new Registry();
  const log = createLogger('test', 'silent');
  const retrier = new BatchRetrier({ service: 'test', metrics, log, onBug: (err) => bugs.push(err), baseDelayMs: 1, maxDelayMs: 5 });
  const writer = new BatchWriter({
    options, store, tracker, log, retrier, onBug: (err) => bugs.push(err),
    commit: async (offsets) => void commits.push(offsets),
    deadLetter: async (letters) => void dlq.push(...letters),
    onWritten: (o) => {
      outcomes.written += o.written;
      outcomes.duplicate += o.duplicate;
      outcomes.dlq += o.dlq;
    },
  });
  const retries = async () => (await metrics.getSingleMetric('apg_test_batch_retries_total')!.get()).values.reduce((n, v) => n + v.value, 0);
  const enqueue = (items: WriteItem[], partition: number, lastOffset: string) => writer.enqueue({ items, batch: tracker.register(partition, lastOffset, 0) });
  return { store, tracker, commits, dlq, outcomes, writer, enqueue, retries, bugs };
}

describe('batch writer', () => {
  it('merges the batches queued together into one write, then commits each partition', async () => {
    const t = setup();
    t.enqueue([item(0), item(0)], 0, '1');
    t.enqueue([item(1)], 1, '7');
    t.enqueue([], 2, '3'); // a batch whose messages were all dead-lettered still moves its offset
    expect(await t.writer.drain(1000)).to.equal(true);
    expect(t.store.calls).to.deep.equal([3]);
    expect(t.commits.flat()).to.have.deep.members([{ partition: 0, offset: '2' }, { partition: 1, offset: '8' }, { partition: 2, offset: '4' }]);
    expect(t.outcomes).to.deep.equal({ written: 3, duplicate: 0, dlq: 0 });
  });

  it('splits what is queued at maxRowsPerWrite, never a batch, and respects the write concurrency', async () => {
    const t = setup({ maxRowsPerWrite: 3, concurrency: 2 });
    t.store.delayMs = 20;
    for (let k = 0; k < 5; k++) t.enqueue([item(0), item(0)], 0, String(k));
    expect(await t.writer.drain(2000)).to.equal(true);
    expect(t.store.calls).to.deep.equal([2, 2, 2, 2, 2]);
    expect(t.store.maxInFlight).to.equal(2);
    // Writes finish in any order; the committed offset only ever grows, up to the end.
    const offsets = t.commits.flat().map((c) => Number(c.offset));
    expect(offsets).to.deep.equal([...offsets].sort((a, b) => a - b));
    expect(offsets.at(-1)).to.equal(5);
  });

  it('counts a redelivered event, a twin, and a client retry with another callTimestamp as duplicates', async () => {
    const t = setup();
    const a = item(0);
    t.enqueue([a], 0, '0');
    await t.writer.drain(1000);
    const retried = { ...a, event: { ...a.event, callTimestamp: a.event.callTimestamp + 5000 } };
    t.enqueue([a, { ...a }, retried, item(0)], 0, '3');
    await t.writer.drain(1000);
    expect(t.outcomes).to.deep.equal({ written: 2, duplicate: 3, dlq: 0 });
    // One write per eventId reaches the store: the twins never travel.
    expect(t.store.calls).to.deep.equal([1, 2]);
    expect(t.store.rows.size).to.equal(2);
  });

  it('holds a batch through an outage, never dead-letters it, and commits only after the write', async () => {
    const t = setup();
    t.store.failures = [refused(), pgError('57P01', 'terminating connection due to administrator command')];
    t.enqueue([item(0), item(0)], 0, '1');
    expect(await t.writer.drain(5000)).to.equal(true);
    expect(await t.retries()).to.equal(2);
    expect(t.dlq).to.have.length(0);
    expect(t.store.calls).to.deep.equal([2, 2, 2]);
    expect(t.commits).to.deep.equal([[{ partition: 0, offset: '2' }]]);
  });

  it('isolates a row the database refuses, dead-letters it alone and writes the rest', async () => {
    const t = setup();
    const items = Array.from({ length: 8 }, () => item(0));
    t.store.poison.add(items[5]!.event.eventId);
    t.enqueue(items, 0, '7');
    expect(await t.writer.drain(2000)).to.equal(true);
    expect(t.dlq.map((d) => d.message.offset)).to.deep.equal([items[5]!.message.offset]);
    expect(t.dlq[0]).to.include({ reason: 'rejected_by_database' });
    expect(t.dlq[0]!.detail).to.match(/^SQLSTATE 22003: numeric field overflow/);
    expect(t.store.rows.size).to.equal(7);
    expect(t.outcomes).to.deep.equal({ written: 7, duplicate: 0, dlq: 1 });
    expect(t.commits.flat()).to.deep.equal([{ partition: 0, offset: '8' }]);
  });

  it('on abort during an outage leaves everything uncommitted', async () => {
    const t = setup();
    t.store.failures = Array.from({ length: 1000 }, refused);
    t.enqueue([item(0)], 0, '0');
    expect(await t.writer.drain(300)).to.equal(false);
    t.writer.abort();
    await new Promise((r) => setTimeout(r, 50));
    expect(t.commits).to.have.length(0);
    expect(t.writer.pendingRows()).to.equal(0);
  });

  it('on a bug gives the write up uncommitted, never retries it, and reports it once', async () => {
    const t = setup();
    const bug = new TypeError("Cannot read properties of undefined (reading 'length')");
    t.store.failures = [bug];
    t.enqueue([item(0), item(0)], 0, '1');
    await t.writer.drain(1000);
    expect(t.bugs).to.deep.equal([bug]);
    expect(t.store.calls).to.deep.equal([2]);
    expect(t.commits).to.have.length(0);
    expect(t.dlq).to.have.length(0);
    expect(await t.retries()).to.equal(0);
  });

  it('isolates several bad rows among many with a bounded number of statements', async () => {
    const t = setup({ maxRowsPerWrite: 1000, concurrency: 1 });
    const items = Array.from({ length: 512 }, () => item(0));
    for (const i of [3, 200, 201, 511]) t.store.poison.add(items[i]!.event.eventId);
    t.enqueue(items, 0, '511');
    expect(await t.writer.drain(5000)).to.equal(true);
    expect(t.dlq.map((d) => Number(d.message.offset) - Number(items[0]!.message.offset))).to.deep.equal([3, 200, 201, 511]);
    expect(t.store.rows.size).to.equal(508);
    expect(t.store.calls.length, 'about 2·k·log2(n) statements').to.be.at.most(2 * 4 * 9 + 1);
  });
});
