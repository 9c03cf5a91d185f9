import { useCallback, useEffect, useMemo, useRef, useState } from 'preact/hooks';
import { ApiError, onUnauthorized, request } from './api';
import { initialLang, LANGS, rememberLang, translator, type Lang } from './i18n';
import { useBreakerEvents, type LiveEvent } from './live';
import { href, useRoute } from './router';
import { Login } from './screens/login';
import { Overview } from './screens/overview';
import { Projects } from './screens/projects';
import { ApiKeys } from './screens/api-keys';
import { Instances } from './screens/instances';
import { InstanceDetail } from './screens/instance-detail';
import { Playground } from './screens/playground';
import { Ctx, type AppContext } from './ui/context';
import { Loading } from './ui/states';

type Session = 'checking' | 'out' | 'in';

const NAV = [
  { path: 'overview', key: 'navOverview' },
  { path: 'projects', key: 'navProjects' },
  { path: 'keys', key: 'navKeys' },
  { path: 'instances', key: 'navInstances' },
  { path: 'playground', key: 'navPlayground' },
] as const;

export function App() {
  const [lang, setLang] = useState<Lang>(initialLang);
  const t = useMemo(() => translator(lang), [lang]);
  const [session, setSession] = useState<Session>('checking');
  const [ended, setEnded] = useState(false);
  const [toast, setToast] = useState<{ message: string; kind: 'ok' | 'error' } | null>(null);
  const toastTimer = useRef<number | undefined>(undefined);
  const liveStates = useRef(new Map<string, { state: string; since: number | null; reason: string | null }>());
  const [liveVersion, setLiveVersion] = useState(0);
  const route = useRoute();

  useEffect(() => rememberLang(lang), [lang]);

  // Is the cookie (HttpOnly: invisible to this script) still a session? Asked once at start.
  useEffect(() => {
    request<{ authenticated: boolean }>('GET', '/api/console/session').then(
      (s) => setSession(s.authenticated ? 'in' : 'out'),
      () => setSession('out'),
    );
  }, []);

  useEffect(() => onUnauthorized(() => {
    setSession((s) => (s === 'in' ? 'out' : s));
    setEnded(true);
  }), []);

  const onEvent = useCallback((e: LiveEvent) => {
    liveStates.current.set(e.instanceId, { state: e.state, since: e.since, reason: e.reason });
    setLiveVersion((v) => v + 1);
  }, []);
  const onReconnect = useCallback(() => setLiveVersion((v) => v + 1), []);
  const liveStatus = useBreakerEvents(session === 'in', onEvent, onReconnect);

  const notify = useCallback((message: string, kind: 'ok' | 'error' = 'ok') => {
    setToast({ message, kind });
    window.clearTimeout(toastTimer.current);
    toastTimer.current = window.setTimeout(() => setToast(null), 4000);
  }, []);

  const ctx: AppContext = { lang, t, liveStates: liveStates.current, liveVersion, notify };

  const logout = async () => {
    setSession('out'); // closes the event stream before the session ends
    try {
      await request('DELETE', '/api/console/session', undefined, { quiet401: true });
    } catch (err) {
      if (!(err instanceof ApiError)) throw err;
    }
    liveStates.current.clear();
    location.hash = '#/overview';
  };

  const langPicker = (
    <label class="lang">
      <span class="visually-hidden">{t('language')}</span>
      <select value={lang} aria-label={t('language')} onChange={(e) => setLang(e.currentTarget.value as Lang)}>
        {LANGS.map((l) => <option key={l.id} value={l.id}>{l.label}</option>)}
      </select>
    </label>
  );

  if (session === 'checking') return <Ctx.Provider value={ctx}><main class="centered"><Loading /></main></Ctx.Provider>;
  if (session === 'out') {
    return (
      <Ctx.Provider value={ctx}>
        <Login ended={ended} langPicker={langPicker} onLoggedIn={() => { setEnded(false); setSession('in'); }} />
      </Ctx.Provider>
    );
  }

  const screen = route.path[0] ?? 'overview';
  let body;
  if (screen === 'projects') body = <Projects />;
  else if (screen === 'keys') body = <ApiKeys />;
  else if (screen === 'instances' && route.path[1]) body = <InstanceDetail id={route.path[1]} />;
  else if (screen === 'instances') body = <Instances query={route.query} />;
  else if (screen === 'playground') body = <Playground query={route.query} />;
  else body = <Overview />;

  return (
    <Ctx.Provider value={ctx}>
      <div class="shell">
        <header class="topbar">
          <a class="brand" href={href('overview')}>{t('appTitle')}</a>
          <nav class="nav" aria-label="main">
            {NAV.map((n) => (
              <a key={n.path} href={href(n.path)} class={screen === n.path ? 'active' : ''} aria-current={screen === n.path ? 'page' : undefined}>
                {t(n.key)}
              </a>
            ))}
          </nav>
          <div class="topbar-end">
            <span class={`live live-${liveStatus}`} role="status" title={liveStatus}>
              {liveStatus === 'live' ? t('live') : t('reconnecting')}
            </span>
            {langPicker}
            <button type="button" class="btn btn-ghost" onClick={() => void logout()}>{t('logout')}</button>
          </div>
        </header>
        <main class="content">{body}</main>
        {toast && <div class={`toast toast-${toast.kind}`} role="status" aria-live="polite">{toast.message}</div>}
      </div>
    </Ctx.Provider>
  );
}
