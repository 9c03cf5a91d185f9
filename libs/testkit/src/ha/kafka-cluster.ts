import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';
import { Kafka, logLevel } from 'kafkajs';
import { ManagedProcess } from './managed-process';

const run = promisify(execFile);
const HOST = '127.0.0.1';

export interface KafkaClusterOptions {
  /** Folder for configs, data and logs (one sub-folder per broker). */
  dir: string;
  /** Client ports, one per broker (node ids 1, 2, 3…). */
  ports: number[];
  /** KRaft controller ports, one per broker (every broker is also a voter). */
  controllerPorts: number[];
  /** The repo's infra/kafka (lib/ from `kafka.sh fetch`, log4j.properties). */
  kafkaHome: string;
  /** @default '-Xms128m -Xmx512m' */
  heapOpts?: string;
}

/**
 * A KRaft cluster of combined broker+controller nodes (a quorum of all of them) from the project's Kafka
 * jars. Topics default to replication factor = the number of brokers (at most 3) and min.insync.replicas
 * 2, so an acks=all write survives the loss of any one broker. Any broker can be killed and started again.
 */
export class KafkaCluster {
  readonly brokers: Map<number, ManagedProcess> = new Map();

  constructor(private readonly opts: KafkaClusterOptions) {
    if (opts.ports.length !== opts.controllerPorts.length || opts.ports.length === 0) throw new Error('one controller port per broker');
  }

  /** `KAFKA_BROKERS` for the services: every broker. */
  get brokerList(): string {
    return this.opts.ports.map((p) => `${HOST}:${p}`).join(',');
  }

  get replicationFactor(): number {
    return Math.min(3, this.opts.ports.length);
  }

  get minInsyncReplicas(): number {
    return Math.min(2, this.opts.ports.length);
  }

  private nodeDir(nodeId: number): string {
    return path.join(this.opts.dir, `kafka-${nodeId}`);
  }

  private configOf(nodeId: number): string {
    const i = nodeId - 1;
    const voters = this.opts.controllerPorts.map((p, n) => `${n + 1}@${HOST}:${p}`).join(',');
    const rf = this.replicationFactor;
    return [
      'process.roles=broker,controller',
      `node.id=${nodeId}`,
      `controller.quorum.voters=${voters}`,
      `listeners=PLAINTEXT://${HOST}:${this.opts.ports[i]},CONTROLLER://${HOST}:${this.opts.controllerPorts[i]}`,
      `advertised.listeners=PLAINTEXT://${HOST}:${this.opts.ports[i]}`,
      'listener.security.protocol.map=PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT',
      'inter.broker.listener.name=PLAINTEXT',
      'controller.listener.names=CONTROLLER',
      `log.dirs=${path.join(this.nodeDir(nodeId), 'data')}`,
      'num.partitions=6',
      `default.replication.factor=${rf}`,
      `min.insync.replicas=${this.minInsyncReplicas}`,
      // Never elect a replica that missed acknowledged writes.
      'unclean.leader.election.enable=false',
      'auto.create.topics.enable=false',
      `offsets.topic.replication.factor=${rf}`,
      'offsets.topic.num.partitions=10',
      `transaction.state.log.replication.factor=${rf}`,
      `transaction.state.log.min.isr=${this.minInsyncReplicas}`,
      'group.initial.rebalance.delay.ms=0',
      // A killed broker is fenced (its partitions led elsewhere) after this long without heartbeats; the
      // defaults (9 s / 2 s) make every broker failure cost that much more.
      'broker.session.timeout.ms=6000',
      'broker.heartbeat.interval.ms=1000',
      'replica.lag.time.max.ms=10000',
      'log.retention.hours=24',
      'log.segment.bytes=104857600',
      'num.network.threads=2',
      'num.io.threads=4',
      '',
    ].join('\n');
  }

  private java(args: string[]): { command: string; args: string[] } {
    const lib = path.join(this.opts.kafkaHome, 'lib');
    if (!existsSync(lib)) throw new Error(`${lib} is missing: run infra/kafka/kafka.sh fetch`);
    return {
      command: 'java',
      args: [`-Dlog4j.configuration=file:${path.join(this.opts.kafkaHome, 'log4j.properties')}`, '-cp', `${lib}/*`, ...args],
    };
  }

