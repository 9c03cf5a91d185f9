import {
  choose,
  isRoutable,
  probeHoldMs,
  isStrategyName,
  STRATEGY_NAMES,
  breakerConfigOf,
  routingParamsOf,
  toCandidate,
  type BreakerConfig,
  type Candidate,
  type Explained,
  type HealthRecord,
  type ReportedCall,
  type RoutingParams,
  type SmartConfig,
  type StrategyName,
} from '@apg/core';
import { PROBE_SELECTION_SUFFIX, SelectInstanceRequestSchema, type SelectInstanceRequest, type SelectedInstanceDto } from '@apg/contracts';
import { newId, type Logger, type RedisKeys } from '@apg/platform';
import { HttpError, parseOr400 } from '../http/http-error';
import { NoInstanceError, selectOutcomeOf, selectOutcomeOfError, UNKNOWN_STRATEGY, type SelectOutcome } from '../metrics/outcomes';
import type { InstanceRecord } from '../instances/instance-store';
import type { RegistryCache } from '../instances/registry-cache';
import { toInstanceDto } from '../instances/instance-dto';
import type { VerdictSource } from './breaker-verdict';
import type { BreakerVerdicts } from './breaker-verdicts';
import type { ProbePermits } from './probe-permits';
import { RedisUnavailableError } from './redis-circuit';
import type { ProjectQuotas } from '../quotas/project-quotas';
import type { RoutingState, SelectContext } from './routing-state';

export interface SelectionOptions {
  breakerDefaults: BreakerConfig;
  smart: SmartConfig;
  defaultStrategy: StrategyName;
  leaseTtlMs: number;
  affinityTtlMs: number;
  /** Told about every select (metrics); none in tests that do not read it. */
  observer?: SelectionObserver;
}

/** What the api's metrics learn from selection: each select's outcome and time, and each report it noted. */
export interface SelectionObserver {
  /** `instanceId` and `source` (whose verdict on it decided) are set when an instance was served. */
  selected(strategy: string, outcome: SelectOutcome, seconds: number, instanceId: string | null, source: VerdictSource | null): void;
  reportNoted(instanceId: string, success: boolean): void;
}

type SelectAnswer = SelectedInstanceDto & { panic?: boolean; explain?: unknown };

/** Who is selecting: the project (and its settings and quotas) and the key, from authentication. */
export interface Selector {
  projectId: string;
  keyId: string;
  defaultStrategy: StrategyName | null;
  panicMode: boolean;
  quotas: Pick<ProjectQuotas, 'selectsPerSecond' | 'maxOpenLeases' | 'maxAffinityBindings'>;
}

interface Decision {
  instance: InstanceRecord;
  record: HealthRecord;
  source: VerdictSource;
  probe: boolean;
  identifierIndex: number;
  panic: boolean;
}

type ExplainedGroup = { apiIdentifier: string; candidates: (Explained & { breakerState: string })[] };

/**
 * One select: candidates from the in-process registry, health from the in-process records, and one
 * Redis round trip for the rest (rate limit, affinity, in-flight, rpm/tpm). Then, per identifier of
 * [primary, ...fallbackChain]: the affinity binding if still usable, a half-open probe if a permit is
 * free, else the strategy's choice. No Postgres on this path.
 */
export class SelectionService {
  private readonly rrCounters = new Map<string, number>();
  private readonly paramsCache = new WeakMap<InstanceRecord, RoutingParams>();
  private readonly configCache = new WeakMap<InstanceRecord, BreakerConfig>();

  constructor(
    private readonly registry: RegistryCache,
    private readonly health: BreakerVerdicts,
    private readonly permits: ProbePermits,
    private readonly state: RoutingState,
    private readonly keys: RedisKeys,
    private readonly options: SelectionOptions,
    private readonly onBackgroundError: (err: Error) => void,
    private readonly now: () => number = Date.now,
    private readonly rand: () => number = Math.random,
  ) {}

