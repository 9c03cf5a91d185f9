import { randomUUID } from 'node:crypto';
import { expect } from 'chai';
import type { EachBatchPayload, KafkaMessage } from 'kafkajs';
import { Counter, Registry } from 'prom-client';
import { CALL_RESULT_SCHEMA_VERSION, encodeCallResultEvent, serviceSigningKey, signWithSecret, type CallResultEvent } from '@apg/contracts';
import { DEFAULT_BREAKER_CONFIG } from '@apg/core';
import { BatchRetrier, createLogger, SigningKeyBook, type InstanceDirectory } from '@apg/platform';
import { BatchHandler } from './batch-handler';
import { HealthBook } from './health-book';
import type { HealthStore, SaveInput } from './health-store';
import type { GuardedWriteResult } from './guarded-write';
import { PartitionClaims } from './partition-claims';

/**
 * How the batch handler routes errors by class, with every store replaced by an in-memory one (the real
 * stores can no longer be made to refuse a value: configs are bounded and every number is clamped, so
 * this is the only place the data path can be driven). The retry policy is the platform's real one.
 */
const PROJECT = 'a'.repeat(32);
const GOOD = 'b'.repeat(32);
const BAD = 'c'.repeat(32);

class ReplyError extends Error {
  override name = 'ReplyError';
}

const API = serviceSigningKey('api', 's'.repeat(32));

function message(offset: number, instanceId: string, signed = true, extra: Partial<CallResultEvent> = {}): KafkaMessage {
  const e: CallResultEvent = {
    eventId: randomUUID(), schemaVersion: CALL_RESULT_SCHEMA_VERSION, projectId: PROJECT, instanceId,
    apiIdentifier: 'gpt4o', apiType: 'MODEL', businessId: instanceId.slice(0, 4), success: false, latencyMs: 10, callTimestamp: Date.now(),
    ...extra,
  };
  const value = encodeCallResultEvent(e);
  return { offset: String(offset), key: Buffer.from(instanceId), value, timestamp: String(Date.now()), attributes: 0, headers: signed ? signWithSecret(value, API.keyId, API.secret) : {} };
}

function payload(messages: KafkaMessage[]): EachBatchPayload {
  return {
    batch: { topic: 't', partition: 0, highWatermark: String(Number(messages[messages.length - 1]!.offset) + 1), messages },
    resolveOffset: () => undefined,
    isRunning: () => true,
    isStale: () => false,
    heartbeat: async () => undefined,
  } as unknown as EachBatchPayload;
}

