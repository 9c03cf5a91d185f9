import type { EachBatchPayload, KafkaMessage } from 'kafkajs';
import type { Counter } from 'prom-client';
import { probeHoldMs, type BreakerConfig, type Transition } from '@apg/core';
import { requestIdOfHeaders, type CallResultEvent } from '@apg/contracts';
import {
  ABANDON,
  admitEvents,
  classifyError,
  type BreakerTransitionRecord,
  type BreakerTransitionStore,
  type InstanceDirectory,
  type Logger,
  type ProbeSlots,
  type SigningPolicy,
} from '@apg/platform';
import type { HealthBook } from './health-book';
import type { HealthStore } from './health-store';
import type { InstanceConfigStore } from './instance-config-store';
import { adoptStored, applyCall, newInstanceHealth, type InstanceHealth } from './instance-health';
import type { PartitionClaims } from './partition-claims';

/** Runs one infrastructure step of a batch under the retry policy; ABANDON once given up. Data errors are rethrown. */
export type Step = <T>(stage: string, fn: () => Promise<T>) => Promise<T | typeof ABANDON>;

export interface BatchHandlerDeps {
  claims: PartitionClaims;
  store: Pick<HealthStore, 'load' | 'appliedEvents'>;
  book: HealthBook;
  configs: Pick<InstanceConfigStore, 'configsOf'>;
  directory: InstanceDirectory;
  signing: SigningPolicy;
  transitions: Pick<BreakerTransitionStore, 'insertMany'>;
  /** Half-open probe slots (see ProbeSlots): settled here for probes published straight to Kafka. */
  probes: Pick<ProbeSlots, 'settle'>;
  log: Logger;
  /** The step policy for one batch (retry infrastructure errors while the batch is ours). */
  stepFor(payload: EachBatchPayload): Step;
  commit(offsets: { topic: string; partition: number; offset: string }[]): Promise<void>;
  /** A bug (not an infrastructure or data error): the process must exit and resume from the commits. */
  onBug(err: unknown, where: string): void;
  metrics: { events: Counter<'outcome'>; transitions: Counter<'to_state'>; fenced: Counter; rejected: Counter<'reason'>; unsignedAccepted: Counter };
  breakerDefaults: BreakerConfig;
  maxEventBytes: number;
  /** Raw retention (ms): older (or far future) events are refused at admission. */
  retentionMs: number;
  now: () => number;
}

type Outcome = 'written' | 'abandoned' | 'fenced';

interface InFlight {
  since: number;
  /** When a step attempt last started or ended. */
  lastActivity: number;
}

/**
 * One Kafka batch → Redis, then the commit. Per batch: claim the partition for this generation (fencing
 * epoch + where the last owner stopped), skip what is already applied (by offset, then by eventId), admit
 * the events (same trust check as the ingestor; the ingestor owns the DLQ), apply them to the instances'
 * windows and breakers, write everything with the applied offset and eventIds in one fenced script,
 * audit the transitions, commit.
 *
 * Errors by class: infrastructure is retried inside the step (visible in metrics and `/readyz`); data
 * (Redis or Postgres refusing a value) makes the batch go again one message at a time, skipping the
 * message that is refused, so one tenant's bad value never holds the partition; a bug exits the process.
 */
export class BatchHandler {
  /**
   * The batches in progress, since when (a hung call counts as held as much as a retried one). Our clock,
   * not the messages' Kafka timestamps: a producer writing straight to the topic sets those as it likes.
   */
  private readonly inFlight = new Set<InFlight>();

  constructor(private readonly deps: BatchHandlerDeps) {}

  /** Age of the oldest batch in progress, 0 when none. */
  oldestInFlightMs(): number {
    let oldest = Infinity;
    for (const b of this.inFlight) oldest = Math.min(oldest, b.since);
    return oldest === Infinity ? 0 : Math.max(0, this.deps.now() - oldest);
  }

  /**
   * Longest time a batch in progress has gone without any step attempt starting or ending, 0 when none.
   * Retrying an outage starts an attempt at least every backoff cap (10 s); a call that never returns (a
   * Redis or Postgres connection black-holed without a reset) does not, and only a restart cures it.
   */
  longestStuckMs(): number {
    let oldest = Infinity;
    for (const b of this.inFlight) oldest = Math.min(oldest, b.lastActivity);
    return oldest === Infinity ? 0 : Math.max(0, this.deps.now() - oldest);
  }

