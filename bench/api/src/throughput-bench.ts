// Targets 1 and 2: select throughput against a bare express "hello" measured in the same run (same
// requests, same connections, one child process at a time), select latency, and HTTP report → Kafka.
import { randomBytes } from 'node:crypto';
import { spawnApi, spawnHello, type Child } from './children';
import { startCpuMeter, type CpuSplit } from './cpu-meter';
import { expect200, JsonClient } from './json-client';
import { runLoad, type LoadResult } from './load';
import { runPaced } from './paced-load';
import type { BenchContext, Outcome } from './outcome';
import { int, ms, pct } from './stats';
import { createTenant, registerInstances, USER_ID, type Instance } from './tenant';

const CONNECTIONS = 50;
const SELECT_PATH = '/api/gateway/select-instance';
const REPORT_PATH = '/api/gateway/report-result';
const IDENTIFIER = 'gpt-4o';
const INSTANCES = 4;
/** Chat sessions in flight: each request carries one of them as its affinity key, like AgentX. */
const SESSIONS = 2000;
/** The steady rate of the latency-below-saturation runs (capped at half of what select sustains). */
const PACED_RATE = 1000;

/** AgentX's select body, with a session id drawn at random per request. */
export function selectBodies(identifiers: string[]): () => string {
  const sessions = Array.from({ length: SESSIONS }, () => randomBytes(16).toString('hex'));
  return () =>
    JSON.stringify({
      userId: USER_ID,
      apiIdentifier: identifiers[Math.floor(Math.random() * identifiers.length)],
      apiType: 'MODEL',
      affinityKey: sessions[Math.floor(Math.random() * SESSIONS)],
      affinityType: 'SESSION',
    });
}

/** AgentX's report body: 95 % successes, a provider error message on failures. */
function reportBodies(instances: Instance[]): () => string {
  let n = 0;
  return () => {
    const inst = instances[n++ % instances.length]!;
    const success = Math.random() >= 0.05;
    return JSON.stringify({
      instanceId: inst.id,
      businessId: inst.businessId,
      success,
      latencyMs: 200 + Math.floor(Math.random() * 3000),
      callTimestamp: Date.now(),
      ...(success ? {} : { errorMessage: '429 "rate" limited\n' }),
    });
  };
}

interface Measured {
  load: LoadResult;
  /** Cores each process used during the measured run. */
  cpu: CpuSplit;
}

/** A warm-up run, then the measured one; `rate` makes both open-loop at that many requests/s. */
async function measure(ctx: BenchContext, child: Child, path: string, headers: Record<string, string>, body: () => string, rate?: number): Promise<Measured> {
  const base = { port: child.port, path, headers, body, connections: CONNECTIONS };
  const run = (durationS: number) => (rate ? runPaced({ ...base, rate, durationS }) : runLoad({ ...base, durationS }));
  await run(ctx.warmupS);
  const meter = startCpuMeter({ [child.name]: child.pid });
  const load = await run(ctx.durationS);
  return { load, cpu: meter.stop() };
}

/** CPU time the measured child spent per answered request, µs: unlike req/s, barely moved by other work on the machine. */
const cpuPerRequest = (m: Measured, child: string) => ((m.cpu.seconds[child] ?? Number.NaN) / Math.max(1, m.load.requests)) * 1e6;
const us = (n: number) => `${Math.round(n)} µs`;

const codes = (l: LoadResult) => Object.entries(l.statusCodes).map(([c, n]) => `${c}×${int(n)}`).join(' ');

