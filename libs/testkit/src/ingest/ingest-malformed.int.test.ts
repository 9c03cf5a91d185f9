import { expect } from 'chai';
import { randomUUID } from 'node:crypto';
import type { Producer } from 'kafkajs';
import { newId } from '@apg/platform';
import type { Probe, StackNames } from '../stack';
import { waitFor } from '../wait-for';
import { signedByService } from '../signing';
import { callEvent, countStored, eventMessage, metricValue, produceMessages, readDeadLetters, registerInstances, startIngestorInProcess, closeIngestSuite, openIngestSuite, type IngestSuite } from './ingest-fixture';

/**
 * A burst of 1,000 bad messages between good ones: each bad one lands in the DLQ with its original
 * bytes and headers naming the reason and the origin, and the consumer never stops writing good ones.
 */
describe('ingestor under a burst of 1,000 malformed messages', function () {
  this.timeout(60_000);
  let suite: IngestSuite | undefined;
  let names: StackNames;
  let probe: Probe;
  let producer: Producer;
  let ingestor: Awaited<ReturnType<typeof startIngestorInProcess>> | undefined;

  before(async () => {
    suite = await openIngestSuite();
    ({ names, probe, producer } = suite);
  });

  after(async () => {
    await ingestor?.close();
    await closeIngestSuite(suite);
  });

  it('dead-letters every bad message with its reason and keeps writing the good ones', async () => {
    const { projectId, instances } = await registerInstances(probe.db, 5);
    const inst = instances[0]!;
    ingestor = await startIngestorInProcess(names);

    const kinds: { reason: string; make: (i: number) => { key: string; value: string } }[] = [
      { reason: 'malformed_json', make: (i) => ({ key: 'x', value: `{"eventId": "${i}", oops` }) },
      { reason: 'unknown_schema_version', make: () => ({ key: inst.id, value: JSON.stringify({ ...callEvent(inst), schemaVersion: 99 }) }) },
      { reason: 'invalid_event', make: () => ({ key: inst.id, value: JSON.stringify({ ...callEvent(inst), latencyMs: -5 }) }) },
      { reason: 'oversized', make: () => ({ key: inst.id, value: JSON.stringify(callEvent(inst, { userId: 'u', errorMessage: 'e' })).replace('"u"', `"u", "pad": "${'x'.repeat(17_000)}"`) }) },
      { reason: 'unknown_instance', make: () => ({ key: 'y', value: JSON.stringify(callEvent({ id: newId(), projectId, businessId: 'nope' })) }) },
    ];
    const bad = Array.from({ length: 1000 }, (_, i) => {
      const kind = kinds[i % kinds.length]!;
      return signedByService({ ...kind.make(i), headers: { 'test-seq': String(i), 'test-kind': kind.reason } });
    });
    const good = Array.from({ length: 2000 }, (_, i) => eventMessage(callEvent(instances[i % instances.length]!)));
    // Good, then bad interleaved with good, then good again.
    const mixed = [...good.slice(0, 500)];
    for (let i = 0; i < 1000; i++) mixed.push(bad[i]!, ...(i % 2 === 0 ? [good[500 + i / 2]!] : []));
    mixed.push(...good.slice(1000));
    // Small sends: 200 oversized messages of 17 kB would exceed the broker's request limit together.
    await produceMessages(producer, names.topic, mixed, 40);

    const letters = await readDeadLetters(probe.kafka, names.dlqTopic, 1000);
    await waitFor('the 2,000 good events', async () => (await countStored(probe.db, projectId)).rows === 2000, { timeoutMs: 20_000 });

    expect(letters).to.have.length(1000);
    const byReason = new Map<string, number>();
    for (const l of letters) byReason.set(l.reason, (byReason.get(l.reason) ?? 0) + 1);
    expect(Object.fromEntries(byReason)).to.deep.equal(Object.fromEntries(kinds.map((k) => [k.reason, 200])));
    for (const l of letters) {
      expect(String(l.headers['test-kind']), 'reason matches the kind sent').to.equal(l.reason);
      const original = bad[Number(String(l.headers['test-seq']))]!;
      expect(l.value, 'original bytes').to.equal(original.value);
      expect(l.source).to.match(new RegExp(`^${names.topic.replace(/\./g, '\\.')}/\\d+/\\d+$`));
      expect(l.detail).to.not.equal('');
    }
    expect(await metricValue(ingestor.metrics, 'apg_ingestor_messages_total', { outcome: 'dlq' })).to.equal(1000);

    // Still healthy and still writing.
    expect(ingestor.service.isRunning()).to.equal(true);
    const after = callEvent(inst, { eventId: randomUUID() });
    await produceMessages(producer, names.topic, [eventMessage(after)]);
    await waitFor('a good event after the burst', async () => (await countStored(probe.db, projectId)).rows === 2001);
  });
});