function setup(save: (input: SaveInput) => GuardedWriteResult, opts: { failAppliedEvents?: Error; hangAppliedEvents?: boolean; loadGate?: Promise<void>; now?: () => number } = {}) {
  const registry = new Registry();
  const log = createLogger('test', 'silent');
  const saves: SaveInput[] = [];
  const commits: string[] = [];
  const bugs: unknown[] = [];
  const settled: [string, string | null, number][] = [];
  let claimsTaken = 0;
  const store = {
    async claimPartition() {
      claimsTaken++;
      return { epoch: String(claimsTaken), applied: null };
    },
    async load(ids: string[]) {
      if (opts.loadGate) await opts.loadGate;
      return new Map(ids.map((id) => [id, { stored: null, window: null }]));
    },
    async appliedEvents() {
      if (opts.failAppliedEvents) throw opts.failAppliedEvents;
      if (opts.hangAppliedEvents) await new Promise(() => undefined);
      return new Set<string>();
    },
    async save(input: SaveInput) {
      saves.push(input);
      return save(input);
    },
  };
  const book = new HealthBook(store as unknown as HealthStore, log);
  const claims = new PartitionClaims(store);
  const retrier = new BatchRetrier({ service: 'test', metrics: registry, log, onBug: (err) => bugs.push(err), baseDelayMs: 1, maxDelayMs: 2 });
  const events = new Counter({ name: 'e', help: 'e', labelNames: ['outcome'] as const, registers: [registry] });
  const handler = new BatchHandler({
    claims, store, book, log,
    configs: { configsOf: async (ids) => new Map([...ids].map((id) => [id, { ...DEFAULT_BREAKER_CONFIG }])) },
    directory: { ownersOf: async (ids: Iterable<string>) => new Map([...ids].map((id) => [id, PROJECT])) } as unknown as InstanceDirectory,
    signing: { keys: new SigningKeyBook({ keysOf: async () => [] }, [API]), requireSigned: true },
    transitions: { insertMany: async () => undefined },
    probes: {
      settle: async (instanceId, selectionId, holdMs) => {
        settled.push([instanceId, selectionId, holdMs]);
        return true;
      },
    },
    stepFor: (p) => (stage, fn) => retrier.run(stage, fn, { signal: new AbortController().signal, active: () => p.isRunning() }),
    commit: async (offsets) => {
      commits.push(offsets[0]!.offset);
    },
    onBug: (err) => bugs.push(err),
    metrics: { events, transitions: new Counter({ name: 't', help: 't', labelNames: ['to_state'] as const, registers: [registry] }), fenced: new Counter({ name: 'f', help: 'f', registers: [registry] }), rejected: new Counter({ name: 'r', help: 'r', labelNames: ['reason'] as const, registers: [registry] }), unsignedAccepted: new Counter({ name: 'u', help: 'u', registers: [registry] }) },
    breakerDefaults: { ...DEFAULT_BREAKER_CONFIG },
    maxEventBytes: 16_384,
    retentionMs: 86_400_000,
    now: opts.now ?? Date.now,
  });
  const outcome = async (name: string) => (await events.get()).values.find((v) => v.labels.outcome === name)?.value ?? 0;
  const rejectedBy = async (reason: string) => (await registry.getSingleMetric('r')!.get()).values.find((v) => v.labels['reason'] === reason)?.value ?? 0;
  return { handler, saves, commits, bugs, settled, outcome, rejectedBy, book, claims };
}

const ok: GuardedWriteResult = { fenced: false, refused: new Map() };