  /** The request body, validated; a refused one is counted (strategy `unknown`, outcome `invalid`) before its 400. */
  parseRequest(body: unknown): SelectInstanceRequest {
    try {
      return parseOr400(SelectInstanceRequestSchema, body);
    } catch (err) {
      this.options.observer?.selected(UNKNOWN_STRATEGY, 'invalid', 0, null, null);
      throw err;
    }
  }

  /**
   * One select, told to the observer with its outcome and time (`performance.now()`: no allocation). A
   * select that throws is told too, with the outcome its error stands for, then rethrown. `log` gives the
   * request's logger, so a background failure of this select names its request id and selectionId.
   */
  async select(who: Selector, req: SelectInstanceRequest, log?: () => Logger): Promise<SelectAnswer> {
    const started = performance.now();
    let strategy = UNKNOWN_STRATEGY;
    try {
      const s = this.strategyOf(who, req);
      strategy = s;
      const { data, decision } = await this.decideSelect(s, who, req, log);
      this.options.observer?.selected(s, selectOutcomeOf(data), (performance.now() - started) / 1000, decision.instance.id, decision.source);
      return data;
    } catch (err) {
      this.options.observer?.selected(strategy, selectOutcomeOfError(err), (performance.now() - started) / 1000, null, null);
      throw err;
    }
  }

  private async decideSelect(strategy: StrategyName, who: Selector, req: SelectInstanceRequest, log: (() => Logger) | undefined): Promise<{ data: SelectAnswer; decision: Decision }> {
    const index = await this.registry.index(who.projectId, req.apiType);
    const identifiers = [req.apiIdentifier, ...(req.fallbackChain ?? [])];
    const perIdentifier = identifiers.map((id) => this.candidatesFor(index.get(id) ?? [], req));
    const all = identifiers.length === 1 ? perIdentifier[0]! : [...new Map(perIdentifier.flat().map((i) => [i.id, i])).values()];
    const params = new Map(all.map((i) => [i.id, this.paramsOf(i)]));

    const now = this.now();
    const affinityKey = req.affinityKey && req.affinityType
      ? this.keys.affinity(who.projectId, req.apiType, req.apiIdentifier, req.affinityType, req.affinityKey)
      : null;
    const ctx = await this.selectContextOrDegraded(log, {
      projectId: who.projectId,
      affinityKey,
      affinityTtlMs: this.options.affinityTtlMs,
      // Only what the decision reads: load for SMART, rpm/tpm for instances that have such limits.
      counters: all.map((i) => ({ id: i.id, inflight: strategy === 'SMART', rpm: params.get(i.id)!.rpm !== null, tpm: params.get(i.id)!.tpm !== null })),
      now,
    });
    const rateLimit = who.quotas.selectsPerSecond;
    if (rateLimit > 0 && ctx.rate > rateLimit) {
      throw new HttpError('RATE_LIMITED', `select rate limit of ${rateLimit}/s exceeded for this project`, undefined, { 'Retry-After': '1' });
    }

    const candidates = perIdentifier.map((list) => list.map((inst) => this.toCandidate(inst, params.get(inst.id)!, ctx, now)));
    const explained: ExplainedGroup[] = [];
    let decision: Decision | null = null;
    let via: 'affinity' | 'probe' | 'strategy' | 'panic' = 'strategy';

    if (ctx.boundInstanceId) {
      const at = candidates.findIndex((list) => list.some((c) => c.id === ctx.boundInstanceId && isUsable(c, now)));
      if (at >= 0) {
        decision = this.decide(perIdentifier[at]!, ctx.boundInstanceId, now, at, false);
        via = 'affinity';
      } else if (req.affinityStrength === 'STRICT') {
        throw new HttpError('AFFINITY_UNAVAILABLE', `the instance bound to ${req.affinityType}:${req.affinityKey} is unavailable and affinityStrength is STRICT`);
      }
      // PREFERRED (the default): choose afresh below and rebind to the new choice.
    }
    let probeSelectionId: string | null = null;
    for (let i = 0; i < identifiers.length && !decision; i++) {
      const probe = await this.tryProbe(perIdentifier[i]!, candidates[i]!, now);
      if (probe) {
        decision = this.decide(perIdentifier[i]!, probe.instanceId, now, i, true);
        probeSelectionId = probe.selectionId;
        via = 'probe';
        break;
      }
      const result = choose(strategy, candidates[i]!, { rand: this.rand, now, rrCounter: this.nextRr(who, req, identifiers[i]!), config: this.options.smart });
      if (req.explain) explained.push({ apiIdentifier: identifiers[i]!, candidates: result.ranked.map((e) => ({ ...e, breakerState: this.health.get(e.id).state })) });
      if (result.chosen) decision = this.decide(perIdentifier[i]!, result.chosen.id, now, i, false);
    }
    if (!decision && who.panicMode && all.length > 0) {
      decision = this.panic(all, perIdentifier);
      via = 'panic';
    }
    if (!decision) throw this.noInstance(req, identifiers, perIdentifier[0]!.length, all.length > 0);

    // A probe's selectionId says so itself, so its report needs no lease look-up before producing.
    const selectionId = probeSelectionId ?? newId();
    // Not awaited: the answer does not depend on it, and this keeps the select at one Redis round
    // trip. Commands on one connection run in order, so this replica's report settles it afterwards.
    this.state
      .recordDecision({
        lease: { selectionId, instanceId: decision.instance.id, projectId: who.projectId, probe: decision.probe, at: now, expiresAt: now + this.options.leaseTtlMs },
        leaseTtlMs: this.options.leaseTtlMs,
        countRpm: params.get(decision.instance.id)?.rpm != null,
        affinityKey,
        bind: affinityKey !== null && ctx.boundInstanceId !== decision.instance.id,
        affinityTtlMs: this.options.affinityTtlMs,
        maxOpenLeases: who.quotas.maxOpenLeases,
        maxAffinityBindings: who.quotas.maxAffinityBindings,
      })
      .catch((err: Error) => this.backgroundError(err, log, selectionId));
    const data: SelectAnswer = {
      ...toInstanceDto(decision.instance),
      selectionId,
      breakerState: decision.record.state,
      fallbackUsed: decision.identifierIndex > 0,
      servedApiIdentifier: identifiers[decision.identifierIndex] ?? req.apiIdentifier,
    };
    if (decision.panic) data.panic = true;
    if (req.explain) data.explain = { strategy, via, groups: explained };
    return { data, decision };
  }

