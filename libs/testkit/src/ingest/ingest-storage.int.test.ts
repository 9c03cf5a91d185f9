import { expect } from 'chai';
import { Partitioners, type Producer } from 'kafkajs';
import { histogramOf, latencyPercentile, partitionName } from '@apg/ingestor';
import { createDb, dropTestDatabase, ensureDatabase, runMigrations, type Db } from '@apg/platform';
import { openProbe, stackNames, type Probe, type StackNames } from '../stack';
import { testEnv } from '../test-env';
import { waitFor } from '../wait-for';
import { callEvent, eventMessage, produceMessages, readDeadLetters, registerInstances, startIngestorInProcess, topicMessageCount, type TestInstance } from './ingest-fixture';

const DAY = 86_400_000;
const MINUTE = 60_000;

/**
 * What the ingestor stores: the minute rollups (histogram, error classes, sums) and the daily partitions
 * it creates ahead and drops behind. Runs on a database of its own, because it moves a fake clock
 * across days and drops partitions, which must not touch the rows of the other suites.
 */
describe('ingestor storage: rollups and retention (own database)', function () {
  this.timeout(90_000);
  let databaseUrl: string;
  let names: StackNames;
  let probe: Probe;
  let db: Db;
  let producer: Producer;
  let clock = Date.now();
  let ingestor: Awaited<ReturnType<typeof startIngestorInProcess>> | undefined;
  let projectId: string;
  let instances: TestInstance[];
  const start = () => startIngestorInProcess(names, {
    databaseUrl,
    now: () => clock,
    options: { retention: { retentionDays: 2, premakeDays: 1, rollupRetentionDays: 5, intervalMs: 3_600_000 } },
  });

  const partitions = async (): Promise<string[]> => {
    const { rows } = await db.query<{ name: string }>('test.partitions', `SELECT c.relname AS name FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid WHERE i.inhparent = 'call_results'::regclass ORDER BY 1`);
    return rows.map((r) => r.name);
  };
  const whereIs = async (eventId: string): Promise<string | null> => {
    const { rows } = await db.query<{ t: string }>('test.where', 'SELECT tableoid::regclass::text AS t FROM call_results WHERE event_id = $1', [eventId]);
    return rows[0]?.t ?? null;
  };
  const dayOf = (ms: number) => Math.floor(ms / DAY) * DAY;

  before(async () => {
    const u = new URL(testEnv().databaseUrl);
    u.pathname = `${u.pathname}_retention`;
    databaseUrl = u.toString();
    await ensureDatabase(databaseUrl);
    await runMigrations(databaseUrl);
    db = createDb(databaseUrl, { max: 3 });
    names = stackNames();
    probe = await openProbe(names);
    producer = probe.kafka.producer({ createPartitioner: Partitioners.DefaultPartitioner });
    await producer.connect();
    ({ projectId, instances } = await registerInstances(db, 2));
  });

  after(async () => {
    await ingestor?.close();
    await producer?.disconnect();
    const admin = probe.kafka.admin();
    await admin.connect();
    await admin.deleteTopics({ topics: [names.topic, names.dlqTopic] }).catch(() => undefined);
    await admin.disconnect();
    await probe?.close();
    await db?.close();
    if (databaseUrl) await dropTestDatabase(databaseUrl);
  });

  it('rolls up each instance-minute from new rows only: calls, failures, slow calls, sums, histogram, error classes', async () => {
    ingestor = await start();
    const inst = instances[0]!;
    const minute = Math.floor(clock / MINUTE) * MINUTE - 5 * MINUTE;
    const latencies = [0, 1, 9, 10, 11, 95, 120, 120, 999, 5000, 5119, 5120, 70_000, 900_000];
    // Failures are i = 0, 3, 6, 9, 12; the TIMEOUT on a success (i = 1) is not a failure.
    const errorTypes: Record<number, string> = { 0: 'TIMEOUT', 1: 'TIMEOUT', 3: 'TIMEOUT', 6: 'made-up class', 12: 'RATE_LIMITED' };
    const events = latencies.map((latencyMs, i) => callEvent(inst, {
      latencyMs,
      callTimestamp: minute + i * 1000,
      success: i % 3 !== 0,
      ...(errorTypes[i] ? { errorType: errorTypes[i] } : {}),
      usage: { promptTokens: 10, completionTokens: i, totalTokens: 10 + i, cost: 0.00012345 },
    }));
    // Every event twice: the second copy must change nothing.
    await produceMessages(producer, names.topic, [...events, ...events].map(eventMessage));
    const read = async () => (await db.query<Record<string, unknown>>(
      'test.rollup',
      `SELECT calls, failures, slow_calls, latency_sum_ms, latency_max_ms, prompt_tokens, completion_tokens, total_tokens,
              cost::text AS cost, latency_hist, errors_by_class
         FROM call_rollups_minute WHERE instance_id = $1 AND minute = $2`,
      [inst.id, new Date(minute)],
    )).rows[0];
    await waitFor('the rollup', async () => Number((await read())?.['calls']) === latencies.length);
    await new Promise((r) => setTimeout(r, 300));
    const row = (await read())!;
    const failures = latencies.filter((_, i) => i % 3 === 0).length;
    expect(row).to.deep.include({
      calls: latencies.length,
      failures,
      slow_calls: latencies.filter((l) => l >= 5000).length,
      latency_sum_ms: latencies.reduce((s, l) => s + l, 0),
      latency_max_ms: 900_000,
      prompt_tokens: 10 * latencies.length,
      completion_tokens: (latencies.length * (latencies.length - 1)) / 2,
      cost: (0.00012345 * latencies.length).toFixed(8),
    });
    // Postgres' width_bucket and the TypeScript bounds agree bucket for bucket.
    expect((row['latency_hist'] as string[]).map(Number)).to.deep.equal(histogramOf(latencies));
    expect(latencyPercentile(row['latency_hist'] as string[], 1, 900_000)).to.equal(900_000);
    // Failures by class, summing to `failures`; an unknown class is OTHER, a failure without one UNSPECIFIED.
    expect(row['errors_by_class']).to.deep.equal({ TIMEOUT: 2, OTHER: 1, UNSPECIFIED: 1, RATE_LIMITED: 1 });
  });

  it('partitions ahead, dead-letters events dated out of range, and moves, drops and purges as days pass', async () => {
    const today = dayOf(clock);
    expect(await partitions()).to.deep.equal([
      'call_results_default', partitionName(today - 2 * DAY), partitionName(today - DAY), partitionName(today), partitionName(today + DAY),
    ]);
    const inst = instances[1]!;
    const yesterday = callEvent(inst, { callTimestamp: clock - DAY });
    const future = callEvent(inst, { callTimestamp: clock + 10 * MINUTE });
    const expired = callEvent(inst, { callTimestamp: today - 2 * DAY - 1 });
    await produceMessages(producer, names.topic, [yesterday, future, expired].map(eventMessage));
    const firstLetters = await readDeadLetters(probe.kafka, names.dlqTopic, 2);
    expect(firstLetters.map((l) => l.reason)).to.deep.equal(['timestamp_out_of_range', 'timestamp_out_of_range']);
    expect(firstLetters.map((l) => JSON.parse(l.value) as unknown)).to.have.deep.members([future, expired]);
    await waitFor('the kept row', async () => (await whereIs(yesterday.eventId)) !== null);
    expect(await whereIs(yesterday.eventId)).to.equal(partitionName(today - DAY));
    const idsBefore = await db.query<{ n: number }>('test.ids', 'SELECT count(*)::int AS n FROM ingested_event_ids WHERE event_id = $1', [yesterday.eventId]);
    expect(idsBefore.rows[0]!.n, 'its id remembered').to.equal(1);
    // A row of a day without a partition (written while the partitions were missing) waits in DEFAULT.
    const parked = callEvent(inst, { callTimestamp: clock + 4 * DAY });
    await db.query('test.parked', `INSERT INTO call_results (event_id, project_id, instance_id, api_identifier, api_type, business_id, success, latency_ms, call_ts)
      VALUES ($1, $2, $3, 'gpt4o', 'MODEL', $4, true, 1, $5)`, [parked.eventId, projectId, inst.id, inst.businessId, new Date(parked.callTimestamp)]);
    expect(await whereIs(parked.eventId)).to.equal('call_results_default');

    await db.query('test.old_rollups', `INSERT INTO call_rollups_minute (instance_id, project_id, minute, calls) VALUES ($1, $2, $3, 1), ($1, $2, $4, 1)`,
      [inst.id, projectId, new Date(clock - 4 * DAY), new Date(clock + 3 * DAY)]);

    // Four days later.
    clock += 4 * DAY;
    await ingestor!.service.maintainRetention();
    const later = dayOf(clock);
    expect(await partitions()).to.deep.equal([
      'call_results_default', partitionName(later - 2 * DAY), partitionName(later - DAY), partitionName(later), partitionName(later + DAY),
    ]);
    expect(await whereIs(parked.eventId), 'moved out of DEFAULT into its new partition').to.equal(partitionName(later));
    expect(await whereIs(yesterday.eventId), 'dropped with its partition').to.equal(null);
    const ids = await db.query<{ n: number }>('test.ids', 'SELECT count(*)::int AS n FROM ingested_event_ids WHERE event_id = $1', [yesterday.eventId]);
    expect(ids.rows[0]!.n, 'its id forgotten with it').to.equal(0);
    const { rows } = await db.query<{ minute: Date }>('test.rollups_left', 'SELECT minute FROM call_rollups_minute WHERE instance_id = $1 ORDER BY minute', [inst.id]);
    expect(rows.map((r) => r.minute.getTime()), 'rollups older than 5 days purged').to.not.include(clock - 8 * DAY);
    expect(rows.map((r) => r.minute.getTime())).to.include(clock - DAY);

    // A redelivery of everything after the drop: all of it is out of range now, dead-lettered, not re-counted.
    await ingestor!.close();
    ingestor = undefined;
    const admin = probe.kafka.admin();
    await admin.connect();
    await admin.resetOffsets({ groupId: names.ingestorGroup, topic: names.topic, earliest: true });
    await admin.disconnect();
    const before = await db.query<{ calls: number }>('test.calls', 'SELECT sum(calls)::int AS calls FROM call_rollups_minute WHERE project_id = $1', [projectId]);
    ingestor = await start();
    // Every message of the topic is out of range now, after the two dead-lettered the first time.
    const expected = 2 + (await topicMessageCount(probe.kafka, names.topic));
    const letters = await readDeadLetters(probe.kafka, names.dlqTopic, expected);
    expect(letters.filter((l) => l.reason === 'timestamp_out_of_range')).to.have.length(expected);
    await new Promise((r) => setTimeout(r, 500));
    const afterRedelivery = await db.query<{ calls: number }>('test.calls', 'SELECT sum(calls)::int AS calls FROM call_rollups_minute WHERE project_id = $1', [projectId]);
    expect(afterRedelivery.rows[0]!.calls).to.equal(before.rows[0]!.calls);
    expect(await whereIs(parked.eventId)).to.equal(partitionName(later));
  });
});
