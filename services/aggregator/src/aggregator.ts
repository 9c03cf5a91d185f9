import type { Consumer, EachBatchPayload } from 'kafkajs';
import { Counter, Gauge, type Registry } from 'prom-client';
import type { BreakerConfig } from '@apg/core';
import type { CallResultEvent } from '@apg/contracts';
import {
  ABANDON,
  admitEvents,
  ensureTopics,
  InstanceDirectory,
  RedisKeys,
  retryInBatch,
  type Db,
  type Kafka,
  type Logger,
  type Redis,
} from '@apg/platform';
import { HealthStore } from './health-store';
import { applyCall, applyTick, newInstanceHealth, type InstanceHealth } from './instance-health';
import { TransitionStore, type TransitionRecord } from './transition-store';

export interface AggregatorOptions {
  topic: string;
  partitions: number;
  groupId: string;
  redisPrefix: string;
  maxEventBytes: number;
  breakerDefaults: BreakerConfig;
  /** How often OPEN breakers are checked for the end of their open duration. */
  tickMs: number;
}

export interface AggregatorDeps {
  options: AggregatorOptions;
  log: Logger;
  db: Db;
  redis: Redis;
  kafka: Kafka;
  metrics: Registry;
  now?: () => number;
}

export interface AggregatorService {
  start(): Promise<void>;
  stop(): Promise<void>;
  isRunning(): boolean;
}

/**
 * Kafka → rolling windows and breaker states → Redis. Each batch: admit the events (same trust
 * check as the ingestor; the ingestor owns the DLQ), apply them to the instances' windows and
 * breakers, write the changed snapshots to Redis and announce them at once, record transitions,
 * then commit. Instance state is loaded from Redis the first time this process sees an instance,
 * so a restart neither forgets failures nor re-closes an open breaker.
 */
