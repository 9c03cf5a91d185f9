// One simulated run on a thread of its own: the clients and the fake upstreams get their own event loop, so
// the stack's work on the main thread (api, ingestor, aggregator, Kafka clients) does not bend their timers.
import { parentPort, workerData } from 'node:worker_threads';
import { EnvoyLike, LiteLlmLike } from './baselines';
import { runClients, type Policy } from './driver';
import { GatewayPolicy, jsonClient, type RegisteredGroup } from './gateway';
import type { CallRecord } from './metrics';
import { Upstreams } from './scenario';

export type PolicySpec =
  | { kind: 'gateway'; baseUrl: string; apiKey: string; group: RegisteredGroup; strategy: string }
  | { kind: 'litellm'; cooldownModelMs: number }
  | { kind: 'envoy' };

export interface SimRequest {
  policy: PolicySpec;
  durationMs: number;
  clients: number;
  /** Attempts per second, all clients together. */
  rate: number;
  seed: number;
}

export interface SimResult {
  startEpoch: number;
  bDiesAt: number;
  bRecoversAt: number;
  cSlowFrom: number;
  calls: CallRecord[];
  reportErrors: number;
  notes: string[];
}

async function simulate(req: SimRequest): Promise<SimResult> {
  const start = performance.now();
  const t = () => performance.now() - start;
  const startEpoch = Date.now();
  const upstreams = new Upstreams(req.durationMs, t, req.seed, req.rate);
  let policy: Policy;
  const spec = req.policy;
  let envoy: EnvoyLike | null = null;
  let gateway: GatewayPolicy | null = null;
  if (spec.kind === 'gateway') {
    gateway = new GatewayPolicy(jsonClient(spec.baseUrl, { 'api-key': spec.apiKey }), spec.group, spec.strategy);
    policy = gateway;
  } else if (spec.kind === 'envoy') {
    envoy = new EnvoyLike(t);
    policy = envoy;
  } else {
    policy = new LiteLlmLike(t, { cooldownModelMs: spec.cooldownModelMs }, req.seed + 1);
  }
  try {
    const calls = await runClients(policy, upstreams, req.clients, req.rate, req.durationMs);
    const notes: string[] = [];
    if (gateway) notes.push(...[...gateway.selectErrors].map(([k, n]) => `${n} selects answered ${k}`));
    if (envoy?.overflowed) notes.push(`${envoy.overflowed} ejections refused by max_ejection_percent`);
    return {
      startEpoch, bDiesAt: upstreams.bDiesAt, bRecoversAt: upstreams.bRecoversAt, cSlowFrom: upstreams.cSlowFrom,
      calls, reportErrors: gateway?.reportErrors ?? 0, notes,
    };
  } finally {
    envoy?.stop();
  }
}

if (parentPort) {
  const port = parentPort;
  simulate(workerData as SimRequest).then(
    (result) => port.postMessage({ ok: true, result }),
    (err: Error) => port.postMessage({ ok: false, error: err.stack ?? err.message }),
  );
}
