import { spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import path from 'node:path';
import { Partitioners, type Consumer, type IHeaders, type Kafka, type Producer } from 'kafkajs';
import { apiKeyDigest, CALL_RESULT_SCHEMA_VERSION, type CallResultEvent } from '@apg/contracts';
import { createIngestor, type IngestorOptions, type IngestorService } from '@apg/ingestor';
import { createDb, createKafka, createLogger, createMetricsRegistry, newId, type Db, type EventSigningOptions } from '@apg/platform';
import type { Registry } from 'prom-client';
import { signedByService, TEST_EVENT_SIGNING_SECRET } from '../signing';
import { openProbe, stackNames, testSigning, type Probe, type StackNames } from '../stack';
import { testEnv } from '../test-env';
import { waitFor } from '../wait-for';

const INGESTOR_MAIN = path.resolve(__dirname, '../../../../services/ingestor/dist/main.js');

export interface TestInstance {
  id: string;
  projectId: string;
  businessId: string;
}

/**
 * Registers a project and `count` instances straight through SQL, so events naming them pass the
 * ingestor's ownership check without an api running.
 */
export async function registerInstances(db: Db, count: number): Promise<{ projectId: string; instances: TestInstance[] }> {
  const projectId = newId();
  const instances = Array.from({ length: count }, (_, i) => ({ id: newId(), projectId, businessId: `ingest-${i}` }));
  await db.query('test.project', `INSERT INTO projects (id, name) VALUES ($1, $2)`, [projectId, `ingest-${projectId}`]);
  await db.query(
    'test.instances',
    `INSERT INTO api_instances (id, project_id, api_identifier, api_type, business_id)
     SELECT i, $2, 'gpt4o', 'MODEL', b FROM unnest($1::text[], $3::text[]) AS x(i, b)`,
    [instances.map((i) => i.id), projectId, instances.map((i) => i.businessId)],
  );
  return { projectId, instances };
}

export function callEvent(inst: TestInstance, over: Partial<CallResultEvent> = {}): CallResultEvent {
  return {
    eventId: randomUUID(),
    schemaVersion: CALL_RESULT_SCHEMA_VERSION,
    projectId: inst.projectId,
    instanceId: inst.id,
    apiIdentifier: 'gpt4o',
    apiType: 'MODEL',
    businessId: inst.businessId,
    success: true,
    latencyMs: 120,
    callTimestamp: Date.now(),
    ...over,
  };
}

/** Produces raw messages in chunks (acks from all replicas), a few chunks in flight. */
export async function produceMessages(producer: Producer, topic: string, messages: { key: string; value: Buffer | string; headers?: IHeaders }[], chunk = 1000): Promise<void> {
  const inFlight = new Set<Promise<unknown>>();
  for (let i = 0; i < messages.length; i += chunk) {
    const p = producer.send({ topic, acks: -1, messages: messages.slice(i, i + chunk) });
    inFlight.add(p);
    void p.then(() => inFlight.delete(p), () => inFlight.delete(p));
    if (inFlight.size >= 4) await Promise.race(inFlight);
  }
  await Promise.all(inFlight);
}

/** An event as a message signed with the stack's service credential (see signing.ts). */
export const eventMessage = (e: CallResultEvent) => signedByService({ key: e.instanceId, value: JSON.stringify(e) });

export interface Stored {
  /** Raw rows of the project. */
  rows: number;
  distinct: number;
  /** Sum of the rollups' calls. */
  rollupCalls: number;
  /** Sum of every rollup histogram's counts (must equal rollupCalls). */
  histogramCalls: number;
}

export async function countStored(db: Db, projectId: string): Promise<Stored> {
  const { rows } = await db.query<Stored>(
    'test.stored',
    `SELECT (SELECT count(*) FROM call_results WHERE project_id = $1)::int AS rows,
            (SELECT count(DISTINCT event_id) FROM call_results WHERE project_id = $1)::int AS distinct,
            (SELECT coalesce(sum(calls), 0) FROM call_rollups_minute WHERE project_id = $1)::int AS "rollupCalls",
            (SELECT coalesce(sum(c), 0) FROM call_rollups_minute r, unnest(r.latency_hist) AS c WHERE r.project_id = $1)::int AS "histogramCalls"`,
    [projectId],
  );
  return rows[0]!;
}

/** Messages produced to a topic so far (sum of the partitions' end offsets). */
export async function topicMessageCount(kafka: Kafka, topic: string): Promise<number> {
  const admin = kafka.admin();
  await admin.connect();
  try {
    const offsets = await admin.fetchTopicOffsets(topic);
    return offsets.reduce((s, o) => s + Number(o.high) - Number(o.low), 0);
  } finally {
    await admin.disconnect();
  }
}

/** Messages the ingestor group has committed on the stack's topic (sum over partitions). */
export async function committedMessages(kafka: Kafka, names: StackNames): Promise<number> {
  const admin = kafka.admin();
  await admin.connect();
  try {
    const [topic] = await admin.fetchOffsets({ groupId: names.ingestorGroup, topics: [names.topic] });
    return (topic?.partitions ?? []).reduce((s, p) => s + Math.max(0, Number(p.offset)), 0);
  } finally {
    await admin.disconnect();
  }
}

export interface DeadLetterRead {
  reason: string;
  detail: string;
  source: string;
  value: string;
  headers: IHeaders;
}

/** Reads the DLQ from the beginning until `count` messages arrived (or times out). */
export async function readDeadLetters(kafka: Kafka, topic: string, count: number, timeoutMs = 20_000): Promise<DeadLetterRead[]> {
  const read: DeadLetterRead[] = [];
  const consumer: Consumer = kafka.consumer({ groupId: `dlq-reader-${randomUUID()}`, maxWaitTimeInMs: 100 });
  await consumer.connect();
  await consumer.subscribe({ topic, fromBeginning: true });
  await consumer.run({
    eachMessage: async ({ message }) => {
      const h = message.headers ?? {};
      read.push({
        reason: String(h['apg-dlq-reason'] ?? ''),
        detail: String(h['apg-dlq-detail'] ?? ''),
        source: String(h['apg-dlq-source'] ?? ''),
        value: message.value?.toString() ?? '',
        headers: h,
      });
    },
  });
  try {
    await waitFor(`${count} dead letters`, () => read.length >= count, { timeoutMs });
  } finally {
    await consumer.disconnect();
  }
  return read;
}

/** An ingestor in this process, with its own pool (pointed wherever the test wants, a proxy say). */
export async function startIngestorInProcess(
  names: StackNames,
  opts: { databaseUrl?: string; poolMax?: number; options?: Partial<Omit<IngestorOptions, 'signing'>> & { signing?: Partial<EventSigningOptions> }; now?: () => number } = {},
): Promise<{ service: IngestorService; db: Db; metrics: Registry; close(): Promise<void> }> {
  const env = testEnv();
  const log = createLogger('test-ingestor', process.env['TEST_LOG_LEVEL'] ?? 'silent');
  const db = createDb(opts.databaseUrl ?? env.databaseUrl, { max: opts.poolMax ?? 5 });
  const kafka = createKafka({ brokers: env.brokers, clientId: 'test-ingestor', logger: log });
  const metrics = createMetricsRegistry('ingestor');
  const service = createIngestor({
    log, db, kafka, metrics, ...(opts.now ? { now: opts.now } : {}),
    options: {
      topic: names.topic, dlqTopic: names.dlqTopic, partitions: 3, groupId: names.ingestorGroup, maxEventBytes: 16_384,
      slowCallMs: 5000, sessionTimeoutMs: 6000, ...opts.options,
      signing: testSigning(opts.options?.signing),
    },
  });
  await service.start();
  return { service, db, metrics, async close() { await service.stop(); await db.close(); } };
}

/** Reads one counter or gauge value of a registry (summed over its labels matching `labels`). */
export async function metricValue(metrics: Registry, name: string, labels: Record<string, string> = {}): Promise<number> {
  const metric = metrics.getSingleMetric(name);
  if (!metric) return 0;
  const { values } = await metric.get();
  return values
    .filter((v) => Object.entries(labels).every(([k, want]) => String((v.labels as Record<string, unknown>)[k]) === want))
    .reduce((s, v) => s + v.value, 0);
}

/** The ingestor as a child process (`node services/ingestor/dist/main.js`), as in production. */
export interface IngestorChild {
  pid: number;
  exited: Promise<number | null>;
  /** stderr so far, for failure messages. */
  stderr(): string;
  kill(signal: NodeJS.Signals): Promise<number | null>;
}

export function startIngestorChild(names: StackNames, extraEnv: Record<string, string> = {}): IngestorChild {
  const env = testEnv();
  const child = spawn(process.execPath, [INGESTOR_MAIN], {
    env: {
      ...process.env,
      DATABASE_URL: env.databaseUrl,
      KAFKA_BROKERS: env.brokers.join(','),
      KAFKA_TOPIC_CALL_RESULTS: names.topic,
      KAFKA_TOPIC_DLQ: names.dlqTopic,
      KAFKA_GROUP_INGESTOR: names.ingestorGroup,
      KAFKA_TOPIC_PARTITIONS: '3',
      EVENT_SIGNING_SECRET: TEST_EVENT_SIGNING_SECRET,
      INGESTOR_PORT: '0',
      INGEST_SESSION_TIMEOUT_MS: '6000',
      LOG_LEVEL: process.env['TEST_LOG_LEVEL'] ?? 'warn',
      ...extraEnv,
    },
    stdio: ['ignore', process.env['TEST_LOG_LEVEL'] ? 'inherit' : 'ignore', 'pipe'],
  });
  let stderr = '';
  child.stderr?.on('data', (d: Buffer) => {
    stderr = (stderr + d.toString()).slice(-10_000);
  });
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code, signal) => resolve(code ?? (signal ? -1 : null))));
  return {
    pid: child.pid ?? -1,
    exited,
    stderr: () => stderr,
    async kill(signal) {
      if (child.exitCode === null && child.signalCode === null) child.kill(signal);
      return exited;
    },
  };
}

