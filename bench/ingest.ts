// `npm run bench:ingest [-- --events 200000 --rate 20000 ...]`: Kafka → Postgres ingestion benchmark.
//
// 1. backlog: N events (plus a share of redelivered copies), each signed with its project's API key (the
//    ingestor verifies every one), are produced first, then the ingestor starts
//    as a child process (`node services/ingestor/dist/main.js`) and drains them: sustained events/s.
// 2. live: more events are produced at a fixed rate while the ingestor runs; a sample of them is
//    polled for until its row is visible: freshness (producer ack → row committed) p50/p99.
// 3. check: every event exactly once in call_results and in the rollups: lost / duplicated.
// Everything it creates (database apg_bench_*, topics, consumer group) is removed at the end; the last
// line printed is `ingest: <events/s> events/s, freshness p99 <ms> ms, lost <n>, duplicated <n>`.
// The ingestor reads its tuning from the environment (INGEST_*), so `INGEST_WRITE_CONCURRENCY=1 npm run
// bench:ingest` measures a variant. Options: --events --live-events --rate --instances --partitions
// --dup-rate --sample-every --keep --profile <dir>.
import { randomBytes, randomUUID } from 'node:crypto';
import { parseArgs } from 'node:util';
import type { Producer } from 'kafkajs';
import { apiKeyDigest, CALL_RESULT_SCHEMA_VERSION, signEvent, type CallResultEvent } from '@apg/contracts';
import { createKafka, createLogger, ensureTopics, newId, Partitioners, type Db } from '@apg/platform';
import { createBenchDatabase, ensureBroker, fmt, percentile, sleep, startChild, type ChildService } from './bench-kit';

const { values: args } = parseArgs({
  options: {
    events: { type: 'string', default: '200000' },
    'live-events': { type: 'string' },
    rate: { type: 'string', default: '20000' },
    instances: { type: 'string', default: '60' },
    partitions: { type: 'string', default: '6' },
    'dup-rate': { type: 'string', default: '0.01' },
    'sample-every': { type: 'string', default: '50' },
    keep: { type: 'boolean', default: false },
    /** Writes a CPU profile of the ingestor into this folder. */
    profile: { type: 'string' },
  },
});
const num = (name: keyof typeof args): number => {
  const v = Number(args[name]);
  if (!Number.isFinite(v) || v < 0) throw new Error(`--${name} must be a number >= 0`);
  return v;
};
const EVENTS = num('events');
const LIVE_EVENTS = args['live-events'] === undefined ? Math.round(EVENTS / 2) : num('live-events');
const RATE = num('rate');
const INSTANCES = Math.max(1, num('instances'));
const PARTITIONS = Math.max(1, num('partitions'));
const DUP_RATE = num('dup-rate');
const SAMPLE_EVERY = Math.max(1, num('sample-every'));
const CHUNK = 500;

interface Instance {
  id: string;
  projectId: string;
  businessId: string;
  /** The project's API key: every event is signed with it, as a tenant publishing straight to Kafka would. */
  apiKey: string;
}

const ERRORS = ['TIMEOUT', 'UPSTREAM_5XX', 'RATE_LIMITED', 'CLIENT_4XX'] as const;

/** A plausible call: 95 % success, log-normal-ish latency with a slow tail, token usage, some error classes. */
function makeEvent(inst: Instance, now: number): CallResultEvent {
  const success = Math.random() >= 0.05;
  const latencyMs = Math.round(Math.exp(4 + Math.random() * 3) + (Math.random() < 0.01 ? 6000 : 0));
  const prompt = Math.floor(Math.random() * 2000);
  const completion = Math.floor(Math.random() * 500);
  return {
    eventId: randomUUID(),
    schemaVersion: CALL_RESULT_SCHEMA_VERSION,
    projectId: inst.projectId,
    instanceId: inst.id,
    apiIdentifier: 'gpt4o',
    apiType: 'MODEL',
    businessId: inst.businessId,
    success,
    latencyMs,
    statusCode: success ? 200 : 500,
    ...(success ? {} : { errorType: ERRORS[Math.floor(Math.random() * ERRORS.length)]!, errorMessage: 'upstream said no' }),
    usage: { promptTokens: prompt, completionTokens: completion, totalTokens: prompt + completion, cost: (prompt + completion) * 0.000002 },
    callTimestamp: now,
    receivedAt: now,
  };
}

