// `npm run test:chaos` (issue 12): the HA stack on free ports, steady select → report traffic through both api
// replicas, then in turn kill -9 of the partition-leading Kafka broker, the Redis primary, one api replica,
// one aggregator and one ingestor, each started again after 10 s. Checks that every report acknowledged with
// 200 is in Postgres exactly once and counted once in the aggregators' windows, that selects kept
// succeeding, and that a dead upstream instance stayed skipped; prints the heal time of each fault.
// Exits 1 on any failed check. The last line is the summary asked for by the issue.
import { randomBytes } from 'node:crypto';
import { setMaxListeners } from 'node:events';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { createDb, createRedis, dropTestDatabase, ensureDatabase, runMigrations } from '@apg/platform';
import { freePort } from '../child-service';
import { HttpClient } from '../http-client';
import { register } from '../routing/routing-fixture';
import { createTenant } from '../tenant';
import { waitFor } from '../wait-for';
import { HaStack, type HaPorts } from '../ha/ha-stack';
import { ChaosTraffic, replicaOf } from './chaos-traffic';
import { episodesOf, type Episode } from './chaos-episodes';

const ADMIN_TOKEN = `chaos-admin-${randomBytes(8).toString('hex')}`;
const TOPIC = 'apg.call-results';
const PAUSE_MS = 10_000;
const THRESHOLD = 5; // BREAKER_CONSECUTIVE_FAILURES below
// The dead instance's own breaker (routingParams.breaker): a short open duration, so it goes HALF_OPEN every
// 2–4 s and is probed through every fault, instead of staying OPEN (and trivially uncalled) for the run.
// Two probes: with Redis down each of the two replicas counts its own, 2 × 2 stays within the threshold.
const DEAD_BREAKER = { openDurationMs: 2000, maxOpenDurationMs: 4000, halfOpenProbes: 2 };
// Longest the dead instance may go unprobed. Its open duration is at most 4 s; a report held while Kafka
// elects a new leader delays one probe's settle by seconds. A probe slot kept until its lease lapses (the
// default LEASE_TTL_MS, 120 s, + 10 s) would leave it unprobed far longer.
const MAX_UNPROBED_MS = 30_000;
// Calls of one half-open phase come within milliseconds; OPEN leaves at least 2 s without any.
const EPISODE_GAP_MS = DEAD_BREAKER.openDurationMs / 2;
// 0 = unpaced: CHAOS_WORKERS iterations in flight at once (several per replica), as fast as the machine allows.
const RATE = Number(process.env['CHAOS_RATE'] ?? 0);
const WORKERS = Number(process.env['CHAOS_WORKERS'] ?? 48);
const SERVER_URL = process.env['DATABASE_URL'] ?? 'postgres://postgres@127.0.0.1:5432/postgres';
const KEEP = process.env['CHAOS_KEEP'] === '1';

const say = (msg: string) => console.log(`chaos: ${msg}`);
const problems: string[] = [];
const check = (ok: boolean, what: string) => {
  if (!ok) problems.push(what);
  say(`${ok ? 'ok  ' : 'FAIL'} ${what}`);
};

async function distinctFreePorts(n: number): Promise<number[]> {
  const ports = new Set<number>();
  while (ports.size < n) ports.add(await freePort());
  return [...ports];
}

interface Phase {
  name: string;
  start: number;
  end: number;
  /** Iterations finished in the phase (the traffic's count at its start until it ends). */
  iterations: number;
}

const rate = (p: Phase) => Math.round((p.iterations * 1000) / Math.max(1, p.end - p.start));

/**
 * The dead instance's calls, episode by episode (see chaos-episodes.ts). The calls before its breaker was
 * first seen OPEN in Redis (selects sent before `openSeenAt`) are the warm-up (CLOSED → OPEN, before any fault): each replica's
 * local breaker opens on its threshold-th failed report while the aggregator's verdict is on its way, so no
 * select sent through a replica after it acknowledged that report may reach the instance before the open
 * duration ran out, counted from the earliest moment any breaker could have opened (when the threshold-th
 * failed report was sent: none can open on fewer). Every later open episode is held to the threshold.
 */
