// Target: api memory with 10,000 registered instances. One tenant registers them (200 model ids of
// 50 instances each), every instance is reported once (so the aggregator holds a health record for
// each, which the api caches too), then selects warm every group and a load burst runs across them;
// the api child's VmRSS is read after each step.
import { performance } from 'node:perf_hooks';
import type { LiveStack } from './live-stack';
import { select } from './live-stack';
import { runLoad } from './load';
import type { BenchContext, Outcome } from './outcome';
import { int, mb, ms, sleep } from './stats';
import { createTenant, registerInstances } from './tenant';
import { selectBodies } from './throughput-bench';

const INSTANCES = 10_000;
const IDENTIFIERS = 200;
const LIMIT_BYTES = 200 * 1024 * 1024;

/** The api's V8 heap in use, from its /metrics (prom-client default metrics). */
async function heapUsed(stack: LiveStack): Promise<number> {
  const res = await stack.client.get<string>('/metrics');
  const m = /^apg_nodejs_heap_size_used_bytes\{[^}]*\} (\S+)$/m.exec(typeof res.body === 'string' ? res.body : '');
  return m ? Number(m[1]) : Number.NaN;
}

export async function memoryBench(ctx: BenchContext, stack: LiveStack): Promise<Outcome> {
  const rss: { step: string; bytes: number; heap: number }[] = [];
  const sample = async (step: string) => rss.push({ step, bytes: stack.api.rssBytes(), heap: await heapUsed(stack) });
  await sample('before');

  const identifiers = Array.from({ length: IDENTIFIERS }, (_, i) => `model-${String(i).padStart(3, '0')}`);
  const tenant = await createTenant(stack.client, ctx.env.adminToken, `bench-memory-${ctx.env.runId}`);
  const t0 = performance.now();
  const instances = await registerInstances(tenant, identifiers, INSTANCES);
  ctx.say(`  memory: registered ${int(instances.length)} instances over ${IDENTIFIERS} model ids in ${ms(performance.now() - t0)}`);

  // One report per instance, so each has a health record (the api keeps a copy of every record).
  let n = 0;
  const reports = await runLoad({
    port: stack.api.port,
    path: '/api/gateway/report-result',
    headers: { 'api-key': tenant.apiKey },
    connections: 50,
    amount: instances.length,
    body: () => {
      const inst = instances[n++ % instances.length]!;
      return JSON.stringify({ instanceId: inst.id, businessId: inst.businessId, success: true, latencyMs: 900, callTimestamp: Date.now() });
    },
  });
  if (reports.ok !== instances.length) throw new Error(`reporting every instance once: ${reports.ok} of ${instances.length} answered 200 (${JSON.stringify(reports.statusCodes)})`);
  for (const i of instances) stack.reported.add(i.id);
  const hash = `${stack.names.redisPrefix}breaker-states`;
  const deadline = Date.now() + 60_000;
  let held = 0;
  while ((held = await ctx.env.redis.hlen(hash)) < stack.reported.size) {
    if (Date.now() > deadline) throw new Error(`the aggregator holds ${held} health records of ${stack.reported.size} after 60 s`);
    await sleep(200);
  }
  await sleep(1000);
  await sample('10k registered + health records');

  // Warm: every group selected (registry, health records, affinity of one session per group).
  for (const id of identifiers) {
    const res = await select(tenant, id, { affinityKey: `warm-${id}`, affinityType: 'SESSION' });
    if (res.status !== 200) throw new Error(`warming ${id}: HTTP ${res.status} ${JSON.stringify(res.body).slice(0, 300)}`);
  }
  await sample('after selecting every group');

  const burst = await runLoad({
    port: stack.api.port,
    path: '/api/gateway/select-instance',
    headers: { 'api-key': tenant.apiKey },
    connections: 50,
    durationS: ctx.durationS / 2,
    body: selectBodies(identifiers),
  });
  await sample(`after a ${ctx.durationS / 2} s select burst over all groups`);

  const peak = Math.max(...rss.map((r) => r.bytes));
  const pass = peak <= LIMIT_BYTES;
  ctx.say(`  memory: ${rss.map((r) => `${r.step}: RSS ${mb(r.bytes)} (heap ${mb(r.heap)})`).join('; ')}`);
  ctx.say(`  memory: select burst with 10k instances: ${int(burst.okPerSec)} req/s, p50 ${ms(burst.p50)}, p99 ${ms(burst.p99)}, ${burst.non2xx} non-2xx`);
  const last = rss[rss.length - 1]!;
  return {
    order: 4,
    name: 'memory',
    figures: `api RSS ${mb(peak)} peak with ${int(INSTANCES)} instances (${mb(rss[0]!.bytes)} before registering; ${mb(last.bytes)} after the select burst, heap ${mb(last.heap)})`,
    target: '≤ 200 MB RSS',
    pass,
    rows: [
      { what: `api RSS with ${int(INSTANCES)} registered instances (health records cached, every group selected, select burst)`, figure: mb(peak), target: '≤ 200 MB', pass },
      { what: `select with ${int(INSTANCES)} instances in the project (${IDENTIFIERS} model ids), 50 connections`, figure: `${int(burst.okPerSec)} req/s, p99 ${ms(burst.p99)}`, target: '', pass: undefined },
    ],
  };
}