  /**
   * The one Redis round trip, bounded by the Redis circuit (its timeout, and no wait at all while it is
   * open): if Redis is slow or down, selection goes on from the in-process state (breaker verdicts, no
   * rate limit, no affinity, no load or rpm/tpm figures) rather than failing.
   */
  private async selectContextOrDegraded(log: (() => Logger) | undefined, args: Parameters<RoutingState['selectContext']>[0]): Promise<SelectContext> {
    try {
      return await this.state.selectContext(args);
    } catch (err) {
      this.backgroundError(err as Error, log);
      return { rate: 0, boundInstanceId: null, inflight: new Map(), rpm: new Map(), tpm: new Map() };
    }
  }

  /** A call the open Redis circuit skipped is expected, not news: only real failures are reported. */
  private backgroundError(err: Error, log?: () => Logger, selectionId?: string): void {
    if (err instanceof RedisUnavailableError) return;
    if (log) log().warn({ err: err.message, selectionId }, 'decision not recorded (lease, in-flight, rpm, affinity)');
    else this.onBackgroundError(err);
  }

  private strategyOf(who: Selector, req: SelectInstanceRequest): StrategyName {
    if (req.strategy === undefined) return who.defaultStrategy ?? this.options.defaultStrategy;
    const s = req.strategy.toUpperCase();
    if (!isStrategyName(s)) {
      throw new HttpError('VALIDATION_FAILED', `unknown strategy "${req.strategy}"`, [{ field: 'strategy', message: `must be one of ${STRATEGY_NAMES.join(', ')}` }]);
    }
    return s;
  }

  /**
   * The seed's candidate rule on the instances whose identifier or businessId matched (the index
   * lookup): ACTIVE, userId strictly equal when given (AgentX's only tenant isolation between users).
   */
  private candidatesFor(matched: readonly InstanceRecord[], req: SelectInstanceRequest): InstanceRecord[] {
    const userId = req.userId?.trim() ? req.userId : undefined;
    const exclude = req.excludeInstanceIds?.length ? new Set(req.excludeInstanceIds) : null;
    return matched.filter((i) => i.status === 'ACTIVE' && (userId === undefined || i.userId === userId) && !(exclude?.has(i.id) ?? false));
  }