describe('batch handler: errors by class', () => {
  it('writes a good batch once and commits past its last message', async () => {
    const t = setup(() => ok);
    await t.handler.handle(payload([message(0, GOOD), message(1, GOOD), message(2, GOOD)]));
    expect(t.saves).to.have.length(1);
    expect(t.saves[0]!.offset).to.deep.equal({ field: 't:0', next: '3' });
    expect(t.saves[0]!.fence).to.deep.equal({ field: 't:0', epoch: '1' });
    expect(t.commits).to.deep.equal(['3']);
    expect(await t.outcome('applied')).to.equal(3);
  });

  it('settles the slot of each probe it applies: freed while the breaker probes, held until openUntil once it (re)opened', async () => {
    const at = Date.now();
    const t = setup(() => ok, { now: () => at });
    // Settled after the batch is written, by the breaker's state then.
    await t.handler.handle(payload([message(0, GOOD, true, { selectionId: 'p0.probe', probe: true, success: true })]));
    await t.handler.handle(payload([
      ...[1, 2, 3, 4, 5].map((o) => message(o, GOOD)),
      message(6, GOOD, true, { selectionId: 'p1.probe', probe: true }),
      message(7, GOOD, true, { selectionId: 'plain', probe: false }),
    ]));
    expect(t.commits).to.deep.equal(['1', '8']);
    expect(t.settled).to.deep.equal([[GOOD, 'p0.probe', 0], [GOOD, 'p1.probe', DEFAULT_BREAKER_CONFIG.openDurationMs]]);
  });

  it('settles no probe of a batch that was not written', async () => {
    const t = setup(() => ({ fenced: true }));
    await t.handler.handle(payload([message(0, GOOD, true, { selectionId: 'p1.probe', probe: true })]));
    expect(t.settled).to.deep.equal([]);
  });

  it('an unsigned event is skipped, counted by reason, and the partition moves on', async () => {
    const t = setup(() => ok);
    await t.handler.handle(payload([message(0, GOOD), message(1, GOOD, false), message(2, GOOD)]));
    expect(t.commits).to.deep.equal(['3']);
    expect(await t.outcome('applied')).to.equal(2);
    expect(await t.outcome('skipped')).to.equal(1);
    expect(await t.rejectedBy('unsigned')).to.equal(1);
  });

  it('a value Redis refuses: the batch goes again one message at a time, the refused one is skipped, the partition moves on', async () => {
    const t = setup((input) => {
      if (input.records.some((r) => r.instanceId === BAD)) throw new ReplyError('ERR value is not an integer or out of range');
      return ok;
    });
    await t.handler.handle(payload([message(0, GOOD), message(1, BAD), message(2, GOOD)]));
    expect(t.bugs).to.deep.equal([]);
    expect(t.commits).to.deep.equal(['3']);
    expect(await t.outcome('data_error')).to.equal(1);
    // The whole batch, then each message alone: the good ones were written once each, never twice in memory.
    const written = t.saves.slice(1).filter((s) => s.records.length > 0 && s.records[0]!.instanceId === GOOD);
    expect(written.map((s) => s.records[0]!.record.stats?.calls)).to.deep.equal([1, 2]);
    expect(t.book.active.has(BAD)).to.equal(false);
  });

  it('a fenced write commits nothing, and the partition stays fenced until the next generation', async () => {
    const t = setup(() => ({ fenced: true }));
    await t.handler.handle(payload([message(0, GOOD)]));
    await t.handler.handle(payload([message(1, GOOD)]));
    expect(t.commits).to.deep.equal([]);
    expect(t.saves).to.have.length(1);
    expect(t.book.active.size).to.equal(0);
  });

  it('a bug is handed over (the process exits) and nothing is committed', async () => {
    const t = setup(() => ok, { failAppliedEvents: new TypeError('cannot read properties of undefined') });
    await t.handler.handle(payload([message(0, GOOD)]));
    expect(t.bugs).to.have.length(1);
    expect(t.commits).to.deep.equal([]);
    expect(t.saves).to.deep.equal([]);
  });

  it('a Redis outage is retried until it passes, then written and committed', async () => {
    let failures = 2;
    const t = setup(() => {
      if (failures-- > 0) throw Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:6379'), { code: 'ECONNREFUSED' });
      return ok;
    });
    await t.handler.handle(payload([message(0, GOOD)]));
    expect(t.saves).to.have.length(3);
    expect(t.commits).to.deep.equal(['1']);
    expect(t.bugs).to.deep.equal([]);
  });

  it('a call that never returns shows as a stuck batch (the watchdog exits on it), not as progress', async () => {
    let now = 1_000_000;
    const t = setup(() => ok, { hangAppliedEvents: true, now: () => now });
    void t.handler.handle(payload([message(0, GOOD)]));
    await new Promise((r) => setImmediate(r));
    now += 90_000;
    expect(t.handler.longestStuckMs()).to.equal(90_000);
    expect(t.handler.oldestInFlightMs()).to.equal(90_000);
    expect(t.commits).to.deep.equal([]);
  });

  it('an idle handler is neither stuck nor holding anything', () => {
    const t = setup(() => ok);
    expect(t.handler.longestStuckMs()).to.equal(0);
    expect(t.handler.oldestInFlightMs()).to.equal(0);
  });

  it('a batch that outlived a rebalance (stuck on a dependency) applies nothing once it resumes', async () => {
    let release: () => void = () => undefined;
    const t = setup(() => ok, { loadGate: new Promise<void>((r) => (release = r)) });
    const handling = t.handler.handle(payload([message(0, GOOD)]));
    await new Promise((r) => setImmediate(r));
    t.claims.reset();
    release();
    await handling;
    expect(t.saves).to.deep.equal([]);
    expect(t.commits).to.deep.equal([]);
    expect(t.book.active.get(GOOD)?.window.consecutiveFailures ?? 0, 'nothing applied in memory').to.equal(0);
  });
});