  /** Writes configs, formats each node's storage once (one cluster id), starts every broker, waits for all. */
  async start(timeoutMs = 120_000): Promise<void> {
    mkdirSync(this.opts.dir, { recursive: true });
    const idFile = path.join(this.opts.dir, 'kafka-cluster-id');
    if (!existsSync(idFile)) writeFileSync(idFile, kafkaUuid());
    const clusterId = readFileSync(idFile, 'utf8').trim();
    const nodeIds = this.opts.ports.map((_, i) => i + 1);
    await Promise.all(nodeIds.map(async (id) => {
      mkdirSync(this.nodeDir(id), { recursive: true });
      const conf = path.join(this.nodeDir(id), 'server.properties');
      writeFileSync(conf, this.configOf(id));
      if (existsSync(path.join(this.nodeDir(id), 'data', 'meta.properties'))) return;
      const j = this.java(['-Xmx256m', 'kafka.tools.StorageTool', 'format', '-t', clusterId, '-c', conf, '--ignore-formatted']);
      await run(j.command, j.args, { timeout: 120_000 });
    }));
    for (const id of nodeIds) this.startBroker(id);
    await this.waitForBrokers(nodeIds.length, timeoutMs);
  }

  private startBroker(nodeId: number): void {
    let p = this.brokers.get(nodeId);
    if (!p) {
      const conf = path.join(this.nodeDir(nodeId), 'server.properties');
      const heap = (this.opts.heapOpts ?? '-Xms128m -Xmx512m').split(/\s+/).filter(Boolean);
      const j = this.java(['kafka.Kafka', conf]);
      p = new ManagedProcess({
        name: `kafka-${nodeId}`,
        command: j.command,
        args: [...heap, '-XX:+UseG1GC', '-XX:MaxGCPauseMillis=20', '-Djava.awt.headless=true', ...j.args],
        logFile: path.join(this.nodeDir(nodeId), 'broker.log'),
      });
      this.brokers.set(nodeId, p);
    }
    p.start();
  }

  /** A short-lived admin client on every broker (the caller disconnects it). */
  admin() {
    const kafka = new Kafka({ clientId: 'apg-ha', brokers: this.brokerList.split(','), logLevel: logLevel.NOTHING, connectionTimeout: 2000, requestTimeout: 5000, retry: { retries: 2 } });
    return kafka.admin();
  }

  /** Waits until the cluster's metadata lists `n` live brokers. */
  async waitForBrokers(n: number, timeoutMs = 120_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const admin = this.admin();
      try {
        await admin.connect();
        const { brokers } = await admin.describeCluster();
        if (brokers.length >= n) return;
      } catch {
        // not up yet
      } finally {
        await admin.disconnect().catch(() => undefined);
      }
      if (Date.now() > deadline) throw new Error(`Kafka: fewer than ${n} brokers after ${timeoutMs} ms (logs under ${this.opts.dir})`);
      await new Promise((r) => setTimeout(r, 500));
    }
  }

  /** Node id leading `partition` of `topic`. */
  async leaderOf(topic: string, partition = 0): Promise<number> {
    const admin = this.admin();
    try {
      await admin.connect();
      const meta = await admin.fetchTopicMetadata({ topics: [topic] });
      const p = meta.topics[0]?.partitions.find((x) => x.partitionId === partition);
      if (!p || p.leader < 0) throw new Error(`no leader for ${topic}/${partition}`);
      return p.leader;
    } finally {
      await admin.disconnect().catch(() => undefined);
    }
  }

  /** True when every partition of `topic` has a leader and its full replica set in sync. */
  async fullyReplicated(topic: string): Promise<boolean> {
    const admin = this.admin();
    try {
      await admin.connect();
      const meta = await admin.fetchTopicMetadata({ topics: [topic] });
      const parts = meta.topics[0]?.partitions ?? [];
      return parts.length > 0 && parts.every((p) => p.leader >= 0 && p.isr.length === p.replicas.length);
    } catch {
      return false;
    } finally {
      await admin.disconnect().catch(() => undefined);
    }
  }

  async kill(nodeId: number, signal: NodeJS.Signals = 'SIGKILL'): Promise<void> {
    await this.brokers.get(nodeId)?.kill(signal);
  }

  restart(nodeId: number): void {
    this.startBroker(nodeId);
  }

  async stop(): Promise<void> {
    await Promise.all([...this.brokers.values()].map((p) => p.stop(30_000)));
  }
}

/**
 * A Kafka cluster id: 16 random bytes, URL-safe base64 without padding (what StorageTool random-uuid prints).
 * Never one starting with '-': StorageTool's argument parser would take it for an option.
 */
export function kafkaUuid(): string {
  for (;;) {
    const id = randomBytes(16).toString('base64url');
    if (!id.startsWith('-')) return id;
  }
}
