import { expect } from 'chai';
import { KafkaReporter } from './kafka-reporter';
import type { KafkaCallOutcome } from './types';

// No broker is contacted here: nothing valid is ever buffered, so nothing is sent (the real-broker
// behaviour is in libs/testkit/src/sdk/kafka-reporter.int.test.ts).
const NO_BROKER = ['127.0.0.1:1'];

describe('KafkaReporter (no broker contacted)', () => {
  it('refuses options that cannot work, naming each', () => {
    expect(() => new KafkaReporter({ brokers: [], apiKey: 'k' })).to.throw(TypeError, /brokers/);
    expect(() => new KafkaReporter({ brokers: NO_BROKER, apiKey: '' })).to.throw(TypeError, /apiKey/);
    expect(() => new KafkaReporter({ brokers: NO_BROKER, apiKey: 'k', maxBufferedEvents: 0, batchSize: 1.5 })).to.throw(TypeError, /batchSize.*maxBufferedEvents|maxBufferedEvents.*batchSize/);
    expect(() => new KafkaReporter({ brokers: NO_BROKER, apiKey: 'k', sendRetries: -1 })).to.throw(TypeError, /sendRetries/);
  });

  it('drops what cannot be an event as invalid, synchronously, without throwing — a throwing onDrop included', async () => {
    const notices: { reason: string; count: number; detail: string }[] = [];
    const r = new KafkaReporter({ brokers: NO_BROKER, apiKey: 'k', onDrop: (d) => { notices.push(d); throw new Error('callback bug'); } });
    const bad: unknown[] = [null, undefined, 42, 'x', {}, { projectId: 'a'.repeat(32) }, { ...valid(), latencyMs: -3 }, { ...valid(), apiType: 'NOPE' }];
    for (const b of bad) expect(() => r.report(b as KafkaCallOutcome)).to.not.throw();
    expect(r.stats).to.deep.include({ reported: bad.length, queued: 0, inFlight: 0, sent: 0, droppedTotal: bad.length });
    expect(r.stats.dropped.invalid).to.equal(bad.length);
    expect(notices.every((n) => n.reason === 'invalid' && n.count === 1 && n.detail.length > 0)).to.equal(true);
    await r.close(100);
  });

  it('flush(Infinity) / flush(1e10) wait instead of giving up at once (Node turns such timers into 1 ms); flush(NaN) takes the default', async () => {
    // One valid event buffered for a broker that is not there: it stays queued, so flush can only time out.
    const r = new KafkaReporter({ brokers: NO_BROKER, apiKey: 'k', connectionTimeoutMs: 100, sendRetries: 1000, retryBackoffMs: 10 });
    r.report(valid());
    const pending = (p: Promise<boolean>) => Promise.race([p.then((v) => `settled ${v}`), new Promise((res) => setTimeout(() => res('pending'), 300))]);
    for (const t of [Infinity, 1e10, Number.NaN]) expect(await pending(r.flush(t)), `flush(${t})`).to.equal('pending');
    const stats = await r.close(0);
    expect(stats.dropped.closed).to.equal(1);
  });

  it('after close(): reports are dropped as closed; close and flush are idempotent and quick when idle', async () => {
    const r = new KafkaReporter({ brokers: NO_BROKER, apiKey: 'k' });
    expect(await r.flush(50)).to.equal(true);
    const t0 = Date.now();
    await r.close(1000);
    await r.close(1000);
    expect(Date.now() - t0).to.be.below(500);
    r.report(valid());
    expect(r.stats.dropped.closed).to.equal(1);
    expect(r.stats.queued).to.equal(0);
  });
});

function valid(): KafkaCallOutcome {
  return { projectId: 'a'.repeat(32), instanceId: 'b'.repeat(32), businessId: 'm', apiIdentifier: 'gpt4o', apiType: 'MODEL', success: true, latencyMs: 1 };
}
