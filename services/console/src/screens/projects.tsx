import { useState } from 'preact/hooks';
import { api, qs, type ApiKey, type Project } from '../api';
import { href } from '../router';
import { Badge } from '../ui/badge';
import { useApp } from '../ui/context';
import { Confirm, Dialog, SecretOnce } from '../ui/dialog';
import { described, errorsOf, Field, noErrors, type FormErrors } from '../ui/form';
import { dateTime, maskedKey } from '../ui/format';
import { Loaded } from '../ui/states';
import { useAsync } from '../ui/use-async';

export const STRATEGIES = ['SMART', 'ROUND_ROBIN', 'WEIGHTED', 'PRIORITY', 'LATENCY_FIRST', 'SUCCESS_RATE_FIRST', 'LEAST_COST'];

type Modal =
  | { kind: 'create' }
  | { kind: 'created'; project: Project; key: ApiKey }
  | { kind: 'settings'; project: Project }
  | { kind: 'delete'; project: Project }
  | { kind: 'deactivate'; project: Project }
  | null;

export function Projects() {
  const { t, lang, notify } = useApp();
  const [search, setSearch] = useState('');
  const [modal, setModal] = useState<Modal>(null);
  const list = useAsync(
    (signal) => api.get<Project[]>(search.trim() ? `/api/admin/projects/search${qs({ projectName: search.trim() })}` : '/api/admin/projects', signal),
    [search],
  );
  const setStatus = async (p: Project, status: 'ACTIVE' | 'INACTIVE') => {
    await api.put(`/api/admin/projects/${p.id}/status`, { status });
    notify(t('saved'));
    list.reload();
  };

  return (
    <section aria-labelledby="pj-title">
      <div class="page-head">
        <h1 id="pj-title">{t('navProjects')}</h1>
        <button type="button" class="btn btn-primary" onClick={() => setModal({ kind: 'create' })}>{t('newProject')}</button>
      </div>
      <div class="filters">
        <label class="field-inline">
          <span class="visually-hidden">{t('searchProjects')}</span>
          <input type="search" placeholder={t('searchProjects')} aria-label={t('searchProjects')} value={search} onInput={(e) => setSearch(e.currentTarget.value)} />
        </label>
      </div>
      <Loaded state={list} isEmpty={(d) => d.length === 0} empty={search ? t('noMatch') : t('empty')}>
        {(projects) => (
          <div class="table-wrap">
            <table class="table">
              <thead>
                <tr><th>{t('name')}</th><th>{t('status')}</th><th>{t('keyPrefix')}</th><th>{t('defaultStrategy')}</th><th>{t('panicMode')}</th><th>{t('created')}</th><th>{t('actions')}</th></tr>
              </thead>
              <tbody>
                {projects.map((p) => (
                  <tr key={p.id} data-project={p.name}>
                    <td data-label={t('name')}><strong>{p.name}</strong>{p.description && <div class="muted small">{p.description}</div>}</td>
                    <td data-label={t('status')}><Badge group="status" value={p.status} /></td>
                    <td data-label={t('keyPrefix')}><code>{maskedKey(p.apiKeyPrefix)}</code></td>
                    <td data-label={t('defaultStrategy')}>{p.defaultStrategy ?? <span class="muted">{t('serverDefault')}</span>}</td>
                    <td data-label={t('panicMode')}>{p.panicMode ? t('yes') : t('no')}</td>
                    <td data-label={t('created')}>{dateTime(p.createdAt, lang)}</td>
                    <td class="row-actions">
                      <a class="btn btn-small" href={href('instances', { project: p.id })}>{t('viewInstances')}</a>
                      <button type="button" class="btn btn-small" onClick={() => setModal({ kind: 'settings', project: p })}>{t('settings')}</button>
                      {p.status === 'ACTIVE'
                        ? <button type="button" class="btn btn-small" onClick={() => setModal({ kind: 'deactivate', project: p })}>{t('deactivate')}</button>
                        : <button type="button" class="btn btn-small" onClick={() => void setStatus(p, 'ACTIVE').catch((e: Error) => notify(t('actionFailed', { msg: e.message }), 'error'))}>{t('activate')}</button>}
                      <button type="button" class="btn btn-small btn-danger" onClick={() => setModal({ kind: 'delete', project: p })}>{t('delete')}</button>
                    </td>
                  </tr>
                ))}
              </tbody>
            </table>
          </div>
        )}
      </Loaded>

      {modal?.kind === 'create' && (
        <CreateProject onClose={() => setModal(null)} onCreated={(project, key) => { list.reload(); setModal({ kind: 'created', project, key }); }} />
      )}
      {modal?.kind === 'created' && (
        <Dialog title={t('projectCreated')} onClose={() => setModal(null)}>
          <p><strong>{modal.project.name}</strong></p>
          <p class="notice">{t('keyOnce')}</p>
          <SecretOnce value={modal.key.apiKeyValue ?? ''} />
          <div class="dialog-actions"><button type="button" class="btn btn-primary" onClick={() => setModal(null)}>{t('done')}</button></div>
        </Dialog>
      )}
      {modal?.kind === 'settings' && <ProjectSettings project={modal.project} onClose={() => setModal(null)} onSaved={() => { list.reload(); notify(t('saved')); }} />}
      {modal?.kind === 'delete' && (
        <Confirm
          message={t('deleteProjectQ', { name: modal.project.name })}
          confirmLabel={t('delete')}
          onClose={() => setModal(null)}
          onConfirm={async () => { await api.del(`/api/admin/projects/${modal.project.id}`); list.reload(); notify(t('saved')); }}
        />
      )}
      {modal?.kind === 'deactivate' && (
        <Confirm
          message={`${t('deactivate')}: ${modal.project.name}?`}
          confirmLabel={t('deactivate')}
          onClose={() => setModal(null)}
          onConfirm={() => setStatus(modal.project, 'INACTIVE')}
        />
      )}
    </section>
  );
}

