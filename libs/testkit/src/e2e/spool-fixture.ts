import { promises as fs } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { expect } from 'chai';
import type { Kafka } from 'kafkajs';
import { RedisKeys } from '@apg/platform';
import type { HttpClient } from '../http-client';
import type { Probe, StackNames } from '../stack';
import { uniqueName } from '../test-env';
import { waitFor } from '../wait-for';

/** What the spool tests need of an api: its clients (a spawned child or an in-process one). */
export interface ApiClients {
  http: HttpClient;
  admin: HttpClient;
}

export interface SpoolHealth {
  status: string;
  stalled: string[];
  dependencies: { kafka: { status: string; spool: { records: number; bytes: number; maxBytes: number; oldestAgeMs: number | null } } };
}

export async function spoolDir(): Promise<string> {
  return fs.mkdtemp(path.join(os.tmpdir(), 'apg-spool-e2e-'));
}

export async function health(api: ApiClients): Promise<SpoolHealth> {
  const res = await api.http.get<{ data: SpoolHealth }>('/api/health');
  expect(res.status).to.equal(200);
  return res.body.data;
}

/** One sample of the api's /metrics by name and (some of) its labels, e.g. `reason: 'corrupt'`; NaN when absent. */
export async function metric(api: ApiClients, name: string, labels: Record<string, string> = {}): Promise<number> {
  const text = (await api.http.get('/metrics')).text;
  const line = text.split('\n').find((l) =>
    (l.startsWith(`${name}{`) || l.startsWith(`${name} `)) && Object.entries(labels).every(([k, v]) => l.includes(`${k}="${v}"`)));
  return line === undefined ? Number.NaN : Number(line.slice(line.lastIndexOf(' ') + 1));
}

/** Registers `n` instances of one model for the tenant; returns their ids. */
export async function registerModels(tenant: HttpClient, n: number): Promise<string[]> {
  const reg = await tenant.post<{ data: { id: string }[] }>('/api/instances/batch', {
    instances: Array.from({ length: n }, (_, k) => ({ apiIdentifier: 'gpt4o', apiType: 'MODEL', businessId: `k${k}` })),
  });
  expect(reg.status, reg.text).to.equal(200);
  return reg.body.data.map((d) => d.id);
}

export interface ReportOutcome {
  status: number;
  errorCode?: string;
  delivery?: string;
}

/**
 * `perInstance` reports for each instance, one after another per instance (so their order is defined) and the
 * instances side by side; `latencyMs` carries the report's sequence number within its instance.
 */
export async function reportSequences(tenant: HttpClient, instanceIds: string[], perInstance: number, from = 0): Promise<ReportOutcome[]> {
  const out: ReportOutcome[] = [];
  await Promise.all(instanceIds.map(async (instanceId) => {
    for (let seq = from; seq < from + perInstance; seq++) {
      const res = await tenant.post<{ errorCode?: string; data?: { delivery?: string } }>('/api/gateway/report-result', { instanceId, businessId: 'k', success: seq % 3 !== 0, latencyMs: seq });
      out.push({ status: res.status, ...(res.body.errorCode ? { errorCode: res.body.errorCode } : {}), ...(res.body.data?.delivery ? { delivery: res.body.data.delivery } : {}) });
    }
  }));
  return out;
}

/** Raw rows of the project: total, distinct eventIds, and per instance its latencyMs values. */
export async function storedRows(probe: Probe, projectId: string): Promise<{ rows: number; distinct: number; byInstance: Map<string, number[]> }> {
  const { rows } = await probe.db.query<{ instance_id: string; event_id: string; latency_ms: number }>(
    'test.spool_rows', 'SELECT instance_id, event_id, latency_ms FROM call_results WHERE project_id = $1', [projectId],
  );
  const byInstance = new Map<string, number[]>();
  for (const r of rows) {
    const list = byInstance.get(r.instance_id) ?? [];
    list.push(Number(r.latency_ms));
    byInstance.set(r.instance_id, list);
  }
  return { rows: rows.length, distinct: new Set(rows.map((r) => r.event_id)).size, byInstance };
}

/** Waits until the project has `expected` raw rows, then checks there is no second row of any event. */
export async function expectStoredOnce(probe: Probe, projectId: string, expected: number, timeoutMs = 90_000): Promise<Map<string, number[]>> {
  await waitFor(`${expected} rows in call_results`, async () => (await storedRows(probe, projectId)).rows >= expected, { timeoutMs, intervalMs: 250 });
  // Room for a duplicate to show up if one were coming.
  await new Promise((r) => setTimeout(r, 1000));
  const s = await storedRows(probe, projectId);
  expect(s.rows, 'rows').to.equal(expected);
  expect(s.distinct, 'distinct eventIds').to.equal(expected);
  return s.byInstance;
}

/**
 * The topic's messages per instance key, in partition (= per-instance) order, by the report's sequence number
 * (latencyMs); a duplicate of an event already seen is skipped (consumers count it once by eventId).
 */
export async function topicOrder(kafka: Kafka, names: StackNames, expected: number): Promise<Map<string, number[]>> {
  const seen = new Set<string>();
  const order = new Map<string, number[]>();
  const consumer = kafka.consumer({ groupId: uniqueName('spool-order'), maxWaitTimeInMs: 100 });
  await consumer.connect();
  try {
    await consumer.subscribe({ topic: names.topic, fromBeginning: true });
    await consumer.run({
      eachMessage: async ({ message }) => {
        const e = JSON.parse(message.value!.toString('utf8')) as { eventId: string; instanceId: string; latencyMs: number };
        if (seen.has(e.eventId)) return;
        seen.add(e.eventId);
        const list = order.get(e.instanceId) ?? [];
        list.push(e.latencyMs);
        order.set(e.instanceId, list);
      },
    });
    await waitFor(`${expected} distinct events on the topic`, () => seen.size >= expected, { timeoutMs: 30_000 });
  } finally {
    await consumer.disconnect();
  }
  return order;
}

/** No decision lease of this stack is open: every selection was settled by its report. */
export async function openLeases(probe: Probe, names: StackNames): Promise<number> {
  return probe.redis.zcard(new RedisKeys(names.redisPrefix).leaseExpiries());
}

export const range = (from: number, n: number): number[] => Array.from({ length: n }, (_, k) => from + k);