  async handle(payload: EachBatchPayload): Promise<void> {
    const { batch } = payload;
    if (batch.messages.length === 0) return;
    const since = this.deps.now();
    const held: InFlight = { since, lastActivity: since };
    this.inFlight.add(held);
    try {
      await this.handleMessages(payload, held);
    } catch (err) {
      // Kafka's own errors (a commit during a rebalance, an unknown member) go back to kafkajs, which
      // rejoins; anything else that escaped the steps is a bug.
      if (err instanceof Error && err.name.startsWith('KafkaJS')) throw err;
      this.deps.onBug(err, 'aggregator batch');
    } finally {
      this.inFlight.delete(held);
    }
  }

  private async handleMessages(payload: EachBatchPayload, held: InFlight): Promise<void> {
    const { batch } = payload;
    const retried = this.deps.stepFor(payload);
    const step: Step = (stage, fn) => retried(stage, async () => {
      held.lastActivity = this.deps.now();
      try {
        return await fn();
      } finally {
        held.lastActivity = this.deps.now();
      }
    });
    const field = `${batch.topic}:${batch.partition}`;
    let outcome: Outcome;
    try {
      outcome = await this.apply(step, payload, batch.messages);
    } catch (err) {
      if (classifyError(err) !== 'data') throw err;
      this.deps.log.warn({ err: (err as Error).message, field, messages: batch.messages.length }, 'data error in a batch; applying it one message at a time');
      outcome = 'written';
      for (const m of batch.messages) {
        try {
          outcome = await this.apply(step, payload, [m]);
        } catch (one) {
          if (classifyError(one) !== 'data') throw one;
          this.deps.metrics.events.inc({ outcome: 'data_error' });
          this.deps.log.error({ err: (one as Error).message, field, offset: m.offset, requestId: requestIdOfHeaders(m.headers) }, 'event refused by a store; skipped');
          continue;
        }
        if (outcome !== 'written') break;
      }
    }
    if (outcome !== 'written') return;
    const last = batch.messages[batch.messages.length - 1]!;
    const next = (BigInt(last.offset) + 1n).toString();
    await this.deps.commit([{ topic: batch.topic, partition: batch.partition, offset: next }]);
    payload.resolveOffset(last.offset);
  }

  /**
   * Frees, or holds until the breaker's `openUntil` (it reopened), the slot of each probe applied. The api
   * settles the probes reported to it over HTTP at once; this covers events published straight to Kafka
   * (the SDK's KafkaReporter), for which nobody else would (settling twice changes nothing). Not awaited
   * and not retried: an unsettled slot lapses with its lease.
   */
  private settleProbes(events: readonly CallResultEvent[], healths: Map<string, InstanceHealth>, applied: Map<string, string[]>, now: number): void {
    for (const e of events) {
      if (e.probe !== true || e.selectionId === undefined || !applied.get(e.instanceId)?.includes(e.eventId)) continue;
      // Held until the breaker may probe again when it (re)opened; freed when it is still probing (or closed).
      const b = healths.get(e.instanceId)?.breaker;
      const hold = b ? probeHoldMs(b, now) : 0;
      this.deps.probes.settle(e.instanceId, e.selectionId, hold).catch((err: Error) => {
        this.deps.log.warn({ err: err.message, instanceId: e.instanceId, selectionId: e.selectionId }, 'probe slot not settled (it lapses with its lease)');
      });
    }
  }

