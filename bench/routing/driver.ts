// The clients: N concurrent loops of select → call → report against one routing policy.
import type { CallRecord } from './metrics';
import { sleep, type InstanceName, type Outcome, type Upstreams } from './scenario';

export interface Selection {
  instance: InstanceName | null;
  /** Whatever the policy needs back in `report` (the gateway's instance id and selectionId). */
  handle?: unknown;
  breakerState?: string;
}

/** A routing policy as the clients see it: the gateway over HTTP, or a baseline modelled in process. */
export interface Policy {
  select(): Promise<Selection>;
  report(selection: Selection, outcome: Outcome, callStartedAtEpoch: number): Promise<void>;
}

/** Least pause of a client whose selection found nothing, so an outage does not become a busy loop. */
const NO_INSTANCE_BACKOFF_MS = 25;

/**
 * `clients` loops, each starting an attempt every `clients / rate` seconds (or at once when the previous one
 * took longer): the same offered load for every policy, whatever its own select/report overhead.
 */
export async function runClients(policy: Policy, upstreams: Upstreams, clients: number, rate: number, durationMs: number): Promise<CallRecord[]> {
  const t = upstreams.t;
  const records: CallRecord[] = [];
  const periodMs = (1000 * clients) / rate;
  const client = async (index: number) => {
    // Spread the clients' first attempts over one period.
    let next = (periodMs * index) / clients;
    while (next < durationMs) {
      if (next > t()) await sleep(next - t());
      const tAsk = t();
      next = Math.max(tAsk, next + periodMs);
      if (tAsk >= durationMs) break;
      const selection = await policy.select();
      const tSelected = t();
      const selectMs = tSelected - tAsk;
      if (selection.instance === null) {
        records.push({ tAsk, tSelected, tEnd: tSelected, instance: null, ok: false, latencyMs: 0, cost: 0, selectMs });
        next = Math.max(next, t() + NO_INSTANCE_BACKOFF_MS);
        continue;
      }
      const startedAt = Date.now();
      const outcome = await upstreams.call(selection.instance);
      const tEnd = t();
      const record: CallRecord = {
        tAsk, tSelected, tEnd, instance: selection.instance, ok: outcome.ok, latencyMs: outcome.latencyMs,
        cost: outcome.usage?.cost ?? 0, selectMs,
      };
      if (outcome.statusCode !== undefined) record.statusCode = outcome.statusCode;
      if (selection.breakerState !== undefined) record.breakerState = selection.breakerState;
      records.push(record);
      const reportFrom = t();
      await policy.report(selection, outcome, startedAt);
      record.reportMs = t() - reportFrom;
    }
  };
  await Promise.all(Array.from({ length: clients }, (_, i) => client(i)));
  return records;
}
