import { randomBytes, randomUUID } from 'node:crypto';
import type { Kafka, Producer } from 'kafkajs';
import { CALL_RESULT_SCHEMA_VERSION, encodeCallResultEvent, type CallResultEvent } from '@apg/contracts';
import type { HealthRecord, SlidingWindow } from '@apg/core';
import { RedisKeys, type Db, type Redis } from '@apg/platform';
import { signedByService } from '../signing';
import type { StackNames } from '../stack';
import { waitFor } from '../wait-for';

export interface TestInstance {
  id: string;
  projectId: string;
  businessId: string;
}

const hex32 = (): string => randomBytes(16).toString('hex');

/** Registers a project with one instance per `routingParams` entry, straight in SQL (no api needed). */
export async function registerInstances(db: Db, routingParams: Record<string, unknown>[]): Promise<TestInstance[]> {
  const projectId = hex32();
  await db.query('test.project', `INSERT INTO projects (id, name) VALUES ($1, $2)`, [projectId, `agg-${projectId.slice(0, 8)}`]);
  const out: TestInstance[] = [];
  for (const [i, params] of routingParams.entries()) {
    const inst = { id: hex32(), projectId, businessId: `model-${i}` };
    await db.query(
      'test.instance',
      `INSERT INTO api_instances (id, project_id, api_identifier, api_type, business_id, routing_params) VALUES ($1, $2, 'gpt4o', 'MODEL', $3, $4::jsonb)`,
      [inst.id, projectId, inst.businessId, JSON.stringify(params)],
    );
    out.push(inst);
  }
  return out;
}

export function callEvent(i: TestInstance, success: boolean, over: Partial<CallResultEvent> = {}): CallResultEvent {
  return {
    eventId: randomUUID(),
    schemaVersion: CALL_RESULT_SCHEMA_VERSION,
    projectId: i.projectId,
    instanceId: i.id,
    apiIdentifier: 'gpt4o',
    apiType: 'MODEL',
    businessId: i.businessId,
    success,
    latencyMs: 80,
    callTimestamp: Date.now(),
    ...over,
  };
}

export async function send(producer: Producer, names: StackNames, events: CallResultEvent[]): Promise<void> {
  await producer.send({ topic: names.topic, acks: -1, messages: events.map((e) => signedByService({ key: e.instanceId, value: encodeCallResultEvent(e) })) });
}

/** `n` copies of one outcome for one instance. */
export const times = (n: number, i: TestInstance, success: boolean, over: Partial<CallResultEvent> = {}): CallResultEvent[] =>
  Array.from({ length: n }, () => callEvent(i, success, over));

export async function readRecord(redis: Redis, names: StackNames, instanceId: string): Promise<HealthRecord | null> {
  const json = await redis.hget(new RedisKeys(names.redisPrefix).breakerStates(), instanceId);
  return json ? (JSON.parse(json) as HealthRecord) : null;
}

/** Waits until the instance's record satisfies `check` (e.g. the aggregator counted N calls). */
export async function waitForRecord(
  redis: Redis,
  names: StackNames,
  instanceId: string,
  what: string,
  check: (r: HealthRecord) => boolean,
  timeoutMs = 15_000,
): Promise<HealthRecord> {
  return waitFor(what, async () => {
    const r = await readRecord(redis, names, instanceId);
    return r && check(r) ? r : null;
  }, { timeoutMs });
}

/** Stats-based wait: the window holds exactly `calls` calls (the batch that brought them was written). */
export const callsAre = (calls: number) => (r: HealthRecord): boolean => r.stats?.calls === calls;

/** Calls counted in an instance's stored window snapshot (what a restart reloads). */
export async function windowCalls(redis: Redis, names: StackNames, instanceId: string): Promise<number> {
  const json = await redis.get(new RedisKeys(names.redisPrefix).window(instanceId));
  return json ? (JSON.parse(json) as SlidingWindow).buckets.reduce((n, b) => n + b.calls, 0) : 0;
}

/** Per partition: the group's committed offset and the topic's high watermark. */
export async function groupProgress(kafka: Kafka, names: StackNames): Promise<{ partition: number; committed: number; high: number }[]> {
  const admin = kafka.admin();
  await admin.connect();
  try {
    const [committed] = await admin.fetchOffsets({ groupId: names.aggregatorGroup, topics: [names.topic] });
    const highs = await admin.fetchTopicOffsets(names.topic);
    return highs.map((h) => ({
      partition: h.partition,
      high: Number(h.high),
      committed: Number(committed?.partitions.find((p) => p.partition === h.partition)?.offset ?? -1),
    }));
  } finally {
    await admin.disconnect();
  }
}

/** Waits until the group's committed offsets reach the high watermark on every partition. */
export async function waitForCaughtUp(kafka: Kafka, names: StackNames, timeoutMs = 30_000): Promise<void> {
  await waitFor('committed offsets at the high watermark', async () =>
    (await groupProgress(kafka, names)).every((p) => p.high === 0 || p.committed === p.high), { timeoutMs, intervalMs: 200 });
}