async function registerInstances(db: Db): Promise<Instance[]> {
  const projects = [newId(), newId(), newId()];
  const keys = projects.map(() => ({ id: newId(), apiKey: `gw_${randomBytes(16).toString('hex')}` }));
  await db.query(
    'bench.keys',
    `INSERT INTO api_keys (id, key_hash, key_prefix, status) SELECT id, h, 'gw_', 'ACTIVE' FROM unnest($1::text[], $2::text[]) AS x(id, h)`,
    [keys.map((k) => k.id), keys.map((k) => apiKeyDigest(k.apiKey))],
  );
  const instances: Instance[] = Array.from({ length: INSTANCES }, (_, i) => ({ id: newId(), projectId: projects[i % projects.length]!, businessId: `bench-${i}`, apiKey: keys[i % projects.length]!.apiKey }));
  await db.query(
    'bench.projects',
    `INSERT INTO projects (id, name, api_key_id) SELECT id, 'bench-' || id, k FROM unnest($1::text[], $2::text[]) AS x(id, k)`,
    [projects, keys.map((k) => k.id)],
  );
  await db.query(
    'bench.instances',
    `INSERT INTO api_instances (id, project_id, api_identifier, api_type, business_id)
     SELECT i, p, 'gpt4o', 'MODEL', b FROM unnest($1::text[], $2::text[], $3::text[]) AS x(i, p, b)`,
    [instances.map((i) => i.id), instances.map((i) => i.projectId), instances.map((i) => i.businessId)],
  );
  return instances;
}

/**
 * Produces `count` events (plus `DUP_RATE` redelivered copies of some of them) in chunks, at `rate`
 * events/s (0 = as fast as the broker takes them), a few sends in flight. `onAck` sees one sampled
 * event id per SAMPLE_EVERY events with the time its chunk was acknowledged by the broker.
 */
async function produce(producer: Producer, topic: string, instances: Instance[], count: number, rate: number, onAck?: (eventId: string, at: number) => void): Promise<{ messages: number; seconds: number }> {
  const started = performance.now();
  const inFlight = new Set<Promise<void>>();
  let messages = 0;
  let seq = 0;
  for (let sent = 0; sent < count; sent += CHUNK) {
    if (rate > 0) {
      const due = started + (sent / rate) * 1000;
      const wait = due - performance.now();
      if (wait > 1) await sleep(wait);
    }
    const now = Date.now();
    const batch: { key: string; value: string; headers: Record<string, string> }[] = [];
    const samples: string[] = [];
    for (let k = 0; k < Math.min(CHUNK, count - sent); k++) {
      const inst = instances[seq++ % instances.length]!;
      const event = makeEvent(inst, now);
      const value = JSON.stringify(event);
      const headers = signEvent(value, inst.apiKey);
      batch.push({ key: event.instanceId, value, headers });
      if (Math.random() < DUP_RATE) batch.push({ key: event.instanceId, value, headers });
      if (seq % SAMPLE_EVERY === 0) samples.push(event.eventId);
    }
    messages += batch.length;
    const p = producer.send({ topic, acks: -1, messages: batch }).then(() => {
      const at = performance.now();
      for (const s of samples) onAck?.(s, at);
    });
    inFlight.add(p);
    void p.finally(() => inFlight.delete(p));
    if (inFlight.size >= 8) await Promise.race(inFlight);
  }
  await Promise.all(inFlight);
  return { messages, seconds: (performance.now() - started) / 1000 };
}

async function countRows(db: Db): Promise<number> {
  const { rows } = await db.query<{ n: number }>('bench.count', 'SELECT count(*)::int AS n FROM call_results');
  return rows[0]!.n;
}

