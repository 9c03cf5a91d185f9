// What one run measured, and the table and summary lines printed from it.
import { INSTANCE_NAMES, type InstanceName } from './scenario';

/** One client attempt: a selection (or a failed one) and, when something was selected, the call. */
export interface CallRecord {
  /** ms since the run started, when the selection was asked for / answered / the call ended. */
  tAsk: number;
  tSelected: number;
  tEnd: number;
  /** `null`: nothing was selectable (the gateway answered an error, or every instance was cooling). */
  instance: InstanceName | null;
  ok: boolean;
  statusCode?: number;
  latencyMs: number;
  cost: number;
  selectMs: number;
  /** How long the report took (the gateway answers once Kafka acknowledged it). */
  reportMs?: number;
  /** The gateway's breaker state of the chosen instance at selection time (HALF_OPEN = a probe). */
  breakerState?: string;
}

export interface RunResult {
  label: string;
  kind: 'gateway' | 'baseline';
  durationMs: number;
  /** Attempts the clients would have made had every loop kept its pace. */
  offered: number;
  bDiesAt: number;
  bRecoversAt: number;
  cSlowFrom: number;
  calls: CallRecord[];
  /** Breaker transitions of B as the gateway recorded them (ms since run start). */
  bTransitions?: { at: number; from: string; to: string; reason: string }[];
  reportErrors?: number;
  notes?: string[];
}

/** Selections of B separated by a pause of at least this long count as "B no longer selected". */
export const EJECT_GAP_MS = 250;
/** "Back in rotation": B's pick number ROTATION_PICKS after its recovery (past the gateway's 3 half-open probes). */
const ROTATION_PICKS = 5;

export interface Metrics {
  calls: number;
  ok: number;
  successPct: number;
  noInstance: number;
  /** Calls sent to B while it was dead (all of them failed). */
  deadCalls: number;
  /** First failure on B after it died (when the caller learnt it), ms since run start. */
  firstFailAt: number | null;
  /** ms from B's first failure until its last selection before a pause of EJECT_GAP_MS; null = never paused. */
  ejectMs: number | null;
  /** Sizes of the bursts of calls B got while dead (after the first one: re-probes / re-admissions). */
  deadBursts: number[];
  /** ms from B's recovery to its next selection; null = never selected again. */
  recoverMs: number | null;
  /** ms from B's recovery to its 5th pick; null = never. */
  rotationMs: number | null;
  p50: number;
  p95: number;
  cost: number;
  costPerKOk: number;
  selectP50: number;
  selectP95: number;
  reportP50: number;
  reportP95: number;
  rateLimited: number;
  timeouts: number;
  /** Share of selections per instance in each phase: before B dies, while dead, after recovery. */
  shares: { pre: Record<InstanceName, number>; dead: Record<InstanceName, number>; post: Record<InstanceName, number> };
  /** Calls to C once it turned slow, as a share of that period's selections. */
  cSlowShare: number;
}

export function percentile(values: number[], p: number): number {
  if (values.length === 0) return Number.NaN;
  const sorted = [...values].sort((a, b) => a - b);
  const rank = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
  return sorted[rank]!;
}

function sharesOf(calls: CallRecord[]): Record<InstanceName, number> {
  const picked = calls.filter((c) => c.instance !== null);
  const out = { A: 0, B: 0, C: 0, D: 0 } as Record<InstanceName, number>;
  for (const c of picked) out[c.instance!]++;
  for (const n of INSTANCE_NAMES) out[n] = picked.length ? out[n] / picked.length : 0;
  return out;
}

