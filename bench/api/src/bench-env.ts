// Everything the api benchmark owns and removes again: a database, a Redis prefix, topics and
// consumer groups, and the local Kafka broker when the benchmark had to start it.
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import path from 'node:path';
import {
  createKafka,
  createLogger,
  createRedis,
  deleteByPrefix,
  dropTestDatabase,
  ensureDatabase,
  ensureTopics,
  RedisKeys,
  runMigrations,
  type Redis,
} from '@apg/platform';

export const REPO_ROOT = path.resolve(__dirname, '../../..');
const KAFKA_SH = path.join(REPO_ROOT, 'infra/kafka/kafka.sh');

/** Names of one service stack (api + optional aggregator): its own topic, group and Redis prefix. */
export interface StackNames {
  topic: string;
  dlqTopic: string;
  aggregatorGroup: string;
  redisPrefix: string;
}

export interface BenchEnv {
  runId: string;
  databaseUrl: string;
  redisUrl: string;
  brokers: string[];
  adminToken: string;
  /** The stack's EVENT_SIGNING_SECRET (api signs, aggregator verifies), random per run. */
  eventSigningSecret: string;
  /** A direct Redis connection, for checks (HLEN of the health records) and teardown. */
  redis: Redis;
  stack(label: string): Promise<StackNames>;
  /** Removes everything created, in reverse order; never throws (prints what failed). */
  teardown(): Promise<void>;
}

function kafkaScript(cmd: 'status' | 'start' | 'stop'): { ok: boolean; out: string } {
  try {
    return { ok: true, out: execFileSync('bash', [KAFKA_SH, cmd], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] }) };
  } catch (err) {
    const e = err as { stdout?: string; stderr?: string };
    return { ok: false, out: `${e.stdout ?? ''}${e.stderr ?? ''}` };
  }
}

const PARTITIONS = 6;

interface Undo {
  what: string;
  run: () => unknown;
}

export async function createBenchEnv(say: (msg: string) => void): Promise<BenchEnv> {
  const undo: Undo[] = [];
  let undone = false;
  const undoAll = async () => {
    if (undone) return;
    undone = true;
    for (const step of undo.reverse()) {
      try {
        await step.run();
      } catch (err) {
        say(`teardown: could not ${step.what}: ${(err as Error).message}`);
      }
    }
  };
  try {
    return await setUp(undo, undoAll, say);
  } catch (err) {
    await undoAll();
    throw err;
  }
}

/** Creates each resource and pushes how to remove it onto `undo` right away. */
async function setUp(undo: Undo[], undoAll: () => Promise<void>, say: (msg: string) => void): Promise<BenchEnv> {
  const runId = `${Date.now().toString(36)}${randomBytes(3).toString('hex')}`;
  const server = new URL(process.env['DATABASE_URL'] ?? 'postgres://postgres@127.0.0.1:5432/postgres');
  // "test" in the name: dropTestDatabase refuses anything else, so teardown can never drop a real one.
  server.pathname = `/apg_bench_test_${runId}`;
  const databaseUrl = server.toString();
  const redisUrl = process.env['REDIS_URL'] ?? 'redis://127.0.0.1:6379';
  const prefixRoot = `apg-bench-test:${runId}:`;

  let brokers: string[];
  if (process.env['KAFKA_BROKERS']) {
    brokers = process.env['KAFKA_BROKERS'].split(',').map((b) => b.trim()).filter(Boolean);
  } else {
    brokers = ['127.0.0.1:9092'];
    if (!kafkaScript('status').ok) {
      say('setup: no Kafka broker answers on 127.0.0.1:9092; starting the local one (infra/kafka/kafka.sh start)');
      const started = kafkaScript('start');
      if (!started.ok) throw new Error(`could not start the local Kafka broker:\n${started.out}`);
      undo.push({ what: 'stop the Kafka broker this run started', run: () => kafkaScript('stop') });
    }
  }

  await ensureDatabase(databaseUrl);
  undo.push({ what: `drop database ${server.pathname.slice(1)}`, run: () => dropTestDatabase(databaseUrl) });
  await runMigrations(databaseUrl);

  const redis = createRedis(redisUrl);
  undo.push({ what: 'disconnect from Redis', run: () => redis.disconnect() });
  undo.push({ what: `delete Redis keys ${prefixRoot}*`, run: () => deleteByPrefix(redis, new RedisKeys(prefixRoot)) });

  const kafka = createKafka({ brokers, clientId: `apg-bench-${runId}`, logger: createLogger('bench', 'error') });
  const topics: string[] = [];
  const groups: string[] = [];
  undo.push({
    what: "delete the run's topics and consumer groups",
    run: async () => {
      if (!topics.length) return;
      const admin = kafka.admin();
      await admin.connect();
      try {
        await admin.deleteGroups(groups).catch(() => undefined);
        await admin.deleteTopics({ topics, timeout: 10_000 });
      } finally {
        await admin.disconnect();
      }
    },
  });

  return {
    runId, databaseUrl, redisUrl, brokers, redis,
    adminToken: `bench-admin-${randomBytes(12).toString('hex')}`,
    eventSigningSecret: randomBytes(32).toString('hex'),
    async stack(label) {
      const names: StackNames = {
        topic: `apg.call-results.bench-${runId}-${label}`,
        dlqTopic: `apg.call-results.dlq.bench-${runId}-${label}`,
        aggregatorGroup: `apg-aggregator-bench-${runId}-${label}`,
        redisPrefix: `${prefixRoot}${label}:`,
      };
      topics.push(names.topic, names.dlqTopic);
      groups.push(names.aggregatorGroup);
      await ensureTopics(kafka, [{ topic: names.topic, numPartitions: PARTITIONS }, { topic: names.dlqTopic, numPartitions: 1 }]);
      return names;
    },
    teardown: undoAll,
  };
}
