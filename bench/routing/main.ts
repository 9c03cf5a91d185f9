// `npm run bench:routing [-- --quick] [-- --strategies=SMART,PRIORITY] [-- --baselines=litellm,envoy|none]`
//
// Fake upstream instances A–D (scenario.ts) and N concurrent clients doing select → call → report through the
// REAL stack (api + ingestor + aggregator in process, on Postgres, Redis and Kafka), once per routing strategy
// on the same schedule; then the same clients over the same fake instances with two client-side models of
// other products' documented defaults (baselines.ts). Prints a Markdown table and one summary line per policy.
import { STRATEGY_NAMES, type StrategyName } from '@apg/core';
import { createTenant, startAggregator, startApi, startIngestor, stackNames, type StackNames, type TestTenant } from '@apg/testkit';
import os from 'node:os';
import path from 'node:path';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { Worker } from 'node:worker_threads';
import { registerGroup, SCALED_BREAKER, transitionsOf } from './gateway';
import { createBenchEnv, destroyBenchEnv, ensureBroker, type BenchEnv } from './infra';
import { BreakerWatch } from './watch';
import { computeMetrics, EJECT_GAP_MS, markdownTable, probeLine, summaryLine, transitionsLine, type RunResult } from './metrics';
import type { PolicySpec, SimRequest, SimResult } from './sim-worker';
import {
  B_TIMEOUT_SHARE,
  C_SLOW_FACTOR,
  CLIENT_TIMEOUT_MS,
  D_MINUTE_MS,
  dQuotaPerMinute,
  INSTANCES,
  scaled,
  sleep,
  TIME_SCALE,
} from './scenario';

type BaselineName = 'litellm' | 'litellm60' | 'envoy';
const BASELINES: readonly BaselineName[] = ['litellm', 'litellm60', 'envoy'];

interface Options {
  durationMs: number;
  clients: number;
  rate: number;
  strategies: StrategyName[];
  baselines: BaselineName[];
  seed: number;
}

function parseArgs(argv: string[]): Options {
  const opts: Options = { durationMs: 18_000, clients: 16, rate: 64, strategies: [...STRATEGY_NAMES], baselines: [...BASELINES], seed: 42 };
  for (const arg of argv) {
    const [key, value = ''] = arg.split('=', 2) as [string, string?];
    const list = () => value.split(',').map((s) => s.trim()).filter(Boolean);
    switch (key) {
      case '--quick':
        opts.durationMs = 8_000;
        break;
      case '--duration':
        opts.durationMs = Math.round(Number(value) * 1000);
        if (!Number.isFinite(opts.durationMs) || opts.durationMs < 3000) throw new Error('--duration=SECONDS needs at least 3');
        break;
      case '--clients':
        opts.clients = Number(value);
        if (!Number.isInteger(opts.clients) || opts.clients < 1) throw new Error('--clients=N needs a positive integer');
        break;
      case '--rate':
        opts.rate = Number(value);
        if (!Number.isFinite(opts.rate) || opts.rate <= 0) throw new Error('--rate=CALLS_PER_SECOND needs a positive number');
        break;
      case '--seed':
        opts.seed = Number(value) >>> 0;
        break;
      case '--strategies': {
        const names = list().map((s) => s.toUpperCase());
        if (names.length === 1 && names[0] === 'NONE') {
          opts.strategies = [];
          break;
        }
        const bad = names.filter((n) => !(STRATEGY_NAMES as readonly string[]).includes(n));
        if (bad.length) throw new Error(`unknown strategy ${bad.join(', ')}; one of ${STRATEGY_NAMES.join(', ')} or none`);
        opts.strategies = names as StrategyName[];
        break;
      }
      case '--baselines': {
        const names = list().map((s) => s.toLowerCase());
        if (names.length === 1 && names[0] === 'none') {
          opts.baselines = [];
          break;
        }
        const bad = names.filter((n) => !(BASELINES as readonly string[]).includes(n));
        if (bad.length) throw new Error(`unknown baseline ${bad.join(', ')}; one of ${BASELINES.join(', ')} or none`);
        opts.baselines = names as BaselineName[];
        break;
      }
      case '--help':
        console.log('usage: npm run bench:routing -- [--quick] [--duration=S] [--clients=N] [--rate=CALLS_PER_S] [--seed=N] [--strategies=SMART,PRIORITY|none] [--baselines=litellm,litellm60,envoy|none]');
        process.exit(0);
        break;
      default:
        throw new Error(`unknown argument ${arg} (try --help)`);
    }
  }
  return opts;
}

