import { execFile } from 'node:child_process';
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';
import { expect } from 'chai';
import { createKafka, createLogger, ensureTopics, type Kafka } from '@apg/platform';
import { freePort, serviceEnv, spawnApi, spawnService, type ChildService } from '../child-service';
import { HttpClient } from '../http-client';
import { openProbe, stackNames, type Probe, type StackNames } from '../stack';
import { createTenant } from '../tenant';
import { waitFor } from '../wait-for';
import { expectStoredOnce, health, metric, range, registerModels, reportSequences, spoolDir, topicOrder } from './spool-fixture';

const run = promisify(execFile);
const KAFKA_SH = path.resolve(__dirname, '../../../../infra/kafka/kafka.sh');

/** A single-node broker of its own (ports, data dir), driven by infra/kafka/kafka.sh, that the test may stop. */
class DedicatedBroker {
  constructor(readonly port: number, private readonly controllerPort: number, readonly dataDir: string) {}

  get address(): string {
    return `127.0.0.1:${this.port}`;
  }

  private env(): NodeJS.ProcessEnv {
    return {
      ...process.env,
      KAFKA_PORT: String(this.port),
      KAFKA_CONTROLLER_PORT: String(this.controllerPort),
      KAFKA_DATA_DIR: this.dataDir,
      KAFKA_HEAP_OPTS: '-Xms128m -Xmx384m',
      KAFKA_START_TIMEOUT: '120',
    };
  }

  async start(): Promise<void> {
    await run('bash', [KAFKA_SH, 'start'], { env: this.env(), timeout: 180_000 });
  }

  async stop(): Promise<void> {
    await run('bash', [KAFKA_SH, 'stop'], { env: this.env(), timeout: 60_000 });
  }
}

/**
 * Kafka failing mid-run (issue 13 §4 e): the api's producer is connected and producing when the broker stops.
 * A proxy in front of the shared broker cannot cut an established kafkajs producer (it connects to the advertised
 * address after bootstrap), so this test runs a broker of its own (infra/kafka/kafka.sh with its own ports and data
 * dir), stops it under load, and starts it again on the same data: reports are spooled meanwhile and drained in
 * order, stored once by an ingestor reading from that broker.
 */
describe('api with Kafka failing mid-run: a dedicated broker stopped and restarted (real api and ingestor binaries)', function () {
  this.timeout(600_000);
  let names: StackNames;
  let probe: Probe;
  let broker: DedicatedBroker | null = null;
  let kafka: Kafka;
  let dir: string;
  const children: ChildService[] = [];

  before(async () => {
    names = stackNames();
    probe = await openProbe(names);
    dir = await spoolDir();
    broker = new DedicatedBroker(await freePort(), await freePort(), await fs.mkdtemp(path.join(dir, '..', 'apg-kafka-dedicated-')));
    await broker.start();
    kafka = createKafka({ brokers: [broker.address], clientId: 'test-dedicated', logger: createLogger('test', 'silent') });
    await ensureTopics(kafka, [{ topic: names.topic, numPartitions: 3 }, { topic: names.dlqTopic, numPartitions: 1 }]);
  });

  after(async () => {
    for (const c of children.splice(0)) await c.kill('SIGKILL');
    // Stopped even when the test failed half way; its data dir goes with it.
    if (broker) {
      await broker.stop().catch((err: Error) => console.error(`dedicated broker stop failed: ${err.message}`));
      await fs.rm(broker.dataDir, { recursive: true, force: true });
    }
    await fs.rm(dir, { recursive: true, force: true });
    await probe?.close();
  });

  it('(e) spools while the broker is down, answers 200, and drains in order once it is back, stored once', async () => {
    const api = await spawnApi(names, { KAFKA_BROKERS: broker!.address, REPORT_SPOOL_DIR: dir, REPORT_TIMEOUT_MS: '500' });
    children.push(api);
    const ingestorPort = await freePort();
    children.push(spawnService('ingestor', serviceEnv(names, { KAFKA_BROKERS: broker!.address, INGESTOR_PORT: String(ingestorPort) })));
    const ingestor = new HttpClient(`http://127.0.0.1:${ingestorPort}`);
    await waitFor('ingestor ready', async () => (await ingestor.get('/readyz').catch(() => ({ status: 0 }))).status === 200, { timeoutMs: 60_000 });

    const tenant = await createTenant(api);
    const ids = await registerModels(tenant.http, 3);
    const before = await reportSequences(tenant.http, ids, 10);
    expect(before.every((o) => o.status === 200 && o.delivery === 'KAFKA'), JSON.stringify(before.slice(0, 3))).to.equal(true);

    await broker!.stop();
    const during = await reportSequences(tenant.http, ids, 20, 10);
    expect(during.every((o) => o.status === 200), JSON.stringify(during.filter((o) => o.status !== 200).slice(0, 3))).to.equal(true);
    // Once the first report after the stop was spooled, every later one is (order).
    expect(during.filter((o) => o.delivery === 'SPOOLED').length).to.be.greaterThan(50);
    const sel = await tenant.http.post('/api/gateway/select-instance', { apiIdentifier: 'gpt4o', apiType: 'MODEL' });
    expect(sel.status, 'selects while Kafka is down').to.equal(200);
    const h = await health(api);
    expect(h.status).to.equal('DEGRADED');
    expect(h.dependencies.kafka.status).to.not.equal('UP');
    expect(h.dependencies.kafka.spool.records).to.be.greaterThan(50);

    await broker!.start();
    const stored = await expectStoredOnce(probe, tenant.projectId, 90, 180_000);
    for (const id of ids) expect([...stored.get(id)!].sort((a, b) => a - b)).to.deep.equal(range(0, 30));
    const order = await topicOrder(kafka, names, 90);
    for (const id of ids) expect(order.get(id), `order of ${id}`).to.deep.equal(range(0, 30));
    await waitFor('spool drained', async () => (await health(api)).dependencies.kafka.spool.records === 0, { timeoutMs: 60_000 });
    expect(await metric(api, 'apg_report_spool_drained_total')).to.equal(during.filter((o) => o.delivery === 'SPOOLED').length);

    const after = await reportSequences(tenant.http, ids.slice(0, 1), 1, 30);
    expect(after[0]).to.deep.include({ status: 200, delivery: 'KAFKA' });
  });
});