  /** Parsed routing params, memoised per registry record (records are replaced, never mutated, on change). */
  private paramsOf(i: InstanceRecord): RoutingParams {
    let p = this.paramsCache.get(i);
    if (!p) {
      p = routingParamsOf(i.routingParams);
      this.paramsCache.set(i, p);
    }
    return p;
  }

  private toCandidate(inst: InstanceRecord, params: RoutingParams, ctx: SelectContext, now: number): Candidate {
    const record = this.health.get(inst.id);
    const overLimit =
      (params.rpm !== null && (ctx.rpm.get(inst.id) ?? 0) >= params.rpm) ||
      (params.tpm !== null && (ctx.tpm.get(inst.id) ?? 0) >= params.tpm);
    // Window figures older than the window describe nothing any more: an instance nobody routes to
    // must turn cold again (and so get its exploration share) instead of keeping its last verdict.
    const windowMs = 'breaker' in inst.routingParams ? this.configFor(inst).windowMs : this.options.breakerDefaults.windowMs;
    const stats = record.stats !== null && now - record.updatedAt <= windowMs ? record.stats : null;
    return toCandidate({
      id: inst.id,
      priority: params.priority,
      weight: params.weight,
      costPerUnit: params.costPerUnit,
      breakerState: record.state,
      routable: isRoutable(record, now),
      degraded: record.degraded,
      stats: stats
        ? { calls: stats.calls, failures: stats.failures, successRate: stats.failureRate === null ? null : 1 - stats.failureRate, avgLatencyMs: stats.avgLatencyMs, latencyEwmaMs: stats.latencyEwmaMs }
        : null,
      inFlight: ctx.inflight.get(inst.id) ?? 0,
      cooldownUntil: record.cooldownUntil,
      overLimit,
    });
  }

  /**
   * A recovering instance gets its probes first: otherwise healthy peers would starve it and it would
   * stay half-open for ever. Permits are atomic across replicas and bounded by halfOpenProbes.
   */
  private async tryProbe(instances: InstanceRecord[], candidates: Candidate[], now: number): Promise<{ instanceId: string; selectionId: string } | null> {
    for (const c of candidates) {
      if (c.routable !== 'probe' || c.overLimit || (c.cooldownUntil !== null && c.cooldownUntil > now)) continue;
      const inst = instances.find((i) => i.id === c.id)!;
      const cfg = this.configFor(inst);
      const record = this.health.get(c.id);
      // Permits are counted per open episode (`openedAt` carries over OPEN → HALF_OPEN), not per state:
      // an OPEN past its openUntil already answers `probe`, and the tick to HALF_OPEN must not hand out
      // a second set. The TTL lets a lost probe (its lease settled without an outcome) be retried.
      const episode = record.openedAt ?? record.since;
      const selectionId = `${newId()}${PROBE_SUFFIX}`;
      const granted = await this.permits.tryAcquire(c.id, episode, selectionId, cfg.halfOpenProbes, this.options.leaseTtlMs + 10_000);
      if (granted) return { instanceId: c.id, selectionId };
    }
    return null;
  }

  private decide(instances: InstanceRecord[], id: string, now: number, identifierIndex: number, probe: boolean): Decision {
    const { record, source } = this.health.verdict(id, now);
    return { instance: instances.find((i) => i.id === id)!, record, source, probe, identifierIndex, panic: false };
  }

