import type { Logger } from '@apg/platform';
import type { PartitionStore } from './partition-store';
import { DAY_MS, planPartitions, retentionHorizon, type RetentionPolicy } from './retention-plan';

export interface RetentionOptions extends RetentionPolicy {
  /** Days of minute rollups kept. @default 90 */
  rollupRetentionDays: number;
  /** Period of the maintenance run. @default 3600000 (1 h) */
  intervalMs: number;
}

export interface RetentionRun {
  created: number;
  dropped: number;
  moved: number;
  purgedDefault: number;
  purgedRollups: number;
  purgedEventIds: number;
  defaultRows: number;
}

/**
 * Keeps `call_results` partitioned ahead and trimmed behind, and the rollups within their age limit:
 * once at start and then every `intervalMs`. A failed run (database down, a lock not granted in time)
 * is logged and retried at the next tick; it never stops ingestion, since rows without a partition
 * wait safely in DEFAULT.
 */
export class RetentionMaintainer {
  private timer: NodeJS.Timeout | null = null;
  private running: Promise<RetentionRun | null> | null = null;

  constructor(
    private readonly store: PartitionStore,
    private readonly options: RetentionOptions,
    private readonly log: Logger,
    private readonly now: () => number = Date.now,
    private readonly onRun: (run: RetentionRun) => void = () => undefined,
  ) {}

  /** Current horizon: events older than this are expired (see retention-plan.ts). */
  horizon(): number {
    return retentionHorizon(this.now(), this.options.retentionDays);
  }

  start(): void {
    if (this.timer) return;
    this.timer = setInterval(() => void this.runOnce(), this.options.intervalMs);
    this.timer.unref();
  }

  async stop(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
    await this.running;
  }

  /** One maintenance pass; concurrent calls share the pass in progress. Null when it failed. */
  runOnce(): Promise<RetentionRun | null> {
    this.running ??= this.pass()
      .then((run) => {
        this.onRun(run);
        if (run.created || run.dropped || run.purgedDefault || run.purgedRollups || run.purgedEventIds) this.log.info(run, 'retention maintenance');
        return run;
      })
      .catch((err: Error) => {
        this.log.warn({ err: err.message }, 'retention maintenance failed; retrying at the next run');
        return null;
      })
      .finally(() => {
        this.running = null;
      });
    return this.running;
  }

  private async pass(): Promise<RetentionRun> {
    const now = this.now();
    const plan = planPartitions(now, await this.store.existingDays(), this.options);
    const run: RetentionRun = { created: 0, dropped: 0, moved: 0, purgedDefault: 0, purgedRollups: 0, purgedEventIds: 0, defaultRows: 0 };
    for (const day of plan.create) {
      const moved = await this.store.createDay(day);
      if (moved !== null) {
        run.created++;
        run.moved += moved;
      }
    }
    for (const day of plan.drop) if (await this.store.dropDay(day)) run.dropped++;
    run.purgedDefault = await this.store.purgeDefaultBefore(plan.horizon);
    run.purgedEventIds = await this.store.purgeEventIdsBefore(plan.horizon);
    run.purgedRollups = await this.store.purgeRollupsBefore(now - this.options.rollupRetentionDays * DAY_MS);
    run.defaultRows = await this.store.defaultRows();
    return run;
  }
}
