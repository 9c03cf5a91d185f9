import { enumLabel } from '../i18n';
import { useApp } from './context';

const TONE: Record<string, string> = {
  CLOSED: 'ok', FORCED_CLOSED: 'info', HALF_OPEN: 'warn', OPEN: 'bad', FORCED_OPEN: 'bad',
  ACTIVE: 'ok', UNUSED: 'info', INACTIVE: 'muted', DEPRECATED: 'muted', REVOKED: 'bad', EXPIRED: 'muted',
  UP: 'ok', STALLED: 'bad', UNKNOWN: 'warn',
};

/** A state or status as a labelled pill; the colour repeats the text, never replaces it. */
export function Badge({ group, value }: { group: 'state' | 'status' | 'stage'; value: string }) {
  const { t } = useApp();
  return <span class={`badge badge-${TONE[value] ?? 'muted'}`} data-value={value}>{enumLabel(t, group, value)}</span>;
}
