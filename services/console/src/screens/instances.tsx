import { useEffect, useMemo, useState } from 'preact/hooks';
import { api, type Instance } from '../api';
import { go, href } from '../router';
import { Badge } from '../ui/badge';
import { useApp } from '../ui/context';
import { Empty, Loaded } from '../ui/states';
import { useAsync } from '../ui/use-async';
import { InstanceActions } from './instance-actions';
import { API_TYPES, InstanceForm } from './instance-form';
import { ProjectPicker } from './project-picker';

const STATUSES = ['ACTIVE', 'INACTIVE', 'DEPRECATED'];
const STATES = ['CLOSED', 'HALF_OPEN', 'OPEN', 'FORCED_OPEN', 'FORCED_CLOSED'];

interface BreakerRow { instanceId: string; state: string; since: number; reason: string }

export function Instances({ query }: { query: URLSearchParams }) {
  const { t, liveStates, liveVersion } = useApp();
  const projectId = query.get('project') ?? '';
  const [status, setStatus] = useState('');
  const [apiType, setApiType] = useState('');
  const [state, setState] = useState('');
  const [text, setText] = useState('');
  const [editing, setEditing] = useState<Instance | 'new' | null>(null);

  const list = useAsync((signal) => (projectId ? api.get<Instance[]>(`/api/admin/instances?projectId=${projectId}`, signal) : Promise.resolve([])), [projectId]);
  const breakers = useAsync((signal) => (projectId ? api.get<BreakerRow[]>(`/api/admin/console/breakers?projectId=${projectId}`, signal) : Promise.resolve([])), [projectId]);
  // A live event (or a reconnect) reloads the states, so the list agrees with the replica's verdicts.
  useEffect(() => {
    if (liveVersion > 0) breakers.reload();
  }, [liveVersion]);

  const stateOf = useMemo(() => {
    const m = new Map((breakers.data ?? []).map((b) => [b.instanceId, b.state]));
    for (const [id, s] of liveStates) if (m.has(id)) m.set(id, s.state);
    return (id: string) => m.get(id) ?? 'CLOSED';
  }, [breakers.data, liveVersion]);

  const filtered = (list.data ?? []).filter((i) =>
    (!status || i.status === status)
    && (!apiType || i.apiType === apiType)
    && (!state || stateOf(i.id) === state)
    && (!text || `${i.businessId} ${i.apiIdentifier}`.toLowerCase().includes(text.toLowerCase())));

  const reload = () => {
    list.reload();
    breakers.reload();
  };

  return (
    <section aria-labelledby="in-title">
      <div class="page-head">
        <h1 id="in-title">{t('navInstances')}</h1>
        <div class="toolbar">
          <ProjectPicker value={projectId} onChange={(id) => go('instances', { project: id })} />
          {projectId && <button type="button" class="btn btn-primary" onClick={() => setEditing('new')}>{t('register')}</button>}
        </div>
      </div>
      {!projectId ? <Empty>{t('chooseProject')}</Empty> : (
        <>
          <div class="filters" role="search">
            <label class="field-inline"><span>{t('status')}</span>
              <select name="status" value={status} onChange={(e) => setStatus(e.currentTarget.value)}>
                <option value="">{t('all')}</option>
                {STATUSES.map((s) => <option key={s} value={s}>{t(`status.${s}` as 'status.ACTIVE')}</option>)}
              </select>
            </label>
            <label class="field-inline"><span>{t('apiType')}</span>
              <select name="apiType" value={apiType} onChange={(e) => setApiType(e.currentTarget.value)}>
                <option value="">{t('all')}</option>
                {API_TYPES.map((a) => <option key={a} value={a}>{a}</option>)}
              </select>
            </label>
            <label class="field-inline"><span>{t('breakerState')}</span>
              <select name="breakerState" value={state} onChange={(e) => setState(e.currentTarget.value)}>
                <option value="">{t('all')}</option>
                {STATES.map((s) => <option key={s} value={s}>{t(`state.${s}` as 'state.OPEN')}</option>)}
              </select>
            </label>
            <label class="field-inline grow">
              <span class="visually-hidden">{t('searchInstances')}</span>
              <input type="search" placeholder={t('searchInstances')} aria-label={t('searchInstances')} value={text} onInput={(e) => setText(e.currentTarget.value)} />
            </label>
          </div>
          <Loaded state={list} isEmpty={(d) => d.length === 0}>
            {() => filtered.length === 0 ? <Empty>{t('noMatch')}</Empty> : (
              <div class="table-wrap">
                <table class="table">
                  <thead>
                    <tr><th>{t('businessId')}</th><th>{t('apiIdentifier')}</th><th>{t('apiType')}</th><th>{t('status')}</th><th>{t('breakerState')}</th><th>{t('routing')}</th><th>{t('actions')}</th></tr>
                  </thead>
                  <tbody>
                    {filtered.map((i) => (
                      <tr key={i.id} data-instance={i.businessId}>
                        <td data-label={t('businessId')}><a href={href(`instances/${i.id}`)}>{i.businessId}</a></td>
                        <td data-label={t('apiIdentifier')}>{i.apiIdentifier}</td>
                        <td data-label={t('apiType')}>{i.apiType}</td>
                        <td data-label={t('status')}><Badge group="status" value={i.status} /></td>
                        <td data-label={t('breakerState')} data-breaker={stateOf(i.id)}><Badge group="state" value={stateOf(i.id)} /></td>
                        <td data-label={t('routing')} class="small">{routingSummary(i, t)}</td>
                        <td class="row-actions">
                          <a class="btn btn-small" href={href(`instances/${i.id}`)}>{t('details')}</a>
                          <button type="button" class="btn btn-small" onClick={() => setEditing(i)}>{t('edit')}</button>
                          <InstanceActions instance={i} onChanged={reload} compact />
                        </td>
                      </tr>
                    ))}
                  </tbody>
                </table>
              </div>
            )}
          </Loaded>
        </>
      )}
      {editing && (
        <InstanceForm
          projectId={projectId}
          {...(editing === 'new' ? {} : { existing: editing })}
          onClose={() => setEditing(null)}
          onSaved={() => { setEditing(null); reload(); }}
        />
      )}
    </section>
  );
}

function routingSummary(i: Instance, t: ReturnType<typeof useApp>['t']): string {
  const rp = i.routingParams ?? {};
  const parts: string[] = [];
  const shown = (v: unknown) => (typeof v === 'number' || typeof v === 'string' ? String(v) : null);
  const weight = shown(rp['weight']);
  const priority = shown(rp['priority']);
  if (weight !== null) parts.push(`${t('weight')} ${weight}`);
  if (priority !== null) parts.push(`${t('priority')} ${priority}`);
  if (rp['breaker']) parts.push(t('breaker') + ' ✎');
  return parts.join(' · ') || '—';
}
