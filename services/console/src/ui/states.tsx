import type { ComponentChildren } from 'preact';
import { useApp } from './context';
import type { AsyncState } from './use-async';

export function Loading() {
  const { t } = useApp();
  return <p class="state state-loading" role="status" aria-live="polite">{t('loading')}</p>;
}

export function ErrorBox({ error, onRetry }: { error: Error; onRetry?: () => void }) {
  const { t } = useApp();
  return (
    <div class="state state-error" role="alert">
      <span>{t('loadFailed', { msg: error.message })}</span>
      {onRetry && <button type="button" class="btn" onClick={onRetry}>{t('retry')}</button>}
    </div>
  );
}

export function Empty({ children }: { children?: ComponentChildren }) {
  const { t } = useApp();
  return <p class="state state-empty">{children ?? t('empty')}</p>;
}

/**
 * The three states of loaded data in one place: loading (first load only), error (with retry), empty,
 * else the content. Never shows made-up data: on error the last real data is not replaced by anything.
 */
export function Loaded<T>({ state, isEmpty, empty, children }: {
  state: AsyncState<T>;
  isEmpty?: (data: T) => boolean;
  empty?: ComponentChildren;
  children: (data: T) => ComponentChildren;
}) {
  if (state.error) return <ErrorBox error={state.error} onRetry={state.reload} />;
  if (state.data === undefined) return <Loading />;
  if (isEmpty?.(state.data)) return <Empty>{empty}</Empty>;
  return <>{children(state.data)}</>;
}
