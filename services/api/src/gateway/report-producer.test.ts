import { expect } from 'chai';
import type { Message } from 'kafkajs';
import type { Kafka, Logger } from '@apg/platform';
import { CALL_RESULT_SCHEMA_VERSION, macMatches, readSignatureClaim, serviceSigningKey, signWithSecret, type CallResultEvent } from '@apg/contracts';
import { HttpError } from '../http/http-error';
import { ReportProducer, flushReports, partitionOfKey, type PendingReport } from './report-producer';

const event = (instanceId: string, n = 0): CallResultEvent => ({
  eventId: `00000000-0000-4000-8000-${String(n).padStart(12, '0')}`,
  schemaVersion: CALL_RESULT_SCHEMA_VERSION,
  projectId: 'p'.repeat(32),
  instanceId,
  apiIdentifier: 'm',
  apiType: 'MODEL',
  businessId: 'b',
  success: true,
  latencyMs: 1,
  callTimestamp: 1,
});

const credential = serviceSigningKey('api', 'z'.repeat(32));
const sign = (value: Buffer) => signWithSecret(value, credential.keyId, credential.secret);

/** A report whose outcome the test can read. */
function report(...instanceIds: string[]): PendingReport & { outcome: () => 'ok' | 'failed' | 'pending' } {
  let outcome: 'ok' | 'failed' | 'pending' = 'pending';
  return {
    events: instanceIds.map((id, i) => event(id, i)),
    resolve: () => void (outcome = 'ok'),
    reject: () => void (outcome = 'failed'),
    outcome: () => outcome,
  };
}

/** Partition = the instance id's first character ('a' → 0, 'b' → 1, …). */
const byFirstChar = (key: string) => key.charCodeAt(0) - 97;

/** A fake broker: fails every send that holds a message of a partition in `failing`; records each send's keys. */
function broker(failing: Set<number>) {
  const sends: string[][] = [];
  const send = async (messages: Message[]) => {
    const keys = messages.map((m) => m.key as string);
    sends.push(keys);
    if (keys.some((k) => failing.has(byFirstChar(k)))) throw new Error(`partition error (${[...failing].join(',')})`);
  };
  return { send, sends };
}

