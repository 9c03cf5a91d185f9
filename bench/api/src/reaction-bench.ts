// Target: breaker reaction. One chat session (AgentX sends its session id as a SESSION affinity key)
// is bound to an instance that then starts failing; the client runs sequential select → call →
// report loops. Counted: the failed calls that instance got before selects stopped returning it.
// The threshold is BREAKER_CONSECUTIVE_FAILURES (default 5): it takes that many failures to know.
import { randomBytes } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import { THRESHOLD } from './freshness-bench';
import { report, select, type LiveStack } from './live-stack';
import type { BenchContext, Outcome } from './outcome';
import { ms, sleep } from './stats';
import { createTenant, registerInstances, type Instance, type Tenant } from './tenant';

const GROUP_SIZE = 3;
const HEALTHY_CALLS = 10;
/** The instance counts as skipped once it has not been selected for this long after its failures. */
const QUIET_MS = 1500;
const TRIAL_TIMEOUT_MS = 20_000;

interface Trial {
  failedCalls: number;
  /** From the threshold-th failure's 200 to the last selection of the instance. */
  tailMs: number;
}

async function bindSession(stack: LiveStack, tenant: Tenant, identifier: string, target: Instance, group: Instance[]): Promise<string> {
  for (let i = 0; i < 100; i++) {
    const session = randomBytes(16).toString('hex');
    const res = await select(tenant, identifier, { affinityKey: session, affinityType: 'SESSION' });
    if (res.status !== 200 || !res.body.data) throw new Error(`select: HTTP ${res.status} ${JSON.stringify(res.body).slice(0, 300)}`);
    const chosen = group.find((g) => g.id === res.body.data!.id)!;
    await report(stack, tenant, chosen, true, res.body.data.selectionId);
    if (chosen.id === target.id) return session;
  }
  throw new Error(`no session got bound to ${target.id} in 100 tries`);
}

async function trial(stack: LiveStack, tenant: Tenant, identifier: string, group: Instance[], callMs: number): Promise<Trial> {
  const failing = group[0]!;
  const session = await bindSession(stack, tenant, identifier, failing, group);
  const call = async (failed: boolean) => {
    const res = await select(tenant, identifier, { affinityKey: session, affinityType: 'SESSION' });
    if (res.status !== 200 || !res.body.data) throw new Error(`select: HTTP ${res.status} ${JSON.stringify(res.body).slice(0, 300)}`);
    const chosen = group.find((g) => g.id === res.body.data!.id)!;
    if (callMs > 0) await sleep(callMs);
    const fails = failed && chosen.id === failing.id;
    await report(stack, tenant, chosen, !fails, res.body.data.selectionId);
    return fails;
  };
  for (let i = 0; i < HEALTHY_CALLS; i++) await call(false);

  // From here on every call to `failing` fails.
  const start = performance.now();
  let failedCalls = 0;
  let lastFailedAt = 0;
  let thresholdAt = 0;
  for (;;) {
    if (await call(true)) {
      failedCalls++;
      lastFailedAt = performance.now();
      if (failedCalls === THRESHOLD) thresholdAt = lastFailedAt;
    }
    const now = performance.now();
    if (failedCalls >= THRESHOLD && now - lastFailedAt > QUIET_MS) break;
    if (now - start > TRIAL_TIMEOUT_MS) throw new Error(`the failing instance was still selected after ${TRIAL_TIMEOUT_MS / 1000} s (${failedCalls} failed calls)`);
  }
  return { failedCalls, tailMs: lastFailedAt - thresholdAt };
}

export async function reactionBench(ctx: BenchContext, stack: LiveStack): Promise<Outcome> {
  const tightTrials = ctx.quick ? 3 : 5;
  const pacedTrials = ctx.quick ? 2 : 3;
  const pacedCallMs = 100;
  const identifiers = Array.from({ length: tightTrials + pacedTrials }, (_, i) => `react-${i}`);
  const tenant = await createTenant(stack.client, ctx.env.adminToken, `bench-reaction-${ctx.env.runId}`);
  const all = await registerInstances(tenant, identifiers, identifiers.length * GROUP_SIZE);
  const groupOf = (id: string) => all.filter((i) => i.apiIdentifier === id);

  const tight: Trial[] = [];
  for (const id of identifiers.slice(0, tightTrials)) tight.push(await trial(stack, tenant, id, groupOf(id), 0));
  const paced: Trial[] = [];
  for (const id of identifiers.slice(tightTrials)) paced.push(await trial(stack, tenant, id, groupOf(id), pacedCallMs));

  const maxOf = (t: Trial[]) => Math.max(...t.map((x) => x.failedCalls));
  const list = (t: Trial[]) => t.map((x) => x.failedCalls).join(', ');
  const tail = (t: Trial[]) => ms(Math.max(...t.map((x) => x.tailMs)));
  // Whether the instance is skipped in time is a race between the client's next select and the
  // aggregator's announcement, so every trial counts, paced ones included.
  const worst = maxOf([...tight, ...paced]);
  const pass = worst <= THRESHOLD;
  ctx.say(`  breaker reaction: back-to-back loop failed calls per trial [${list(tight)}], longest tail after the ${THRESHOLD}th ${tail(tight)}; with ${pacedCallMs} ms calls [${list(paced)}], tail ${tail(paced)}`);
  return {
    order: 6,
    name: 'breaker reaction',
    figures: `at most ${worst} failed calls before it was skipped (sequential select → fail-report loops; back to back, ${tightTrials} trials: ${list(tight)}; with ${pacedCallMs} ms calls, ${pacedTrials} trials: ${list(paced)})`,
    target: `≤ ${THRESHOLD} (BREAKER_CONSECUTIVE_FAILURES)`,
    pass,
    rows: [
      { what: 'breaker reaction: failed calls to a failing instance before it is skipped (sequential loops)', figure: `max ${worst} (back to back: ${list(tight)}; ${pacedCallMs} ms calls: ${list(paced)})`, target: `≤ ${THRESHOLD}`, pass },
    ],
  };
}
