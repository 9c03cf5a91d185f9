// Shared plumbing of the benchmarks: a throw-away database, the local broker, child services, stats.
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { createDb, ensureDatabase, runMigrations, type Db } from '@apg/platform';

export const REPO_ROOT = path.resolve(__dirname, '../..');
const KAFKA_SH = path.join(REPO_ROOT, 'infra/kafka/kafka.sh');

export const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/** A database of its own (`apg_bench_<id>`), migrated; `drop()` removes it (and refuses any other name). */
export async function createBenchDatabase(): Promise<{ url: string; name: string; db: Db; drop(): Promise<void> }> {
  const server = new URL(process.env['DATABASE_URL'] ?? 'postgres://postgres@127.0.0.1:5432/postgres');
  const name = `apg_bench_${Date.now().toString(36)}${randomBytes(3).toString('hex')}`;
  server.pathname = `/${name}`;
  const url = server.toString();
  await ensureDatabase(url);
  await runMigrations(url);
  const db = createDb(url, { max: 4, application: 'apg-bench' });
  return {
    url, name, db,
    async drop() {
      await db.close();
      if (!/^apg_bench_[a-z0-9]+$/.test(name)) throw new Error(`refusing to drop ${name}`);
      const admin = new URL(url);
      admin.pathname = '/postgres';
      const adminDb = createDb(admin.toString(), { max: 1 });
      try {
        await adminDb.query('bench.drop_database', `DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`);
      } finally {
        await adminDb.close();
      }
    },
  };
}

/** The brokers to use; starts the project's local broker when none is named and none runs (stopped by `release`). */
export function ensureBroker(): { brokers: string[]; release(): void } {
  const named = process.env['KAFKA_BROKERS'];
  if (named) return { brokers: named.split(',').map((b) => b.trim()), release: () => undefined };
  const run = (cmd: string) => {
    try {
      execFileSync('bash', [KAFKA_SH, cmd], { stdio: ['ignore', 'pipe', 'pipe'] });
      return true;
    } catch {
      return false;
    }
  };
  let started = false;
  if (!run('status')) {
    console.log('bench: starting the local Kafka broker (infra/kafka/kafka.sh start)...');
    if (!run('start')) throw new Error('could not start the local Kafka broker: run `npm run kafka -- start` to see why');
    started = true;
  }
  return { brokers: ['127.0.0.1:9092'], release: () => { if (started) run('stop'); } };
}

/** A service run as a child process from its compiled composition root, like in production. */
export interface ChildService {
  pid: number;
  /** CPU seconds (user + system) used so far, from /proc (0 where there is no /proc). */
  cpuSeconds(): number;
  stop(): Promise<number | null>;
  kill(): Promise<void>;
  exited: Promise<number | null>;
}

export function startChild(script: string, env: Record<string, string>, nodeArgs: string[] = []): ChildService {
  const child: ChildProcess = spawn(process.execPath, [...nodeArgs, path.join(REPO_ROOT, script)], {
    cwd: REPO_ROOT,
    env: { ...process.env, ...env },
    stdio: ['ignore', 'inherit', 'inherit'],
  });
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  const pid = child.pid ?? -1;
  return {
    pid,
    exited,
    cpuSeconds() {
      try {
        // Fields 14 and 15 of /proc/<pid>/stat (after the parenthesised name): utime, stime in clock ticks.
        const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
        const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
        return (Number(fields[11]) + Number(fields[12])) / 100;
      } catch {
        return 0;
      }
    },
    async stop() {
      if (child.exitCode === null) child.kill('SIGTERM');
      return exited;
    },
    async kill() {
      if (child.exitCode === null) child.kill('SIGKILL');
      await exited;
    },
  };
}

/** Nearest-rank percentile of an unsorted sample (NaN when empty). */
export function percentile(values: number[], p: number): number {
  if (values.length === 0) return Number.NaN;
  const sorted = [...values].sort((a, b) => a - b);
  const rank = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
  return sorted[rank]!;
}

export const fmt = (n: number) => Math.round(n).toLocaleString('en-US');