function CreateProject({ onClose, onCreated }: { onClose: () => void; onCreated: (p: Project, k: ApiKey) => void }) {
  const { t } = useApp();
  const [name, setName] = useState('');
  const [description, setDescription] = useState('');
  const [errors, setErrors] = useState<FormErrors>(noErrors);
  const [busy, setBusy] = useState(false);
  const submit = async (e: Event) => {
    e.preventDefault();
    setBusy(true);
    try {
      const r = await api.post<{ project: Project; apiKey: ApiKey }>('/api/admin/projects', { name, ...(description ? { description } : {}) });
      onCreated(r.project, r.apiKey);
    } catch (err) {
      setErrors(errorsOf(err));
      setBusy(false);
    }
  };
  return (
    <Dialog title={t('newProject')} onClose={onClose}>
      <form onSubmit={(e) => void submit(e)} noValidate>
        <Field id="pj-name" label={t('projectName')} error={errors.fields['name']}>
          <input {...described('pj-name', errors.fields['name'])} required maxLength={128} value={name} onInput={(e) => setName(e.currentTarget.value)} />
        </Field>
        <Field id="pj-desc" label={`${t('description')} (${t('optional')})`} error={errors.fields['description']}>
          <textarea {...described('pj-desc', errors.fields['description'])} maxLength={2000} rows={2} value={description} onInput={(e) => setDescription(e.currentTarget.value)} />
        </Field>
        {errors.form && <p class="form-error" role="alert">{errors.form}</p>}
        <div class="dialog-actions">
          <button type="button" class="btn" onClick={onClose}>{t('cancel')}</button>
          <button type="submit" class="btn btn-primary" disabled={busy}>{busy ? t('saving') : t('create')}</button>
        </div>
      </form>
    </Dialog>
  );
}

function ProjectSettings({ project, onClose, onSaved }: { project: Project; onClose: () => void; onSaved: () => void }) {
  const { t } = useApp();
  const [strategy, setStrategy] = useState(project.defaultStrategy ?? '');
  const [panic, setPanic] = useState(Boolean(project.panicMode));
  const [errors, setErrors] = useState<FormErrors>(noErrors);
  const [busy, setBusy] = useState(false);
  const submit = async (e: Event) => {
    e.preventDefault();
    setBusy(true);
    try {
      await api.put(`/api/admin/projects/${project.id}/settings`, { defaultStrategy: strategy || null, panicMode: panic });
      onSaved();
      onClose();
    } catch (err) {
      setErrors(errorsOf(err));
      setBusy(false);
    }
  };
  return (
    <Dialog title={`${t('settings')} · ${project.name}`} onClose={onClose}>
      <form onSubmit={(e) => void submit(e)}>
        <Field id="pj-strategy" label={t('defaultStrategy')} error={errors.fields['defaultStrategy']}>
          <select {...described('pj-strategy', errors.fields['defaultStrategy'])} value={strategy} onChange={(e) => setStrategy(e.currentTarget.value)}>
            <option value="">{t('serverDefault')}</option>
            {STRATEGIES.map((s) => <option key={s} value={s}>{s}</option>)}
          </select>
        </Field>
        <div class="field field-check">
          <input id="pj-panic" type="checkbox" checked={panic} aria-describedby="pj-panic-help" onChange={(e) => setPanic(e.currentTarget.checked)} />
          <label for="pj-panic">{t('panicMode')}</label>
          <small id="pj-panic-help" class="help">{t('panicHelp')}</small>
        </div>
        {errors.form && <p class="form-error" role="alert">{errors.form}</p>}
        <div class="dialog-actions">
          <button type="button" class="btn" onClick={onClose}>{t('cancel')}</button>
          <button type="submit" class="btn btn-primary" disabled={busy}>{busy ? t('saving') : t('save')}</button>
        </div>
      </form>
    </Dialog>
  );
}
