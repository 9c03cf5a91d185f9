import { spawn, type ChildProcess } from 'node:child_process';
import net from 'node:net';
import path from 'node:path';
import { expect } from 'chai';
import { ADMIN_TOKEN, openProbe, stackNames, type Probe } from '../stack';
import { startTcpProxy, type TcpProxy } from '../ingest/tcp-proxy';
import { testEnv } from '../test-env';
import { waitFor } from '../wait-for';

const ROOT = path.resolve(__dirname, '../../../..');

async function freePort(): Promise<number> {
  const server = net.createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
  const port = (server.address() as net.AddressInfo).port;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

const statusOf = async (url: string): Promise<number> => {
  try {
    return (await fetch(url, { signal: AbortSignal.timeout(1000) })).status;
  } catch {
    return 0;
  }
};

/**
 * `npm start` (infra/scripts/local-stack.js) says `ready` only once the api, the ingestor and the
 * aggregator all answer 200 on /readyz. Redis is held behind a black-holing TCP proxy at first, so the
 * api and the aggregator cannot get ready while the ingestor (no Redis) can: no `ready` line then; once
 * Redis answers, the line comes, and every /readyz answers 200 when it does.
 */
describe('npm start: ready only when all three services are', function () {
  this.timeout(120_000);
  let probe: Probe;
  let proxy: TcpProxy;
  let stack: ChildProcess | null = null;
  let out = '';
  let ports: { PORT: number; INGESTOR_PORT: number; AGGREGATOR_PORT: number };

  before(async () => {
    const names = stackNames();
    probe = await openProbe(names);
    const redisUrl = new URL(testEnv().redisUrl);
    proxy = await startTcpProxy({ host: redisUrl.hostname, port: Number(redisUrl.port || 6379) });
    proxy.stall();
    ports = { PORT: await freePort(), INGESTOR_PORT: await freePort(), AGGREGATOR_PORT: await freePort() };
    stack = spawn(process.execPath, [path.join(ROOT, 'infra/scripts/local-stack.js')], {
      cwd: ROOT,
      env: {
        PATH: process.env['PATH'] ?? '',
        KAFKA_BROKERS: testEnv().brokers.join(','),
        DATABASE_URL: testEnv().databaseUrl,
        REDIS_URL: proxy.rewrite(testEnv().redisUrl),
        REDIS_PREFIX: names.redisPrefix,
        KAFKA_TOPIC_CALL_RESULTS: names.topic,
        KAFKA_TOPIC_DLQ: names.dlqTopic,
        KAFKA_GROUP_INGESTOR: names.ingestorGroup,
        KAFKA_GROUP_AGGREGATOR: names.aggregatorGroup,
        KAFKA_TOPIC_PARTITIONS: '3',
        ADMIN_TOKEN,
        LOG_LEVEL: 'warn',
        HOST: '127.0.0.1',
        ...Object.fromEntries(Object.entries(ports).map(([k, v]) => [k, String(v)])),
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    stack.stdout?.on('data', (d: Buffer) => (out += d.toString()));
    stack.stderr?.on('data', (d: Buffer) => (out += d.toString()));
  });

  after(async () => {
    if (stack && stack.exitCode === null) {
      const exited = new Promise((resolve) => stack!.once('exit', resolve));
      stack.kill('SIGINT');
      await exited;
    }
    await proxy?.close();
    await probe?.close();
  });

  it('waits for every /readyz, then says ready', async () => {
    const urls = [`http://127.0.0.1:${ports.PORT}/readyz`, `http://127.0.0.1:${ports.INGESTOR_PORT}/readyz`, `http://127.0.0.1:${ports.AGGREGATOR_PORT}/readyz`];
    await waitFor('the ingestor ready and the stack saying what it waits for', async () => (await statusOf(urls[1]!)) === 200 && /not ready yet, waiting for \/readyz of: api/.test(out), { timeoutMs: 60_000, intervalMs: 200 });
    expect(out, 'no ready line while the api and the aggregator cannot reach Redis').not.to.match(/"msg":"ready: /);

    proxy.resume();
    await waitFor('the ready line', () => /"msg":"ready: /.test(out), { timeoutMs: 60_000, intervalMs: 100 });
    const statuses = await Promise.all(urls.map(statusOf));
    expect(statuses, out.slice(-2000)).to.deep.equal([200, 200, 200]);
  });
});