export async function throughputBench(ctx: BenchContext): Promise<Outcome[]> {
  const names = await ctx.stack('a');
  const selectBody = selectBodies([IDENTIFIER]);

  // The tenant and its instances are made by a first api process, so the measured ones start cold.
  let setup: Child | null = await spawnApi(ctx.env, names);
  const client = new JsonClient(setup.port);
  const tenant = await createTenant(client, ctx.env.adminToken, `bench-throughput-${ctx.env.runId}`);
  const instances = await registerInstances(tenant, [IDENTIFIER], INSTANCES);
  client.close();
  await setup.stop();
  setup = null;
  const headers = { 'api-key': tenant.apiKey };

  const hello = await spawnHello();
  let helloRun: Measured;
  try {
    helloRun = await measure(ctx, hello, SELECT_PATH, headers, selectBody);
  } finally {
    await hello.stop();
  }
  const helloCpu = cpuPerRequest(helloRun, 'hello');
  ctx.say(`  hello: ${int(helloRun.load.okPerSec)} req/s, p50 ${ms(helloRun.load.p50)}, p99 ${ms(helloRun.load.p99)}, ${us(helloCpu)} of CPU per request; ${helloRun.cpu.describe()}`);

  let selectRun: Measured;
  let pacedRun: Measured;
  let pacedRate = 0;
  const selectApi = await spawnApi(ctx.env, names, ctx.apiNodeArgs('select'));
  try {
    const probe = new JsonClient(selectApi.port, headers);
    expect200('first select', await probe.post(SELECT_PATH, JSON.parse(selectBody())));
    probe.close();
    selectRun = await measure(ctx, selectApi, SELECT_PATH, headers, selectBody);
    // Latency short of saturation (a closed loop at full speed mostly measures its own queue):
    // a steady rate well under what select sustains, and the hello at the same rate for reference.
    pacedRate = Math.max(100, Math.min(PACED_RATE, Math.round(selectRun.load.okPerSec / 2)));
    pacedRun = await measure(ctx, selectApi, SELECT_PATH, headers, selectBody, pacedRate);
  } finally {
    await selectApi.stop();
  }
  const hello2 = await spawnHello();
  let helloPaced: Measured;
  try {
    helloPaced = await measure(ctx, hello2, SELECT_PATH, headers, selectBody, pacedRate);
  } finally {
    await hello2.stop();
  }
  const selectCpu = cpuPerRequest(selectRun, 'api');
  ctx.say(`  select: ${int(selectRun.load.okPerSec)} req/s, p50 ${ms(selectRun.load.p50)}, p99 ${ms(selectRun.load.p99)}, p99.9 ${ms(selectRun.load.p999)}, max ${ms(selectRun.load.max)}, ${codes(selectRun.load)}; ${selectRun.cpu.describe()}`);
  ctx.say(`  select at a steady ${int(pacedRate)} req/s on ${CONNECTIONS} connections: p50 ${ms(pacedRun.load.p50)}, p99 ${ms(pacedRun.load.p99)}, p99.9 ${ms(pacedRun.load.p999)}; ${pacedRun.cpu.describe()}`);
  ctx.say(`  hello at a steady ${int(pacedRate)} req/s on ${CONNECTIONS} connections: p50 ${ms(helloPaced.load.p50)}, p99 ${ms(helloPaced.load.p99)}, p99.9 ${ms(helloPaced.load.p999)}; ${helloPaced.cpu.describe()}`);
  ctx.say(`  select: ${us(selectCpu)} of api CPU per request (hello ${us(helloCpu)}: ${pct(helloCpu / selectCpu)})`);

  let reportRun: Measured;
  const reportApi = await spawnApi(ctx.env, names, ctx.apiNodeArgs('report'));
  try {
    reportRun = await measure(ctx, reportApi, REPORT_PATH, headers, reportBodies(instances));
  } finally {
    await reportApi.stop();
  }
  const reportCpu = cpuPerRequest(reportRun, 'api');
  ctx.say(`  report: ${int(reportRun.load.okPerSec)} reports/s, p50 ${ms(reportRun.load.p50)}, p99 ${ms(reportRun.load.p99)}, ${us(reportCpu)} of api CPU per report, ${codes(reportRun.load)}; ${reportRun.cpu.describe()}`);

  const s = selectRun.load;
  const ratio = s.okPerSec / helloRun.load.okPerSec;
  const selectAllOk = s.non2xx === 0 && s.errors === 0;
  const tput: Outcome = {
    order: 1,
    name: 'select throughput',
    figures: `select ${int(s.okPerSec)} req/s vs hello ${int(helloRun.load.okPerSec)} req/s = ${pct(ratio)} (${CONNECTIONS} connections, ${ctx.durationS} s each${selectAllOk ? '' : `; select non-2xx ${int(s.non2xx)}, errors ${int(s.errors)}`})`,
    target: '≥ 80 % of hello',
    pass: ratio >= 0.8 && selectAllOk,
    rows: [
      { what: 'bare express "hello" (same requests)', figure: `${int(helloRun.load.okPerSec)} req/s, ${us(helloCpu)} CPU per request`, target: '' },
      { what: 'select throughput', figure: `${int(s.okPerSec)} req/s = ${pct(ratio)} of hello, ${us(selectCpu)} CPU per request`, target: '≥ 80 % of hello', pass: ratio >= 0.8 && selectAllOk },
    ],
  };
  const latency: Outcome = {
    order: 2,
    name: 'select latency',
    figures: `p50 ${ms(s.p50)}, p99 ${ms(s.p99)} at ${CONNECTIONS} connections, saturated (at a steady ${int(pacedRate)} req/s: p50 ${ms(pacedRun.load.p50)}, p99 ${ms(pacedRun.load.p99)}; hello at that rate: p99 ${ms(helloPaced.load.p99)})`,
    target: 'p99 ≤ 10 ms',
    pass: s.p99 <= 10 && selectAllOk,
    rows: [
      { what: `select latency at ${CONNECTIONS} connections, saturated (closed loop)`, figure: `p50 ${ms(s.p50)}, p99 ${ms(s.p99)}`, target: 'p99 ≤ 10 ms', pass: s.p99 <= 10 && selectAllOk },
      { what: `select latency at a steady ${int(pacedRate)} req/s over ${CONNECTIONS} connections`, figure: `p50 ${ms(pacedRun.load.p50)}, p99 ${ms(pacedRun.load.p99)}`, target: '' },
      { what: `bare express "hello" at the same ${int(pacedRate)} req/s`, figure: `p50 ${ms(helloPaced.load.p50)}, p99 ${ms(helloPaced.load.p99)}`, target: '' },
    ],
  };
  const r = reportRun.load;
  const reportAllOk = r.non2xx === 0 && r.errors === 0;
  const report: Outcome = {
    order: 3,
    name: 'HTTP report → Kafka',
    figures: `${int(r.okPerSec)} reports/s at ${CONNECTIONS} connections, ${reportAllOk ? `all ${int(r.ok)} answered 200` : `${int(r.non2xx)} non-2xx and ${int(r.errors)} errors of ${int(r.requests + r.errors)}`} (p99 ${ms(r.p99)})`,
    target: '≥ 5,000 reports/s, all 200',
    pass: r.okPerSec >= 5000 && reportAllOk,
    rows: [{ what: `HTTP report → Kafka (acks=all), ${CONNECTIONS} connections`, figure: `${int(r.okPerSec)} reports/s, ${reportAllOk ? 'all 200' : `${int(r.non2xx + r.errors)} not 200`}, ${us(reportCpu)} CPU per report`, target: '≥ 5,000 reports/s', pass: r.okPerSec >= 5000 && reportAllOk }],
  };
  return [tput, latency, report];
}
