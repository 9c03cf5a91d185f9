// The bench's own servers' state: a database `apg_bench_<id>` (created and migrated), a Redis prefix and Kafka
// topics of its own, the local broker when none runs — and removing all of it again.
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import net from 'node:net';
import path from 'node:path';
import {
  createDb,
  createKafka,
  createLogger,
  createRedis,
  deleteByPrefix,
  ensureDatabase,
  RedisKeys,
  runMigrations,
} from '@apg/platform';
import type { TestEnv } from '@apg/testkit';

const REPO_ROOT = path.resolve(__dirname, '../../..');
const KAFKA_SH = path.join(REPO_ROOT, 'infra/kafka/kafka.sh');

function answers(host: string, port: number, timeoutMs = 1000): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = net.connect({ host, port });
    const done = (ok: boolean) => {
      socket.destroy();
      resolve(ok);
    };
    socket.setTimeout(timeoutMs, () => done(false));
    socket.once('connect', () => done(true));
    socket.once('error', () => done(false));
  });
}

function kafkaSh(cmd: 'start' | 'stop'): void {
  execFileSync('bash', [KAFKA_SH, cmd], { stdio: ['ignore', 'pipe', 'inherit'], cwd: REPO_ROOT });
}

/**
 * The brokers to use: KAFKA_BROKERS when set (never started nor stopped), else 127.0.0.1:9092 (or KAFKA_PORT, which
 * kafka.sh reads too) — started with `infra/kafka/kafka.sh start` when nothing answers there, and then stopped by
 * `release()`; a broker that was already running is left alone.
 */
export async function ensureBroker(log: (msg: string) => void): Promise<{ brokers: string[]; release(): void }> {
  const named = process.env['KAFKA_BROKERS'];
  if (named) return { brokers: named.split(',').map((b) => b.trim()).filter(Boolean), release: () => undefined };
  const port = Number(process.env['KAFKA_PORT'] ?? 9092);
  const brokers = [`127.0.0.1:${port}`];
  if (await answers('127.0.0.1', port)) return { brokers, release: () => undefined };
  log(`nothing answers on ${brokers[0]}: starting the local Kafka broker (infra/kafka/kafka.sh start)...`);
  kafkaSh('start');
  let released = false;
  return {
    brokers,
    release: () => {
      if (released) return;
      released = true;
      log('stopping the Kafka broker this bench started...');
      try {
        kafkaSh('stop');
      } catch (err) {
        log(`kafka.sh stop failed: ${(err as Error).message}`);
      }
    },
  };
}

export interface BenchEnv extends TestEnv {
  databaseName: string;
}

/**
 * Creates and migrates `apg_bench_<id>` and publishes the run's names the way libs/testkit expects them
 * (APG_TEST_ENV), so its stack helpers start the api, ingestor and aggregator against them.
 */
export async function createBenchEnv(brokers: string[]): Promise<BenchEnv> {
  const runId = `${Date.now().toString(36)}${randomBytes(3).toString('hex')}`;
  const server = new URL(process.env['DATABASE_URL'] ?? 'postgres://postgres@127.0.0.1:5432/postgres');
  const databaseName = `apg_bench_${runId}`;
  server.pathname = `/${databaseName}`;
  const env: BenchEnv = {
    runId,
    databaseName,
    databaseUrl: server.toString(),
    redisUrl: process.env['REDIS_URL'] ?? 'redis://127.0.0.1:6379',
    redisPrefix: `apg-bench:${runId}:`,
    brokers,
  };
  await ensureDatabase(env.databaseUrl);
  await runMigrations(env.databaseUrl);
  const { databaseName: _unused, ...testEnv } = env;
  process.env['APG_TEST_ENV'] = JSON.stringify(testEnv);
  return env;
}

/** Drops the database, the Redis keys under the run's prefix and the topics it created. Never throws. */
export async function destroyBenchEnv(env: BenchEnv, topics: string[], log: (msg: string) => void): Promise<void> {
  if (topics.length > 0) {
    const kafka = createKafka({ brokers: env.brokers, clientId: 'apg-bench-cleanup', logger: createLogger('bench', 'silent') });
    const admin = kafka.admin();
    try {
      await admin.connect();
      const existing = new Set(await admin.listTopics());
      const mine = topics.filter((t) => existing.has(t));
      if (mine.length) await admin.deleteTopics({ topics: mine, timeout: 10_000 });
    } catch (err) {
      log(`cleanup: topics not deleted (${(err as Error).message})`);
    } finally {
      await admin.disconnect().catch(() => undefined);
    }
  }
  const redis = createRedis(env.redisUrl);
  try {
    await deleteByPrefix(redis, new RedisKeys(env.redisPrefix));
  } catch (err) {
    log(`cleanup: redis keys not deleted (${(err as Error).message})`);
  } finally {
    redis.disconnect();
  }
  if (!/^apg_bench_[a-z0-9]+$/.test(env.databaseName)) {
    log(`cleanup: refusing to drop ${env.databaseName}`);
    return;
  }
  const admin = new URL(env.databaseUrl);
  admin.pathname = '/postgres';
  const db = createDb(admin.toString(), { max: 1, application: 'apg-bench' });
  try {
    await db.query('bench.drop_database', `DROP DATABASE IF EXISTS "${env.databaseName}" WITH (FORCE)`);
  } catch (err) {
    log(`cleanup: database ${env.databaseName} not dropped (${(err as Error).message})`);
  } finally {
    await db.close();
  }
}
