import { randomUUID } from 'node:crypto';
import { expect } from 'chai';
import type { IHeaders, Producer } from 'kafkajs';
import { CALL_RESULT_SCHEMA_VERSION, ERROR_TYPES, encodeCallResultEvent, type CallResultEvent } from '@apg/contracts';
import { BREAKER_KEYS, mulberry32, type HealthRecord } from '@apg/core';
import { RedisKeys } from '@apg/platform';
import { signedByService } from '../signing';
import { openProbe, startAggregator, stackNames, type Probe, type StackNames, type TestAggregator } from '../stack';
import { groupProgress, registerInstances, waitForCaughtUp, type TestInstance } from './fixtures';

/** Values a stored `routingParams.breaker` setting may hold after years of unvalidated writes. */
const SETTINGS: unknown[] = [
  1e21, 1e300, 1e15, 1e12, -1, 0, 0.5, 1e-300, 3.7, Number.MAX_SAFE_INTEGER, 2 ** 53 + 2, 1, 2, 5, 10, 1000,
  30_000, 60_000, 3_600_000, 0.9, '1e21', '60000', null, true, [], {}, 'x'.repeat(2000),
];

type Rand = () => number;
const pick = <T>(rand: Rand, xs: readonly T[]): T => xs[Math.floor(rand() * xs.length)]!;
const chance = (rand: Rand, p: number): boolean => rand() < p;

function routingParams(rand: Rand): Record<string, unknown> {
  const r = rand();
  if (r < 0.15) return {};
  if (r < 0.25) return { breaker: pick(rand, ['not an object', [1, 2], null, 42, { nested: { deeper: 1e21 } }]) };
  const breaker: Record<string, unknown> = {};
  for (const key of BREAKER_KEYS) if (chance(rand, 0.5)) breaker[key] = pick(rand, SETTINGS);
  if (chance(rand, 0.1)) breaker['unknownKey'] = 1e21;
  return { breaker };
}

function event(rand: Rand, i: TestInstance, now: number): CallResultEvent {
  const e: CallResultEvent = {
    eventId: randomUUID(),
    schemaVersion: CALL_RESULT_SCHEMA_VERSION,
    projectId: i.projectId,
    instanceId: i.id,
    apiIdentifier: 'gpt4o',
    apiType: 'MODEL',
    businessId: i.businessId,
    success: chance(rand, 0.4),
    latencyMs: pick(rand, [0, 1, 80, 4999, 5000, 60_000, 2_147_483_647, Math.floor(rand() * 10_000)]),
    // Mostly inside the window; some an hour old, some just ahead, some far outside (refused at admission).
    callTimestamp: Math.max(0, Math.round(pick(rand, [now, now - rand() * 60_000, now - 3600_000, now + 60_000, now + 86_400_000, 0]))),
  };
  if (chance(rand, 0.5)) e.errorType = pick(rand, [...ERROR_TYPES, 'SOMETHING_ELSE', '']);
  if (chance(rand, 0.3)) e.statusCode = pick(rand, [100, 200, 404, 429, 500, 503, 599]);
  if (chance(rand, 0.2)) e.retryAfterMs = pick(rand, [0, 1000, 60_000, 1e15, Number.MAX_SAFE_INTEGER]);
  if (chance(rand, 0.2)) e.probe = chance(rand, 0.5);
  if (chance(rand, 0.3)) e.usage = { promptTokens: pick(rand, [0, 10, 1_000_000_000]), completionTokens: pick(rand, [0, 5, 1_000_000_000]), cost: pick(rand, [0, 0.01, 1_000_000_000]) };
  return e;
}

type Message = { key: string; value: string; headers: IHeaders };

/** A message as a hostile or broken producer might send it (signed as the api signs, unless the signature is the defect). */
function garbage(rand: Rand, instances: TestInstance[], now: number): Message {
  const i = pick(rand, instances);
  const other = pick(rand, instances);
  const signed = (value: string): Message => signedByService({ key: i.id, value });
  switch (Math.floor(rand() * 8)) {
    case 0: return signed('{not json');
    case 1: return signed(JSON.stringify({ ...event(rand, i, now), schemaVersion: 99 }));
    case 2: return signed(JSON.stringify({ ...event(rand, i, now), instanceId: 'f'.repeat(32) }));
    case 3: return signed(JSON.stringify({ ...event(rand, i, now), projectId: other.projectId === i.projectId ? 'e'.repeat(32) : other.projectId }));
    case 4: return signed(JSON.stringify({ ...event(rand, i, now), errorMessage: 'x'.repeat(20_000) }));
    case 5: return { key: i.id, value: JSON.stringify(event(rand, i, now)), headers: {} };
    case 6: return { ...signed(JSON.stringify(event(rand, i, now))), value: JSON.stringify(event(rand, i, now)) };
    default: return signed(JSON.stringify({ ...event(rand, i, now), latencyMs: -1 }));
  }
}

