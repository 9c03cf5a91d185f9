import { randomBytes } from 'node:crypto';

/**
 * Names of everything one test run owns: its own database, Redis prefix and Kafka topics, so runs
 * (and developers) never collide, and teardown knows exactly what to remove.
 */
export interface TestEnv {
  runId: string;
  databaseUrl: string;
  redisUrl: string;
  redisPrefix: string;
  brokers: string[];
}

const SERVER_URL = process.env['DATABASE_URL'] ?? 'postgres://postgres@127.0.0.1:5432/postgres';

export function createTestEnv(): TestEnv {
  const runId = `${Date.now().toString(36)}${randomBytes(3).toString('hex')}`;
  const db = new URL(SERVER_URL);
  db.pathname = `/apg_test_${runId}`;
  return {
    runId,
    databaseUrl: db.toString(),
    redisUrl: process.env['REDIS_URL'] ?? 'redis://127.0.0.1:6379',
    redisPrefix: `apg-test:${runId}:`,
    brokers: (process.env['KAFKA_BROKERS'] ?? '127.0.0.1:9092').split(',').map((s) => s.trim()),
  };
}

/** The run's environment, published by the root hooks through process.env for every test file. */
export function testEnv(): TestEnv {
  const raw = process.env['APG_TEST_ENV'];
  if (!raw) throw new Error('APG_TEST_ENV is not set: run the tests through mocha with the root hooks (npm test)');
  return JSON.parse(raw) as TestEnv;
}

/** A unique name for one suite's topic, consumer group or prefix. */
export function uniqueName(base: string): string {
  return `${base}-${testEnv().runId}-${randomBytes(3).toString('hex')}`;
}