function checkDeadInstance(calls: ChaosTraffic['deadCalls'], openSeenAt: number, phases: Phase[], replicas: number): void {
  const warm = calls.filter((c) => c.at < openSeenAt);
  if (warm.length === 0) return check(false, 'the dead instance was never selected (nothing to check)');
  const rest = episodesOf(calls.filter((c) => c.at >= openSeenAt), EPISODE_GAP_MS);
  const episodes = [...episodesOf(warm, Infinity), ...rest];
  const reported = calls.filter((c) => c.reportedAt !== null).sort((a, b) => a.reportedAt! - b.reportedAt!);
  const firstOpen = reported.map((c) => c.reportSentAt!).sort((a, b) => a - b)[THRESHOLD - 1] ?? Infinity;
  let late = 0;
  for (let r = 1; r <= replicas; r++) {
    const via = reported.filter((c) => c.reportedVia === `api-${r}`);
    const opened = via[THRESHOLD - 1]?.reportedAt;
    if (opened === undefined || opened === null) continue;
    late += calls.filter((c) => c.replica === `api-${r}` && c.at > opened && c.at < firstOpen + DEAD_BREAKER.openDurationMs).length;
  }
  say(`dead instance: warm-up ${warm.length} calls (${fmt(episodes[0]!)}) before it was seen OPEN; ${rest.length} open episodes after`);
  // How long the instance went unprobed at most: a breaker stuck HALF_OPEN without handing out probes (a
  // slot nobody settled) shows here.
  const starts = [...episodes.map((e) => e.start), phases[phases.length - 1]!.end];
  let quiet = { ms: 0, from: 0 };
  for (let i = 1; i < starts.length; i++) if (starts[i]! - starts[i - 1]! > quiet.ms) quiet = { ms: starts[i]! - starts[i - 1]!, from: starts[i - 1]! };
  const quietPhase = phases.find((p) => quiet.from >= p.start && quiet.from < p.end)?.name ?? 'the end';
  check(quiet.ms <= MAX_UNPROBED_MS, `dead instance probed all through the run: longest time between two episodes (or to the end of the traffic) ${quiet.ms} ms ≤ ${MAX_UNPROBED_MS} ms, from an episode in "${quietPhase}" (its open duration is ${DEAD_BREAKER.openDurationMs}–${DEAD_BREAKER.maxOpenDurationMs} ms)`);
  check(late === 0, `warm-up: no replica selected the dead instance after acknowledging its ${THRESHOLD}th failed report (${late} did)`);
  const inPhase = (p: Phase, e: Episode) => e.start >= p.start && (e.start < p.end || p === phases[phases.length - 1]);
  for (const p of phases) {
    const eps = rest.filter((e) => inPhase(p, e));
    const max = eps.reduce((m, e) => Math.max(m, e.calls), 0);
    const worst = eps.find((e) => e.calls === max);
    check(max <= THRESHOLD, `${p.name}: dead instance got ≤ ${THRESHOLD} (its threshold) failed calls per open episode: ${eps.length} episodes, ${eps.reduce((n, e) => n + e.calls, 0)} calls, max ${max}${worst ? ` (${fmt(worst)})` : ''}`);
  }
}

const fmt = (e: Episode) => [...e.byReplica].map(([r, n]) => `${r} ${n}`).join(', ');