export function createAggregator(deps: AggregatorDeps): AggregatorService {
  const { options, log, db, redis, kafka } = deps;
  const now = deps.now ?? Date.now;
  const keys = new RedisKeys(options.redisPrefix);
  const health = new HealthStore(redis, keys);
  const transitions = new TransitionStore(db);
  const directory = new InstanceDirectory(db);
  const states = new Map<string, InstanceHealth>();
  const config = options.breakerDefaults;
  const windowTtlMs = config.windowMs + 60_000;

  const events = new Counter({ name: 'apg_aggregator_events_total', help: 'Events applied or skipped by the aggregator', labelNames: ['outcome'] as const, registers: [deps.metrics] });
  const transitionCount = new Counter({ name: 'apg_aggregator_transitions_total', help: 'Breaker transitions', labelNames: ['to_state'] as const, registers: [deps.metrics] });
  const retries = new Counter({ name: 'apg_aggregator_retries_total', help: 'Batch step retries after infrastructure errors', registers: [deps.metrics] });
  new Gauge({ name: 'apg_aggregator_instances', help: 'Instances with state in this aggregator', registers: [deps.metrics], collect() { this.set(states.size); } });

  let consumer: Consumer | null = null;
  let ticker: NodeJS.Timeout | null = null;
  let running = false;
  const abort = new AbortController();

  async function ensureLoaded(list: CallResultEvent[]): Promise<void> {
    const missing = [...new Set(list.map((e) => e.instanceId))].filter((id) => !states.has(id));
    if (missing.length === 0) return;
    const loaded = await health.load(missing);
    const projectOf = new Map(list.map((e) => [e.instanceId, e.projectId]));
    for (const id of missing) {
      const h = newInstanceHealth(id, projectOf.get(id)!, config, now());
      const saved = loaded.get(id);
      if (saved?.breaker) h.breaker = saved.breaker;
      if (saved?.window) h.window = saved.window;
      states.set(id, h);
    }
  }

  function audit(h: InstanceHealth, t: NonNullable<ReturnType<typeof applyCall>['transition']>, out: TransitionRecord[]): void {
    out.push({ ...t, instanceId: h.instanceId, projectId: h.projectId, actor: 'aggregator' });
    transitionCount.inc({ to_state: t.to });
    log.info({ instanceId: h.instanceId, from: t.from, to: t.to, reason: t.reason }, 'breaker transition');
  }

  async function handleBatch(payload: EachBatchPayload): Promise<void> {
    const { batch } = payload;
    if (batch.messages.length === 0) return;
    const ctx = { payload, signal: abort.signal, log, onRetry: () => retries.inc() };
    const intake = await retryInBatch('admit', () => admitEvents(batch.messages, batch.partition, directory, options.maxEventBytes), ctx);
    if (intake === ABANDON) return;
    const list = intake.admitted.map((a) => a.event);
    if ((await retryInBatch('load', () => ensureLoaded(list), ctx)) === ABANDON) return;

    const t = now();
    const touched = new Set<InstanceHealth>();
    const announce = new Set<InstanceHealth>();
    const audited: TransitionRecord[] = [];
    for (const e of list) {
      const h = states.get(e.instanceId)!;
      const change = applyCall(h, e, t, config);
      touched.add(h);
      if (change.announce) announce.add(h);
      if (change.transition) audit(h, change.transition, audited);
    }
    const saved = await retryInBatch('save', () => health.save(
      [...announce].map((h) => ({ instanceId: h.instanceId, snapshot: h.breaker, announce: true })),
      [...touched].map((h) => ({ instanceId: h.instanceId, window: h.window, ttlMs: windowTtlMs })),
    ), ctx);
    if (saved === ABANDON) return;
    if ((await retryInBatch('audit', () => transitions.insertMany(audited), ctx)) === ABANDON) return;
    const last = batch.messages[batch.messages.length - 1]!;
    await consumer!.commitOffsets([{ topic: batch.topic, partition: batch.partition, offset: (BigInt(last.offset) + 1n).toString() }]);
    payload.resolveOffset(last.offset);
    events.inc({ outcome: 'applied' }, list.length);
    events.inc({ outcome: 'skipped' }, intake.rejected.length);
  }

  /** Moves OPEN breakers whose open duration has passed to HALF_OPEN, and announces it. */
  async function tick(): Promise<void> {
    const t = now();
    const changed: InstanceHealth[] = [];
    const audited: TransitionRecord[] = [];
    for (const h of states.values()) {
      if (h.breaker.state !== 'OPEN' || h.breaker.openUntil === null || h.breaker.openUntil > t) continue;
      const change = applyTick(h, t, config);
      if (change.announce) changed.push(h);
      if (change.transition) audit(h, change.transition, audited);
    }
    if (changed.length === 0) return;
    try {
      await health.save(changed.map((h) => ({ instanceId: h.instanceId, snapshot: h.breaker, announce: true })), []);
      await transitions.insertMany(audited);
    } catch (err) {
      // The in-memory state moved on; the next batch or tick that touches these instances writes it again.
      log.warn({ err: (err as Error).message }, 'tick not persisted; will be retried');
      for (const h of changed) states.delete(h.instanceId);
    }
  }

  return {
    isRunning: () => running,
    async start() {
      await ensureTopics(kafka, [{ topic: options.topic, numPartitions: options.partitions }]);
      consumer = kafka.consumer({ groupId: options.groupId, sessionTimeout: 30_000, heartbeatInterval: 3000, maxWaitTimeInMs: 200 });
      // A partition handed to another aggregator takes its instances' state with it (reloaded there
      // from Redis); dropping ours avoids acting on stale copies if it ever comes back.
      consumer.on(consumer.events.GROUP_JOIN, () => states.clear());
      await consumer.connect();
      await consumer.subscribe({ topic: options.topic, fromBeginning: true });
      await consumer.run({ autoCommit: false, eachBatchAutoResolve: false, partitionsConsumedConcurrently: 2, eachBatch: handleBatch });
      ticker = setInterval(() => void tick(), options.tickMs);
      running = true;
      log.info({ topic: options.topic, groupId: options.groupId }, 'aggregator consuming');
    },
    async stop() {
      if (!consumer) return;
      abort.abort();
      running = false;
      if (ticker) clearInterval(ticker);
      ticker = null;
      const c = consumer;
      consumer = null;
      await c.disconnect().catch(() => undefined);
    },
  };
}
