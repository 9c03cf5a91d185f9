import { Counter, Histogram, type Registry } from 'prom-client';
import { STRATEGY_NAMES } from '@apg/core';
import { CounterSeries, FastCounter, FastHistogram, type HistogramSeries } from './fast-metrics';
import { REPORT_OUTCOMES, SELECT_OUTCOMES, UNKNOWN_STRATEGY, type ReportOutcome, type SelectOutcome } from './outcomes';
import { InstanceSeries } from './instance-series';

/** Where a select's verdict on the chosen instance came from: the aggregator's record or this replica's local breaker. */
export type VerdictSourceLabel = 'aggregator' | 'local';

export interface ApiMetricsOptions {
  /**
   * Per-instance series (`apg_instance_*{instance}`): off by default, since an instance id label multiplies
   * the series by the number of instances.
   * @default false
   */
  perInstance?: boolean;
  /**
   * Most instance ids given their own series; later ones share `instance="_other"`.
   * @default 500
   */
  perInstanceMax?: number;
}


const LATENCY_BUCKETS = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];
const DECISION_BUCKETS = [0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1];
const HTTP_METHODS = new Set(['GET', 'POST', 'PUT', 'DELETE', 'PATCH', 'HEAD', 'OPTIONS']);

/**
 * The api's own metrics (README "Metrics"), built on the registry the composition root passes in. The
 * select and report paths record into series created up front (see fast-metrics.ts), so every label set
 * is exported from the first scrape (0 until it happens) and recording allocates nothing.
 */
export class ApiMetrics {
  private readonly http: FastHistogram;
  /** route → method → status → series: three map reads per request once warm. */
  private readonly httpSeries = new Map<string, Map<string, Map<number, HistogramSeries>>>();
  private readonly selects: Record<string, Record<SelectOutcome, CounterSeries>> = {};
  private readonly selectSeconds: Record<string, HistogramSeries> = {};
  private readonly reports = {} as Record<ReportOutcome, CounterSeries>;
  private readonly verdictSources = {} as Record<VerdictSourceLabel, CounterSeries>;
  readonly produceSeconds: Histogram<'outcome'>;
  readonly produceErrors: Counter;
  readonly leasesExpired: Counter<'outcome'>;
  readonly instances: InstanceSeries;

  constructor(registry: Registry, opts: ApiMetricsOptions = {}) {
    const registers = [registry];
    this.http = new FastHistogram({
      name: 'apg_http_request_duration_seconds',
      help: 'HTTP requests by method, route template ("unmatched" for no route) and status, from arrival to the response written',
      labelNames: ['method', 'route', 'status'], buckets: LATENCY_BUCKETS, registers,
    });
    const selectTotal = new FastCounter({
      name: 'apg_select_total',
      help: `Selections by strategy ("${UNKNOWN_STRATEGY}" before one was resolved) and outcome (${SELECT_OUTCOMES.join(', ')})`,
      labelNames: ['strategy', 'outcome'], registers,
    });
    const selectDuration = new FastHistogram({
      name: 'apg_select_duration_seconds',
      help: 'Time a select spends in the api process (registry, the one Redis round trip, the decision), by strategy',
      labelNames: ['strategy'], buckets: DECISION_BUCKETS, registers,
    });
    for (const strategy of [...STRATEGY_NAMES, UNKNOWN_STRATEGY]) {
      const row = {} as Record<SelectOutcome, CounterSeries>;
      for (const outcome of SELECT_OUTCOMES) row[outcome] = selectTotal.series({ strategy, outcome });
      this.selects[strategy] = row;
      this.selectSeconds[strategy] = selectDuration.series({ strategy });
    }
    const reportTotal = new FastCounter({
      name: 'apg_report_total',
      help: `Reports (POST /api/gateway/report-result) by outcome (${REPORT_OUTCOMES.join(', ')}); unavailable = answered 503`,
      labelNames: ['outcome'], registers,
    });
    for (const outcome of REPORT_OUTCOMES) this.reports[outcome] = reportTotal.series({ outcome });
    const decisions = new FastCounter({
      name: 'apg_local_breaker_decisions_total',
      help: 'Selections by whose verdict on the chosen instance decided: the aggregator\'s record or this replica\'s local breaker',
      labelNames: ['source'], registers,
    });
    for (const source of ['aggregator', 'local'] as const) this.verdictSources[source] = decisions.series({ source });
    this.produceSeconds = new Histogram({
      name: 'apg_kafka_produce_duration_seconds',
      help: 'Produce calls of reports to Kafka (acks=all), by outcome; one call carries every report waiting',
      labelNames: ['outcome'] as const, buckets: LATENCY_BUCKETS, registers,
    });
    this.produceErrors = new Counter({ name: 'apg_kafka_produce_errors_total', help: 'Produce calls of reports that Kafka refused or did not acknowledge', registers });
    this.leasesExpired = new Counter({
      name: 'apg_lease_expired_total',
      help: 'Decision leases that expired unreported: timeout (sent as a TIMEOUT outcome), freed (the instance had a report since), orphaned (instance gone)',
      labelNames: ['outcome'] as const, registers,
    });
    for (const outcome of ['timeout', 'freed', 'orphaned']) this.leasesExpired.inc({ outcome }, 0);
    this.instances = new InstanceSeries(registry, { enabled: opts.perInstance ?? false, max: opts.perInstanceMax ?? 500 });
  }

  /** One HTTP request answered: `route` must be a template (RouteTemplates), never a raw path. */
  observeHttp(method: string, route: string, status: number, seconds: number): void {
    let byMethod = this.httpSeries.get(route);
    if (!byMethod) this.httpSeries.set(route, (byMethod = new Map<string, Map<number, HistogramSeries>>()));
    const m = HTTP_METHODS.has(method) ? method : 'OTHER';
    let byStatus = byMethod.get(m);
    if (!byStatus) byMethod.set(m, (byStatus = new Map<number, HistogramSeries>()));
    let series = byStatus.get(status);
    if (!series) byStatus.set(status, (series = this.http.series({ method: m, route, status: String(status) })));
    series.observe(seconds);
  }

  /** One select finished (`strategy` from STRATEGY_NAMES, or UNKNOWN_STRATEGY). */
  selected(strategy: string, outcome: SelectOutcome, seconds: number): void {
    const s = this.selects[strategy] ?? this.selects[UNKNOWN_STRATEGY]!;
    s[outcome].inc();
    (this.selectSeconds[strategy] ?? this.selectSeconds[UNKNOWN_STRATEGY]!).observe(seconds);
  }

  /** Whose verdict decided the instance a select served. */
  decidedBy(source: VerdictSourceLabel): void {
    this.verdictSources[source].inc();
  }

  reported(outcome: ReportOutcome): void {
    this.reports[outcome].inc();
  }
}