async function main(): Promise<void> {
  const broker = ensureBroker();
  const bench = await createBenchDatabase();
  const log = createLogger('bench', 'warn');
  const kafka = createKafka({ brokers: broker.brokers, clientId: 'apg-bench', logger: log });
  const id = bench.name.replace('apg_bench_', '');
  const topic = `apg.bench.call-results.${id}`;
  const dlqTopic = `apg.bench.call-results.dlq.${id}`;
  const group = `apg-bench-ingestor-${id}`;
  let ingestor: ChildService | null = null;
  let drained = Number.NaN;
  let p99 = Number.NaN;
  let lost = Number.NaN;
  let duplicated = Number.NaN;
  const producer = kafka.producer({ createPartitioner: Partitioners.DefaultPartitioner, allowAutoTopicCreation: false });
  console.log(`bench: database ${bench.name}, topic ${topic} (${PARTITIONS} partitions), ${INSTANCES} instances`);
  try {
    await ensureTopics(kafka, [{ topic, numPartitions: PARTITIONS }, { topic: dlqTopic, numPartitions: 1 }]);
    const instances = await registerInstances(bench.db);
    await producer.connect();

    // 1. Backlog.
    const pre = await produce(producer, topic, instances, EVENTS, 0);
    console.log(`backlog: produced ${fmt(pre.messages)} messages (${fmt(EVENTS)} events + ${fmt(pre.messages - EVENTS)} redelivered copies) in ${pre.seconds.toFixed(1)} s`);
    ingestor = startChild('services/ingestor/dist/main.js', {
      DATABASE_URL: bench.url,
      KAFKA_BROKERS: broker.brokers.join(','),
      KAFKA_TOPIC_CALL_RESULTS: topic,
      KAFKA_TOPIC_DLQ: dlqTopic,
      KAFKA_GROUP_INGESTOR: group,
      KAFKA_TOPIC_PARTITIONS: String(PARTITIONS),
      INGESTOR_PORT: '0',
      // Unused here (the events are signed with project keys) but required, as in production.
      EVENT_SIGNING_SECRET: randomBytes(32).toString('hex'),
      LOG_LEVEL: process.env['LOG_LEVEL'] ?? 'warn',
    }, args.profile ? ['--cpu-prof', `--cpu-prof-dir=${args.profile}`] : []);
    const child = ingestor;
    const samples: { t: number; n: number; cpu: number }[] = [];
    const deadline = Date.now() + 30_000 + EVENTS; // a generous 1 ms per event on top of start-up
    for (;;) {
      const n = await countRows(bench.db);
      const t = performance.now();
      if (n > 0) samples.push({ t, n, cpu: child.cpuSeconds() });
      if (n >= EVENTS) break;
      if (Date.now() > deadline) throw new Error(`backlog not drained: ${n} of ${EVENTS} rows`);
      await sleep(50);
    }
    // From the first rows seen to the last: start-up (process, group join) is not ingestion.
    const first = samples[0]!;
    const last = samples[samples.length - 1]!;
    drained = last.t > first.t ? (last.n - first.n) / ((last.t - first.t) / 1000) : Number.NaN;
    const cpuPer10k = ((last.cpu - first.cpu) / Math.max(1, last.n - first.n)) * 10_000;
    // The slowest 2-second stretch, so a fast start cannot hide a slowdown.
    let worst = Number.POSITIVE_INFINITY;
    for (let i = 0, j = 0; i < samples.length; i++) {
      while (j < samples.length && samples[j]!.t - samples[i]!.t < 2000) j++;
      if (j < samples.length) worst = Math.min(worst, (samples[j]!.n - samples[i]!.n) / ((samples[j]!.t - samples[i]!.t) / 1000));
    }
    console.log(`backlog: drained ${fmt(last.n - first.n)} events at ${fmt(drained)} events/s over ${((last.t - first.t) / 1000).toFixed(1)} s` +
      `${Number.isFinite(worst) ? ` (slowest 2 s: ${fmt(worst)}/s)` : ''}; ingestor CPU ${cpuPer10k.toFixed(2)} s per 10k events`);

    // 2. Live, with freshness sampled.
    const pending = new Map<string, number>();
    const freshness: number[] = [];
    let producing = true;
    const poller = (async () => {
      while (producing || pending.size > 0) {
        if (pending.size > 0) {
          const ids = [...pending.keys()];
          const { rows } = await bench.db.query<{ id: string }>('bench.visible', 'SELECT event_id::text AS id FROM call_results WHERE event_id = ANY($1::uuid[])', [ids]);
          const now = performance.now();
          for (const r of rows) {
            freshness.push(Math.max(0, now - pending.get(r.id)!));
            pending.delete(r.id);
          }
        }
        await sleep(10);
      }
    })();
    const live = await produce(producer, topic, instances, LIVE_EVENTS, RATE, (eventId, at) => pending.set(eventId, at));
    producing = false;
    const giveUp = setTimeout(() => { producing = false; pending.clear(); console.error('bench: some sampled events never became visible within 60 s'); }, 60_000);
    await poller;
    clearTimeout(giveUp);
    p99 = percentile(freshness, 99);
    console.log(`live: produced ${fmt(live.messages)} messages at ${fmt(live.messages / live.seconds)}/s (target ${fmt(RATE)}/s); ` +
      `freshness p50 ${percentile(freshness, 50).toFixed(0)} ms, p99 ${p99.toFixed(0)} ms, max ${percentile(freshness, 100).toFixed(0)} ms ` +
      `(${freshness.length} samples: producer ack → row visible, polled every ~10 ms)`);

    // 3. Exactly once?
    const expected = EVENTS + LIVE_EVENTS;
    await waitForRows(bench.db, expected, 30_000);
    await sleep(1000); // anything still in flight (a late duplicate) would show up now
    const { rows } = await bench.db.query<{ rows: number; distinct: number; calls: number; hist: number; failures: number; classes: number }>(
      'bench.check',
      `SELECT (SELECT count(*) FROM call_results)::int AS rows,
              (SELECT count(DISTINCT event_id) FROM call_results)::int AS distinct,
              (SELECT coalesce(sum(calls), 0) FROM call_rollups_minute)::int AS calls,
              (SELECT coalesce(sum(c), 0) FROM call_rollups_minute, unnest(latency_hist) AS c)::int AS hist,
              (SELECT coalesce(sum(failures), 0) FROM call_rollups_minute)::int AS failures,
              (SELECT coalesce(sum(v::int), 0) FROM call_rollups_minute, jsonb_each_text(errors_by_class) AS e(k, v))::int AS classes`,
    );
    const check = rows[0]!;
    lost = expected - check.distinct;
    duplicated = check.rows - check.distinct;
    console.log(`check: ${fmt(check.rows)} rows, ${fmt(check.distinct)} distinct (expected ${fmt(expected)}); rollups: ${fmt(check.calls)} calls, ` +
      `${fmt(check.hist)} in histograms, ${fmt(check.failures)} failures, ${fmt(check.classes)} by error class`);
    if (check.calls !== check.distinct || check.hist !== check.calls || check.classes !== check.failures) {
      console.log('check: ROLLUPS DO NOT ADD UP');
      process.exitCode = 1;
    }
    if (lost !== 0 || duplicated !== 0) process.exitCode = 1;
  } finally {
    await producer.disconnect().catch(() => undefined);
    const code = await ingestor?.stop();
    if (code !== undefined && code !== 0) console.error(`bench: the ingestor exited with ${code}`);
    if (!args.keep) {
      const admin = kafka.admin();
      await admin.connect();
      await admin.deleteTopics({ topics: [topic, dlqTopic] }).catch(() => undefined);
      await admin.deleteGroups([group]).catch(() => undefined);
      await admin.disconnect();
      await bench.drop();
    } else {
      await bench.db.close();
      console.log(`bench: kept database ${bench.name}, topic ${topic}, group ${group}`);
    }
    broker.release();
  }
  console.log(`ingest: ${Math.round(drained)} events/s, freshness p99 ${Math.round(p99)} ms, lost ${lost}, duplicated ${duplicated}`);
}

async function waitForRows(db: Db, n: number, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while ((await countRows(db)) < n) {
    if (Date.now() > deadline) return;
    await sleep(50);
  }
}

main().catch((err: unknown) => {
  console.error('bench: failed:', err);
  process.exit(1);
});
