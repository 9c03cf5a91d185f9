import { spawn, type ChildProcess } from 'node:child_process';
import net from 'node:net';
import path from 'node:path';
import { HttpClient } from './http-client';
import { ADMIN_TOKEN, type StackNames } from './stack';
import { TEST_EVENT_SIGNING_SECRET } from './signing';
import { testEnv } from './test-env';

const ROOT = path.resolve(__dirname, '../../..');

export interface ChildService {
  child: ChildProcess;
  /** Everything the process printed, for assertions and failure messages. */
  output(): string;
  /** Resolves with the exit code (null when killed by a signal). */
  exited: Promise<number | null>;
  kill(signal?: NodeJS.Signals): Promise<number | null>;
}

/** Runs a service's real composition root (`services/<name>/dist/main.js`) as its own process. */
export function spawnService(name: 'api' | 'ingestor' | 'aggregator', env: Record<string, string>): ChildService {
  const child = spawn(process.execPath, [path.join(ROOT, `services/${name}/dist/main.js`)], {
    cwd: ROOT,
    env: { PATH: process.env['PATH'] ?? '', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  child.stdout?.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr?.on('data', (d: Buffer) => (out += d.toString()));
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  return {
    child,
    output: () => out,
    exited,
    async kill(signal: NodeJS.Signals = 'SIGTERM') {
      if (child.exitCode === null && child.signalCode === null) child.kill(signal);
      return exited;
    },
  };
}

/** The environment a child service of this test run needs for the given stack names. */
export function serviceEnv(names: StackNames, extra: Record<string, string> = {}): Record<string, string> {
  const env = testEnv();
  return {
    DATABASE_URL: env.databaseUrl,
    REDIS_URL: env.redisUrl,
    REDIS_PREFIX: names.redisPrefix,
    KAFKA_BROKERS: env.brokers.join(','),
    KAFKA_TOPIC_CALL_RESULTS: names.topic,
    KAFKA_TOPIC_DLQ: names.dlqTopic,
    KAFKA_GROUP_INGESTOR: names.ingestorGroup,
    KAFKA_GROUP_AGGREGATOR: names.aggregatorGroup,
    KAFKA_TOPIC_PARTITIONS: '3',
    ADMIN_TOKEN,
    EVENT_SIGNING_SECRET: TEST_EVENT_SIGNING_SECRET,
    LOG_LEVEL: 'info',
    ...extra,
  };
}

/** Starts an api as a child process on a free port and waits until it listens. */
export async function spawnApi(names: StackNames, extra: Record<string, string> = {}): Promise<ChildService & { http: HttpClient; admin: HttpClient }> {
  const svc = spawnService('api', serviceEnv(names, { PORT: '0', HOST: '127.0.0.1', ...extra }));
  const port = await new Promise<number>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`api child did not listen in time:\n${svc.output()}`)), 20_000);
    const onData = () => {
      const m = /"port":(\d+),[^\n]*"msg":"api listening"/.exec(svc.output());
      if (m) {
        clearTimeout(timer);
        svc.child.stdout?.off('data', onData);
        resolve(Number(m[1]));
      }
    };
    svc.child.stdout?.on('data', onData);
    void svc.exited.then((code) => reject(new Error(`api child exited with ${code}:\n${svc.output()}`)));
  });
  const http = new HttpClient(`http://127.0.0.1:${port}`);
  return { ...svc, http, admin: http.with({ authorization: `Bearer ${ADMIN_TOKEN}` }) };
}

/** A TCP port free right now on 127.0.0.1 (for a child's ops listener). */
export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as net.AddressInfo;
      server.close(() => resolve(port));
    });
  });
}