  /**
   * Panic mode (opt-in per project, Envoy's idea): when nothing is selectable, serve the least-bad
   * instance rather than nothing — never a FORCED_OPEN one (an admin took it out on purpose). Least
   * bad = lowest window failure rate, then the breaker that reopens soonest.
   */
  private panic(all: InstanceRecord[], perIdentifier: InstanceRecord[][]): Decision | null {
    const ranked = all
      .map((instance) => ({ instance, ...this.health.verdict(instance.id) }))
      .filter((x) => x.record.state !== 'FORCED_OPEN')
      .sort((a, b) => (a.record.stats?.failureRate ?? 0) - (b.record.stats?.failureRate ?? 0) || (a.record.openUntil ?? 0) - (b.record.openUntil ?? 0));
    const best = ranked[0];
    if (!best) return null;
    const identifierIndex = Math.max(0, perIdentifier.findIndex((list) => list.includes(best.instance)));
    return { ...best, probe: false, identifierIndex, panic: true };
  }

  private noInstance(req: SelectInstanceRequest, identifiers: string[], primaryCandidates: number, anyCandidate: boolean): HttpError {
    if (identifiers.length > 1) {
      return new NoInstanceError('FALLBACK_EXHAUSTED', `no instance available for ${req.apiIdentifier} nor any of its ${identifiers.length - 1} fallback entries`, anyCandidate ? 'no_healthy' : 'no_instance');
    }
    if (primaryCandidates === 0) {
      return new NoInstanceError('NO_AVAILABLE_INSTANCE', `no active instance for apiIdentifier=${req.apiIdentifier}, apiType=${req.apiType}`, 'no_instance');
    }
    return new NoInstanceError('NO_HEALTHY_INSTANCE', `all instances for apiIdentifier=${req.apiIdentifier} are unavailable, circuit-open, cooling down or over their limits`, 'no_healthy');
  }

  private nextRr(who: Selector, req: SelectInstanceRequest, identifier: string): number {
    const key = `${who.projectId}|${req.apiType}|${identifier}|${req.userId ?? ''}`;
    const n = this.rrCounters.get(key) ?? 0;
    // Keyed by user too (AgentX filters by userId): bounded, restarting a rotation costs nothing.
    if (n === 0 && this.rrCounters.size >= 50_000) this.rrCounters.clear();
    this.rrCounters.set(key, (n + 1) % 1_000_000_007);
    return n;
  }

  /**
   * Feeds a report this replica took (Kafka has it) to the instance's local breaker, with the
   * instance's own breaker config, and settles a probe it answers (`probe` unknown counts: a client
   * without selectionIds reports its probes like any call, and settles the oldest one out — only while the
   * instance is not CLOSED: probes exist only then, and a healthy instance's reports cost no Redis call).
   * A probe the breaker reopened on keeps its slot until the new `openUntil` (see ProbePermits).
   */
  noteReport(instance: InstanceRecord, event: ReportedCall & { eventId: string; receivedAt?: number | undefined; selectionId?: string | undefined }): void {
    const now = this.now();
    // Probe or not is known from the selectionId; only a report without one needs the state before it.
    const probeId = event.probe === true ? event.selectionId : undefined;
    const mayBeProbe = event.probe !== false && (probeId !== undefined || isProbing(this.health.get(instance.id).state));
    this.health.noteReport(instance.id, instance.projectId, this.configFor(instance), event, event.receivedAt ?? now);
    this.options.observer?.reportNoted(instance.id, event.success);
    if (mayBeProbe) this.permits.settle(instance.id, probeId ?? null, probeHoldMs(this.health.get(instance.id), now));
  }

  /** Effective breaker config, memoised per registry record like the routing params. */
  private configFor(instance: InstanceRecord): BreakerConfig {
    let c = this.configCache.get(instance);
    if (!c) {
      c = breakerConfigOf(this.options.breakerDefaults, instance.routingParams).config;
      this.configCache.set(instance, c);
    }
    return c;
  }
}


/** Marks the selectionId of a half-open probe (the id is opaque to clients). */
export const PROBE_SUFFIX = PROBE_SELECTION_SUFFIX;

/** States in which probes can be out. */
const isProbing = (state: HealthRecord['state']): boolean => state === 'OPEN' || state === 'HALF_OPEN';

/** A bound instance is kept only while plainly selectable: routable, not cooling, not over its limits. */
function isUsable(c: Candidate, now: number): boolean {
  return c.routable === 'yes' && !c.overLimit && (c.cooldownUntil === null || c.cooldownUntil <= now);
}
