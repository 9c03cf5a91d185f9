import { expect } from 'chai';
import { ConfigResourceTypes, type Producer } from 'kafkajs';
import { DLQ_HEADERS } from '@apg/platform';
import type { Probe, StackNames } from '../stack';
import { waitFor } from '../wait-for';
import { signedByService } from '../signing';
import { callEvent, committedMessages, countStored, eventMessage, readDeadLetters, registerInstances, startIngestorInProcess, topicMessageCount, closeIngestSuite, openIngestSuite, type IngestSuite } from './ingest-fixture';

const HUGE_HEADER = 900 * 1024;
const DLQ_MAX_MESSAGE_BYTES = 200_000;

/**
 * Dead letters that always fit, on the real broker: a message carrying a 900 KB header (it fits the
 * source topic, and copied whole with our headers it need not fit the DLQ) is dead-lettered with its
 * original headers dropped and a header saying so; on a DLQ topic whose `max.message.bytes` is smaller
 * than even the bounded copy, the refused record falls back to a minimal one. Neither retries for ever:
 * the offsets reach the end and the good events around them are stored.
 */
describe('ingestor dead letters that always fit the DLQ', function () {
  this.timeout(90_000);
  let suite: IngestSuite | undefined;
  let names: StackNames;
  let probe: Probe;
  let producer: Producer;
  let ingestor: Awaited<ReturnType<typeof startIngestorInProcess>> | undefined;

  before(async () => {
    suite = await openIngestSuite();
    ({ names, probe, producer } = suite);
    // A DLQ with a smaller record limit than the source topic (the probe created it with the defaults).
    const admin = probe.kafka.admin();
    await admin.connect();
    const resource = { type: ConfigResourceTypes.TOPIC, name: names.dlqTopic };
    await admin.alterConfigs({ validateOnly: false, resources: [{ ...resource, configEntries: [{ name: 'max.message.bytes', value: String(DLQ_MAX_MESSAGE_BYTES) }] }] });
    const { resources } = await admin.describeConfigs({ includeSynonyms: false, resources: [{ ...resource, configNames: ['max.message.bytes'] }] });
    await admin.disconnect();
    expect(resources[0]?.configEntries[0]?.configValue).to.equal(String(DLQ_MAX_MESSAGE_BYTES));
  });

  after(async () => {
    await ingestor?.close();
    await closeIngestSuite(suite);
  });

  it('drops huge original headers (saying so), falls back to a minimal record, and moves on', async () => {
    const { projectId, instances } = await registerInstances(probe.db, 1);
    const inst = instances[0]!;
    ingestor = await startIngestorInProcess(names);
    const huge = { 'x-huge': Buffer.alloc(HUGE_HEADER, 97), 'x-seq': 'a' };
    const sixty = Object.fromEntries(Array.from({ length: 6 }, (_, i) => [`x-pad-${i}`, 'p'.repeat(10_000)]));
    const good = [callEvent(inst), callEvent(inst)];
    // One message per request: each is close to the broker's 1 MiB request limit on its own.
    const sends = [
      signedByService({ key: inst.id, value: '{"broken"', headers: huge }),
      signedByService({ key: inst.id, value: 'x'.repeat(180_000), headers: { ...sixty, 'x-seq': 'b' } }),
      signedByService({ ...eventMessage(good[0]!), headers: { ...huge, 'x-seq': 'c' } }),
      eventMessage(good[1]!),
    ];
    for (const m of sends) await producer.send({ topic: names.topic, acks: -1, messages: [m] });

    const total = await topicMessageCount(probe.kafka, names.topic);
    expect(total).to.equal(4);
    await waitFor('every offset committed', async () => (await committedMessages(probe.kafka, names)) === total, { timeoutMs: 30_000 });
    expect((await countStored(probe.db, projectId)).rows, 'the good events, a 900 KB header notwithstanding').to.equal(2);

    const letters = await readDeadLetters(probe.kafka, names.dlqTopic, 2);
    expect(letters).to.have.length(2);
    const [broken, oversized] = letters[0]!.reason === 'malformed_json' ? [letters[0]!, letters[1]!] : [letters[1]!, letters[0]!];
    expect(broken.reason).to.equal('malformed_json');
    expect(broken.value, 'original value kept').to.equal('{"broken"');
    expect(broken.headers).to.not.have.property('x-huge');
    expect(String(broken.headers['x-seq'])).to.equal('a');
    expect(String(broken.headers[DLQ_HEADERS.headersDropped])).to.match(/^1 original headers \(9216\d\d bytes\) dropped/);

    expect(oversized.reason).to.equal('oversized');
    expect(String(oversized.headers[DLQ_HEADERS.minimal]), 'too large for this DLQ even when bounded').to.not.equal('undefined');
    expect(oversized.value).to.equal('');
    expect(oversized.source).to.match(new RegExp(`^${names.topic.replace(/\./g, '\\.')}/\\d+/1$`));
    expect(ingestor.service.isRunning()).to.equal(true);
  });
});
