// The gateway as the clients see it: select and report over HTTP against the real api, whose reports go
// through Kafka to the real aggregator (breakers, windows → Redis) and ingestor (→ Postgres).
import type { Policy, Selection } from './driver';
import { INSTANCES, scaled, type InstanceName, type Outcome } from './scenario';

/**
 * The architecture's breaker defaults (§6) with every duration divided by TIME_SCALE; thresholds, counts and
 * the slow-call latency (a latency, not a duration of the model clock) unchanged. Given to every simulated
 * instance as `routingParams.breaker`, which the api and the aggregator both apply over their defaults.
 */
export const SCALED_BREAKER = {
  windowMs: scaled(60_000),
  minCalls: 10,
  failureRateThreshold: 0.5,
  consecutiveFailures: 5,
  openDurationMs: scaled(30_000),
  maxOpenDurationMs: scaled(300_000),
  halfOpenProbes: 3,
  slowCallMs: 5_000,
  slowCallRateThreshold: 0.8,
} as const;

/** The part of an HTTP JSON client used here (libs/testkit's HttpClient has it; so has {@link jsonClient}). */
export interface JsonClient {
  post<T>(path: string, body?: unknown): Promise<{ status: number; body: T; text: string }>;
  get<T>(path: string): Promise<{ status: number; body: T; text: string }>;
}

/** A minimal fetch-based JSON client, for the client threads (which do not load the services' code). */
export function jsonClient(baseUrl: string, headers: Record<string, string>): JsonClient {
  const request = async <T>(method: string, path: string, body?: unknown) => {
    const init: RequestInit = { method, headers: { ...headers } };
    if (body !== undefined) {
      init.body = JSON.stringify(body);
      (init.headers as Record<string, string>)['content-type'] = 'application/json';
    }
    const res = await fetch(`${baseUrl}${path}`, init);
    const text = await res.text();
    let parsed: unknown = {};
    try {
      parsed = text ? JSON.parse(text) : {};
    } catch {
      parsed = {};
    }
    return { status: res.status, body: parsed as T, text };
  };
  return {
    post: <T>(path: string, body?: unknown) => request<T>('POST', path, body),
    get: <T>(path: string) => request<T>('GET', path),
  };
}

interface Enveloped<T> {
  code?: number;
  errorCode?: string;
  message?: string;
  data: T;
}

export interface RegisteredGroup {
  apiIdentifier: string;
  byName: Partial<Record<InstanceName, { id: string; businessId: string }>>;
}

/** Registers A–D as one logical API of its own (fresh breakers and windows for every strategy run). */
export async function registerGroup(tenant: JsonClient, apiIdentifier: string): Promise<RegisteredGroup> {
  const res = await tenant.post<Enveloped<{ id: string; businessId: string }[]>>('/api/instances/batch', {
    instances: INSTANCES.map((i) => ({
      apiType: 'MODEL',
      apiIdentifier,
      businessId: `${apiIdentifier}-${i.name}`,
      routingParams: { weight: i.weight, costPerUnit: i.costPerUnit, breaker: { ...SCALED_BREAKER } },
      metadata: { bench: 'routing', role: i.role },
    })),
  });
  if (res.status !== 200) throw new Error(`registering ${apiIdentifier} failed: ${res.status} ${res.text}`);
  const byName: RegisteredGroup['byName'] = {};
  for (const i of INSTANCES) {
    const row = res.body.data.find((d) => d.businessId === `${apiIdentifier}-${i.name}`);
    if (!row) throw new Error(`instance ${i.name} of ${apiIdentifier} missing from the registration answer`);
    byName[i.name] = { id: row.id, businessId: row.businessId };
  }
  return { apiIdentifier, byName };
}

interface Handle {
  id: string;
  businessId: string;
  selectionId: string;
}

export class GatewayPolicy implements Policy {
  reportErrors = 0;
  selectErrors = new Map<string, number>();
  private readonly nameById: Map<string, InstanceName>;

  constructor(private readonly tenant: JsonClient, private readonly group: RegisteredGroup, private readonly strategy: string) {
    this.nameById = new Map(Object.entries(group.byName).map(([name, row]) => [row.id, name as InstanceName]));
  }

  async select(): Promise<Selection> {
    const res = await this.tenant.post<Enveloped<{ id: string; businessId: string; selectionId: string; breakerState: string }>>(
      '/api/gateway/select-instance',
      { apiType: 'MODEL', apiIdentifier: this.group.apiIdentifier, strategy: this.strategy },
    );
    if (res.status !== 200) {
      const key = `${res.status} ${res.body?.errorCode ?? ''}`.trim();
      this.selectErrors.set(key, (this.selectErrors.get(key) ?? 0) + 1);
      return { instance: null };
    }
    const d = res.body.data;
    const name = this.nameById.get(d.id);
    if (!name) throw new Error(`select answered an instance outside the group: ${d.id}`);
    const handle: Handle = { id: d.id, businessId: d.businessId, selectionId: d.selectionId };
    return { instance: name, handle, breakerState: d.breakerState };
  }

  async report(selection: Selection, outcome: Outcome, callStartedAtEpoch: number): Promise<void> {
    const h = selection.handle as Handle;
    const body: Record<string, unknown> = {
      instanceId: h.id,
      businessId: h.businessId,
      selectionId: h.selectionId,
      success: outcome.ok,
      latencyMs: outcome.latencyMs,
      callTimestamp: callStartedAtEpoch,
    };
    if (outcome.statusCode !== undefined) body['statusCode'] = outcome.statusCode;
    if (outcome.errorType) body['errorType'] = outcome.errorType;
    if (outcome.retryAfterMs !== undefined) body['retryAfterMs'] = outcome.retryAfterMs;
    if (outcome.usage) body['usageMetrics'] = outcome.usage;
    const res = await this.tenant.post('/api/gateway/report-result', body);
    if (res.status !== 200) this.reportErrors++;
  }
}

/** B's breaker transitions from the admin API (the aggregator's audit trail), oldest first. */
export async function transitionsOf(admin: JsonClient, instanceId: string): Promise<{ at: number; from: string; to: string; reason: string }[]> {
  const res = await admin.get<Enveloped<{ at: number; from: string; to: string; reason: string }[]>>(`/api/admin/instances/${instanceId}/transitions`);
  if (res.status !== 200) return [];
  return [...res.body.data].sort((a, b) => a.at - b.at);
}
