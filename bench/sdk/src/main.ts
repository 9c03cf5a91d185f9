// bench:sdk — what the SDK costs its caller, and what the Kafka reporter publishes per second.
//   1. KafkaReporter.report(): build + validate + sign + enqueue, per accepted event (nothing sent: the linger
//      is long), and per event refused by a full buffer.
//   2. KafkaReporter against the broker (KAFKA_BROKERS, default 127.0.0.1:9092; `npm run kafka -- start`):
//      events per second from report() to acknowledged by all in-sync replicas, on a topic of its own.
//   3. GatewayClient.call() overhead with an in-memory gateway (fetch injected): the SDK's own time per call,
//      one-attempt and with one retry.
import { randomBytes } from 'node:crypto';
import { Kafka, logLevel } from 'kafkajs';
import { GatewayClient, KafkaReporter, UpstreamError, type KafkaCallOutcome, type SelectedInstance } from '@apg/sdk';

const fmt = (n: number, digits = 0) => n.toLocaleString('en-US', { maximumFractionDigits: digits, minimumFractionDigits: digits });
const brokers = (process.env['KAFKA_BROKERS'] ?? '127.0.0.1:9092').split(',').map((b) => b.trim());
const apiKey = `bench-key-${randomBytes(8).toString('hex')}`;

const outcome = (i: number): KafkaCallOutcome => ({
  projectId: 'a'.repeat(32), instanceId: (i % 16).toString(16).padStart(32, 'b'), businessId: `m${i % 16}`, apiIdentifier: 'gpt4o', apiType: 'MODEL',
  success: i % 10 !== 0, latencyMs: 100 + (i % 400), selectionId: `sel-${i}`, usage: { promptTokens: 100, completionTokens: 50 },
});

async function reportCost(): Promise<void> {
  const N = 100_000;
  const r = new KafkaReporter({ brokers: ['127.0.0.1:1'], apiKey, maxBufferedEvents: N, batchSize: N, lingerMs: 600_000 });
  const items = Array.from({ length: N }, (_, i) => outcome(i));
  for (let i = 0; i < 2000; i++) r.report(items[i]!); // warm-up (JIT), counted in the buffer
  const t0 = process.hrtime.bigint();
  for (let i = 2000; i < N; i++) r.report(items[i]!);
  const accepted = Number(process.hrtime.bigint() - t0) / (N - 2000);
  const t1 = process.hrtime.bigint();
  for (let i = 0; i < N; i++) r.report(items[i]!); // the buffer is full now
  const refused = Number(process.hrtime.bigint() - t1) / N;
  const s = r.stats;
  console.log(`report(), accepted: ${fmt(accepted / 1000, 2)} µs per event (${fmt(1e9 / accepted)} events/s on one core); refused (buffer full): ${fmt(refused, 0)} ns per event; dropped buffer_full ${fmt(s.dropped.buffer_full)}`);
  await r.close(100);
}

async function publishRate(): Promise<void> {
  const topic = `apg.bench-sdk.${randomBytes(4).toString('hex')}`;
  const kafka = new Kafka({ clientId: 'bench-sdk-admin', brokers, logLevel: logLevel.NOTHING });
  const admin = kafka.admin();
  await admin.connect();
  await admin.createTopics({ waitForLeaders: true, topics: [{ topic, numPartitions: 3, replicationFactor: 1 }] });
  try {
    for (const batchSize of [100, 500, 2000]) {
      const N = 100_000;
      const r = new KafkaReporter({ brokers, apiKey, topic, batchSize, lingerMs: 5, maxBufferedEvents: 20_000 });
      const t0 = Date.now();
      let i = 0;
      // Feed as fast as the bound allows (a caller in a loop yields now and then, as a service between requests).
      while (i < N) {
        while (i < N && r.stats.queued + r.stats.inFlight < 20_000) r.report(outcome(i++));
        await new Promise((res) => setImmediate(res));
      }
      const flushed = await r.flush(120_000);
      const ms = Date.now() - t0;
      const s = await r.close(5000);
      console.log(`publish, batchSize ${batchSize}: ${fmt(N)} events acknowledged in ${fmt(ms)} ms = ${fmt((s.sent / ms) * 1000)} events/s (flushed ${flushed}, dropped ${s.droppedTotal}, send errors ${s.sendErrors})`);
    }
  } finally {
    await admin.deleteTopics({ topics: [topic] }).catch(() => undefined);
    await admin.disconnect();
  }
}

async function callOverhead(): Promise<void> {
  let n = 0;
  const instance = (id: string): SelectedInstance => ({
    id, projectId: 'a'.repeat(32), apiIdentifier: 'gpt4o', apiType: 'MODEL', businessId: id, routingParams: {}, status: 'ACTIVE', metadata: {},
    selectionId: `s${++n}`, breakerState: 'CLOSED', fallbackUsed: false, servedApiIdentifier: 'gpt4o',
  });
  const selectBody = (id: string) => JSON.stringify({ code: 200, message: 'ok', data: instance(id), timestamp: 0 });
  const reportBody = JSON.stringify({ code: 200, message: 'ok', timestamp: 0 });
  const fetchImpl = (async (url: string | URL | Request, init?: RequestInit) => {
    if ((url as string).endsWith('/select-instance')) {
      const excluded = (JSON.parse(init?.body as string) as { excludeInstanceIds?: string[] }).excludeInstanceIds ?? [];
      return new Response(selectBody(excluded.includes('a') ? 'b' : 'a'), { status: 200 });
    }
    return new Response(reportBody, { status: 200 });
  }) as typeof fetch;
  const client = new GatewayClient({ baseUrl: 'http://gateway', apiKey, fetch: fetchImpl, callDefaults: { backoff: { initialMs: 0 } } });
  const req = { apiType: 'MODEL' as const, apiIdentifier: 'gpt4o' };
  // What the stand-in gateway itself costs per call (a select and a report: two Response objects read),
  // to tell the SDK's own time apart.
  const M = 5000;
  const b0 = process.hrtime.bigint();
  for (let i = 0; i < M; i++) {
    await (await fetchImpl('http://gateway/api/gateway/select-instance', { body: '{}' })).text();
    await (await fetchImpl('http://gateway/api/gateway/report-result', { body: '{}' })).text();
  }
  const fakeUs = Number(process.hrtime.bigint() - b0) / M / 1000;
  for (const [label, fn] of [
    ['one attempt', async () => 'ok'],
    ['one retry (a 503, then ok)', async (i: SelectedInstance) => { if (i.id === 'a') throw new UpstreamError(503); return 'ok'; }],
  ] as const) {
    const N = 20_000;
    for (let i = 0; i < 1000; i++) await client.call(req, fn);
    const t0 = process.hrtime.bigint();
    for (let i = 0; i < N; i++) await client.call(req, fn);
    await client.flushReports();
    const us = Number(process.hrtime.bigint() - t0) / N / 1000;
    const fetches = label === 'one attempt' ? 1 : 2;
    console.log(`call(), ${label}, in-memory gateway: ${fmt(us, 1)} µs per call, of which the stand-in gateway's Response objects ~${fmt(fakeUs * fetches, 1)} µs: the SDK's own ~${fmt(us - fakeUs * fetches, 1)} µs`);
  }
}

async function main(): Promise<void> {
  console.log(`bench:sdk — node ${process.version}, brokers ${brokers.join(',')}`);
  await reportCost();
  await callOverhead();
  await publishRate();
}

main().catch((err) => {
  console.error(err);
  process.exitCode = 1;
});