const log = (msg: string) => console.log(`bench: ${msg}`);
const clock = () => {
  const start = performance.now();
  return () => performance.now() - start;
};

function describeSetup(opts: Options): string[] {
  const pct = (f: number) => Math.round(f * opts.durationMs);
  return [
    `## Routing simulation (${(opts.durationMs / 1000).toFixed(0)} s per policy, ${opts.clients} concurrent clients offering ${opts.rate} calls/s, seed ${opts.seed})`,
    '',
    `Offered load: ${Math.round((opts.rate * opts.durationMs) / 1000)} attempts per policy; a policy with clearly fewer "calls" fell behind`,
    '(its clients waited on slow selects/reports: the stack was short of CPU, see the load average under Evidence).',
    '',
    `Time scale: 1 bench second = ${TIME_SCALE} model seconds for every breaker/cooldown/ejection duration (windows, open`,
    `durations, cooldowns, sweep intervals, the provider's quota minute); upstream latencies and the ${CLIENT_TIMEOUT_MS} ms client`,
    'timeout are real. Times in the table are bench milliseconds.',
    '',
    'Instances (one logical API, one priority tier, so PRIORITY is round robin inside that tier here):',
    ...INSTANCES.map((i) => `- ${i.name}: weight ${i.weight}, costPerUnit ${i.costPerUnit}, ~${i.baseLatencyMs} ms: ${i.role}`),
    `  B dead from ${pct(0.2)} to ${pct(0.6)} ms (${Math.round(B_TIMEOUT_SHARE * 100)} % of its calls hang until the client timeout, the rest are fast 503s);`,
    `  C ${C_SLOW_FACTOR}× slower from ${pct(0.3)} ms; D allows ${dQuotaPerMinute(opts.rate)} calls per ${D_MINUTE_MS} ms (a scaled minute), then 429 + retryAfterMs.`,
    '',
    `Gateway breaker (routingParams.breaker of every instance; architecture §6 defaults, durations / ${TIME_SCALE}): ` +
      Object.entries(SCALED_BREAKER).map(([k, v]) => `${k}=${v}`).join(', ') +
      '. Strategy and SMART settings: defaults. One attempt per call everywhere (no retries).',
    `Baselines are client-side MODELS of documented defaults (shared/reference/anchors.md), not the real products:`,
    `- LiteLLM-like: simple-shuffle (weighted random); cooldown per deployment on a 429, a 408 (client timeout) or >50 % failures`,
    `  of >=5 calls in the current (scaled) calendar minute; cooldown_time = 5 s (DEFAULT_COOLDOWN_TIME_SECONDS) = ${scaled(5000)} ms,`,
    `  the "60 s" row uses cooldown_time = 60 s = ${scaled(60_000)} ms; no half-open, no retries.`,
    `- Envoy-like: weighted round robin; consecutive_5xx = 5 (timeouts count), base_ejection_time 30 s × ejections`,
    `  (= ${scaled(30_000)} ms ×n, max 300 s = ${scaled(300_000)} ms), un-ejected at the 10 s (= ${scaled(10_000)} ms) sweep; max_ejection_percent`,
    '  = 10 % (one of 4 hosts may be ejected at a time); success-rate test inactive (needs 5 hosts); panic at 50 %; 429 not handled.',
    '',
    `Columns: "failed calls to dead B" = calls sent to B while it was dead (all fail); "time to eject" = from the first failure`,
    `a client saw on B to B's last pick before a ${EJECT_GAP_MS} ms pause in its picks; "time to recover" = from B's recovery to its next`,
    'pick / to its 5th pick; latency = the upstream call as the client waited for it;',
    'cost = sum of costPerUnit x tokens / 1000 of successful calls.',
  ];
}

interface Stack {
  env: BenchEnv;
  names: StackNames;
  watch: BreakerWatch;
  tenant: TestTenant;
  admin: Awaited<ReturnType<typeof startApi>>['admin'];
  close(): Promise<void>;
}