  /** Applies `messages` (a whole batch, or one message of it) and writes them; throws data errors. */
  private async apply(step: Step, payload: EachBatchPayload, messages: KafkaMessage[]): Promise<Outcome> {
    const { batch } = payload;
    const { deps } = this;
    const field = `${batch.topic}:${batch.partition}`;
    const claim = await step('claim', () => deps.claims.claim(field));
    if (claim === ABANDON || claim === null || claim.fenced) return 'abandoned';
    if (claim.applied > BigInt(batch.highWatermark)) {
      // Beyond the end of the log: the topic was deleted and created again. Skipping would drop
      // every new event up to the old offset; the old entry means nothing for the new log.
      deps.log.warn({ field, applied: claim.applied.toString(), highWatermark: batch.highWatermark }, 'applied offset beyond the log end; ignored');
      claim.applied = 0n;
    }
    // Events a previous owner (or this process before a crash) already wrote to Redis count once.
    const fresh = messages.filter((m) => BigInt(m.offset) >= claim.applied);
    const intake = await step('admit', () => admitEvents(fresh, batch.partition, deps.directory, deps.signing, {
      maxBytes: deps.maxEventBytes, now: deps.now(), retentionMs: deps.retentionMs,
    }));
    if (intake === ABANDON) return 'abandoned';
    const { unique, repeated } = firstOfEachEventId(intake.admitted.map((a) => a.event));
    // The api's request id of each event (Kafka header apg-request-id), for the log lines about it.
    const requestIds = new Map<string, string>();
    for (const a of intake.admitted) {
      const id = requestIdOfHeaders(a.message.headers);
      if (id !== undefined) requestIds.set(a.event.eventId, id);
    }
    const known = await step('applied_events', () => deps.store.appliedEvents(eventIdsByInstance(unique)));
    if (known === ABANDON) return 'abandoned';
    const list = unique.filter((e) => !known.has(e.eventId));
    const healths = await step('load', () => this.ensureLoaded(list, field));
    if (healths === ABANDON) return 'abandoned';
    // A batch that outlived a rebalance (hung on a dependency while the consumer was replaced) must not
    // touch the instances the new generation holds: its write would be fenced, but not before another
    // batch could have read what it changed in memory.
    if (!deps.claims.isCurrent(claim)) return 'abandoned';

    const t = deps.now();
    const touched = new Map<string, InstanceHealth>();
    const audited: BreakerTransitionRecord[] = [];
    /** The event whose outcome made each transition. */
    const causes = new Map<BreakerTransitionRecord, CallResultEvent>();
    const applied = new Map<string, string[]>();
    let failed = 0;
    for (const e of list) {
      const h = healths.get(e.instanceId);
      if (!h) {
        // An earlier event of this instance could not be applied: it is reloaded on its next batch.
        failed++;
        continue;
      }
      try {
        const { tick, transition } = applyCall(h, e, t);
        // The tick is time's doing (the open duration ran out), not this event's.
        if (tick) audited.push(toAudit(h, tick));
        if (transition) {
          const record = toAudit(h, transition);
          audited.push(record);
          causes.set(record, e);
        }
      } catch (err) {
        // The pure core threw on this event's values: skip the event, never the partition. The
        // instance may be half-updated, so it is reloaded from Redis on its next event.
        failed++;
        deps.log.error({ err: (err as Error).message, instanceId: e.instanceId, eventId: e.eventId, requestId: requestIds.get(e.eventId) }, 'event could not be applied; skipped');
        deps.book.forget(e.instanceId);
        touched.delete(e.instanceId);
        healths.delete(e.instanceId);
        continue;
      }
      touched.set(e.instanceId, h);
      const ids = applied.get(e.instanceId);
      if (ids) ids.push(e.eventId);
      else applied.set(e.instanceId, [e.eventId]);
    }
    const last = messages[messages.length - 1]!;
    const next = (BigInt(last.offset) + 1n).toString();
    const fence = { field, epoch: claim.epoch };
    let saved;
    try {
      saved = await step('save', () => deps.book.persist([...touched.values()], t, { fence, offset: { field, next }, applied }));
    } catch (err) {
      // Not written: what memory holds of these instances is ahead of Redis.
      for (const id of touched.keys()) deps.book.forget(id);
      throw err;
    }
    if (saved === ABANDON) {
      for (const id of touched.keys()) deps.book.forget(id);
      return 'abandoned';
    }
    if (saved.fenced) {
      // Another member took the partition since our claim: it holds these instances now.
      claim.fenced = true;
      for (const id of deps.claims.instancesOf(field)) deps.book.forget(id);
      deps.metrics.fenced.inc();
      deps.log.warn({ field, epoch: claim.epoch }, 'write fenced off: the partition has a new owner; batch dropped uncommitted');
      return 'fenced';
    }
    claim.applied = BigInt(next);
    this.settleProbes(list, healths, applied, t);
    const real = audited.filter((a) => !saved.refused.has(a.instanceId));
    for (const a of real) {
      deps.metrics.transitions.inc({ to_state: a.to });
      const cause = causes.get(a);
      deps.log.info({ instanceId: a.instanceId, from: a.from, to: a.to, reason: a.reason, eventId: cause?.eventId, requestId: cause ? requestIds.get(cause.eventId) : undefined }, 'breaker transition');
    }
    try {
      if ((await step('audit', () => deps.transitions.insertMany(real))) === ABANDON) return 'abandoned';
    } catch (err) {
      // The breakers moved (Redis is the truth); only their audit rows were refused.
      if (classifyError(err) !== 'data') throw err;
      deps.log.error({ err: (err as Error).message, transitions: real.length }, 'transition audit refused; breakers kept');
    }
    deps.metrics.events.inc({ outcome: 'applied' }, list.length - failed);
    deps.metrics.events.inc({ outcome: 'apply_error' }, failed);
    deps.metrics.events.inc({ outcome: 'skipped' }, intake.rejected.length);
    for (const r of intake.rejected) deps.metrics.rejected.inc({ reason: r.reason });
    if (intake.unsignedAdmitted) this.noteUnsigned(intake.unsignedAdmitted, batch.partition);
    deps.metrics.events.inc({ outcome: 'already_applied' }, messages.length - fresh.length);
    deps.metrics.events.inc({ outcome: 'duplicate' }, repeated + known.size);
    return 'written';
  }

