import { execFileSync } from 'node:child_process';
import path from 'node:path';
import { deleteByPrefix, dropTestDatabase, ensureDatabase, RedisKeys, runMigrations, createRedis } from '@apg/platform';
import { createTestEnv, type TestEnv } from './test-env';

const KAFKA_SH = path.resolve(__dirname, '../../../infra/kafka/kafka.sh');

let env: TestEnv | null = null;
let startedBroker = false;

function kafka(cmd: string): { ok: boolean; out: string } {
  try {
    return { ok: true, out: execFileSync('bash', [KAFKA_SH, cmd], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] }) };
  } catch (err) {
    const e = err as { stdout?: string; stderr?: string };
    return { ok: false, out: `${e.stdout ?? ''}${e.stderr ?? ''}` };
  }
}

/**
 * Mocha global fixtures: one database (created and migrated), one Redis prefix and the Kafka broker
 * for the whole run. The local broker is started by the project's own script unless KAFKA_BROKERS
 * names one, and stopped again only if this run started it.
 */
export async function mochaGlobalSetup(): Promise<void> {
  env = createTestEnv();
  if (!process.env['KAFKA_BROKERS']) {
    if (!kafka('status').ok) {
      const started = kafka('start');
      if (!started.ok) throw new Error(`could not start the local Kafka broker:\n${started.out}`);
      startedBroker = true;
    }
  }
  await ensureDatabase(env.databaseUrl);
  await runMigrations(env.databaseUrl);
  process.env['APG_TEST_ENV'] = JSON.stringify(env);
}

export async function mochaGlobalTeardown(): Promise<void> {
  if (env) {
    await dropTestDatabase(env.databaseUrl).catch((err: Error) => console.error(`teardown: ${err.message}`));
    const redis = createRedis(env.redisUrl);
    await deleteByPrefix(redis, new RedisKeys(env.redisPrefix)).catch((err: Error) => console.error(`teardown: ${err.message}`));
    redis.disconnect();
  }
  if (startedBroker) kafka('stop');
}
