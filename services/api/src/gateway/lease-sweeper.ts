import { CALL_RESULT_SCHEMA_VERSION, type CallResultEvent } from '@apg/contracts';
import { newEventId, type Logger } from '@apg/platform';
import type { Counter } from 'prom-client';
import type { RegistryCache } from '../instances/registry-cache';
import type { ReportDelivery } from '../spool/report-delivery';
import type { Lease, RoutingState } from './routing-state';

/**
 * Expires decision leases nobody reported: each becomes a TIMEOUT outcome on the event topic, so a
 * lookaside gateway can never stay half-open for ever (a probe that never reports) or leak in-flight
 * counts. Any replica may sweep; the Lua claim makes each lease expire exactly once.
 */
export class LeaseSweeper {
  private timer: NodeJS.Timeout | null = null;
  private running = false;

  constructor(
    private readonly state: RoutingState,
    private readonly registry: RegistryCache,
    private readonly producer: Pick<ReportDelivery, 'isConnected' | 'send'>,
    private readonly log: Logger,
    private readonly opts: {
      intervalMs: number; leaseTtlMs: number; batch: number; now?: () => number;
      /** `apg_lease_expired_total{outcome}`: timeout, freed, orphaned. */
      expired?: Counter<'outcome'>;
    },
  ) {}

  start(): void {
    this.timer = setInterval(() => void this.sweep(), this.opts.intervalMs);
    this.timer.unref();
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
  }

  /**
   * One pass (looping while whole batches come back, so a burst of expiries cannot outgrow the sweep);
   * returns how many leases expired. Exposed for tests.
   */
  async sweep(): Promise<number> {
    if (this.running || !this.producer.isConnected()) return 0;
    this.running = true;
    let total = 0;
    try {
      for (let round = 0; round < 50; round++) {
        const leases = await this.state.sweepExpired((this.opts.now ?? Date.now)(), this.opts.batch);
        total += leases.length;
        // A lease of an instance that was reported on since (by a client without selectionIds) only
        // frees its in-flight slot; the others never came back: they count as timeouts.
        const lost = leases.filter((l) => !l.reported);
        const events = (await Promise.all(lost.map((l) => this.toEvent(l)))).filter((e): e is CallResultEvent => e !== null);
        this.opts.expired?.inc({ outcome: 'freed' }, leases.length - lost.length);
        this.opts.expired?.inc({ outcome: 'orphaned' }, lost.length - events.length);
        this.opts.expired?.inc({ outcome: 'timeout' }, events.length);
        if (events.length) {
          try {
            await this.producer.send(events);
          } catch (err) {
            // The leases are claimed and their in-flight slots freed; the timeout signal is logged, not retried.
            this.log.warn({ err: (err as Error).message, count: events.length }, 'expired leases not reported as timeouts');
          }
        }
        if (leases.length < this.opts.batch) break;
      }
      return total;
    } catch (err) {
      this.log.warn({ err: (err as Error).message }, 'lease sweep failed');
      return total;
    } finally {
      this.running = false;
    }
  }

  private async toEvent(lease: Lease): Promise<CallResultEvent | null> {
    const instance = await this.registry.instance(lease.projectId, lease.instanceId);
    if (!instance) return null;
    return {
      eventId: newEventId(),
      schemaVersion: CALL_RESULT_SCHEMA_VERSION,
      projectId: lease.projectId,
      instanceId: instance.id,
      apiIdentifier: instance.apiIdentifier,
      apiType: instance.apiType,
      businessId: instance.businessId,
      selectionId: lease.selectionId,
      probe: lease.probe,
      success: false,
      latencyMs: this.opts.leaseTtlMs,
      errorType: 'TIMEOUT',
      errorMessage: 'decision lease expired without a report',
      callTimestamp: lease.expiresAt,
      receivedAt: lease.expiresAt,
    };
  }
}
