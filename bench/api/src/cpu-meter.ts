// Where the machine's CPU went during a measured run: the measured child, this process (the load
// generator), Redis, the Kafka broker, and everything else (other work on the machine). On two
// cores these compete with each other, so the split explains a throughput figure.
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { REPO_ROOT } from './bench-env';

const TICKS = 100;

function procCpuSeconds(pid: number): number {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return (Number(fields[11]) + Number(fields[12])) / TICKS;
  } catch {
    return 0;
  }
}

/** Busy and total CPU seconds of the whole machine (/proc/stat, all cores). */
function machineCpu(): { busy: number; total: number } {
  try {
    const cpu = readFileSync('/proc/stat', 'utf8').split('\n')[0]!.trim().split(/\s+/).slice(1).map(Number);
    const idle = (cpu[3] ?? 0) + (cpu[4] ?? 0);
    const total = cpu.reduce((a, b) => a + b, 0);
    return { busy: (total - idle) / TICKS, total: total / TICKS };
  } catch {
    return { busy: Number.NaN, total: Number.NaN };
  }
}

function pidsNamed(comm: string): number[] {
  const out: number[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      if (readFileSync(`/proc/${entry}/comm`, 'utf8').trim() === comm) out.push(Number(entry));
    } catch {
      // gone meanwhile
    }
  }
  return out;
}

function localBrokerPid(): number[] {
  try {
    const pid = Number(readFileSync(path.join(REPO_ROOT, '.run/kafka/kafka.pid'), 'utf8').trim());
    return Number.isInteger(pid) && pid > 0 ? [pid] : [];
  } catch {
    return [];
  }
}

export interface CpuSplit {
  /** Shares of one core, per process group, plus `other` (the rest of the machine). */
  shares: Record<string, number>;
  /** CPU seconds per process group. */
  seconds: Record<string, number>;
  describe(): string;
}

/** Starts measuring; `stop()` returns the shares of one core each group used meanwhile. */
export function startCpuMeter(children: Record<string, number>): { stop(): CpuSplit } {
  const groups: Record<string, number[]> = {
    ...Object.fromEntries(Object.entries(children).map(([k, pid]) => [k, [pid]])),
    redis: pidsNamed('redis-server'),
    kafka: localBrokerPid(),
  };
  const sum = (pids: number[]) => pids.reduce((s, p) => s + procCpuSeconds(p), 0);
  const before = Object.fromEntries(Object.entries(groups).map(([k, pids]) => [k, sum(pids)]));
  const self0 = process.cpuUsage();
  const machine0 = machineCpu();
  const t0 = process.hrtime.bigint();
  return {
    stop() {
      const wall = Number(process.hrtime.bigint() - t0) / 1e9;
      const seconds: Record<string, number> = {};
      for (const [k, pids] of Object.entries(groups)) if (pids.length) seconds[k] = sum(pids) - before[k]!;
      const self = process.cpuUsage(self0);
      seconds['load generator'] = (self.user + self.system) / 1e6;
      const ours = Object.values(seconds).reduce((a, b) => a + b, 0);
      const machine = machineCpu();
      seconds['other'] = Math.max(0, machine.busy - machine0.busy - ours);
      const shares = Object.fromEntries(Object.entries(seconds).map(([k, v]) => [k, v / wall]));
      return {
        shares, seconds,
        describe: () => `CPU (cores): ${Object.entries(shares).map(([k, v]) => `${k} ${v.toFixed(2)}`).join(', ')}`,
      };
    },
  };
}
