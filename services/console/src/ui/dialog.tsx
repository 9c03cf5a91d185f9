import type { ComponentChildren } from 'preact';
import { useEffect, useRef, useState } from 'preact/hooks';
import { useApp } from './context';

/**
 * A modal dialog on the native <dialog> element: focus moves into it and back, Esc closes it (the
 * browser's own `cancel`), and the page behind is inert while it is open.
 */
export function Dialog({ title, onClose, children, wide }: { title: string; onClose: () => void; children: ComponentChildren; wide?: boolean }) {
  const ref = useRef<HTMLDialogElement>(null);
  const { t } = useApp();
  useEffect(() => {
    const el = ref.current;
    if (!el) return;
    const previous = document.activeElement as HTMLElement | null;
    if (!el.open) el.showModal();
    const first = el.querySelector<HTMLElement>('[autofocus], input, select, textarea, button:not(.dialog-close)');
    first?.focus();
    return () => previous?.focus?.();
  }, []);
  return (
    <dialog
      ref={ref}
      class={wide ? 'dialog dialog-wide' : 'dialog'}
      aria-label={title}
      onCancel={(e) => {
        e.preventDefault();
        onClose();
      }}
    >
      <header class="dialog-head">
        <h2>{title}</h2>
        <button type="button" class="btn btn-ghost dialog-close" aria-label={t('close')} onClick={onClose}>×</button>
      </header>
      {children}
    </dialog>
  );
}

/** "Are you sure?" before anything destructive; the safe choice has the focus. */
export function Confirm({ message, confirmLabel, onConfirm, onClose, danger = true }: {
  message: string;
  confirmLabel: string;
  onConfirm: () => Promise<void>;
  onClose: () => void;
  danger?: boolean;
}) {
  const { t } = useApp();
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | null>(null);
  return (
    <Dialog title={t('confirmTitle')} onClose={onClose}>
      <p class="confirm-message">{message}</p>
      {error && <p class="form-error" role="alert">{t('actionFailed', { msg: error })}</p>}
      <div class="dialog-actions">
        <button type="button" class="btn" autofocus onClick={onClose}>{t('cancel')}</button>
        <button
          type="button"
          class={danger ? 'btn btn-danger' : 'btn btn-primary'}
          disabled={busy}
          onClick={() => {
            setBusy(true);
            onConfirm().then(onClose, (err: Error) => {
              setBusy(false);
              setError(err.message);
            });
          }}
        >
          {confirmLabel}
        </button>
      </div>
    </Dialog>
  );
}

/** A secret shown once, with a copy button (Clipboard API, falling back to selecting the text). */
export function SecretOnce({ value }: { value: string }) {
  const { t } = useApp();
  const [copied, setCopied] = useState(false);
  const input = useRef<HTMLInputElement>(null);
  return (
    <div class="secret">
      <input ref={input} class="secret-value" readOnly value={value} aria-label={t('apiKey')} onFocus={(e) => e.currentTarget.select()} />
      <button
        type="button"
        class="btn btn-primary"
        onClick={() => {
          const done = () => setCopied(true);
          if (navigator.clipboard?.writeText) navigator.clipboard.writeText(value).then(done, () => input.current?.select());
          else input.current?.select();
        }}
      >
        {copied ? t('copied') : t('copy')}
      </button>
    </div>
  );
}
