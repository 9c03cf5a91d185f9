// `npm run bench:api [-- --quick] [--profile] [--duration S] [--only throughput,freshness,reaction,memory] [--api-node-args="FLAGS"]`: proves the api's targets of ARCHITECTURE.md §11
// on this machine and prints the figures.
//
//   1. select throughput vs a bare express "hello" (same requests, 50 connections), select latency
//   2. HTTP report → Kafka (acks=all) throughput, every report answered 200
//   3. api RSS with 10,000 registered instances (health records cached, every group selected)
//   4. report → decision freshness: last failure report's 200 → selects stop returning the instance
//   5. breaker reaction: failed calls a failing instance gets before it is skipped
//
// Services run as child processes from their compiled composition roots (services/*/dist/main.js),
// one measured process at a time. Everything created (database apg_bench_test_*, Redis prefix
// apg-bench-test:*, topics, consumer groups, the local broker if this run started it) is removed.
import { mkdirSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { parseArgs } from 'node:util';
import { createBenchEnv, REPO_ROOT, type BenchEnv } from './bench-env';
import { killAllChildren } from './children';
import { freshnessBench } from './freshness-bench';
import { startLiveStack, type LiveStack } from './live-stack';
import { memoryBench } from './memory-bench';
import { failed, line, markdownTable, type BenchContext, type Outcome } from './outcome';
import { summarizeProfiles } from './profile-summary';
import { reactionBench } from './reaction-bench';
import { throughputBench } from './throughput-bench';

const { values: args } = parseArgs({
  options: {
    quick: { type: 'boolean', default: false },
    profile: { type: 'boolean', default: false },
    duration: { type: 'string' },
    /** Extra node flags for the api children (experiments: V8 flags, --require of a patch). */
    'api-node-args': { type: 'string' },
    /** Comma-separated subset of: throughput, freshness, reaction, memory. */
    only: { type: 'string' },
  },
});

const say = (msg: string) => console.log(msg);

async function main(): Promise<number> {
  const started = performance.now();
  const quick = args.quick ?? false;
  const durationS = args.duration ? Number(args.duration) : quick ? 3 : 10;
  if (!Number.isFinite(durationS) || durationS <= 0) throw new Error('--duration must be a positive number of seconds');

  say(`bench:api: ${quick ? 'quick' : 'full'} run, ${durationS} s per load run, node ${process.version}, ${os.cpus().length} CPUs, load average ${os.loadavg().map((l) => l.toFixed(2)).join(' ')}`);
  if (os.loadavg()[0]! > 0.5 * os.cpus().length) say('bench:api: warning: the machine is already busy; throughput and latency figures will be pessimistic');
  let env: BenchEnv | null = null;
  let stack: LiveStack | null = null;
  const interrupted = async () => {
    say('bench:api: interrupted; stopping the children and removing what this run created');
    killAllChildren();
    await env?.teardown();
    process.exit(130);
  };
  // Whatever happens to this process, its children must not outlive it.
  process.once('exit', killAllChildren);
  process.once('SIGINT', () => void interrupted());
  process.once('SIGTERM', () => void interrupted());

  const benchEnv = await createBenchEnv(say);
  env = benchEnv;
  const profileDir = path.join(REPO_ROOT, '.run', 'bench-api', env.runId);
  if (args.profile) mkdirSync(profileDir, { recursive: true });
  const ctx: BenchContext = {
    env, quick, durationS,
    warmupS: quick ? 1 : 2,
    say,
    stack: (label) => benchEnv.stack(label),
    apiNodeArgs: (label) => [
      // As `npm start` and docker compose run the api (API_MAX_HEAP_MB); --api-node-args adds or overrides.
      `--max-old-space-size=${process.env['API_MAX_HEAP_MB'] ?? '160'}`,
      ...(args['api-node-args']?.split(' ').filter(Boolean) ?? []),
      ...(args.profile ? ['--cpu-prof', `--cpu-prof-dir=${profileDir}`, `--cpu-prof-name=api-${label}.cpuprofile`] : []),
    ],
  };
  say(`setup: database ${new URL(env.databaseUrl).pathname.slice(1)}, Redis prefix apg-bench-test:${env.runId}:, brokers ${env.brokers.join(',')} (${((performance.now() - started) / 1000).toFixed(1)} s)`);

  const only = new Set(args.only ? args.only.split(',').map((x) => x.trim()) : ['throughput', 'freshness', 'reaction', 'memory']);
  const outcomes: Outcome[] = [];
  const record = (o: Outcome) => {
    outcomes.push(o);
    say(line(o));
  };
  try {
    if (only.has('throughput')) {
      try {
        for (const o of await throughputBench(ctx)) record(o);
      } catch (err) {
        record(failed(1, 'select throughput', '≥ 80 % of hello', err));
        record(failed(2, 'select latency', 'p99 ≤ 10 ms', err));
        record(failed(3, 'HTTP report → Kafka', '≥ 5,000 reports/s, all 200', err));
        say(String((err as Error).stack ?? err));
      }
    }
    const sections = ([
      ['freshness', 5, 'report → decision freshness', 'p99 ≤ 1 s', (s) => freshnessBench(ctx, s)],
      ['reaction', 6, 'breaker reaction', '≤ 5 failed calls', (s) => reactionBench(ctx, s)],
      ['memory', 4, 'memory', '≤ 200 MB RSS', (s) => memoryBench(ctx, s)],
    ] satisfies [string, number, string, string, (s: LiveStack) => Promise<Outcome>][]).filter(([key]) => only.has(key));
    if (sections.length) {
      try {
        stack = await startLiveStack(ctx);
      } catch (err) {
        say(String((err as Error).stack ?? err));
      }
    }
    for (const [, order, name, target, run] of sections) {
      if (!stack) {
        record(failed(order, name, target, new Error('the api + aggregator stack did not start')));
        continue;
      }
      try {
        record(await run(stack));
      } catch (err) {
        record(failed(order, name, target, err));
        say(String((err as Error).stack ?? err));
      }
    }
  } finally {
    await stack?.stop();
    await env.teardown();
  }

  if (args.profile) say(`\nCPU profiles of the api children (${profileDir}):\n${summarizeProfiles(profileDir)}`);
  const seconds = (performance.now() - started) / 1000;
  say('\n## bench:api summary\n');
  for (const o of [...outcomes].sort((a, b) => a.order - b.order)) say(line(o));
  say(`\n${markdownTable(outcomes)}\n`);
  say(`machine load average at the end: ${os.loadavg().map((l) => l.toFixed(2)).join(' ')}`);
  say(`bench:api: ${outcomes.every((o) => o.pass) ? 'every target met' : `${outcomes.filter((o) => !o.pass).length} target(s) missed`} in ${seconds.toFixed(0)} s (${quick ? 'quick' : 'full'} run)`);
  return outcomes.every((o) => o.pass) ? 0 : 1;
}

main().then(
  (code) => process.exit(code),
  (err: unknown) => {
    console.error('bench:api failed:', err);
    killAllChildren();
    process.exit(2);
  },
);
