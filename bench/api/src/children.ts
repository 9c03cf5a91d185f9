// Services run as child processes from their compiled composition roots, like in production, so the
// load generator (this process) never shares an event loop with what it measures.
import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { REPO_ROOT, type BenchEnv, type StackNames } from './bench-env';

export interface Child {
  name: string;
  pid: number;
  /** The port it listens on (the api's HTTP port, the hello server's; 0 for the aggregator). */
  port: number;
  /** Resident set size in bytes (VmRSS of /proc/<pid>/status). */
  rssBytes(): number;
  /** CPU seconds (user + system) used so far (/proc/<pid>/stat). */
  cpuSeconds(): number;
  /** The last lines it printed, for error messages. */
  tail(): string;
  /** SIGTERM, then SIGKILL after `graceMs`; resolves with the exit code. */
  stop(graceMs?: number): Promise<number | null>;
}

export interface SpawnOptions {
  /** Extra node flags, e.g. ['--cpu-prof', '--cpu-prof-dir=…']. */
  nodeArgs?: string[];
  /** Regex on stdout whose first group is the port; resolves when it matches. */
  ready: RegExp;
  timeoutMs?: number;
}

const TAIL_CHARS = 16_384;

/** Children still running, so an interrupted run can stop them all. */
const running = new Set<ChildProcess>();

/** SIGKILLs every child still running (used only when the benchmark itself is interrupted). */
export function killAllChildren(): void {
  for (const c of running) c.kill('SIGKILL');
}

export async function spawnChild(name: string, script: string, env: Record<string, string>, opts: SpawnOptions): Promise<Child> {
  const child: ChildProcess = spawn(process.execPath, [...(opts.nodeArgs ?? []), path.join(REPO_ROOT, script)], {
    cwd: REPO_ROOT,
    // Only what the service needs, so a DATABASE_URL or REDIS_PREFIX of the shell cannot leak in.
    env: { PATH: process.env['PATH'] ?? '', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  // Bounded: the api logs little at info, but a broken run must not grow this process's heap.
  const keep = (d: Buffer) => {
    out += d.toString();
    if (out.length > TAIL_CHARS * 2) out = out.slice(-TAIL_CHARS);
  };
  child.stdout?.on('data', keep);
  child.stderr?.on('data', keep);
  running.add(child);
  const exited = new Promise<number | null>((resolve) =>
    child.once('exit', (code) => {
      running.delete(child);
      resolve(code);
    }),
  );
  const pid = child.pid ?? -1;

  const port = await new Promise<number>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`${name} did not get ready in time:\n${out.slice(-4000)}`)), opts.timeoutMs ?? 30_000);
    const onData = () => {
      const m = opts.ready.exec(out);
      if (!m) return;
      clearTimeout(timer);
      child.stdout?.off('data', onData);
      resolve(Number(m[1] ?? 0));
    };
    child.stdout?.on('data', onData);
    void exited.then((code) => {
      clearTimeout(timer);
      reject(new Error(`${name} exited with ${code} before it was ready:\n${out.slice(-4000)}`));
    });
  });

  return {
    name, pid, port,
    rssBytes() {
      const m = /^VmRSS:\s+(\d+)\s+kB/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
      return m ? Number(m[1]) * 1024 : Number.NaN;
    },
    cpuSeconds() {
      try {
        const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
        // utime and stime are fields 14 and 15; count after the parenthesised command name.
        const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
        return (Number(fields[11]) + Number(fields[12])) / 100;
      } catch {
        return Number.NaN;
      }
    },
    tail: () => out.slice(-4000),
    async stop(graceMs = 15_000) {
      if (child.exitCode !== null || child.signalCode !== null) return exited;
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), graceMs);
      const code = await exited;
      clearTimeout(timer);
      return code;
    },
  };
}

/** The environment of a gateway service of one stack (defaults for everything not named). */
export function serviceEnv(env: BenchEnv, names: StackNames, extra: Record<string, string> = {}): Record<string, string> {
  return {
    DATABASE_URL: env.databaseUrl,
    REDIS_URL: env.redisUrl,
    REDIS_PREFIX: names.redisPrefix,
    KAFKA_BROKERS: env.brokers.join(','),
    KAFKA_CLIENT_ID: `apg-bench-${env.runId}`,
    KAFKA_TOPIC_CALL_RESULTS: names.topic,
    KAFKA_TOPIC_DLQ: names.dlqTopic,
    KAFKA_GROUP_AGGREGATOR: names.aggregatorGroup,
    ADMIN_TOKEN: env.adminToken,
    EVENT_SIGNING_SECRET: env.eventSigningSecret,
    LOG_LEVEL: 'info',
    ...extra,
  };
}

export function spawnApi(env: BenchEnv, names: StackNames, nodeArgs: string[] = [], extraEnv: Record<string, string> = {}): Promise<Child> {
  // The benchmarks measure the gateway, not its tenant quotas: one bench tenant registers 10,000 instances
  // in batches of 2,000 and selects far above the default 1,000/s.
  const quotas = { QUOTA_MAX_INSTANCES: '20000', QUOTA_MAX_BATCH_ITEMS: '2000', QUOTA_SELECTS_PER_SECOND: '0' };
  return spawnChild('api', 'services/api/dist/main.js', serviceEnv(env, names, { PORT: '0', HOST: '127.0.0.1', ...quotas, ...extraEnv }), {
    nodeArgs,
    ready: /"port":(\d+),[^\n]*"msg":"api listening"/,
  });
}

export function spawnAggregator(env: BenchEnv, names: StackNames): Promise<Child> {
  return spawnChild('aggregator', 'services/aggregator/dist/main.js', serviceEnv(env, names, { AGGREGATOR_PORT: '0' }), {
    ready: /"msg":"aggregator consuming"/,
    timeoutMs: 60_000,
  });
}

export function spawnHello(nodeArgs: string[] = []): Promise<Child> {
  return spawnChild('hello', 'bench/api/dist/hello-server.js', { PORT: '0', HOST: '127.0.0.1' }, { nodeArgs, ready: /"hello listening","port":(\d+)/ });
}
