import { expect } from 'chai';
import type { Producer } from 'kafkajs';
import type { Probe, StackNames } from '../stack';
import { waitFor } from '../wait-for';
import { callEvent, committedMessages, countStored, eventMessage, produceMessages, registerInstances, startIngestorInProcess, topicMessageCount, closeIngestSuite, openIngestSuite, type IngestSuite } from './ingest-fixture';

const BIGINT_MAX = '9223372036854775807';
const PER_EVENT = 1_000_000_000; // the per-event caps of tokens and cost
const N = 2000;

/**
 * Rollup sums cannot overflow: 2,000 events at the per-event maxima (10^9 tokens per field, cost 10^9,
 * latency 2^31 − 1 ms) into one instance-minute — 2·10^12 of cost, twice what numeric(20, 8) held — and
 * the same on a rollup row already near the bigint maximum. Every event is stored, nothing is
 * dead-lettered, the offsets reach the end, cost sums exactly and token sums saturate at the maximum.
 */
describe('ingestor rollup sums at the per-event maxima', function () {
  this.timeout(90_000);
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

  it('sums cost exactly and saturates token and latency sums, never failing a write', async () => {
    const { projectId, instances } = await registerInstances(probe.db, 2);
    const [fresh, nearMax] = [instances[0]!, instances[1]!];
    const minute = Math.floor(Date.now() / 60_000) * 60_000 - 2 * 60_000;
    // A rollup row already a few writes away from the bigint maximum.
    await probe.db.query('test.seed_rollup', `INSERT INTO call_rollups_minute (instance_id, project_id, minute, calls, latency_sum_ms, prompt_tokens, completion_tokens, total_tokens, cost)
      VALUES ($1, $2, $3, 0, $4::bigint - 1000, $4::bigint - 5000000000, $4::bigint - 5000000000, $4::bigint - 5000000000, 0)`,
    [nearMax.id, projectId, new Date(minute), BIGINT_MAX]);
    ingestor = await startIngestorInProcess(names);

    const usage = { promptTokens: PER_EVENT, completionTokens: PER_EVENT, totalTokens: PER_EVENT, cost: PER_EVENT };
    const events = [fresh, nearMax].flatMap((inst) => Array.from({ length: N }, (_, i) =>
      callEvent(inst, { callTimestamp: minute + (i % 60_000), latencyMs: 2_147_483_647, usage })));
    // Small sends, so the rows arrive in many writes (the overflow used to hit on the ON CONFLICT update).
    await produceMessages(producer, names.topic, events.map(eventMessage), 100);

    await waitFor('every event stored', async () => (await countStored(probe.db, projectId)).rollupCalls >= 2 * N, { timeoutMs: 60_000 });
    await waitFor('offsets committed to the end', async () => (await committedMessages(probe.kafka, names)) === (await topicMessageCount(probe.kafka, names.topic)));
    expect(await countStored(probe.db, projectId)).to.deep.equal({ rows: 2 * N, distinct: 2 * N, rollupCalls: 2 * N, histogramCalls: 2 * N });
    expect(await topicMessageCount(probe.kafka, names.dlqTopic), 'nothing dead-lettered').to.equal(0);

    const { rows } = await probe.db.query<Record<string, string>>('test.sums', `SELECT instance_id, calls::text, latency_sum_ms::text, prompt_tokens::text,
        completion_tokens::text, total_tokens::text, cost::text FROM call_rollups_minute WHERE project_id = $1 AND minute = $2`, [projectId, new Date(minute)]);
    const byInstance = new Map(rows.map((r) => [r['instance_id'], r]));
    const exact = String(BigInt(N) * BigInt(PER_EVENT));
    expect(byInstance.get(fresh.id)).to.deep.include({
      calls: String(N), latency_sum_ms: String(BigInt(N) * 2_147_483_647n),
      prompt_tokens: exact, completion_tokens: exact, total_tokens: exact,
    });
    expect(Number(byInstance.get(fresh.id)!['cost'])).to.equal(N * PER_EVENT);
    expect(byInstance.get(nearMax.id)).to.deep.include({
      calls: String(N), latency_sum_ms: BIGINT_MAX, prompt_tokens: BIGINT_MAX, completion_tokens: BIGINT_MAX, total_tokens: BIGINT_MAX,
    });
    expect(Number(byInstance.get(nearMax.id)!['cost'])).to.equal(N * PER_EVENT);
  });
});