  private unsignedLogged = false;

  /** Migration mode: unsigned events counted, in a metric, and said once in the log. */
  private noteUnsigned(n: number, partition: number): void {
    this.deps.metrics.unsignedAccepted.inc(n);
    if (!this.unsignedLogged) this.deps.log.warn({ partition }, 'unsigned events counted (REQUIRE_SIGNED_EVENTS=false); logged once, counted in apg_aggregator_unsigned_events_accepted_total');
    this.unsignedLogged = true;
  }

  /** The batch's instances, loaded from Redis on first sight, with their current configs. */
  private async ensureLoaded(list: CallResultEvent[], field: string): Promise<Map<string, InstanceHealth>> {
    const { book, store, configs, claims, breakerDefaults } = this.deps;
    const projectOf = new Map(list.map((e) => [e.instanceId, e.projectId]));
    const ids = [...projectOf.keys()];
    const cfg = await configs.configsOf(ids);
    const out = new Map<string, InstanceHealth>();
    const missing: string[] = [];
    for (const id of ids) {
      const h = book.active.get(id);
      if (h) out.set(id, h);
      else missing.push(id);
    }
    const loaded = await store.load(missing);
    const t = this.deps.now();
    for (const id of missing) {
      const h = newInstanceHealth(id, projectOf.get(id)!, cfg.get(id) ?? breakerDefaults, t);
      const saved = loaded.get(id);
      if (saved?.window) h.window = saved.window;
      if (saved?.stored) adoptStored(h, saved.stored, t);
      book.activate(h);
      out.set(id, h);
    }
    for (const [id, h] of out) {
      h.config = cfg.get(id) ?? h.config;
      claims.bind(id, field);
    }
    return out;
  }
}

function toAudit(h: InstanceHealth, t: Transition): BreakerTransitionRecord {
  return { ...t, instanceId: h.instanceId, projectId: h.projectId, actor: 'aggregator' };
}

/** The first event of each eventId in batch order, and how many repeats were dropped (a producer retry in one batch). */
export function firstOfEachEventId(events: CallResultEvent[]): { unique: CallResultEvent[]; repeated: number } {
  const seen = new Set<string>();
  const unique: CallResultEvent[] = [];
  for (const e of events) {
    if (seen.has(e.eventId)) continue;
    seen.add(e.eventId);
    unique.push(e);
  }
  return { unique, repeated: events.length - unique.length };
}

export function eventIdsByInstance(events: CallResultEvent[]): Map<string, string[]> {
  const out = new Map<string, string[]>();
  for (const e of events) {
    const ids = out.get(e.instanceId);
    if (ids) ids.push(e.eventId);
    else out.set(e.instanceId, [e.eventId]);
  }
  return out;
}
