import { createContext } from 'preact';
import { useContext } from 'preact/hooks';
import { translator, type Lang, type T } from '../i18n';

export interface AppContext {
  lang: Lang;
  t: T;
  /** Breaker states pushed by the live stream (instanceId → state), newer than any list the screen loaded. */
  liveStates: Map<string, { state: string; since: number | null; reason: string | null }>;
  /** Bumped on every live breaker event, so screens re-render and can refetch. */
  liveVersion: number;
  /** Shows a short status message (role=status, read by screen readers). */
  notify: (message: string, kind?: 'ok' | 'error') => void;
}

export const Ctx = createContext<AppContext>({
  lang: 'en',
  t: translator('en'),
  liveStates: new Map(),
  liveVersion: 0,
  notify: () => undefined,
});

export const useApp = () => useContext(Ctx);