describe('report producer flush', () => {
  it('splits a flush into produce calls under the byte cap, in order, so heavy reports of one instance never make one oversized batch', async () => {
    const b = broker(new Set());
    const heavy = (id: string, n: number) => {
      const r = report(id);
      r.events = [{ ...event(id, n), errorMessage: '错'.repeat(1024) }];
      return r;
    };
    const reports = Array.from({ length: 40 }, (_, i) => heavy('a1', i));
    const one = (await (async () => {
      const probe = broker(new Set());
      await flushReports([heavy('a1', 0)], probe.send, byFirstChar, sign);
      return probe.sends.length;
    })());
    expect(one).to.equal(1);
    await flushReports(reports, b.send, byFirstChar, sign, 16 * 1024);
    // ~3.3 KB per report: at most four per 16 KiB call, never an empty call, every report once and in order.
    expect(b.sends.length).to.be.at.least(10);
    expect(b.sends.every((keys) => keys.length >= 1 && keys.length <= 4)).to.equal(true);
    expect(b.sends.flat().length).to.equal(40);
    expect(reports.every((r) => r.outcome() === 'ok')).to.equal(true);
  });

  it('a single report over the cap still goes, alone', async () => {
    const b = broker(new Set());
    const big = report('a1', 'a2', 'a3');
    await flushReports([report('b1'), big, report('b2')], b.send, byFirstChar, sign, 10);
    expect(b.sends).to.deep.equal([['b1'], ['a1', 'a2', 'a3'], ['b2']]);
  });

  it('a failing call fails only its own reports; the next calls still go', async () => {
    const b = broker(new Set([0]));
    const reports = [report('b1'), report('a1'), report('b2')];
    await flushReports(reports, b.send, byFirstChar, sign, 10);
    expect(reports.map((r) => r.outcome())).to.deep.equal(['ok', 'failed', 'ok']);
  });

  it('one produce call for the whole flush when it succeeds', async () => {
    const b = broker(new Set());
    const reports = [report('a1'), report('b1'), report('a2')];
    await flushReports(reports, b.send, byFirstChar, sign);
    expect(b.sends).to.deep.equal([['a1', 'b1', 'a2']]);
    expect(reports.map((r) => r.outcome())).to.deep.equal(['ok', 'ok', 'ok']);
  });

  it('every message is signed with the service credential over its exact bytes, next to its request id', async () => {
    const sent: Message[] = [];
    const r = { ...report('a1', 'b1'), requestId: 'req-1' };
    await flushReports([r], async (messages) => void sent.push(...messages), byFirstChar, sign);
    expect(sent).to.have.length(2);
    for (const m of sent) {
      const claim = readSignatureClaim(m.headers);
      expect(claim.ok && claim.keyId === 'svc:api' && macMatches(m.value as Buffer, credential.secret, claim.mac)).to.equal(true);
      expect(m.headers?.['apg-request-id']).to.equal('req-1');
    }
  });

  it('one failed partition fails only its own reports: the others are sent again per partition and succeed', async () => {
    const b = broker(new Set([1]));
    const reports = [report('a1'), report('b1'), report('c1'), report('b2'), report('a2')];
    await flushReports(reports, b.send, byFirstChar, sign);
    expect(reports.map((r) => r.outcome())).to.deep.equal(['ok', 'failed', 'ok', 'failed', 'ok']);
    // The whole flush first, then each partition's messages in their original order.
    expect(b.sends[0]).to.deep.equal(['a1', 'b1', 'c1', 'b2', 'a2']);
    expect(b.sends.slice(1).sort()).to.deep.equal([['a1', 'a2'], ['b1', 'b2'], ['c1']]);
  });

  it('a report spanning partitions (a lease sweep) fails if any of its partitions fails', async () => {
    const b = broker(new Set([2]));
    const sweep = report('a1', 'c1');
    const single = report('a2');
    await flushReports([sweep, single], b.send, byFirstChar, sign);
    expect([sweep.outcome(), single.outcome()]).to.deep.equal(['failed', 'ok']);
  });

  it('every partition failing fails every report', async () => {
    const b = broker(new Set([0, 1]));
    const reports = [report('a1'), report('b1')];
    await flushReports(reports, b.send, byFirstChar, sign);
    expect(reports.map((r) => r.outcome())).to.deep.equal(['failed', 'failed']);
  });

  it('a flush of one partition is not sent twice', async () => {
    const b = broker(new Set([0]));
    const reports = [report('a1'), report('a2')];
    await flushReports(reports, b.send, byFirstChar, sign);
    expect(b.sends).to.have.length(1);
    expect(reports.map((r) => r.outcome())).to.deep.equal(['failed', 'failed']);
  });

  it('without the partition count the flush fails whole', async () => {
    const b = broker(new Set([0]));
    const reports = [report('a1'), report('b1')];
    await flushReports(reports, b.send, () => null, sign);
    expect(b.sends).to.have.length(1);
    expect(reports.map((r) => r.outcome())).to.deep.equal(['failed', 'failed']);
  });

  it('after the first call fails, reports whose caller already got the 503 are not sent again', async () => {
    const b = broker(new Set([1]));
    const gone = report('a1');
    const live = [report('c1'), report('b1')];
    const send = async (messages: Message[]) => {
      gone.abandoned = true; // its timeout fired while the first call was in flight
      await b.send(messages);
    };
    await flushReports([gone, ...live], send, byFirstChar, sign);
    expect(b.sends.slice(1).sort()).to.deep.equal([['b1'], ['c1']]);
    expect(live.map((r) => r.outcome())).to.deep.equal(['ok', 'failed']);
  });

  it('the same event bytes go out on the retry (the broker deduplicates an idempotent re-send by sequence)', async () => {
    const values: string[][] = [];
    let calls = 0;
    const send = async (messages: Message[]) => {
      values.push(messages.map((m) => String(m.value)));
      if (calls++ === 0) throw new Error('partition error');
    };
    await flushReports([report('a1'), report('b1')], send, byFirstChar, sign);
    expect(values.slice(1).flat().sort()).to.deep.equal([...values[0]!].sort());
  });

  it('partitionOfKey spreads keys like the Java client (murmur2), stable for a key', () => {
    const counts = new Array<number>(6).fill(0);
    for (let i = 0; i < 600; i++) counts[partitionOfKey(`instance-${i}`, 6)]!++;
    expect(counts.every((c) => c > 50)).to.equal(true);
    expect(partitionOfKey('abc', 6)).to.equal(partitionOfKey('abc', 6));
    expect(partitionOfKey('abc', 1)).to.equal(0);
  });
});

