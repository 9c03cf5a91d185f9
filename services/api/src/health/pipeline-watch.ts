import { ConsumerGroupLag, type IoMetrics, type Kafka, type Logger } from '@apg/platform';

export type PipelineStage = 'ingestor' | 'aggregator';

export interface PipelineWatchOptions {
  topic: string;
  /** Consumer groups of the two stages (`KAFKA_GROUP_INGESTOR`, `KAFKA_GROUP_AGGREGATOR`). */
  groups: Record<PipelineStage, string>;
  /** Events waiting longer than this in a stage's group make it STALLED (`PIPELINE_STALL_MS`). */
  stallMs: number;
  /** How often the groups' committed offsets and the log ends are polled (`PIPELINE_LAG_POLL_MS`). */
  pollMs: number;
}

/** One stage as `/api/health` reports it. */
export interface StageReport {
  /**
   * UP; STALLED when its oldest uncommitted event has waited longer than `stallMs`; UNKNOWN when the lag
   * could not be read for a while (Kafka unreachable from here).
   */
  status: 'UP' | 'STALLED' | 'UNKNOWN';
  /** Messages its group has not committed, over all partitions; `null` before the first poll. */
  lagMessages: number | null;
  /** Lower bound of how long its oldest uncommitted event has waited (ms); `null` before the first poll. */
  oldestUnappliedEventAgeMs: number | null;
}

/**
 * How the api learns that a pipeline stage is stalled: it reads each consumer group's committed offsets
 * and the topic's ends from the broker itself (platform `ConsumerGroupLag`), the same figures the stages
 * export as `apg_*_consumer_lag*` and `apg_*_oldest_unapplied_event_age_seconds`.
 *
 * Why from Kafka rather than from a status each consumer writes: Kafka's view needs nothing from the
 * stage, so a stage that is wedged, crash-looping or not running at all shows the same way as one that
 * retries a batch; any number of replicas count as one group; and every time compared is this process's
 * own clock (no clock skew between hosts). The stages' `/readyz` apply their own thresholds to the same
 * figures plus what they hold in memory.
 */
export class PipelineWatch {
  private readonly lags: Record<PipelineStage, ConsumerGroupLag>;

  constructor(kafka: Kafka, private readonly options: PipelineWatchOptions, log: Logger, io?: IoMetrics, private readonly now: () => number = Date.now) {
    const lag = (stage: PipelineStage) =>
      new ConsumerGroupLag(kafka, { groupId: options.groups[stage], topic: options.topic, intervalMs: options.pollMs }, log.child({ stage }), io, now);
    this.lags = { ingestor: lag('ingestor'), aggregator: lag('aggregator') };
  }

  /**
   * Starts polling; waits for the first polls for at most `waitMs`, so that a fresh api does not report
   * the stages UNKNOWN, yet serves while Kafka is unreachable.
   */
  async start(waitMs = 2000): Promise<void> {
    const first = Promise.all(Object.values(this.lags).map((l) => l.start()));
    await Promise.race([first, new Promise((resolve) => setTimeout(resolve, waitMs).unref())]);
  }

  async stop(): Promise<void> {
    await Promise.all(Object.values(this.lags).map((l) => l.stop()));
  }

  report(stage: PipelineStage): StageReport {
    const book = this.lags[stage].book;
    const at = book.lastPollAt();
    if (at === null) return { status: 'UNKNOWN', lagMessages: null, oldestUnappliedEventAgeMs: null };
    const waited = book.oldestWaitMs();
    // Three missed polls (and at least 15 s): the figures are too old to vouch for the stage.
    const unknown = this.now() - at > Math.max(3 * this.options.pollMs, 15_000);
    const status = waited > this.options.stallMs ? 'STALLED' : unknown ? 'UNKNOWN' : 'UP';
    return { status, lagMessages: book.totalLag(), oldestUnappliedEventAgeMs: waited };
  }
}
