import { useEffect, useRef, useState } from 'preact/hooks';

export interface LiveEvent {
  instanceId: string;
  state: string;
  since: number | null;
  reason: string | null;
}

export type LiveStatus = 'connecting' | 'live' | 'reconnecting';

/**
 * Live breaker changes from the api's event stream (Server-Sent Events). EventSource reconnects by itself
 * (the server asks for 3 s); after a reconnect `onReconnect` lets screens reload what they show, since
 * changes made while disconnected were not streamed. Only open while logged in.
 */
export function useBreakerEvents(enabled: boolean, onEvent: (e: LiveEvent) => void, onReconnect: () => void): LiveStatus {
  const [status, setStatus] = useState<LiveStatus>('connecting');
  const [generation, setGeneration] = useState(0);
  const handlers = useRef({ onEvent, onReconnect });
  handlers.current = { onEvent, onReconnect };
  useEffect(() => {
    if (!enabled) return;
    let wasOpen = generation > 0;
    const source = new EventSource('/api/admin/console/breaker-events');
    // The server ends a stream after a while (so the session is checked again): open the next one at once.
    source.addEventListener('reconnect', () => {
      source.close();
      setGeneration((g) => g + 1);
    });
    source.onopen = () => {
      if (wasOpen) handlers.current.onReconnect();
      wasOpen = true;
      setStatus('live');
    };
    source.onerror = () => setStatus('reconnecting');
    source.addEventListener('breaker', (msg) => {
      try {
        handlers.current.onEvent(JSON.parse((msg as MessageEvent<string>).data) as LiveEvent);
      } catch {
        // a frame that is not ours: ignored
      }
    });
    return () => source.close();
  }, [enabled, generation]);
  return status;
}
