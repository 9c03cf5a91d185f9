// The api and an aggregator of one stack, running as children, for the sections that need outcomes
// to come back as breaker states (freshness, breaker reaction, memory with health records).
import type { StackNames } from './bench-env';
import { spawnAggregator, spawnApi, type Child } from './children';
import { JsonClient, type JsonResponse, type Envelope } from './json-client';
import type { BenchContext } from './outcome';
import { USER_ID, type Tenant } from './tenant';

export interface LiveStack {
  names: StackNames;
  api: Child;
  aggregator: Child;
  client: JsonClient;
  /** Instances of this stack that have been reported at least once (the aggregator holds a record). */
  reported: Set<string>;
  stop(): Promise<void>;
}

export async function startLiveStack(ctx: BenchContext): Promise<LiveStack> {
  const names = await ctx.stack('b');
  const aggregator = await spawnAggregator(ctx.env, names);
  let api: Child;
  try {
    api = await spawnApi(ctx.env, names, ctx.apiNodeArgs('live'));
  } catch (err) {
    await aggregator.stop();
    throw err;
  }
  const client = new JsonClient(api.port);
  return {
    names, api, aggregator, client, reported: new Set(),
    async stop() {
      client.close();
      await api.stop();
      await aggregator.stop();
    },
  };
}

export interface SelectedDto {
  id: string;
  businessId: string;
  selectionId: string;
}

export function select(tenant: Tenant, apiIdentifier: string, extra: Record<string, unknown> = {}): Promise<JsonResponse<Envelope<SelectedDto>>> {
  return tenant.http.post<Envelope<SelectedDto>>('/api/gateway/select-instance', { userId: USER_ID, apiIdentifier, apiType: 'MODEL', ...extra });
}

/** Reports one call outcome; throws unless the api answered 200 (the broker acknowledged it). */
export async function report(stack: LiveStack, tenant: Tenant, inst: { id: string; businessId: string }, success: boolean, selectionId?: string): Promise<void> {
  const res = await tenant.http.post('/api/gateway/report-result', {
    instanceId: inst.id,
    businessId: inst.businessId,
    success,
    latencyMs: success ? 800 : 50,
    callTimestamp: Date.now(),
    ...(success ? {} : { errorMessage: 'upstream answered 500', statusCode: 500 }),
    ...(selectionId ? { selectionId } : {}),
  });
  if (res.status !== 200) throw new Error(`report: HTTP ${res.status} ${JSON.stringify(res.body).slice(0, 300)}`);
  stack.reported.add(inst.id);
}
