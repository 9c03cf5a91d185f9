// Target: report → decision freshness. For each sample a distinct healthy instance gets the
// threshold of consecutive failures over HTTP; the clock runs from the last report's 200 until the
// api stops selecting it. Polled with selects that exclude every other instance of the group, so
// what is measured is exactly what selection sees: the api replica's in-process health records.
import { performance } from 'node:perf_hooks';
import { report, select, type LiveStack } from './live-stack';
import type { BenchContext, Outcome } from './outcome';
import { ms, percentile, sortedOf } from './stats';
import { createTenant, registerInstances, type Instance, type Tenant } from './tenant';

const IDENTIFIER = 'fresh';
/** BREAKER_CONSECUTIVE_FAILURES at its default. */
export const THRESHOLD = 5;
const SAMPLE_TIMEOUT_MS = 5000;
const WARMUP_TIMEOUT_MS = 60_000;

/** ms from the last failure's 200 until a select of only `inst` stops answering it; null on timeout. */
async function openAfterFailures(stack: LiveStack, tenant: Tenant, inst: Instance, others: string[], timeoutMs: number): Promise<{ ms: number; polls: number } | null> {
  const only = { excludeInstanceIds: others };
  const before = await select(tenant, IDENTIFIER, only);
  if (before.status !== 200 || before.body.data?.id !== inst.id) {
    throw new Error(`instance ${inst.id} is not selectable before its failures: HTTP ${before.status} ${JSON.stringify(before.body).slice(0, 300)}`);
  }
  for (let k = 0; k < THRESHOLD; k++) await report(stack, tenant, inst, false);
  const t0 = performance.now();
  let polls = 0;
  for (;;) {
    const res = await select(tenant, IDENTIFIER, only);
    polls++;
    const elapsed = performance.now() - t0;
    if (res.status !== 200) {
      if (res.body.errorCode !== 'NO_HEALTHY_INSTANCE') throw new Error(`unexpected select answer: HTTP ${res.status} ${JSON.stringify(res.body).slice(0, 300)}`);
      return { ms: elapsed, polls };
    }
    if (elapsed > timeoutMs) return null;
  }
}

export async function freshnessBench(ctx: BenchContext, stack: LiveStack): Promise<Outcome> {
  const samples = ctx.quick ? 30 : 50;
  const tenant = await createTenant(stack.client, ctx.env.adminToken, `bench-freshness-${ctx.env.runId}`);
  const instances = await registerInstances(tenant, [IDENTIFIER], samples + 1);
  const ids = instances.map((i) => i.id);
  const othersOf = (inst: Instance) => ids.filter((id) => id !== inst.id);

  // The first one waits for the aggregator to own its partitions (group join) and is not counted.
  const warm = instances[0]!;
  const first = await openAfterFailures(stack, tenant, warm, othersOf(warm), WARMUP_TIMEOUT_MS);
  if (!first) throw new Error(`the aggregator did not open a breaker within ${WARMUP_TIMEOUT_MS / 1000} s\n${stack.aggregator.tail()}`);
  ctx.say(`  freshness warm-up: first breaker opened ${ms(first.ms)} after its last report`);

  const times: number[] = [];
  let timeouts = 0;
  let polls = 0;
  for (const inst of instances.slice(1)) {
    const r = await openAfterFailures(stack, tenant, inst, othersOf(inst), SAMPLE_TIMEOUT_MS);
    if (r) {
      times.push(r.ms);
      polls += r.polls;
    } else {
      timeouts++;
      times.push(SAMPLE_TIMEOUT_MS);
    }
  }
  const sorted = sortedOf(times);
  const p50 = percentile(sorted, 50);
  const p99 = percentile(sorted, 99);
  const pass = p99 <= 1000 && timeouts === 0;
  return {
    order: 5,
    name: 'report → decision freshness',
    figures: `p50 ${ms(p50)}, p99 ${ms(p99)}, max ${ms(sorted[sorted.length - 1]!)} over ${samples} instances (${(polls / Math.max(1, samples - timeouts)).toFixed(0)} select polls each on average${timeouts ? `; ${timeouts} never skipped within ${SAMPLE_TIMEOUT_MS / 1000} s` : ''})`,
    target: 'p99 ≤ 1 s',
    pass,
    rows: [{ what: `report → decision freshness (${THRESHOLD} failures → select skips it), ${samples} samples`, figure: `p50 ${ms(p50)}, p99 ${ms(p99)}`, target: 'p99 ≤ 1 s', pass }],
  };
}
