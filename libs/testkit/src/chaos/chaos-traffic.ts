import { GatewayClient, type CallOutcome, type SelectedInstance } from '@apg/sdk';

/** One api replica as the traffic sees it: an SDK client on it and the reports it failed to deliver. */
export interface Replica {
  name: string;
  client: GatewayClient;
  /** Reports that failed, with the error. */
  failed: WeakMap<CallOutcome, unknown>;
}

export function replicaOf(name: string, baseUrl: string, apiKey: string): Replica {
  const failed = new WeakMap<CallOutcome, unknown>();
  const client = new GatewayClient({ baseUrl, apiKey, timeoutMs: 3000, onReportError: (err, outcome) => failed.set(outcome, err) });
  return { name, client, failed };
}

/** A short class of a failed attempt: `<status> <errorCode>` from the gateway, else the error's message. */
export function failureKind(err: unknown): string {
  const e = err as { status?: unknown; errorCode?: unknown; message?: unknown; cause?: { code?: unknown } };
  if (typeof e?.status === 'number') return `${e.status} ${typeof e.errorCode === 'string' ? e.errorCode : ''}`.trim();
  if (typeof e?.cause?.code === 'string') return e.cause.code;
  return String(e?.message ?? err).slice(0, 60);
}

export interface AckedReport {
  instanceId: string;
  success: boolean;
  at: number;
}

/**
 * Steady select → report traffic through every api replica, as a careful client does it: each step
 * that fails (a replica killed, a 503 while Kafka or Redis fails over) is retried on the next replica with
 * backoff, a report with the same selectionId (so the gateway counts it once whichever replica takes it).
 * The dead instance always "fails" (503). Remembers every report acknowledged with 200 and every failure.
 */
export class ChaosTraffic {
  readonly acked = new Map<string, AckedReport>();
  /**
   * Calls that went to the dead instance: when the select was sent (`at`) and through which replica, and
   * when its failed report was last sent, and when and through which replica it was acknowledged (null until
   * it is).
   */
  readonly deadCalls: { at: number; replica: string; reportSentAt: number | null; reportedAt: number | null; reportedVia: string | null }[] = [];
  /** Times at which a select or report attempt failed (the retry may have succeeded). */
  readonly attemptFailures: number[] = [];
  /** Failed attempts by kind (`select 503 ...`, `report ECONNREFUSED`), with when each happened. */
  readonly failureLog: { at: number; kind: string }[] = [];
  selectsOk = 0;
  /** Iterations (select, then report) finished, whatever their outcome. */
  iterations = 0;
  /** Selects that failed on every replica and every retry. */
  selectsFailed = 0;
  /** Reports never acknowledged after every retry. */
  reportsUnacked = 0;
  private running = false;
  private workers: Promise<void>[] = [];
  private n = 0;

  constructor(
    private readonly replicas: Replica[],
    private readonly request: { apiType: 'MODEL'; apiIdentifier: string },
    private readonly deadId: string,
    private readonly opts: { ratePerSecond: number; workers: number },
  ) {}

  start(): void {
    this.running = true;
    // A rate of 0 means unpaced: each worker keeps one iteration in flight, back to back, so the workers
    // are the concurrency and the machine sets the rate.
    const perWorkerGapMs = this.opts.ratePerSecond > 0 ? (1000 * this.opts.workers) / this.opts.ratePerSecond : 0;
    for (let w = 0; w < this.opts.workers; w++) {
      this.workers.push((async () => {
        if (perWorkerGapMs > 0) await sleep(Math.random() * perWorkerGapMs);
        while (this.running) {
          const t0 = Date.now();
          await this.iteration(this.n++);
          this.iterations++;
          if (perWorkerGapMs > 0) await sleep(Math.max(0, perWorkerGapMs - (Date.now() - t0)));
        }
      })());
    }
  }

  async stop(): Promise<void> {
    this.running = false;
    await Promise.all(this.workers);
  }

  lastFailureAt(): number {
    return this.attemptFailures.length ? this.attemptFailures[this.attemptFailures.length - 1]! : 0;
  }

  private pick(i: number, attempt: number): Replica {
    return this.replicas[(i + attempt) % this.replicas.length]!;
  }

  private async iteration(i: number): Promise<void> {
    let selected: { inst: SelectedInstance; by: number; sentAt: number } | null = null;
    for (let attempt = 0; attempt < 6 && !selected; attempt++) {
      try {
        const sentAt = Date.now();
        selected = { inst: await this.pick(i, attempt).client.select(this.request), by: attempt, sentAt };
      } catch (err) {
        this.attemptFailures.push(Date.now());
        this.failureLog.push({ at: Date.now(), kind: `select ${failureKind(err)}` });
        await sleep(Math.min(100 * 2 ** attempt, 1000));
      }
    }
    if (!selected) {
      this.selectsFailed++;
      return;
    }
    this.selectsOk++;
    const { inst } = selected;
    const dead = inst.id === this.deadId;
    const deadCall = dead ? { at: selected.sentAt, replica: this.pick(i, selected.by).name, reportSentAt: null as number | null, reportedAt: null as number | null, reportedVia: null as string | null } : null;
    if (deadCall) this.deadCalls.push(deadCall);
    const outcome: CallOutcome = {
      instanceId: inst.id, businessId: inst.businessId, selectionId: inst.selectionId,
      success: !dead, latencyMs: dead ? 40 : 12, statusCode: dead ? 503 : 200,
      ...(dead ? { errorType: 'UPSTREAM_5XX' } : {}),
    };
    for (let attempt = 0; attempt < 8; attempt++) {
      const replica = this.pick(i, selected.by + attempt);
      const sentAt = Date.now();
      await replica.client.report(outcome);
      const err = replica.failed.get(outcome);
      if (err === undefined) {
        this.acked.set(inst.selectionId, { instanceId: inst.id, success: !dead, at: Date.now() });
        if (deadCall) Object.assign(deadCall, { reportSentAt: sentAt, reportedAt: Date.now(), reportedVia: replica.name });
        return;
      }
      replica.failed.delete(outcome);
      this.attemptFailures.push(Date.now());
      this.failureLog.push({ at: Date.now(), kind: `report ${failureKind(err)}` });
      await sleep(Math.min(100 * 2 ** attempt, 2000));
    }
    this.reportsUnacked++;
  }
}

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}