async function startStack(env: BenchEnv): Promise<Stack> {
  const names = stackNames();
  const aggregator = await startAggregator(names);
  const ingestor = await startIngestor(names);
  const api = await startApi(names, { breakerDefaults: { ...SCALED_BREAKER } });
  const tenant = await createTenant(api, `bench-routing-${env.runId}`);
  const watch = await BreakerWatch.start(env.redisUrl, names.redisPrefix);
  return {
    env, names, tenant, watch, admin: api.admin,
    async close() {
      await watch.stop();
      await api.close().catch((err: Error) => log(`api stop: ${err.message}`));
      await ingestor.close().catch((err: Error) => log(`ingestor stop: ${err.message}`));
      await aggregator.close().catch((err: Error) => log(`aggregator stop: ${err.message}`));
    },
  };
}

/** Runs one simulation on a worker thread (sim-worker.ts). */
function simulate(req: SimRequest): Promise<SimResult> {
  return new Promise((resolve, reject) => {
    const worker = new Worker(path.join(__dirname, 'sim-worker.js'), { workerData: req });
    let settled = false;
    worker.once('message', (m: { ok: true; result: SimResult } | { ok: false; error: string }) => {
      settled = true;
      if (m.ok) resolve(m.result);
      else reject(new Error(`simulation failed: ${m.error}`));
    });
    worker.once('error', (err) => {
      settled = true;
      reject(err);
    });
    worker.once('exit', (code) => {
      if (!settled) reject(new Error(`simulation thread exited with ${code}`));
    });
  });
}

async function runGateway(stack: Stack, strategy: StrategyName, opts: Options, label = `gateway ${strategy}`): Promise<RunResult> {
  const group = await registerGroup(stack.tenant.http, `sim-${strategy.toLowerCase().replace(/_/g, '-')}-${Date.now().toString(36)}`);
  stack.watch.watch(group.byName.B!.id);
  const loop = monitorEventLoopDelay({ resolution: 10 });
  loop.enable();
  const cpuBefore = process.cpuUsage();
  const sim = await simulate({
    policy: { kind: 'gateway', baseUrl: stack.tenant.http.baseUrl, apiKey: stack.tenant.apiKey, group, strategy },
    durationMs: opts.durationMs, clients: opts.clients, rate: opts.rate, seed: opts.seed,
  });
  loop.disable();
  const cpu = process.cpuUsage(cpuBefore);
  sim.notes.push(
    `stack thread (api + ingestor + aggregator): event-loop delay p50/p99/max ${(loop.percentile(50) / 1e6).toFixed(0)}/${(loop.percentile(99) / 1e6).toFixed(0)}/${(loop.max / 1e6).toFixed(0)} ms, ` +
      `process CPU ${((cpu.user + cpu.system) / 1000 / opts.durationMs * 100).toFixed(0)} % of one core, load average ${os.loadavg()[0]!.toFixed(1)}`,
  );
  // Let the last reports reach the aggregator before reading its audit trail.
  await sleep(1000);
  const transitions = (await transitionsOf(stack.admin, group.byName.B!.id)).map((x) => ({ ...x, at: x.at - sim.startEpoch }));
  const heard = stack.watch.seen
    .filter((a) => a.state !== 'CLOSED' || a.since > sim.startEpoch)
    .map((a) => `${a.state}@${Math.round(a.receivedAt - sim.startEpoch)}${a.state !== 'CLOSED' ? ` (since ${Math.round(a.since - sim.startEpoch)})` : ''}`);
  const permits = await stack.watch.probeCounters(group.byName.B!.id);
  if (permits.length) {
    const stateAt = (since: number) => transitions.find((x) => Math.abs(x.at + sim.startEpoch - since) < 1)?.to ?? '?';
    sim.notes.unshift(
      `B's probe permits (halfOpenProbes=${SCALED_BREAKER.halfOpenProbes}) per record they were asked under: ` +
        permits.map((p) => `${stateAt(p.since)} since ${Math.round(p.since - sim.startEpoch)}: ${Math.min(p.attempts, SCALED_BREAKER.halfOpenProbes)} granted of ${p.attempts} asked`).join('; '),
    );
  }
  sim.notes.unshift(`B's record as announced to the api replicas (received at, ms since start): ${heard.join(' → ') || 'nothing'}`);
  return {
    label, kind: 'gateway', durationMs: opts.durationMs, offered: Math.round((opts.rate * opts.durationMs) / 1000), bDiesAt: sim.bDiesAt, bRecoversAt: sim.bRecoversAt, cSlowFrom: sim.cSlowFrom,
    calls: sim.calls, bTransitions: transitions, reportErrors: sim.reportErrors, notes: sim.notes,
  };
}

