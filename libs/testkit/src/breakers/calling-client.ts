import type { HttpClient } from '../http-client';

interface Enveloped<T> {
  data: T;
}

/**
 * A client of the gateway as the issue describes it: one caller that keeps selecting an instance of
 * `apiIdentifier`, "calls" it (an instance in `dead` fails with a 503, any other succeeds) and reports
 * the outcome with the selectionId, back to back. Sequential on purpose: with calls in flight at once
 * a lookaside gateway cannot bound failures by reports, and the bound under test is the breaker's.
 */
export class CallingClient {
  readonly dead = new Set<string>();
  /** Failed calls each instance took (picks of a dead instance). */
  readonly failed = new Map<string, number>();
  readonly picks = new Map<string, number>();
  selects = 0;
  unavailable = 0;
  private running: Promise<void> | null = null;
  private stopped = false;
  private error: Error | null = null;

  constructor(private readonly http: HttpClient, private readonly apiIdentifier: string, private readonly strategy = 'ROUND_ROBIN') {}

  failedCalls(id: string): number {
    return this.failed.get(id) ?? 0;
  }

  start(): void {
    this.stopped = false;
    this.running = this.loop();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    await this.running;
    if (this.error) throw this.error;
  }

  private async loop(): Promise<void> {
    try {
      while (!this.stopped) await this.once();
    } catch (err) {
      this.error = err as Error;
    }
  }

  private async once(): Promise<void> {
    const sel = await this.http.post<Enveloped<{ id: string; selectionId: string; businessId: string }>>('/api/gateway/select-instance', { apiType: 'MODEL', apiIdentifier: this.apiIdentifier, strategy: this.strategy });
    this.selects++;
    if (sel.status !== 200) {
      if (sel.status !== 503) throw new Error(`select answered ${sel.status}: ${sel.text}`);
      this.unavailable++;
      return;
    }
    const { id, selectionId, businessId } = sel.body.data;
    this.picks.set(id, (this.picks.get(id) ?? 0) + 1);
    const failing = this.dead.has(id);
    if (failing) this.failed.set(id, this.failedCalls(id) + 1);
    const rep = await this.http.post('/api/gateway/report-result', {
      instanceId: id, businessId, selectionId, success: !failing, latencyMs: failing ? 3 : 20, ...(failing ? { statusCode: 503, errorType: 'UPSTREAM_5XX' } : {}),
    });
    if (rep.status !== 200) throw new Error(`report answered ${rep.status}: ${rep.text}`);
  }
}
