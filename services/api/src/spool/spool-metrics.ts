import { Counter, Gauge, type Registry } from 'prom-client';
import type { SpoolDropReason, SpoolStats } from './report-spool';

const DROP_REASONS: SpoolDropReason[] = ['expired', 'corrupt', 'invalid'];

/** The report spool's metrics (README "Api metrics"), read from the spool at scrape time. */
export class SpoolMetrics {
  readonly spooled: Counter;
  readonly drained: Counter;
  readonly dropped: Counter<'reason'>;

  constructor(registry: Registry, stats: () => SpoolStats, maxBytes: number, now: () => number = Date.now) {
    const registers = [registry];
    new Gauge({
      name: 'apg_report_spool_records', help: 'Reports in the local write-ahead spool, waiting for Kafka', registers,
      collect() { this.set(stats().records); },
    });
    new Gauge({
      name: 'apg_report_spool_bytes', help: 'Bytes of undrained frames in the report spool', registers,
      collect() { this.set(stats().bytes); },
    });
    new Gauge({ name: 'apg_report_spool_capacity_bytes', help: 'REPORT_SPOOL_MAX_BYTES: past it reports answer 503 REPORT_SPOOL_FULL', registers }).set(maxBytes);
    new Gauge({
      name: 'apg_report_spool_oldest_age_seconds', help: 'Age of the oldest undrained spooled report (0 when the spool is empty)', registers,
      collect() {
        const at = stats().oldestAt;
        this.set(at === null ? 0 : Math.max(0, now() - at) / 1000);
      },
    });
    this.spooled = new Counter({ name: 'apg_report_spool_spooled_total', help: 'Reports written to the spool because Kafka could not take them (answered 200)', registers });
    this.drained = new Counter({ name: 'apg_report_spool_drained_total', help: 'Spooled reports produced to Kafka', registers });
    this.dropped = new Counter({
      name: 'apg_report_spool_dropped_total',
      help: 'Spooled reports never produced, by reason: expired (older than REPORT_SPOOL_MAX_AGE_MS), corrupt (torn or failed checksum; one per cut), invalid (unreadable payload)',
      labelNames: ['reason'] as const, registers,
    });
    for (const reason of DROP_REASONS) this.dropped.inc({ reason }, 0);
  }
}
