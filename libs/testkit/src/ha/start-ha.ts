// `npm run start:ha`: the scale-out topology on this machine, in the foreground, without Docker (README
// "Running at scale"). Three KRaft Kafka brokers, a Redis primary + replica + three Sentinels, the machine's
// Postgres (migrated first), two api replicas, two ingestors, two aggregators. Says where everything is
// and `ready: ...` once every service's /readyz answers 200; SIGINT/SIGTERM stop it all.
import { randomBytes } from 'node:crypto';
import path from 'node:path';
import { HaStack, haPortsFromEnv } from './ha-stack';

const ROOT = path.resolve(__dirname, '../../../..');

function say(msg: string): void {
  console.log(JSON.stringify({ level: 30, time: Date.now(), name: 'ha-stack', msg }));
}

async function main(): Promise<void> {
  const ports = haPortsFromEnv(process.env);
  const dir = path.resolve(ROOT, process.env['HA_DIR'] ?? '.run/ha');
  let adminToken = process.env['ADMIN_TOKEN'];
  if (!adminToken) {
    adminToken = randomBytes(24).toString('hex');
    say(`ADMIN_TOKEN was not set; generated one for this run: ${adminToken}`);
  }
  if (!process.env['EVENT_SIGNING_SECRET']) say('EVENT_SIGNING_SECRET was not set; generated one for this run (api replicas, ingestors and aggregators share it)');
  const stack = new HaStack({
    ports,
    dir,
    databaseUrl: process.env['DATABASE_URL'] ?? 'postgres://postgres@127.0.0.1:5432/apg',
    adminToken,
    ...(process.env['EVENT_SIGNING_SECRET'] ? { eventSigningSecret: process.env['EVENT_SIGNING_SECRET'] } : {}),
    serviceEnv: { LOG_LEVEL: process.env['LOG_LEVEL'] ?? 'info' },
    say,
  });
  let stopping = false;
  const stop = (code: number) => {
    if (stopping) return;
    stopping = true;
    say('stopping (services, then Redis and Kafka)');
    stack.stop().then(() => process.exit(code), (err: Error) => {
      console.error(`ha-stack: stop failed: ${err.message}`);
      process.exit(1);
    });
  };
  process.on('SIGINT', () => stop(0));
  process.on('SIGTERM', () => stop(0));
  try {
    await stack.start();
    say(`services started; logs in ${path.join(dir, 'logs')}, data of Kafka and Redis in ${dir}`);
    await stack.waitReady(300_000, (waiting) => say(`not ready yet, waiting for /readyz of: ${waiting.join(', ')}`));
  } catch (err) {
    console.error(`ha-stack: start failed: ${(err as Error).message}`);
    stop(1);
    return;
  }
  if (stopping) return;
  const at = (kind: string) => stack.services.filter((s) => s.kind === kind).map((s) => `:${s.port}`).join(' ');
  say([
    `ready: api replicas on ${stack.services.filter((s) => s.kind === 'api').map((s) => `http://127.0.0.1:${s.port}/api`).join(' and ')}`,
    `ingestors (ops) ${at('ingestor')}, aggregators (ops) ${at('aggregator')}`,
    `KAFKA_BROKERS=${stack.kafka.brokerList}`,
    `REDIS_SENTINELS=${stack.redis.sentinelList} REDIS_SENTINEL_NAME=${stack.redis.name}`,
  ].join('; '));
}

main().catch((err: Error) => {
  console.error(`ha-stack: ${err.message}`);
  process.exit(1);
});