/** What an ingest suite starts from: fresh stack names, the run's probe on them and a connected producer. */
export interface IngestSuite {
  names: StackNames;
  probe: Probe;
  producer: Producer;
}

export async function openIngestSuite(): Promise<IngestSuite> {
  const names = stackNames();
  const probe = await openProbe(names);
  const producer = probe.kafka.producer({ createPartitioner: Partitioners.DefaultPartitioner });
  await producer.connect();
  return { names, probe, producer };
}

/** Undoes {@link openIngestSuite}: its topics and ingestor group deleted (missing ones are fine), producer and probe closed. */
export async function closeIngestSuite(suite: IngestSuite | undefined): Promise<void> {
  if (!suite) return;
  const { names, probe, producer } = suite;
  await producer.disconnect();
  const admin = probe.kafka.admin();
  await admin.connect();
  await admin.deleteTopics({ topics: [names.topic, names.dlqTopic] }).catch(() => undefined);
  await admin.deleteGroups([names.ingestorGroup]).catch(() => undefined);
  await admin.disconnect();
  await probe.close();
}

/**
 * Issues a real API key straight in SQL (as the api stores it: only its SHA-256 digest) and makes it the
 * project's key when `projectId` is given (a project has one key: `projects.api_key_id`). Returns the
 * plaintext key, to sign events with it as a tenant would.
 */
export async function registerProjectKey(db: Db, projectId: string | null, opts: { status?: 'ACTIVE' | 'UNUSED' | 'REVOKED' | 'EXPIRED'; expiresAt?: Date } = {}): Promise<string> {
  const apiKey = `gw_${randomUUID().replaceAll('-', '')}`;
  const id = newId();
  await db.query(
    'test.api_key',
    `INSERT INTO api_keys (id, key_hash, key_prefix, status, expires_at) VALUES ($1, $2, 'gw_', $3, $4)`,
    [id, apiKeyDigest(apiKey), opts.status ?? 'ACTIVE', opts.expiresAt ?? null],
  );
  if (projectId !== null) await db.query('test.project_key', 'UPDATE projects SET api_key_id = $2 WHERE id = $1', [projectId, id]);
  return apiKey;
}
