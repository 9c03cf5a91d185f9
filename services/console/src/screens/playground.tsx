import { useState } from 'preact/hooks';
import { api, type Instance, type SelectAnswer } from '../api';
import { enumLabel } from '../i18n';
import { go, href } from '../router';
import { Badge } from '../ui/badge';
import { useApp } from '../ui/context';
import { described, errorsOf, Field, noErrors, type FormErrors } from '../ui/form';
import { pct } from '../ui/format';
import { Empty } from '../ui/states';
import { useAsync } from '../ui/use-async';
import { API_TYPES } from './instance-form';
import { ProjectPicker } from './project-picker';
import { STRATEGIES } from './projects';

const list = (s: string) => s.split(',').map((x) => x.trim()).filter(Boolean);

export function Playground({ query }: { query: URLSearchParams }) {
  const { t } = useApp();
  const projectId = query.get('project') ?? '';
  const [form, setForm] = useState({ apiIdentifier: '', apiType: 'MODEL', strategy: '', userId: '', fallbackChain: '', exclude: '', affinityType: '', affinityKey: '', affinityStrength: 'PREFERRED' });
  const [answer, setAnswer] = useState<SelectAnswer | null>(null);
  const [errors, setErrors] = useState<FormErrors>(noErrors);
  const [busy, setBusy] = useState(false);
  const instances = useAsync((signal) => (projectId ? api.get<Instance[]>(`/api/admin/instances?projectId=${projectId}`, signal) : Promise.resolve([])), [projectId]);
  const nameOf = (id: string) => instances.data?.find((i) => i.id === id)?.businessId ?? id.slice(0, 8);
  const set = (k: keyof typeof form) => (e: Event) => {
    const value = (e.currentTarget as HTMLInputElement).value;
    setForm((f) => ({ ...f, [k]: value }));
  };

  const run = async (e: Event) => {
    e.preventDefault();
    setBusy(true);
    setErrors(noErrors);
    const body = {
      apiIdentifier: form.apiIdentifier,
      apiType: form.apiType,
      explain: true,
      ...(form.strategy ? { strategy: form.strategy } : {}),
      ...(form.userId ? { userId: form.userId } : {}),
      ...(list(form.fallbackChain).length ? { fallbackChain: list(form.fallbackChain) } : {}),
      ...(list(form.exclude).length ? { excludeInstanceIds: list(form.exclude) } : {}),
      ...(form.affinityKey ? { affinityKey: form.affinityKey, affinityType: form.affinityType || 'session', affinityStrength: form.affinityStrength } : {}),
    };
    try {
      setAnswer(await api.post<SelectAnswer>(`/api/admin/projects/${projectId}/select`, body));
    } catch (err) {
      setAnswer(null);
      setErrors(errorsOf(err));
    } finally {
      setBusy(false);
    }
  };

  return (
    <section aria-labelledby="pg-title">
      <div class="page-head">
        <h1 id="pg-title">{t('pgTitle')}</h1>
        <ProjectPicker value={projectId} onChange={(id) => go('playground', { project: id })} />
      </div>
      <p class="muted">{t('pgHelp')}</p>
      {!projectId ? <Empty>{t('chooseProject')}</Empty> : (
        <form class="card" onSubmit={(e) => void run(e)} noValidate>
          <div class="form-grid">
            <Field id="pg-apiIdentifier" label={t('apiIdentifier')} error={errors.fields['apiIdentifier']}>
              <input {...described('pg-apiIdentifier', errors.fields['apiIdentifier'])} name="apiIdentifier" required value={form.apiIdentifier} onInput={set('apiIdentifier')} />
            </Field>
            <Field id="pg-apiType" label={t('apiType')} error={errors.fields['apiType']}>
              <select {...described('pg-apiType', errors.fields['apiType'])} name="apiType" value={form.apiType} onChange={set('apiType')}>
                {API_TYPES.map((a) => <option key={a} value={a}>{a}</option>)}
              </select>
            </Field>
            <Field id="pg-strategy" label={t('strategy')} error={errors.fields['strategy']}>
              <select {...described('pg-strategy', errors.fields['strategy'])} name="strategy" value={form.strategy} onChange={set('strategy')}>
                <option value="">{t('serverDefault')}</option>
                {STRATEGIES.map((s) => <option key={s} value={s}>{s}</option>)}
              </select>
            </Field>
            <Field id="pg-userId" label={`${t('userId')} (${t('optional')})`} error={errors.fields['userId']}>
              <input {...described('pg-userId', errors.fields['userId'])} name="userId" value={form.userId} onInput={set('userId')} />
            </Field>
            <Field id="pg-fallback" label={t('fallbackChain')} error={errors.fields['fallbackChain']}>
              <input {...described('pg-fallback', errors.fields['fallbackChain'])} name="fallbackChain" value={form.fallbackChain} onInput={set('fallbackChain')} />
            </Field>
            <Field id="pg-exclude" label={t('excludeIds')} error={errors.fields['excludeInstanceIds']}>
              <input {...described('pg-exclude', errors.fields['excludeInstanceIds'])} name="excludeInstanceIds" value={form.exclude} onInput={set('exclude')} />
            </Field>
            <Field id="pg-afftype" label={`${t('affinityType')} (${t('optional')})`} error={errors.fields['affinityType']}>
              <input {...described('pg-afftype', errors.fields['affinityType'])} name="affinityType" placeholder="session" value={form.affinityType} onInput={set('affinityType')} />
            </Field>
            <Field id="pg-affkey" label={`${t('affinityKey')} (${t('optional')})`} error={errors.fields['affinityKey']}>
              <input {...described('pg-affkey', errors.fields['affinityKey'])} name="affinityKey" value={form.affinityKey} onInput={set('affinityKey')} />
            </Field>
            <Field id="pg-affstr" label={t('affinityStrength')}>
              <select id="pg-affstr" name="affinityStrength" value={form.affinityStrength} onChange={set('affinityStrength')}>
                <option value="PREFERRED">PREFERRED</option>
                <option value="STRICT">STRICT</option>
              </select>
            </Field>
          </div>
          {errors.form && <p class="form-error" role="alert" data-error-code>{errors.form}</p>}
          <div class="actions-row"><button type="submit" class="btn btn-primary" disabled={busy || !form.apiIdentifier}>{busy ? t('running') : t('run')}</button></div>
        </form>
      )}
      {answer && (
        <div class="card" aria-live="polite">
          <h2>{t('decision')}</h2>
          <dl class="kv decision">
            <dt>{t('chosen')}</dt><dd data-chosen={answer.businessId}><a href={href(`instances/${answer.id}`)}>{answer.businessId}</a> <code class="small">{answer.id}</code></dd>
            <dt>{t('breakerState')}</dt><dd><Badge group="state" value={answer.breakerState} /></dd>
            <dt>{t('strategy')}</dt><dd>{answer.explain?.strategy ?? '—'}</dd>
            <dt>{t('via')}</dt><dd>{answer.explain ? enumLabel(t, 'via', answer.explain.via) : '—'}</dd>
            <dt>{t('fallbackUsed')}</dt><dd>{answer.fallbackUsed ? `${t('yes')} (${answer.servedApiIdentifier})` : t('no')}</dd>
            {answer.panic && <><dt>{t('panicServed')}</dt><dd>{t('yes')}</dd></>}
          </dl>
          {(answer.explain?.groups ?? []).map((g) => (
            <div key={g.apiIdentifier} class="explain">
              <h3>{t('candidates', { id: g.apiIdentifier })}</h3>
              {g.candidates.length === 0 ? <Empty>{t('noCandidates')}</Empty> : (
                <div class="table-wrap">
                  <table class="table explain-table">
                    <thead><tr><th>{t('businessId')}</th><th>{t('breakerState')}</th><th>{t('eligible')}</th><th>{t('skipReason')}</th><th>{t('score')}</th><th>{t('probability')}</th><th>{t('tier')}</th></tr></thead>
                    <tbody>
                      {g.candidates.map((c) => (
                        <tr key={c.id} class={c.id === answer.id ? 'chosen' : ''} data-candidate={nameOf(c.id)}>
                          <td data-label={t('businessId')}>{nameOf(c.id)}{c.id === answer.id ? ' ✔' : ''}</td>
                          <td data-label={t('breakerState')}><Badge group="state" value={c.breakerState} /></td>
                          <td data-label={t('eligible')}>{c.eligible ? t('yes') : t('no')}</td>
                          <td data-label={t('skipReason')}>{c.skipReason ? enumLabel(t, 'skip', c.skipReason) : '—'}</td>
                          <td data-label={t('score')}>{c.score === undefined ? '—' : c.score.toFixed(3)}</td>
                          <td data-label={t('probability')}>{c.probability === undefined ? '—' : pct(c.probability)}</td>
                          <td data-label={t('tier')}>{c.tier ?? '—'}</td>
                        </tr>
                      ))}
                    </tbody>
                  </table>
                </div>
              )}
            </div>
          ))}
        </div>
      )}
    </section>
  );
}
