/**
 * The console's one door to the api: same-origin JSON with the session cookie, the envelope unwrapped,
 * errors as ApiError (status, errorCode, per-field messages). Every request that changes state carries
 * `X-APG-Console: 1`, which the api requires of cookie-authenticated writes (CSRF defence).
 */

export interface FieldError {
  field: string;
  message: string;
}

export class ApiError extends Error {
  constructor(readonly status: number, readonly errorCode: string, message: string, readonly fields: FieldError[] = [], readonly retryAfterS: number | null = null) {
    super(message);
  }
}

interface Envelope<T> {
  code: number;
  message: string;
  data?: T;
  errorCode?: string;
  errors?: FieldError[];
}

type Listener = () => void;
const unauthorizedListeners = new Set<Listener>();

/** Called when any data request answers 401: the session ended (expired, logged out elsewhere). */
export function onUnauthorized(fn: Listener): () => void {
  unauthorizedListeners.add(fn);
  return () => unauthorizedListeners.delete(fn);
}

export async function request<T>(method: string, path: string, body?: unknown, opts: { signal?: AbortSignal; quiet401?: boolean } = {}): Promise<T> {
  const headers: Record<string, string> = { accept: 'application/json' };
  if (method !== 'GET') headers['x-apg-console'] = '1';
  if (body !== undefined) headers['content-type'] = 'application/json';
  let res: Response;
  try {
    res = await fetch(path, {
      method,
      headers,
      credentials: 'same-origin',
      body: body === undefined ? null : JSON.stringify(body),
      ...(opts.signal ? { signal: opts.signal } : {}),
    });
  } catch (err) {
    if ((err as Error).name === 'AbortError') throw err;
    throw new ApiError(0, 'NETWORK', (err as Error).message || 'network error');
  }
  let env: Envelope<T> | null = null;
  try {
    env = (await res.json()) as Envelope<T>;
  } catch {
    env = null;
  }
  if (!res.ok || !env) {
    if (res.status === 401 && !opts.quiet401) unauthorizedListeners.forEach((fn) => fn());
    const retry = Number(res.headers.get('retry-after'));
    throw new ApiError(res.status, env?.errorCode ?? `HTTP_${res.status}`, env?.message ?? res.statusText, env?.errors ?? [], Number.isFinite(retry) && retry > 0 ? retry : null);
  }
  return env.data as T;
}

export const api = {
  get: <T>(path: string, signal?: AbortSignal) => request<T>('GET', path, undefined, signal ? { signal } : {}),
  post: <T>(path: string, body?: unknown) => request<T>('POST', path, body ?? {}),
  put: <T>(path: string, body?: unknown) => request<T>('PUT', path, body ?? {}),
  del: <T>(path: string) => request<T>('DELETE', path),
};

export const qs = (params: Record<string, string | undefined>) => {
  const p = new URLSearchParams();
  for (const [k, v] of Object.entries(params)) if (v !== undefined && v !== '') p.set(k, v);
  const s = p.toString();
  return s ? `?${s}` : '';
};

// --- the shapes the screens read (the api's DTOs; see the OpenAPI document at /api/openapi.json) ---

export interface Project {
  id: string;
  name: string;
  description?: string;
  status: 'ACTIVE' | 'INACTIVE';
  apiKeyPrefix?: string;
  defaultStrategy?: string;
  panicMode?: boolean;
  createdAt: string;
  updatedAt: string;
}

export interface ApiKey {
  id: string;
  apiKeyPrefix: string;
  apiKeyValue?: string;
  status: 'UNUSED' | 'ACTIVE' | 'REVOKED' | 'EXPIRED';
  description?: string;
  expiresAt?: string;
  lastUsedAt?: string;
  createdAt: string;
}

export interface Instance {
  id: string;
  projectId: string;
  projectName?: string;
  apiIdentifier: string;
  apiType: string;
  businessId: string;
  userId?: string;
  routingParams?: Record<string, unknown>;
  status: 'ACTIVE' | 'INACTIVE' | 'DEPRECATED';
  metadata?: Record<string, unknown>;
  createdAt?: string;
}

export interface ChartPoint {
  time: string;
  calls: number;
  successRate: number | null;
  avgLatencyMs: number | null;
  p95LatencyMs: number | null;
}

export interface ChartSeries {
  timeRange: string;
  bucketMs: number;
  points: ChartPoint[];
}

export interface StageReport {
  status: 'UP' | 'STALLED' | 'UNKNOWN';
  lagMessages: number | null;
  oldestUnappliedEventAgeMs: number | null;
}

export interface StatusCounts {
  total: number;
  byStatus: Record<string, number>;
}

export interface Overview {
  statistics: { projects: StatusCounts; instances: StatusCounts; apiKeys: StatusCounts };
  breakerStates: Record<string, number>;
  recent: { minutes: number; calls: number; callsPerMinute: number; successRate: number | null; p95LatencyMs: number | null; avgLatencyMs: number | null };
  pipeline: { ingestor: StageReport; aggregator: StageReport & { heartbeatAgeMs: number | null } };
  dlq: { topic: string; total: number | null; perMinute: number | null };
  generatedAt: string;
}

export interface Transition {
  from: string;
  to: string;
  reason: string;
  actor: string;
  /** Epoch ms. */
  at: number;
}

export interface InstanceState {
  instanceId: string;
  record: { state: string; since: number; reason: string; degraded: boolean; openUntil: number | null; stats: { calls: number; failures: number; failureRate: number | null; avgLatencyMs: number | null } | null };
  window: {
    calls: number; failures: number; slowCalls: number; failureRate: number; slowCallRate: number;
    avgLatencyMs: number | null; maxLatencyMs: number | null; consecutiveFailures: number; windowMs: number;
  } | null;
  config: Record<string, number>;
  transitions: Transition[];
}

export interface ExplainCandidate {
  id: string;
  eligible: boolean;
  skipReason?: string;
  score?: number;
  probability?: number;
  tier?: number;
  breakerState: string;
}

export interface SelectAnswer extends Instance {
  selectionId: string;
  breakerState: string;
  fallbackUsed: boolean;
  servedApiIdentifier: string;
  panic?: boolean;
  explain?: { strategy: string; via: string; groups: { apiIdentifier: string; candidates: ExplainCandidate[] }[] };
}
