import { useState } from 'preact/hooks';
import { api, type Instance } from '../api';
import { useApp } from '../ui/context';
import { Confirm } from '../ui/dialog';

type Pending = { kind: 'FORCED_OPEN' } | { kind: 'status'; status: 'INACTIVE' | 'DEPRECATED' } | { kind: 'delete' } | null;

/**
 * The lifecycle and breaker buttons of one instance (list row and detail page): activate / deactivate /
 * deprecate, force open / closed / auto, delete. Everything that takes traffic away asks first.
 */
export function InstanceActions({ instance, onChanged, onDeleted, compact }: { instance: Instance; onChanged: () => void; onDeleted?: () => void; compact?: boolean }) {
  const { t, notify } = useApp();
  const [pending, setPending] = useState<Pending>(null);
  const name = instance.businessId;
  const fail = (e: Error) => notify(t('actionFailed', { msg: e.message }), 'error');
  const force = async (mode: 'FORCED_OPEN' | 'FORCED_CLOSED' | 'AUTO') => {
    await api.post(`/api/admin/instances/${instance.id}/breaker`, { mode });
    notify(t('saved'));
    onChanged();
  };
  const setStatus = async (status: 'ACTIVE' | 'INACTIVE' | 'DEPRECATED') => {
    await api.put(`/api/admin/instances/${instance.id}/status`, { status });
    notify(t('saved'));
    onChanged();
  };
  const small = compact ? 'btn btn-small' : 'btn';
  return (
    <>
      <span class="btn-group" role="group" aria-label={t('breaker')}>
        <button type="button" class={small} data-action="force-open" onClick={() => setPending({ kind: 'FORCED_OPEN' })}>{t('forceOpen')}</button>
        <button type="button" class={small} data-action="force-closed" onClick={() => void force('FORCED_CLOSED').catch(fail)}>{t('forceClosed')}</button>
        <button type="button" class={small} data-action="force-auto" onClick={() => void force('AUTO').catch(fail)}>{t('forceAuto')}</button>
      </span>
      <span class="btn-group" role="group" aria-label={t('status')}>
        {instance.status !== 'ACTIVE' && <button type="button" class={small} onClick={() => void setStatus('ACTIVE').catch(fail)}>{t('activate')}</button>}
        {instance.status === 'ACTIVE' && <button type="button" class={small} onClick={() => setPending({ kind: 'status', status: 'INACTIVE' })}>{t('deactivate')}</button>}
        {instance.status !== 'DEPRECATED' && <button type="button" class={small} onClick={() => setPending({ kind: 'status', status: 'DEPRECATED' })}>{t('deprecate')}</button>}
        <button type="button" class={`${small} btn-danger`} onClick={() => setPending({ kind: 'delete' })}>{t('delete')}</button>
      </span>
      {pending?.kind === 'FORCED_OPEN' && (
        <Confirm message={t('forceOpenQ', { name })} confirmLabel={t('forceOpen')} onClose={() => setPending(null)} onConfirm={() => force('FORCED_OPEN')} />
      )}
      {pending?.kind === 'status' && (
        <Confirm
          message={pending.status === 'DEPRECATED' ? t('deprecateQ', { name }) : t('deactivateQ', { name })}
          confirmLabel={pending.status === 'DEPRECATED' ? t('deprecate') : t('deactivate')}
          onClose={() => setPending(null)}
          onConfirm={() => setStatus(pending.status)}
        />
      )}
      {pending?.kind === 'delete' && (
        <Confirm
          message={t('deleteInstanceQ', { name })}
          confirmLabel={t('delete')}
          onClose={() => setPending(null)}
          onConfirm={async () => {
            await api.del(`/api/admin/instances/${instance.id}`);
            notify(t('saved'));
            (onDeleted ?? onChanged)();
          }}
        />
      )}
    </>
  );
}
