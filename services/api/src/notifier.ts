import { once } from 'node:events';
import type { Logger, Redis, RedisKeys } from '@apg/platform';

/** What changed in the registry; replicas drop the matching cache entries. */
/**
 * What changed in the registry; replicas drop the matching cache entries. An `auth` change names the key
 * or project it concerns (none = every key) and whether it makes keys unusable (`denied`), which a
 * replica applies at once even while its Postgres cannot answer.
 */
export type RegistryChange = { kind: 'auth'; keyId?: string; projectId?: string; denied?: boolean } | { kind: 'instances'; projectId: string };

/**
 * Redis pub/sub between api replicas and from the aggregator. One subscriber connection (a
 * subscribed ioredis client cannot run other commands) and the shared command connection to publish.
 */
export class Notifier {
  private readonly registryHandlers: ((c: RegistryChange) => void)[] = [];
  private readonly breakerHandlers: ((instanceId: string, snapshot: unknown) => void)[] = [];
  private readonly reconnectHandlers: (() => void)[] = [];
  private subscribed = false;
  /**
   * Every 'ready' after the first is a reconnect — a Redis restart or a Sentinel failover to the replica.
   * ioredis re-subscribes by itself, but whatever was announced while the connection was down is lost:
   * the handlers drop or reload what they cache instead of waiting for TTLs.
   */
  private readonly onReady = (): void => {
    if (!this.subscribed) return;
    this.log.info('notification channel reconnected; reloading what was cached from announcements');
    // ioredis re-subscribes after a reconnect, but not after a connection it had ended was opened again.
    this.subscriber.subscribe(this.keys.registryChannel(), this.keys.breakerChannel()).catch((err: Error) => this.log.warn({ err: err.message }, 'resubscribe failed'));
    for (const fn of this.reconnectHandlers) fn();
  };

  constructor(
    private readonly redis: Redis,
    private readonly subscriber: Redis,
    private readonly keys: RedisKeys,
    private readonly log: Logger,
  ) {}

  async start(): Promise<void> {
    this.subscriber.on('message', (channel: string, message: string) => this.dispatch(channel, message));
    // ioredis can drop a SUBSCRIBE sent while the connection is still handshaking; wait until it is ready.
    if (this.subscriber.status !== 'ready') await once(this.subscriber, 'ready');
    await this.subscriber.subscribe(this.keys.registryChannel(), this.keys.breakerChannel());
    this.subscribed = true;
    this.subscriber.on('ready', this.onReady);
  }

  stop(): void {
    this.subscriber.off('ready', this.onReady);
  }

  /** Called after the subscriber reconnected (announcements may have been missed meanwhile). */
  onReconnect(fn: () => void): void {
    this.reconnectHandlers.push(fn);
  }

  onRegistryChange(fn: (c: RegistryChange) => void): void {
    this.registryHandlers.push(fn);
  }

  onBreakerChange(fn: (instanceId: string, snapshot: unknown) => void): void {
    this.breakerHandlers.push(fn);
  }

  /**
   * Announces a change. The local caches are updated first and synchronously, so the replica that
   * made the change never serves stale data even if Redis is down.
   */
  async publishRegistryChange(change: RegistryChange): Promise<void> {
    for (const fn of this.registryHandlers) fn(change);
    try {
      await this.redis.publish(this.keys.registryChannel(), JSON.stringify(change));
    } catch (err) {
      this.log.warn({ err, change }, 'registry change not announced; other replicas catch up by cache TTL');
    }
  }

  private dispatch(channel: string, message: string): void {
    try {
      if (channel === this.keys.registryChannel()) {
        const change = JSON.parse(message) as RegistryChange;
        for (const fn of this.registryHandlers) fn(change);
      } else if (channel === this.keys.breakerChannel()) {
        // `{records: {[instanceId]: HealthRecord}}`: one message per aggregator batch or tick.
        const { records } = JSON.parse(message) as { records?: Record<string, unknown> };
        for (const [instanceId, record] of Object.entries(records ?? {})) {
          for (const fn of this.breakerHandlers) fn(instanceId, record);
        }
      }
    } catch (err) {
      this.log.warn({ err, channel }, 'ignoring malformed notification');
    }
  }
}
