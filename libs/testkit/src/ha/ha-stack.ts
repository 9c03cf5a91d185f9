import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import path from 'node:path';
import { promisify } from 'node:util';
import { KafkaCluster } from './kafka-cluster';
import { ManagedProcess } from './managed-process';
import { RedisHa } from './redis-ha';

const run = promisify(execFile);
const ROOT = path.resolve(__dirname, '../../../..');
const HOST = '127.0.0.1';

export type ServiceKind = 'api' | 'ingestor' | 'aggregator';

/** Ports of the HA topology (issue 12's defaults in {@link DEFAULT_HA_PORTS}). */
export interface HaPorts {
  kafka: number[];
  kafkaControllers: number[];
  redis: [number, number];
  sentinels: [number, number, number];
  /** One api replica per port. */
  api: number[];
  /** One ingestor per ops port. */
  ingestor: number[];
  /** One aggregator per ops port. */
  aggregator: number[];
}

export const DEFAULT_HA_PORTS: HaPorts = {
  kafka: [9092, 9093, 9094],
  kafkaControllers: [9095, 9096, 9097],
  redis: [6380, 6381],
  sentinels: [26379, 26380, 26381],
  api: [8081, 8091],
  ingestor: [8082, 8092],
  aggregator: [8083, 8093],
};

/** The HA_* variables that move each group of ports (comma-separated lists), e.g. HA_KAFKA_PORTS=19092,19093,19094. */
export function haPortsFromEnv(env: NodeJS.ProcessEnv): HaPorts {
  const list = (name: string, fallback: number[], len?: number): number[] => {
    const raw = env[name];
    if (!raw) return fallback;
    const ports = raw.split(',').map((s) => Number(s.trim()));
    if (ports.some((p) => !Number.isInteger(p) || p < 1 || p > 65535) || (len !== undefined && ports.length !== len) || ports.length === 0) {
      throw new Error(`${name} must be ${len ?? 'a list of'} port(s), comma-separated (got '${raw}')`);
    }
    return ports;
  };
  const kafka = list('HA_KAFKA_PORTS', DEFAULT_HA_PORTS.kafka);
  return {
    kafka,
    kafkaControllers: list('HA_KAFKA_CONTROLLER_PORTS', DEFAULT_HA_PORTS.kafkaControllers, kafka.length),
    redis: list('HA_REDIS_PORTS', DEFAULT_HA_PORTS.redis, 2) as [number, number],
    sentinels: list('HA_SENTINEL_PORTS', DEFAULT_HA_PORTS.sentinels, 3) as [number, number, number],
    api: list('HA_API_PORTS', DEFAULT_HA_PORTS.api),
    ingestor: list('HA_INGESTOR_PORTS', DEFAULT_HA_PORTS.ingestor),
    aggregator: list('HA_AGGREGATOR_PORTS', DEFAULT_HA_PORTS.aggregator),
  };
}

export interface HaStackOptions {
  ports: HaPorts;
  /** Configs, data and logs of every process. */
  dir: string;
  databaseUrl: string;
  adminToken: string;
  /** EVENT_SIGNING_SECRET of every service (the api signs its events, the consumers verify). @default random per stack */
  eventSigningSecret?: string;
  /** Extra environment of every service (REDIS_PREFIX, topic and group names, tunables). */
  serviceEnv?: Record<string, string>;
  /** Restarts a service that exits on its own (as compose's restart policy). @default true */
  supervise?: boolean;
  say?: (msg: string) => void;
}

/** One service process of the stack, with the port its /readyz answers on. */
export interface HaService {
  name: string;
  kind: ServiceKind;
  port: number;
  process: ManagedProcess;
}

/**
 * The whole HA topology on one machine: a 3-broker KRaft Kafka, a Redis primary + replica + 3 Sentinels,
 * the machine's Postgres (migrated first), and several api replicas, ingestors and aggregators. A service
 * that exits on its own is restarted with backoff (1 s doubling to 30 s, reset after a minute up); one
 * killed through {@link killService} comes back after the given pause.
 */
export class HaStack {
  readonly kafka: KafkaCluster;
  readonly redis: RedisHa;
  readonly services: HaService[] = [];
  private stopping = false;
  /** Set when a service refused its configuration (exit 2): restarting cannot help, the stack is unusable. */
  failure: string | null = null;
  private readonly say: (msg: string) => void;
  /** What the api replicas sign with and the consumers verify (tests publishing as the api sign with it). */
  readonly eventSigningSecret: string;

  constructor(private readonly opts: HaStackOptions) {
    this.say = opts.say ?? (() => undefined);
    this.eventSigningSecret = opts.eventSigningSecret ?? randomBytes(32).toString('hex');
    this.kafka = new KafkaCluster({ dir: opts.dir, ports: opts.ports.kafka, controllerPorts: opts.ports.kafkaControllers, kafkaHome: path.join(ROOT, 'infra/kafka') });
    this.redis = new RedisHa({ dir: opts.dir, serverPorts: opts.ports.redis, sentinelPorts: opts.ports.sentinels, name: 'apg' });
  }

  /** The environment every service gets (the wiring to this topology). */
  baseEnv(): Record<string, string> {
    return {
      DATABASE_URL: this.opts.databaseUrl,
      REDIS_URL: '',
      REDIS_SENTINELS: this.redis.sentinelList,
      REDIS_SENTINEL_NAME: this.redis.name,
      KAFKA_BROKERS: this.kafka.brokerList,
      KAFKA_TOPIC_REPLICATION_FACTOR: String(this.kafka.replicationFactor),
      KAFKA_TOPIC_MIN_INSYNC_REPLICAS: String(this.kafka.minInsyncReplicas),
      ADMIN_TOKEN: this.opts.adminToken,
      EVENT_SIGNING_SECRET: this.eventSigningSecret,
      ...this.opts.serviceEnv,
    };
  }

