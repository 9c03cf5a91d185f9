import type { Logger, Redis, RedisKeys } from '@apg/platform';

/** What the aggregator listens to: the api's registry changes and its admin actions on breakers. */
export type Notification =
  | { kind: 'instances'; projectId: string }
  | { kind: 'auth' }
  | { kind: 'forced'; instanceId: string };

/** Parses a message of the registry or control channel; `null` for anything else or malformed. */
export function parseNotification(channel: string, message: string, keys: RedisKeys): Notification | null {
  let raw: unknown;
  try {
    raw = JSON.parse(message);
  } catch {
    return null;
  }
  if (typeof raw !== 'object' || raw === null) return null;
  const m = raw as Record<string, unknown>;
  if (channel === keys.registryChannel()) {
    if (m['kind'] === 'auth') return { kind: 'auth' };
    if (m['kind'] === 'instances' && typeof m['projectId'] === 'string') return { kind: 'instances', projectId: m['projectId'] };
  } else if (channel === keys.controlChannel()) {
    if (m['kind'] === 'forced' && typeof m['instanceId'] === 'string') return { kind: 'forced', instanceId: m['instanceId'] };
  }
  return null;
}

/**
 * The aggregator's subscriptions, on a dedicated connection (a subscribed ioredis client cannot run
 * other commands). ioredis re-subscribes by itself after a reconnect; a message lost meanwhile is
 * covered elsewhere (config TTL; the guarded write refusing to overwrite a forced record).
 */
export class NotificationListener {
  private readonly onMessage = (channel: string, message: string): void => {
    const n = parseNotification(channel, message, this.keys);
    if (n) this.handler(n);
    else this.log.warn({ channel }, 'ignoring malformed notification');
  };

  private subscribed = false;
  /** Subscribes again on every reconnect (idempotent); see the api's Notifier. */
  private readonly onReady = (): void => {
    if (!this.subscribed) return;
    this.subscriber.subscribe(this.keys.registryChannel(), this.keys.controlChannel()).catch((err: Error) => this.log.warn({ err: err.message }, 'resubscribe failed'));
  };

  constructor(
    private readonly subscriber: Redis,
    private readonly keys: RedisKeys,
    private readonly log: Logger,
    private readonly handler: (n: Notification) => void,
  ) {}

  async start(): Promise<void> {
    this.subscriber.on('message', this.onMessage);
    // Trap (ioredis 5): a SUBSCRIBE sent during the handshake ('connect' status) goes out at once,
    // then the ready check's INFO is refused in subscriber mode, the connection is dropped, and the
    // subscription is silently missing for a while. Subscribing once ready avoids the race.
    await readyOrTimeout(this.subscriber, 5000);
    await this.subscriber.subscribe(this.keys.registryChannel(), this.keys.controlChannel());
    this.subscribed = true;
    this.subscriber.on('ready', this.onReady);
  }

  async stop(): Promise<void> {
    this.subscriber.off('ready', this.onReady);
    this.subscriber.off('message', this.onMessage);
    await this.subscriber.unsubscribe(this.keys.registryChannel(), this.keys.controlChannel()).catch(() => undefined);
  }
}

/** Resolves once the connection is ready, or after `ms` (commands then wait in the offline queue). */
async function readyOrTimeout(redis: Redis, ms: number): Promise<void> {
  if (redis.status === 'ready') return;
  await new Promise<void>((resolve) => {
    const done = (): void => {
      clearTimeout(timer);
      redis.off('ready', done);
      resolve();
    };
    const timer = setTimeout(done, ms);
    redis.once('ready', done);
  });
}