async function runBaselines(opts: Options): Promise<RunResult[]> {
  const one = async (name: BaselineName): Promise<RunResult> => {
    const policy: PolicySpec = name === 'envoy' ? { kind: 'envoy' } : { kind: 'litellm', cooldownModelMs: name === 'litellm' ? 5_000 : 60_000 };
    const label = name === 'envoy' ? 'Envoy-like (model of defaults)' : `LiteLLM-like (model of defaults, cooldown ${name === 'litellm' ? '5' : '60'} s)`;
    const sim = await simulate({ policy, durationMs: opts.durationMs, clients: opts.clients, rate: opts.rate, seed: opts.seed });
    return { label, kind: 'baseline', durationMs: opts.durationMs, offered: Math.round((opts.rate * opts.durationMs) / 1000), bDiesAt: sim.bDiesAt, bRecoversAt: sim.bRecoversAt, cSlowFrom: sim.cSlowFrom, calls: sim.calls, notes: sim.notes };
  };
  // In-process policies cost next to no CPU: they share one time slot, each on its own thread.
  return Promise.all(opts.baselines.map(one));
}

async function main(): Promise<void> {
  const opts = parseArgs(process.argv.slice(2));
  const wall = clock();
  process.env['TEST_LOG_LEVEL'] ??= process.env['BENCH_LOG_LEVEL'] ?? 'error';
  const results: RunResult[] = [];

  let broker: Awaited<ReturnType<typeof ensureBroker>> | null = null;
  let env: BenchEnv | null = null;
  let stack: Stack | null = null;
  let cleaning: Promise<void> | null = null;
  const cleanup = () =>
    (cleaning ??= (async () => {
      if (stack) await stack.close();
      if (env) await destroyBenchEnv(env, stack ? [stack.names.topic, stack.names.dlqTopic] : [], log);
      broker?.release();
    })());
  const onSignal = (sig: NodeJS.Signals) => {
    log(`${sig}: cleaning up...`);
    void cleanup().finally(() => process.exit(130));
  };
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);

  try {
    if (opts.strategies.length > 0) {
      broker = await ensureBroker(log);
      env = await createBenchEnv(broker.brokers);
      log(`database ${env.databaseName}, redis prefix ${env.redisPrefix}`);
      stack = await startStack(env);
      log(`stack up after ${(wall() / 1000).toFixed(1)} s; warming up...`);
      await runGateway(stack, 'SMART', { ...opts, durationMs: 2000 }, 'warm-up');
      for (const strategy of opts.strategies) {
        const started = wall();
        const r = await runGateway(stack, strategy, opts);
        results.push(r);
        log(`${r.label}: ${r.calls.length} calls in ${((wall() - started) / 1000).toFixed(1)} s`);
      }
    }
    if (opts.baselines.length > 0) {
      log(`baselines (${opts.baselines.join(', ')}) in one ${(opts.durationMs / 1000).toFixed(0)} s slot...`);
      results.push(...(await runBaselines(opts)));
    }
  } finally {
    await cleanup();
  }

  const rows = results.map((result) => ({ result, m: computeMetrics(result) }));
  console.log('');
  console.log(describeSetup(opts).join('\n'));
  console.log('');
  console.log(markdownTable(rows));
  console.log('');
  for (const { result, m } of rows) console.log(summaryLine(result, m));
  const extra = rows
    .flatMap(({ result, m }) => [transitionsLine(result, m.firstFailAt), probeLine(result), ...(result.notes ?? []).map((n) => `  ${result.label}: ${n}`)])
    .filter((l): l is string => l !== null);
  if (extra.length) {
    console.log('');
    console.log('Evidence:');
    for (const l of extra) console.log(l);
  }
  console.log('');
  console.log(`bench:routing took ${(wall() / 1000).toFixed(1)} s in all.`);
}

main().then(
  () => process.exit(0),
  (err: Error) => {
    console.error(`bench:routing failed: ${err.stack ?? err.message}`);
    process.exit(1);
  },
);
