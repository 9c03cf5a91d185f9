import { useState } from 'preact/hooks';
import { api, type ApiKey } from '../api';
import { Badge } from '../ui/badge';
import { useApp } from '../ui/context';
import { Confirm, Dialog, SecretOnce } from '../ui/dialog';
import { described, errorsOf, Field, noErrors, type FormErrors } from '../ui/form';
import { dateTime, maskedKey } from '../ui/format';
import { Loaded } from '../ui/states';
import { useAsync } from '../ui/use-async';

type Modal =
  | { kind: 'create' }
  | { kind: 'created'; key: ApiKey }
  | { kind: 'edit'; key: ApiKey }
  | { kind: 'revoke'; key: ApiKey }
  | { kind: 'delete'; key: ApiKey }
  | null;

export function ApiKeys() {
  const { t, lang, notify } = useApp();
  const [modal, setModal] = useState<Modal>(null);
  const list = useAsync((signal) => api.get<ApiKey[]>('/api/admin/apikeys', signal), []);
  const setStatus = async (k: ApiKey, status: 'ACTIVE' | 'REVOKED') => {
    await api.put(`/api/admin/apikeys/${k.id}/status`, { status });
    notify(t('saved'));
    list.reload();
  };

  return (
    <section aria-labelledby="keys-title">
      <div class="page-head">
        <h1 id="keys-title">{t('navKeys')}</h1>
        <button type="button" class="btn btn-primary" onClick={() => setModal({ kind: 'create' })}>{t('newKey')}</button>
      </div>
      <Loaded state={list} isEmpty={(d) => d.length === 0}>
        {(keys) => (
          <div class="table-wrap">
            <table class="table">
              <thead>
                <tr><th>{t('keyPrefix')}</th><th>{t('description')}</th><th>{t('status')}</th><th>{t('expiresAt')}</th><th>{t('lastUsed')}</th><th>{t('created')}</th><th>{t('actions')}</th></tr>
              </thead>
              <tbody>
                {keys.map((k) => (
                  <tr key={k.id} data-key={k.apiKeyPrefix}>
                    <td data-label={t('keyPrefix')}><code class="key-masked">{maskedKey(k.apiKeyPrefix)}</code></td>
                    <td data-label={t('description')}>{k.description ?? <span class="muted">—</span>}</td>
                    <td data-label={t('status')}><Badge group="status" value={k.status} /></td>
                    <td data-label={t('expiresAt')}>{k.expiresAt ? dateTime(k.expiresAt, lang) : t('never')}</td>
                    <td data-label={t('lastUsed')}>{k.lastUsedAt ? dateTime(k.lastUsedAt, lang) : t('never')}</td>
                    <td data-label={t('created')}>{dateTime(k.createdAt, lang)}</td>
                    <td class="row-actions">
                      <button type="button" class="btn btn-small" onClick={() => setModal({ kind: 'edit', key: k })}>{t('edit')}</button>
                      {k.status === 'REVOKED' || k.status === 'EXPIRED'
                        ? <button type="button" class="btn btn-small" onClick={() => void setStatus(k, 'ACTIVE').catch((e: Error) => notify(t('actionFailed', { msg: e.message }), 'error'))}>{t('enable')}</button>
                        : <button type="button" class="btn btn-small" onClick={() => setModal({ kind: 'revoke', key: k })}>{t('revoke')}</button>}
                      <button type="button" class="btn btn-small btn-danger" onClick={() => setModal({ kind: 'delete', key: k })}>{t('delete')}</button>
                    </td>
                  </tr>
                ))}
              </tbody>
            </table>
          </div>
        )}
      </Loaded>

      {modal?.kind === 'create' && <KeyForm onClose={() => setModal(null)} onSaved={(key) => { list.reload(); setModal({ kind: 'created', key }); }} />}
      {modal?.kind === 'edit' && <KeyForm existing={modal.key} onClose={() => setModal(null)} onSaved={() => { list.reload(); notify(t('saved')); setModal(null); }} />}
      {modal?.kind === 'created' && (
        <Dialog title={t('keyCreated')} onClose={() => setModal(null)}>
          <p class="notice">{t('keyOnce')}</p>
          <SecretOnce value={modal.key.apiKeyValue ?? ''} />
          <div class="dialog-actions"><button type="button" class="btn btn-primary" onClick={() => setModal(null)}>{t('done')}</button></div>
        </Dialog>
      )}
      {modal?.kind === 'revoke' && (
        <Confirm message={t('revokeKeyQ', { prefix: modal.key.apiKeyPrefix })} confirmLabel={t('revoke')} onClose={() => setModal(null)} onConfirm={() => setStatus(modal.key, 'REVOKED')} />
      )}
      {modal?.kind === 'delete' && (
        <Confirm
          message={t('deleteKeyQ', { prefix: modal.key.apiKeyPrefix })}
          confirmLabel={t('delete')}
          onClose={() => setModal(null)}
          onConfirm={async () => { await api.del(`/api/admin/apikeys/${modal.key.id}`); list.reload(); notify(t('saved')); }}
        />
      )}
    </section>
  );
}

function KeyForm({ existing, onClose, onSaved }: { existing?: ApiKey; onClose: () => void; onSaved: (k: ApiKey) => void }) {
  const { t } = useApp();
  const [description, setDescription] = useState(existing?.description ?? '');
  const [expiresAt, setExpiresAt] = useState(existing?.expiresAt ?? '');
  const [errors, setErrors] = useState<FormErrors>(noErrors);
  const [busy, setBusy] = useState(false);
  const submit = async (e: Event) => {
    e.preventDefault();
    setBusy(true);
    const body = { ...(description ? { description } : {}), ...(expiresAt ? { expiresAt } : {}) };
    try {
      const key = existing ? await api.put<ApiKey>(`/api/admin/apikeys/${existing.id}`, body) : await api.post<ApiKey>('/api/admin/apikeys', body);
      onSaved(key);
    } catch (err) {
      setErrors(errorsOf(err));
      setBusy(false);
    }
  };
  return (
    <Dialog title={existing ? `${t('editKey')} · ${existing.apiKeyPrefix}` : t('newKey')} onClose={onClose}>
      <form onSubmit={(e) => void submit(e)} noValidate>
        <Field id="key-desc" label={t('description')} error={errors.fields['description']}>
          <input {...described('key-desc', errors.fields['description'])} maxLength={2000} value={description} onInput={(e) => setDescription(e.currentTarget.value)} />
        </Field>
        <Field id="key-exp" label={`${t('expiresAt')} (${t('optional')})`} error={errors.fields['expiresAt']} help={t('expiryHelp')}>
          <input {...described('key-exp', errors.fields['expiresAt'], 'h')} maxLength={40} placeholder="2030-01-01T00:00:00Z" value={expiresAt} onInput={(e) => setExpiresAt(e.currentTarget.value)} />
        </Field>
        {errors.form && <p class="form-error" role="alert">{errors.form}</p>}
        <div class="dialog-actions">
          <button type="button" class="btn" onClick={onClose}>{t('cancel')}</button>
          <button type="submit" class="btn btn-primary" disabled={busy}>{busy ? t('saving') : existing ? t('save') : t('create')}</button>
        </div>
      </form>
    </Dialog>
  );
}