  async start(): Promise<void> {
    this.say(`starting Kafka brokers on ${this.kafka.brokerList} (controllers ${this.opts.ports.kafkaControllers.join(', ')}) and Redis ${this.opts.ports.redis.join(' (primary), ')} (replica) with Sentinels ${this.opts.ports.sentinels.join(', ')}`);
    await Promise.all([this.kafka.start(), this.redis.start()]);
    this.say('Kafka (3 brokers) and Redis (primary, replica, 3 Sentinels) answer; migrating Postgres');
    await run(process.execPath, [path.join(ROOT, 'infra/scripts/migrate.js')], { cwd: ROOT, env: { ...process.env, DATABASE_URL: this.opts.databaseUrl }, timeout: 120_000 });
    const add = (kind: ServiceKind, port: number, n: number, env: Record<string, string>) => {
      const name = `${kind}-${n}`;
      const nodeArgs = kind === 'api' ? [`--max-old-space-size=${process.env['API_MAX_HEAP_MB'] ?? 160}`] : [];
      const proc = new ManagedProcess({
        name,
        command: process.execPath,
        args: [...nodeArgs, path.join(ROOT, `services/${kind}/dist/main.js`)],
        cwd: ROOT,
        env: { ...this.baseEnv(), ...env },
        logFile: path.join(this.opts.dir, 'logs', `${name}.log`),
      });
      this.services.push({ name, kind, port, process: proc });
    };
    this.opts.ports.api.forEach((p, i) => add('api', p, i + 1, { PORT: String(p), HOST }));
    // With a second ingestor to take over, a dead one's partitions should move after 10 s, not the default 30 s.
    this.opts.ports.ingestor.forEach((p, i) => add('ingestor', p, i + 1, { INGESTOR_PORT: String(p), INGEST_SESSION_TIMEOUT_MS: process.env['INGEST_SESSION_TIMEOUT_MS'] ?? '10000' }));
    this.opts.ports.aggregator.forEach((p, i) => add('aggregator', p, i + 1, { AGGREGATOR_PORT: String(p) }));
    // Ingestors first: they create the topics (replicated) before anyone produces to them.
    for (const kind of ['ingestor', 'aggregator', 'api'] as const) {
      for (const s of this.services.filter((x) => x.kind === kind)) this.supervise(s);
    }
  }

  private supervise(s: HaService): void {
    let backoffMs = 1000;
    let startedAt = Date.now();
    s.process.onUnexpectedExit = (code, signal) => {
      if (this.stopping || this.opts.supervise === false) return;
      if (code === 2) {
        this.failure = `${s.name} refused its configuration (exit 2); see ${s.process.spec.logFile}`;
        this.say(this.failure);
        return;
      }
      if (Date.now() - startedAt > 60_000) backoffMs = 1000;
      this.say(`${s.name} exited (code ${code}, signal ${signal}); restarting in ${backoffMs} ms (log: ${s.process.spec.logFile})`);
      setTimeout(() => {
        if (this.stopping || s.process.running) return;
        startedAt = Date.now();
        s.process.start();
      }, backoffMs).unref();
      backoffMs = Math.min(backoffMs * 2, 30_000);
    };
    startedAt = Date.now();
    s.process.start();
  }

  service(name: string): HaService {
    const s = this.services.find((x) => x.name === name);
    if (!s) throw new Error(`no service ${name}`);
    return s;
  }

  /** `kill -9` (or `signal`) of one service, started again after `pauseMs`. Resolves once it was killed. */
  async killService(name: string, pauseMs: number, signal: NodeJS.Signals = 'SIGKILL'): Promise<void> {
    const s = this.service(name);
    await s.process.kill(signal);
    setTimeout(() => {
      if (!this.stopping && !s.process.running) s.process.start();
    }, pauseMs).unref();
  }

  /** GET /readyz of every service; the names of those not answering 200. */
  async notReady(): Promise<string[]> {
    const statuses = await Promise.all(this.services.map((s) => readyz(s.port)));
    return this.services.flatMap((s, i) => (statuses[i] === 200 ? [] : [`${s.name} (${statuses[i] || 'no answer'})`]));
  }

  async waitReady(timeoutMs = 180_000, onWaiting?: (names: string[]) => void): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    let lastSaid = 0;
    for (;;) {
      if (this.failure) throw new Error(this.failure);
      const waiting = await this.notReady();
      if (waiting.length === 0) return;
      if (Date.now() > deadline) throw new Error(`not ready after ${timeoutMs} ms: ${waiting.join(', ')}`);
      if (onWaiting && Date.now() - lastSaid > 5000) {
        onWaiting(waiting);
        lastSaid = Date.now();
      }
      await new Promise((r) => setTimeout(r, 250));
    }
  }

  /** Stops services (SIGTERM, then SIGKILL after 20 s), then Redis and Kafka. Idempotent. */
  async stop(): Promise<void> {
    if (this.stopping) return;
    this.stopping = true;
    await Promise.all(this.services.map((s) => s.process.stop(20_000)));
    await Promise.all([this.redis.stop(), this.kafka.stop()]);
  }
}

/** Status of GET http://127.0.0.1:<port>/readyz (0 when nothing answers within a second). */
export async function readyz(port: number): Promise<number> {
  try {
    const res = await fetch(`http://${HOST}:${port}/readyz`, { signal: AbortSignal.timeout(1000) });
    await res.arrayBuffer();
    return res.status;
  } catch {
    return 0;
  }
}