describe('ReportProducer queue', () => {
  /** A kafkajs stand-in whose sends wait until the test releases them; records what each send carried. */
  function fakeKafka() {
    const sends: { keys: string[]; release: () => void }[] = [];
    let inFlight = 0;
    let maxInFlight = 0;
    let options: Record<string, unknown> = {};
    const producer = {
      on: () => undefined,
      connect: async () => undefined,
      disconnect: async () => undefined,
      send: async ({ messages }: { messages: Message[] }) => {
        inFlight++;
        maxInFlight = Math.max(maxInFlight, inFlight);
        await new Promise<void>((release) => sends.push({ keys: messages.map((m) => m.key as string), release }));
        inFlight--;
      },
    };
    const kafka = { producer: (o: Record<string, unknown>) => ((options = o), producer) } as unknown as Kafka;
    return { kafka, sends, maxInFlight: () => maxInFlight, options: () => options };
  }
  const log = { warn: () => undefined, error: () => undefined } as unknown as Logger;
  const tick = () => new Promise((r) => setImmediate(r));

  it('is an idempotent producer with one request in flight', () => {
    const k = fakeKafka();
    new ReportProducer(k.kafka, 't', log, { timeoutMs: 1000, sign });
    expect(k.options()).to.include({ idempotent: true, maxInFlightRequests: 1 });
  });

  it('one flush at a time: reports that arrive meanwhile go out together in the next one', async () => {
    const k = fakeKafka();
    const p = new ReportProducer(k.kafka, 't', log, { timeoutMs: 5000, sign });
    await p.connect();
    const first = p.send([event('a1')]);
    await tick();
    const later = [p.send([event('b1')]), p.send([event('c1')])];
    await tick();
    expect(k.sends.map((s) => s.keys)).to.deep.equal([['a1']]);
    k.sends[0]!.release();
    await first;
    await tick();
    expect(k.sends.map((s) => s.keys)).to.deep.equal([['a1'], ['b1', 'c1']]);
    k.sends[1]!.release();
    await Promise.all(later);
    expect(k.maxInFlight()).to.equal(1);
  });

  it('a report whose caller already got the 503 is not sent afterwards', async () => {
    const k = fakeKafka();
    const p = new ReportProducer(k.kafka, 't', log, { timeoutMs: 30, sign });
    await p.connect();
    const stuck = p.send([event('a1')]).catch((e: unknown) => e);
    await tick();
    const late = p.send([event('b1')]).catch((e: unknown) => e);
    expect(await late).to.be.instanceOf(HttpError).and.include({ errorCode: 'DEPENDENCY_UNAVAILABLE' });
    expect(await stuck).to.be.instanceOf(HttpError);
    k.sends[0]!.release();
    await tick();
    await tick();
    expect(k.sends.map((s) => s.keys)).to.deep.equal([['a1']]);
  });
});