async function main(): Promise<number> {
  // Each GatewayClient listens on its own close signal once per request in flight; with WORKERS in flight
  // that is more than Node's default of 10 and it would warn of a leak that is not one.
  setMaxListeners(WORKERS * 2);
  const p = await distinctFreePorts(17);
  const ports: HaPorts = {
    kafka: p.slice(0, 3), kafkaControllers: p.slice(3, 6), redis: [p[6]!, p[7]!], sentinels: [p[8]!, p[9]!, p[10]!],
    api: [p[11]!, p[12]!], ingestor: [p[13]!, p[14]!], aggregator: [p[15]!, p[16]!],
  };
  const dir = mkdtempSync(path.join(tmpdir(), 'apg-chaos-'));
  const dbUrl = new URL(SERVER_URL);
  dbUrl.pathname = `/apg_test_chaos_${Date.now().toString(36)}`;
  const databaseUrl = dbUrl.toString();
  await ensureDatabase(databaseUrl);
  await runMigrations(databaseUrl);
  const stack = new HaStack({
    ports, dir, databaseUrl, adminToken: ADMIN_TOKEN, say,
    serviceEnv: {
      LOG_LEVEL: 'info',
      // Windows long enough to hold the whole run (so "counted once" can be read from them); the dead
      // instance overrides the open durations (DEAD_BREAKER).
      BREAKER_WINDOW_MS: '3600000', BREAKER_OPEN_MS: '3600000', BREAKER_MAX_OPEN_MS: '3600000',
      BREAKER_CONSECUTIVE_FAILURES: String(THRESHOLD),
      QUOTA_SELECTS_PER_SECOND: '100000',
      KAFKA_TOPIC_PARTITIONS: '6',
    },
  });
  const t0 = Date.now();
  const redisTarget = () => ({ kind: 'sentinel' as const, sentinels: stack.redis.sentinelList.split(',').map((hp) => ({ host: '127.0.0.1', port: Number(hp.split(':')[1]) })), name: stack.redis.name });
  let traffic: ChaosTraffic | null = null;
  try {
    await stack.start();
    await stack.waitReady(240_000, (w) => say(`waiting for ${w.join(', ')}`));
    say(`HA stack ready in ${Date.now() - t0} ms (logs in ${dir})`);

    const a = new HttpClient(`http://127.0.0.1:${ports.api[0]}`);
    const tenant = await createTenant({ http: a, admin: a.with({ authorization: `Bearer ${ADMIN_TOKEN}` }) }, `chaos-${randomBytes(4).toString('hex')}`);
    const instances = await register(tenant, [0, 1, 2, 3, 4].map((i) => ({
      businessId: `chaos-${i}`, apiIdentifier: 'chaos', ...(i === 4 ? { routingParams: { breaker: DEAD_BREAKER } } : {}),
    })));
    const dead = instances[4]!;
    const replicas = ports.api.map((port, i) => replicaOf(`api-${i + 1}`, `http://127.0.0.1:${port}`, tenant.apiKey));
    traffic = new ChaosTraffic(replicas, { apiType: 'MODEL', apiIdentifier: 'chaos' }, dead.id, { ratePerSecond: RATE, workers: WORKERS });
    traffic.start();
    const phases: Phase[] = [];
    let phase: Phase = { name: 'steady', start: Date.now(), end: 0, iterations: traffic.iterations };
    const endPhase = () => {
      phase.end = Date.now();
      phase.iterations = traffic!.iterations - phase.iterations;
      phases.push(phase);
      say(`  ${phase.name}: ${phase.iterations} iterations in ${phase.end - phase.start} ms = ${rate(phase)} select → report iterations/s (${WORKERS} in flight)`);
    };

    const redis = createRedis(redisTarget());
    const prefix = 'apg:';
    await waitFor('the dead instance OPEN in Redis', async () => {
      const json = await redis.hget(`${prefix}breaker-states`, dead.id);
      return json !== null && (JSON.parse(json) as { state: string }).state === 'OPEN';
    }, { timeoutMs: 60_000, intervalMs: 200 });
    const openSeenAt = Date.now();
    const warmDead = traffic.deadCalls.filter((c) => c.at < openSeenAt).length;
    await new Promise((r) => setTimeout(r, 5000));
    say(`steady: ${traffic.selectsOk} selects, ${traffic.acked.size} reports acknowledged; dead instance opened after ${warmDead} calls`);

    // The dead instance's calls per open episode are held to its threshold in every phase. The probe slots are
    // shared by the replicas (Redis), so a half-open phase admits halfOpenProbes calls whatever verdict each
    // replica follows, and a probe the breaker reopened on holds its slot until its openUntil; with Redis down
    // each replica counts its own (2 × 2 probes).
    const faults: { name: string; kill: () => Promise<() => Promise<void>> }[] = [
      {
        name: 'kill -9 of the Kafka broker leading partition 0',
        kill: async () => {
          const leader = await stack.kafka.leaderOf(TOPIC, 0);
          say(`  broker ${leader} leads ${TOPIC}/0`);
          await stack.kafka.kill(leader);
          return async () => stack.kafka.restart(leader);
        },
      },
      {
        name: 'kill -9 of the Redis primary',
        kill: async () => {
          const port = await stack.redis.killPrimary();
          return async () => stack.redis.restartServer(port);
        },
      },
      { name: 'kill -9 of api replica 2', kill: async () => { await stack.killService('api-2', PAUSE_MS); return async () => undefined; } },
      { name: 'kill -9 of aggregator 1', kill: async () => { await stack.killService('aggregator-1', PAUSE_MS); return async () => undefined; } },
      { name: 'kill -9 of ingestor 1', kill: async () => { await stack.killService('ingestor-1', PAUSE_MS); return async () => undefined; } },
    ];
    const heals: number[] = [];
    let faultDeadCalls = 0;
    for (const fault of faults) {
      endPhase();
      const start = Date.now();
      phase = { name: fault.name, start, end: 0, iterations: traffic.iterations };
      const deadBefore = traffic.deadCalls.length;
      const restart = await fault.kill();
      await new Promise((r) => setTimeout(r, PAUSE_MS - (Date.now() - start)));
      await restart();
      let waitingFor = '';
      const waits: string[] = [];
      const note = (what: string) => {
        if (what !== waitingFor) waits.push(`${what} until +${Date.now() - start} ms`);
        waitingFor = what;
      };
      await waitFor('the stack whole again (every /readyz 200, topic fully replicated, Redis replica healthy, no failed attempt for 2 s)', async () => {
        const notReady = await stack.notReady();
        if (notReady.length) return note(`not ready: ${notReady.join(', ')}`), false;
        if (!(await stack.kafka.fullyReplicated(TOPIC))) return note('topic not fully replicated'), false;
        try {
          await stack.redis.waitForHealthyReplica(1000);
        } catch {
          return note('no healthy Redis replica'), false;
        }
        if (Date.now() - traffic!.lastFailureAt() <= 2000) return note('failed attempts in the last 2 s'), false;
        return true;
      }, { timeoutMs: 120_000, intervalMs: 250 }).catch((err: Error) => {
        throw new Error(`${err.message} (${waitingFor})`);
      });
      const healMs = Date.now() - start;
      heals.push(healMs);
      const failures = traffic.attemptFailures.filter((t) => t >= start);
      const disruption = failures.length ? failures[failures.length - 1]! - start : 0;
      const episode = traffic.deadCalls.slice(deadBefore);
      faultDeadCalls += episode.length;
      const byReplica = new Map<string, number>();
      for (const c of episode) byReplica.set(c.replica, (byReplica.get(c.replica) ?? 0) + 1);
      const kinds = new Map<string, number>();
      for (const f of traffic.failureLog.filter((x) => x.at >= start)) kinds.set(f.kind, (kinds.get(f.kind) ?? 0) + 1);
      say(`  waited for: ${waits.map((w) => w.replace(/until \+(\d+) ms$/, '(first seen +$1 ms)')).join('; ') || 'nothing'}`);
      if (kinds.size) say(`  failed attempts by kind: ${[...kinds].map(([k, n]) => `${k} ×${n}`).join(', ')}`);
      say(`${fault.name}: healed in ${healMs} ms (restarted after ${PAUSE_MS} ms); ${failures.length} failed attempts (retried) over ${disruption} ms; dead-instance calls ${episode.length}`);
      say(`  dead-instance calls by replica: ${[...byReplica].map(([r, n]) => `${r} ${n}`).join(', ') || 'none'}`);
      await new Promise((r) => setTimeout(r, 3000));
    }
    endPhase();
    await traffic.stop();
    checkDeadInstance(traffic.deadCalls, openSeenAt, phases, ports.api.length);

    // Everything acknowledged must reach Postgres exactly once and the windows once.
    const db = createDb(databaseUrl, { max: 2 });
    const counts = async () => {
      const r = await db.query<{ selection_id: string; n: string }>('chaos.count_by_selection',
        'SELECT selection_id, count(*) AS n FROM call_results WHERE project_id = $1 GROUP BY selection_id', [tenant.projectId]);
      return new Map(r.rows.map((x) => [x.selection_id, Number(x.n)]));
    };
    let rows = new Map<string, number>();
    await waitFor('every acknowledged report in Postgres', async () => {
      rows = await counts();
      return [...traffic!.acked.keys()].every((id) => rows.has(id));
    }, { timeoutMs: 90_000, intervalMs: 1000 }).catch(() => undefined);
    const acked = [...traffic.acked.keys()];
    const stored = acked.filter((id) => (rows.get(id) ?? 0) >= 1).length;
    const duplicated = [...rows.values()].filter((n) => n > 1).length;
    const lost = acked.length - stored;
    const extra = [...rows.keys()].filter((id) => !traffic!.acked.has(id)).length;
    say(`${acked.length} acknowledged, ${rows.size} distinct in Postgres (${extra} stored whose 200 never reached the client), ${duplicated} duplicated, ${lost} lost`);

    const healthy = new Set(instances.slice(0, 4).map((x) => x.id));
    const healthyRows = await db.query<{ n: string }>('chaos.count_healthy',
      'SELECT count(*) AS n FROM call_results WHERE project_id = $1 AND instance_id = ANY($2::text[])', [tenant.projectId, [...healthy]]);
    const expectedWindow = Number(healthyRows.rows[0]!.n);
    let windowCalls = -1;
    await waitFor('the windows to count every stored event of the healthy instances', async () => {
      const all = await redis.hmget(`${prefix}breaker-states`, ...healthy);
      windowCalls = all.reduce((sum, json) => sum + (json ? ((JSON.parse(json) as { stats?: { calls?: number } }).stats?.calls ?? 0) : 0), 0);
      return windowCalls === expectedWindow;
    }, { timeoutMs: 60_000, intervalMs: 500 }).catch(() => undefined);
    await db.close();
    redis.disconnect();

    check(traffic.selectsFailed === 0, `selects kept succeeding: ${traffic.selectsOk} ok, ${traffic.selectsFailed} failed on every replica`);
    check(traffic.reportsUnacked === 0, `every report acknowledged after retries (${traffic.reportsUnacked} never were)`);
    check(lost === 0, `no acknowledged report lost (${lost})`);
    check(duplicated === 0, `no report stored twice (${duplicated})`);
    check(windowCalls === expectedWindow, `windows count each stored event of the healthy instances once: ${windowCalls} in the windows, ${expectedWindow} stored`);
    const maxHeal = Math.max(...heals);
    if (problems.length) console.log(`chaos: ${problems.length} check(s) failed:\n  ${problems.join('\n  ')}`);
    console.log(`chaos: acknowledged ${acked.length}, stored ${stored}, duplicated ${duplicated}, lost ${lost}, dead-instance calls ${faultDeadCalls}, max heal ${maxHeal} ms`);
    return problems.length ? 1 : 0;
  } finally {
    await traffic?.stop();
    await stack.stop();
    await dropTestDatabase(databaseUrl).catch(() => undefined);
    if (!KEEP) rmSync(dir, { recursive: true, force: true });
  }
}

main().then((code) => {
  process.exit(code);
}, (err: Error) => {
  console.error(`chaos: ${err.stack ?? err.message}`);
  process.exit(1);
});