/**
 * Property (issue 8 §2): whatever the events and the stored configs — absurd numbers, strings, garbage,
 * duplicates, events from the future, a restart in between — the real aggregator commits every partition up
 * to its high watermark and never exits on data. Seeded (core `mulberry32`): a failure names its seed.
 */
describe('aggregator: offsets always advance, whatever the events and stored configs (property, real stack)', function () {
  this.timeout(240_000);
  let names: StackNames;
  let probe: Probe;
  let producer: Producer;
  let aggregator: TestAggregator | null = null;

  before(async () => {
    names = stackNames();
    probe = await openProbe(names);
    producer = probe.kafka.producer();
    await producer.connect();
    aggregator = await startAggregator(names);
  });

  after(async () => {
    await aggregator?.close();
    await producer?.disconnect();
    await probe?.close();
  });

  const seeds = [0x5eed, 42, 20261130];
  for (const [round, seed] of seeds.entries()) {
    it(`seed ${seed}: ${round === 1 ? 'with a restart in the middle, ' : ''}every partition committed to its end, no exit`, async () => {
      const rand = mulberry32(seed);
      const instances = await registerInstances(probe.db, Array.from({ length: 20 }, () => routingParams(rand)));
      const now = Date.now();
      const sent: CallResultEvent[] = [];
      const messages: Message[] = [];
      for (let n = 0; n < 400; n++) {
        const r = rand();
        if (r < 0.1 && sent.length > 0) {
          const again = pick(rand, sent);
          messages.push(signedByService({ key: again.instanceId, value: encodeCallResultEvent(again).toString() }));
        } else if (r < 0.2) {
          messages.push(garbage(rand, instances, now));
        } else {
          const e = event(rand, pick(rand, instances), now);
          sent.push(e);
          messages.push(signedByService({ key: e.instanceId, value: encodeCallResultEvent(e).toString() }));
        }
      }
      const half = messages.length / 2;
      await producer.send({ topic: names.topic, acks: -1, messages: messages.slice(0, half) });
      if (round === 1) {
        await aggregator?.close();
        aggregator = await startAggregator(names);
      }
      await producer.send({ topic: names.topic, acks: -1, messages: messages.slice(half) });

      await waitForCaughtUp(probe.kafka, names, 90_000).catch(async (err: Error) => {
        throw new Error(`seed ${seed}: ${err.message}: ${JSON.stringify(await groupProgress(probe.kafka, names))}`);
      });
      expect(aggregator?.fatals, `seed ${seed}: no exit on data`).to.deep.equal([]);

      // Every record written is one the api can read, and counts no more calls than distinct events were sent.
      const keys = new RedisKeys(names.redisPrefix);
      let written = 0;
      for (const i of instances) {
        const json = await probe.redis.hget(keys.breakerStates(), i.id);
        if (json === null) continue;
        written++;
        const r = JSON.parse(json) as HealthRecord;
        const distinct = new Set(sent.filter((e) => e.instanceId === i.id).map((e) => e.eventId)).size;
        expect(r.state, `seed ${seed}`).to.be.oneOf(['CLOSED', 'OPEN', 'HALF_OPEN', 'FORCED_OPEN', 'FORCED_CLOSED']);
        expect(r.stats?.calls ?? 0, `seed ${seed}: ${i.id} counted at most once per event`).to.be.at.most(distinct);
        const ttl = await probe.redis.pttl(keys.window(i.id));
        expect(ttl, `seed ${seed}: bounded window TTL`).to.be.within(-2, 24 * 3600_000);
      }
      expect(written, `seed ${seed}: the events were applied, not all refused`).to.be.greaterThan(instances.length / 2);
    });
  }
});