export function computeMetrics(r: RunResult): Metrics {
  const calls = r.calls;
  const ok = calls.filter((c) => c.ok).length;
  const b = calls.filter((c) => c.instance === 'B').sort((x, y) => x.tSelected - y.tSelected);
  const dead = b.filter((c) => c.tSelected >= r.bDiesAt && c.tSelected < r.bRecoversAt);
  const firstFailAt = dead.length ? Math.min(...dead.filter((c) => !c.ok).map((c) => c.tEnd)) : null;

  let ejectMs: number | null = null;
  const deadBursts: number[] = [];
  if (firstFailAt !== null) {
    const after = b.filter((c) => c.tSelected >= firstFailAt && c.tSelected < r.bRecoversAt).map((c) => c.tSelected);
    let last = firstFailAt;
    for (const t of [...after, r.bRecoversAt]) {
      if (t - last >= EJECT_GAP_MS) {
        ejectMs = last - firstFailAt;
        break;
      }
      last = t;
    }
    // Bursts of B calls during the outage (a pause of EJECT_GAP_MS separates two).
    let size = 0;
    let prev = -Infinity;
    for (const c of dead) {
      if (c.tSelected - prev >= EJECT_GAP_MS && size > 0) {
        deadBursts.push(size);
        size = 0;
      }
      size++;
      prev = c.tSelected;
    }
    if (size > 0) deadBursts.push(size);
  }

  const bAfter = b.filter((c) => c.tSelected >= r.bRecoversAt);
  const recoverMs = bAfter.length ? bAfter[0]!.tSelected - r.bRecoversAt : null;
  const nth = bAfter[ROTATION_PICKS - 1];
  const rotationMs = nth ? nth.tSelected - r.bRecoversAt : null;

  const latencies = calls.filter((c) => c.instance !== null).map((c) => c.latencyMs);
  const cost = calls.reduce((s, c) => s + c.cost, 0);
  const afterSlow = calls.filter((c) => c.instance !== null && c.tSelected >= r.cSlowFrom);
  return {
    calls: calls.length,
    ok,
    successPct: calls.length ? (100 * ok) / calls.length : 0,
    noInstance: calls.filter((c) => c.instance === null).length,
    deadCalls: dead.length,
    firstFailAt: firstFailAt === null || !Number.isFinite(firstFailAt) ? null : firstFailAt,
    ejectMs,
    deadBursts,
    recoverMs,
    rotationMs,
    p50: percentile(latencies, 50),
    p95: percentile(latencies, 95),
    cost,
    costPerKOk: ok ? (1000 * cost) / ok : 0,
    selectP50: percentile(calls.map((c) => c.selectMs), 50),
    selectP95: percentile(calls.map((c) => c.selectMs), 95),
    reportP50: percentile(calls.filter((c) => c.reportMs !== undefined).map((c) => c.reportMs!), 50),
    reportP95: percentile(calls.filter((c) => c.reportMs !== undefined).map((c) => c.reportMs!), 95),
    rateLimited: calls.filter((c) => c.statusCode === 429).length,
    timeouts: calls.filter((c) => c.statusCode === 504).length,
    shares: {
      pre: sharesOf(calls.filter((c) => c.tSelected < r.bDiesAt)),
      dead: sharesOf(calls.filter((c) => c.tSelected >= r.bDiesAt && c.tSelected < r.bRecoversAt)),
      post: sharesOf(calls.filter((c) => c.tSelected >= r.bRecoversAt)),
    },
    cSlowShare: afterSlow.length ? afterSlow.filter((c) => c.instance === 'C').length / afterSlow.length : 0,
  };
}

const ms = (v: number | null, never = 'never') => (v === null ? never : `${Math.round(v)}`);
const pct = (v: number) => `${Math.round(v * 100)}`;
const shareCell = (s: Record<InstanceName, number>) => INSTANCE_NAMES.map((n) => pct(s[n])).join('/');

export function markdownTable(rows: { result: RunResult; m: Metrics }[]): string {
  const head = [
    'policy', 'calls', 'success %', 'failed calls to dead B', 'time to eject (ms)', 'time to recover (ms): 1st / 5th pick',
    'p50 (ms)', 'p95 (ms)', 'total cost', 'cost / 1k ok', '429s', 'picks A/B/C/D % (before / B dead / after)',
  ];
  const lines = [`| ${head.join(' | ')} |`, `|${head.map((_, i) => (i === 0 ? '---' : '---:')).join('|')}|`];
  for (const { result, m } of rows) {
    lines.push(`| ${[
      result.label,
      m.calls,
      m.successPct.toFixed(1),
      m.deadCalls,
      m.firstFailAt === null ? 'n/a (not picked)' : ms(m.ejectMs),
      `${ms(m.recoverMs)} / ${ms(m.rotationMs)}`,
      Math.round(m.p50),
      Math.round(m.p95),
      m.cost.toFixed(1),
      m.costPerKOk.toFixed(0),
      m.rateLimited,
      `${shareCell(m.shares.pre)} · ${shareCell(m.shares.dead)} · ${shareCell(m.shares.post)}`,
    ].join(' | ')} |`);
  }
  return lines.join('\n');
}

