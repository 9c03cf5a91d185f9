import type { ComponentChildren } from 'preact';
import { useState } from 'preact/hooks';
import { ApiError, request } from '../api';
import { useApp } from '../ui/context';

/** The only thing shown before login: the admin credential, exchanged for an HttpOnly session cookie. */
export function Login({ onLoggedIn, ended, langPicker }: { onLoggedIn: () => void; ended: boolean; langPicker: ComponentChildren }) {
  const { t } = useApp();
  const [token, setToken] = useState('');
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | null>(null);

  const submit = async (e: Event) => {
    e.preventDefault();
    setBusy(true);
    setError(null);
    try {
      await request('POST', '/api/console/session', { token }, { quiet401: true });
      setToken('');
      onLoggedIn();
    } catch (err) {
      const a = err instanceof ApiError ? err : null;
      if (a?.status === 401) setError(t('wrongToken'));
      else if (a?.status === 429) setError(t('tooManyAttempts', { s: a.retryAfterS ?? 60 }));
      else setError((err as Error).message);
      setBusy(false);
    }
  };

  return (
    <main class="login">
      <form class="card login-card" onSubmit={(e) => void submit(e)} aria-labelledby="login-title">
        <div class="login-head">
          <div>
            <h1 id="login-title">{t('loginTitle')}</h1>
            <p class="muted">{t('appSubtitle')}</p>
          </div>
          {langPicker}
        </div>
        {ended && <p class="notice" role="status">{t('sessionEnded')}</p>}
        <p class="muted">{t('loginHint')}</p>
        <label class="field">
          <span>{t('adminToken')}</span>
          <input
            type="password"
            name="token"
            autoComplete="current-password"
            required
            autofocus
            value={token}
            aria-invalid={error ? 'true' : undefined}
            aria-describedby={error ? 'login-error' : undefined}
            onInput={(e) => setToken(e.currentTarget.value)}
          />
        </label>
        {error && <p id="login-error" class="form-error" role="alert">{error}</p>}
        <button type="submit" class="btn btn-primary btn-block" disabled={busy || token.length === 0}>{busy ? t('signingIn') : t('signIn')}</button>
      </form>
    </main>
  );
}
