import { Fragment } from 'preact';
import { useEffect, useState } from 'preact/hooks';
import { api, type ChartSeries, type Instance, type InstanceState } from '../api';
import { go, href } from '../router';
import { Badge } from '../ui/badge';
import { useApp } from '../ui/context';
import { dateTime, duration, ms, num, pct } from '../ui/format';
import { Empty, Loaded } from '../ui/states';
import { useAsync } from '../ui/use-async';
import { InstanceActions } from './instance-actions';
import { InstanceForm } from './instance-form';
import { RangePicker, SeriesCharts, type Range } from './overview';

const LIVE_REFRESH_MS = 5000;

interface Latency { minutes: number; calls: number; p50LatencyMs: number | null; p95LatencyMs: number | null; p99LatencyMs: number | null }

export function InstanceDetail({ id }: { id: string }) {
  const { t, lang, liveStates, liveVersion } = useApp();
  const [tick, setTick] = useState(0);
  const [range, setRange] = useState<Range>('1h');
  const [editing, setEditing] = useState(false);
  useEffect(() => {
    const timer = window.setInterval(() => setTick((n) => n + 1), LIVE_REFRESH_MS);
    return () => window.clearInterval(timer);
  }, []);
  const live = liveStates.get(id);
  const instance = useAsync((signal) => api.get<Instance>(`/api/admin/instances/${id}`, signal), [id]);
  // The breaker's own change arrives by the stream (and reloads this); the window's figures by polling.
  const state = useAsync((signal) => api.get<InstanceState>(`/api/admin/instances/${id}/state`, signal), [id, tick, live?.state, live?.since]);
  const latency = useAsync((signal) => api.get<Latency>(`/api/admin/console/instances/${id}/latency`, signal), [id, tick]);
  const series = useAsync((signal) => api.get<ChartSeries>(`/api/admin/console/series?timeRange=${range}&instanceId=${id}`, signal), [id, range, Math.floor(tick / 6)]);
  const refresh = () => {
    instance.reload();
    state.reload();
  };
  void liveVersion;

  return (
    <section aria-labelledby="id-title">
      <p><a href={instance.data ? href('instances', { project: instance.data.projectId }) : href('instances')}>← {t('back')}</a></p>
      <Loaded state={instance}>
        {(i) => {
          const current = live && state.data && live.since !== null && live.since >= (state.data.record.since ?? 0) ? live : state.data?.record;
          return (
            <>
              <div class="page-head">
                <div>
                  <h1 id="id-title">{i.businessId}</h1>
                  <p class="muted">{i.apiIdentifier} · {i.apiType} · <Badge group="status" value={i.status} /></p>
                </div>
                <div class="toolbar">
                  <button type="button" class="btn" onClick={() => setEditing(true)}>{t('edit')}</button>
                </div>
              </div>
              <div class="card breaker-card">
                <div class="card-head">
                  <h2>{t('breakerState')}</h2>
                  <span class="breaker-now" data-breaker={current?.state ?? ''}>{current ? <Badge group="state" value={current.state} /> : '—'}</span>
                </div>
                {current && (
                  <p class="muted">
                    {current.since ? t('since', { t: dateTime(current.since, lang) }) : ''}{current.reason ? ` · ${t('reason')}: ${current.reason}` : ''}
                  </p>
                )}
                <div class="actions-row"><InstanceActions instance={i} onChanged={refresh} onDeleted={() => go('instances', { project: i.projectId })} /></div>
              </div>
              <div class="panels">
                <div class="card">
                  <h2>{t('liveWindow')}</h2>
                  <Loaded state={state}>
                    {(s) => (
                      <dl class="kv">
                        <dt>{t('calls')}</dt><dd data-kv="calls">{num(s.window?.calls ?? 0)}</dd>
                        <dt>{t('failureRate')}</dt><dd data-kv="failureRate">{pct(s.window ? s.window.failureRate : null)}</dd>
                        <dt>{t('slowRate')}</dt><dd>{pct(s.window ? s.window.slowCallRate : null)}</dd>
                        <dt>{t('consecutiveFailures')}</dt><dd>{num(s.window?.consecutiveFailures ?? 0)}</dd>
                        <dt>{t('latencyP50')} / {t('latencyP95')} / {t('latencyP99')}</dt>
                        <dd data-kv="latency">{latency.data ? `${ms(latency.data.p50LatencyMs)} / ${ms(latency.data.p95LatencyMs)} / ${ms(latency.data.p99LatencyMs)}` : '—'}</dd>
                        <dt>{t('windowOf', { v: '' }).trim()}</dt><dd>{duration(s.window?.windowMs ?? s.config['windowMs'] ?? null)}</dd>
                      </dl>
                    )}
                  </Loaded>
                </div>
                <div class="card">
                  <h2>{t('effectiveConfig')}</h2>
                  <Loaded state={state}>
                    {(s) => (
                      <dl class="kv">
                        {Object.entries(s.config).map(([k, v]) => <Fragment key={k}><dt>{k}</dt><dd>{String(v)}</dd></Fragment>)}
                      </dl>
                    )}
                  </Loaded>
                </div>
              </div>
              <div class="card">
                <h2>{t('timeline')}</h2>
                <Loaded state={state}>
                  {(s) => s.transitions.length === 0 ? <Empty>{t('noTransitions')}</Empty> : (
                    <ol class="timeline">
                      {s.transitions.map((tr, n) => (
                        <li key={`${tr.at}-${n}`} data-transition={`${tr.from}>${tr.to}`}>
                          <time>{dateTime(tr.at, lang)}</time>
                          <span><Badge group="state" value={tr.from} /> → <Badge group="state" value={tr.to} /></span>
                          <span class="muted">{tr.reason}{tr.actor ? ` · ${t('actor')}: ${tr.actor}` : ''}</span>
                        </li>
                      ))}
                    </ol>
                  )}
                </Loaded>
              </div>
              <div class="card">
                <div class="card-head">
                  <h2>{t('ovRange')}</h2>
                  <RangePicker value={range} onChange={setRange} />
                </div>
                <Loaded state={series}>{(s) => <SeriesCharts series={s} />}</Loaded>
              </div>
              {editing && <InstanceForm projectId={i.projectId} existing={i} onClose={() => setEditing(false)} onSaved={() => { setEditing(false); refresh(); }} />}
            </>
          );
        }}
      </Loaded>
    </section>
  );
}