export function summaryLine(result: RunResult, m: Metrics): string {
  const parts = [
    `${result.label}: ${m.successPct.toFixed(1)} % ok (${m.ok}/${m.calls}${m.noInstance ? `, ${m.noInstance} with no instance` : ''})`,
    `${m.deadCalls} calls on dead B (bursts ${m.deadBursts.join('+') || '-'})`,
    m.firstFailAt === null ? 'B not picked while dead' : m.ejectMs === null ? 'B never left the rotation while dead' : `B out ${Math.round(m.ejectMs)} ms after its first failure`,
    m.recoverMs === null ? 'B never picked after recovery' : `picked again ${Math.round(m.recoverMs)} ms after recovery${m.rotationMs === null ? ' (never a 5th time)' : ` (5th pick after ${Math.round(m.rotationMs)} ms)`}`,
    `p50/p95 ${Math.round(m.p50)}/${Math.round(m.p95)} ms`,
    `C share once slow ${pct(m.cSlowShare)} %`,
    `${m.rateLimited} × 429, ${m.timeouts} timeouts`,
    `cost ${m.cost.toFixed(1)}`,
  ];
  if (m.calls < 0.85 * result.offered) parts.push(`⚠ fell behind: ${m.calls} of ${result.offered} offered attempts`);
  if (result.kind === 'gateway') parts.push(`select p50/p95 ${m.selectP50.toFixed(1)}/${m.selectP95.toFixed(1)} ms, report p50/p95 ${m.reportP50.toFixed(1)}/${m.reportP95.toFixed(1)} ms${result.reportErrors ? `, ${result.reportErrors} failed reports` : ''}`);
  return `- ${parts.join('; ')}`;
}

export function transitionsLine(result: RunResult, firstFailAt: number | null): string | null {
  if (!result.bTransitions) return null;
  // When the client had the 5th failure of the outage acknowledged by the api (the default consecutive-failure
  // threshold): the aggregator cannot have opened the breaker on that rule before.
  const acked = result.calls
    .filter((c) => c.instance === 'B' && !c.ok && c.tSelected >= result.bDiesAt && c.tSelected < result.bRecoversAt && c.reportMs !== undefined)
    .map((c) => c.tEnd + c.reportMs!)
    .sort((a, b) => a - b);
  const fifth = acked[4];
  let firstOpen = true;
  const list = result.bTransitions
    .map((t) => {
      let note = '';
      if (t.to === 'OPEN' && t.from === 'CLOSED' && firstOpen && t.at >= result.bDiesAt) {
        firstOpen = false;
        const parts: string[] = [];
        if (firstFailAt !== null) parts.push(`+${Math.round(t.at - firstFailAt)} after the 1st failure seen`);
        if (fifth !== undefined) parts.push(`${t.at >= fifth ? '+' : ''}${Math.round(t.at - fifth)} after the 5th failure was reported`);
        parts.push(`"${t.reason}"`);
        note = ` (${parts.join(', ')})`;
      }
      return `${t.to}@${Math.round(t.at)}${note}`;
    })
    .join(' → ');
  return `  ${result.label} breaker of B (ms since start; died ${Math.round(result.bDiesAt)}, recovered ${Math.round(result.bRecoversAt)}): ${list || 'no transition'}`;
}

/**
 * The gateway's picks of B while it was dead, by the breaker state the select answered: HALF_OPEN (and an OPEN
 * whose open duration has passed) are half-open probes; times are ms since the run started.
 */
export function probeLine(result: RunResult): string | null {
  if (result.kind !== 'gateway') return null;
  const dead = result.calls
    .filter((c) => c.instance === 'B' && c.tSelected >= result.bDiesAt && c.tSelected < result.bRecoversAt)
    .sort((a, b) => a.tSelected - b.tSelected);
  const groups: string[] = [];
  let state: string | undefined;
  let times: number[] = [];
  const flush = () => {
    if (times.length) groups.push(`${state ?? '?'}×${times.length} @${times.map((x) => Math.round(x)).join(',')}`);
  };
  for (const c of dead) {
    if (c.breakerState !== state) {
      flush();
      state = c.breakerState;
      times = [];
    }
    times.push(c.tSelected);
  }
  flush();
  return `  ${result.label} picks of B while dead, by the breaker state in the select answer: ${groups.join('; ') || 'none'}`;
}
