// `node bench/api/dist/spool-bench.js [--duration S]` (after `npx tsc --build bench/api`): how fast the api's
// report spool takes reports while Kafka is down (README "Kafka down: the report spool").
//
//   1. In process: ReportSpool.append of AgentX-sized reports at 1, 64 and 512 concurrent appends, with
//      REPORT_SPOOL_FSYNC=always (group commit: every append waiting shares the next write + fdatasync) and
//      never; prints appends/s and the mean group (reports per write).
//   2. Over HTTP (--http-only: this part alone): the api binary with KAFKA_BROKERS at a closed port, fsync always then never, 50 keep-alive connections of reports for
//      --duration seconds (default 10), every one answered 200 SPOOLED; prints reports/s and the api's CPU.
// Everything created (database, Redis prefix, topics, spool directories) is removed.
import { randomBytes, randomUUID } from 'node:crypto';
import { promises as fs } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { parseArgs } from 'node:util';
import { CALL_RESULT_SCHEMA_VERSION, type CallResultEvent } from '@apg/contracts';
import { ReportSpool, type SpoolFsync } from '@apg/api';
import { createLogger } from '@apg/platform';
import { createBenchEnv, type BenchEnv } from './bench-env';
import { killAllChildren, spawnApi } from './children';
import { startCpuMeter } from './cpu-meter';
import { JsonClient } from './json-client';
import { runLoad } from './load';
import { int, ms } from './stats';
import { createTenant, registerInstances } from './tenant';

const { values: args } = parseArgs({ options: { duration: { type: 'string' }, 'http-only': { type: 'boolean', default: false } } });
const durationS = args.duration ? Number(args.duration) : 10;
const say = (msg: string) => console.log(msg);

/** An AgentX report as the api turns it into an event (~400 bytes of JSON). */
function event(instanceId: string, projectId: string): CallResultEvent {
  return {
    eventId: randomUUID(), schemaVersion: CALL_RESULT_SCHEMA_VERSION, projectId, instanceId,
    apiIdentifier: 'gpt-4o', apiType: 'MODEL', businessId: randomBytes(16).toString('hex'),
    success: true, latencyMs: 200 + Math.floor(Math.random() * 3000), callTimestamp: Date.now(), receivedAt: Date.now(),
  };
}

async function inProcess(fsync: SpoolFsync, concurrency: number, seconds: number): Promise<string> {
  const dir = await fs.mkdtemp(path.join(os.tmpdir(), 'apg-spool-bench-'));
  let writes = 0;
  let appended = 0;
  const spool = new ReportSpool({ dir, maxBytes: 4 * 1024 ** 3, fsync }, createLogger('bench', 'silent'), { spooled: (n) => { writes++; appended += n; } });
  await spool.open();
  const projectId = randomBytes(16).toString('hex');
  const instances = Array.from({ length: 8 }, () => randomBytes(16).toString('hex'));
  const deadline = performance.now() + seconds * 1000;
  const started = performance.now();
  await Promise.all(Array.from({ length: concurrency }, async (_, w) => {
    while (performance.now() < deadline) await spool.append({ spooledAt: Date.now(), requestId: randomUUID(), events: [event(instances[w % 8]!, projectId)] });
  }));
  const elapsed = (performance.now() - started) / 1000;
  const bytes = spool.stats().bytes;
  // The spool is left full on purpose: close() keeps it; the directory is removed here.
  await spool.close();
  await fs.rm(dir, { recursive: true, force: true });
  return `fsync ${fsync.padEnd(6)} concurrency ${String(concurrency).padStart(3)}: ${int(appended / elapsed)} appends/s, ${(appended / Math.max(1, writes)).toFixed(1)} reports per write, ${(bytes / Math.max(1, appended)).toFixed(0)} bytes per report`;
}

async function closedPort(): Promise<number> {
  const server = net.createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as net.AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

async function overHttp(env: BenchEnv, fsync: SpoolFsync): Promise<string> {
  const names = await env.stack('spool');
  const dir = await fs.mkdtemp(path.join(os.tmpdir(), 'apg-spool-bench-http-'));
  const api = await spawnApi(env, names, [], { KAFKA_BROKERS: `127.0.0.1:${await closedPort()}`, REPORT_SPOOL_DIR: dir, REPORT_SPOOL_FSYNC: fsync });
  try {
    const client = new JsonClient(api.port);
    const tenant = await createTenant(client, env.adminToken, `bench-spool-${env.runId}`);
    const instances = await registerInstances(tenant, ['gpt-4o'], 4);
    client.close();
    let n = 0;
    const body = () => {
      const inst = instances[n++ % instances.length]!;
      return JSON.stringify({ instanceId: inst.id, businessId: inst.businessId, success: true, latencyMs: 200 + (n % 3000), callTimestamp: Date.now() });
    };
    const base = { port: api.port, path: '/api/gateway/report-result', headers: { 'api-key': tenant.apiKey }, body, connections: 50 };
    // The first report waits REPORT_TIMEOUT_MS for Kafka, then the spool is non-empty and every report goes to it.
    await runLoad({ ...base, durationS: 2 });
    const meter = startCpuMeter({ api: api.pid });
    const load = await runLoad({ ...base, durationS });
    const cpu = meter.stop();
    const cpuUs = ((cpu.seconds['api'] ?? Number.NaN) / Math.max(1, load.requests)) * 1e6;
    const codes = Object.entries(load.statusCodes).map(([c, k]) => `${c}×${int(k)}`).join(' ');
    return `HTTP report → spool (Kafka unreachable, fsync ${fsync}, 50 connections, ${durationS} s): ${int(load.okPerSec)} reports/s, p50 ${ms(load.p50)}, p99 ${ms(load.p99)}, ${Math.round(cpuUs)} µs of api CPU per report, ${codes}`;
  } finally {
    await api.stop();
    await fs.rm(dir, { recursive: true, force: true });
  }
}

async function main(): Promise<void> {
  say(`bench spool: node ${process.version}, ${os.cpus().length} CPUs, load average ${os.loadavg().map((l) => l.toFixed(2)).join(' ')}, temp dir ${os.tmpdir()}`);
  if (!args['http-only']) {
    for (const fsync of ['always', 'never'] as const) {
      for (const c of [1, 64, 512]) say(await inProcess(fsync, c, Math.min(3, durationS)));
    }
  }
  process.once('exit', killAllChildren);
  const env = await createBenchEnv(say);
  try {
    for (const fsync of ['always', 'never'] as const) say(await overHttp(env, fsync));
  } finally {
    killAllChildren();
    await env.teardown();
  }
}

main().then(() => process.exit(0), (err: unknown) => {
  console.error(err);
  killAllChildren();
  process.exit(1);
});
