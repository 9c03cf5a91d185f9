import { useEffect, useMemo, useState } from 'preact/hooks';
import { api, type ChartSeries, type Overview as OverviewDto } from '../api';
import { enumLabel } from '../i18n';
import { Badge } from '../ui/badge';
import { Chart, type ChartLine } from '../ui/chart';
import { useApp } from '../ui/context';
import { dateTime, duration, ms, num, pct } from '../ui/format';
import { Loaded } from '../ui/states';
import { useAsync } from '../ui/use-async';

export const RANGES = ['1h', '6h', '24h', '7d'] as const;
export type Range = (typeof RANGES)[number];
const REFRESH_S = 15;
const STATES = ['CLOSED', 'HALF_OPEN', 'OPEN', 'FORCED_OPEN', 'FORCED_CLOSED'];

/** The range switch of every chart panel (a radio group of buttons). */
export function RangePicker({ value, onChange }: { value: Range; onChange: (r: Range) => void }) {
  const { t } = useApp();
  return (
    <div class="segmented" role="radiogroup" aria-label={t('ovRange')}>
      {RANGES.map((r) => (
        <button key={r} type="button" role="radio" aria-checked={value === r} class={value === r ? 'active' : ''} onClick={() => onChange(r)}>{r}</button>
      ))}
    </div>
  );
}

/** Calls, success rate and latency (avg, p95) of a series: the three charts every screen shows. */
export function SeriesCharts({ series }: { series: ChartSeries }) {
  const { t } = useApp();
  const lines = useMemo(() => ({
    calls: [{ label: t('calls'), value: (p) => p.calls, colour: '#2563eb' }] as ChartLine[],
    success: [{ label: t('ovSuccessRate'), value: (p) => (p.successRate === null ? null : p.successRate * 100), colour: '#059669' }] as ChartLine[],
    latency: [
      { label: t('avg'), value: (p) => p.avgLatencyMs, colour: '#7c3aed' },
      { label: t('p95'), value: (p) => p.p95LatencyMs, colour: '#dc2626' },
    ] as ChartLine[],
  }), [t]);
  return (
    <div class="charts">
      <Chart title={t('chartCalls')} points={series.points} lines={lines.calls} yMin={0} />
      <Chart title={t('chartSuccess')} points={series.points} lines={lines.success} yMin={0} yMax={100} />
      <Chart title={t('chartLatency')} points={series.points} lines={lines.latency} yMin={0} />
    </div>
  );
}

export function Overview() {
  const { t, lang, liveVersion } = useApp();
  const [range, setRange] = useState<Range>('1h');
  const [paused, setPaused] = useState(false);
  const [tick, setTick] = useState(0);
  useEffect(() => {
    if (paused) return;
    const id = window.setInterval(() => setTick((n) => n + 1), REFRESH_S * 1000);
    return () => window.clearInterval(id);
  }, [paused]);
  const overview = useAsync((signal) => api.get<OverviewDto>('/api/admin/console/overview', signal), [tick, liveVersion]);
  const series = useAsync((signal) => api.get<ChartSeries>(`/api/admin/console/series?timeRange=${range}`, signal), [range, tick]);

  return (
    <section aria-labelledby="ov-title">
      <div class="page-head">
        <h1 id="ov-title">{t('navOverview')}</h1>
        <div class="toolbar">
          <span class="muted" role="status">
            {paused ? t('ovPaused') : t('ovAutoRefresh', { s: REFRESH_S })}
            {overview.data && ` · ${t('ovUpdated', { t: dateTime(overview.data.generatedAt, lang) })}`}
          </span>
          <button type="button" class="btn" aria-pressed={paused} onClick={() => setPaused((p) => !p)}>{paused ? t('ovResume') : t('ovPause')}</button>
        </div>
      </div>
      <Loaded state={overview}>
        {(o) => (
          <>
            <div class="tiles">
              <Tile label={t('ovProjects')} value={num(o.statistics.projects.total)} sub={`${enumLabel(t, 'status', 'ACTIVE')} ${num(o.statistics.projects.byStatus['ACTIVE'])}`} />
              <Tile label={t('ovKeys')} value={num(o.statistics.apiKeys.total)} sub={`${enumLabel(t, 'status', 'ACTIVE')} ${num(o.statistics.apiKeys.byStatus['ACTIVE'])}`} />
              <Tile label={t('ovInstances')} value={num(o.statistics.instances.total)} sub={`${enumLabel(t, 'status', 'ACTIVE')} ${num(o.statistics.instances.byStatus['ACTIVE'])}`} />
              <Tile label={t('ovCallsPerMin')} value={num(o.recent.callsPerMinute)} sub={t('ovLastMinutes', { n: o.recent.minutes })} />
              <Tile label={t('ovSuccessRate')} value={pct(o.recent.successRate)} sub={t('ovLastMinutes', { n: o.recent.minutes })} />
              <Tile label={t('ovP95')} value={ms(o.recent.p95LatencyMs)} sub={t('ovLastMinutes', { n: o.recent.minutes })} />
              <Tile label={t('ovDlq')} value={o.dlq.perMinute === null ? '—' : num(o.dlq.perMinute)} sub={o.dlq.total === null ? o.dlq.topic : t('ovDlqTotal', { n: num(o.dlq.total) })} />
            </div>
            <div class="panels">
              <div class="card">
                <h2>{t('ovBreakers')}</h2>
                <ul class="state-counts">
                  {STATES.map((s) => (
                    <li key={s}><Badge group="state" value={s} /><strong data-state-count={s}>{num(o.breakerStates[s] ?? 0)}</strong></li>
                  ))}
                </ul>
              </div>
              <div class="card">
                <h2>{t('ovPipeline')}</h2>
                <dl class="pipeline">
                  <dt>{t('ovIngestor')}</dt>
                  <dd><Badge group="stage" value={o.pipeline.ingestor.status} /> {t('ovLag', { n: num(o.pipeline.ingestor.lagMessages) })} · {t('ovOldest', { v: duration(o.pipeline.ingestor.oldestUnappliedEventAgeMs) })}</dd>
                  <dt>{t('ovAggregator')}</dt>
                  <dd>
                    <Badge group="stage" value={o.pipeline.aggregator.status} /> {t('ovLag', { n: num(o.pipeline.aggregator.lagMessages) })} · {t('ovOldest', { v: duration(o.pipeline.aggregator.oldestUnappliedEventAgeMs) })}
                    {' · '}{t('ovHeartbeat', { v: duration(o.pipeline.aggregator.heartbeatAgeMs) })}
                  </dd>
                </dl>
              </div>
            </div>
          </>
        )}
      </Loaded>
      <div class="card">
        <div class="card-head">
          <h2>{t('ovRange')}</h2>
          <RangePicker value={range} onChange={setRange} />
        </div>
        <Loaded state={series}>{(s) => <SeriesCharts series={s} />}</Loaded>
      </div>
    </section>
  );
}

function Tile({ label, value, sub }: { label: string; value: string; sub?: string }) {
  return (
    <div class="tile">
      <span class="tile-label">{label}</span>
      <strong class="tile-value">{value}</strong>
      {sub && <span class="tile-sub">{sub}</span>}
    </div>
  );
}
