import type { Request, Response } from 'express';
import { HttpError } from '../http/http-error';

/** One breaker change as the console receives it (`event: breaker`). */
export interface BreakerEvent {
  instanceId: string;
  state: string;
  /** When the state began (epoch ms) and why. */
  since: number | null;
  reason: string | null;
}

export interface BreakerStreamOptions {
  /** Open streams per replica; more answer 429. @default 200 */
  maxClients: number;
  /** A comment line this often keeps proxies from closing a quiet stream. @default 15000 */
  keepAliveMs: number;
  /**
   * A stream is ended after this long; the browser reconnects at once and is authenticated again, so a session
   * that ended elsewhere (logout in another tab, expiry) stops receiving events within this bound. @default 300000
   */
  maxLifetimeMs?: number;
}

/** Instances whose last state is remembered; past this the memory is dropped (the next record re-announces). */
const MAX_REMEMBERED = 100_000;

/**
 * Live breaker changes for the console as Server-Sent Events. It listens to the records the aggregator (and
 * an admin's force) already announce on the breaker channel, and passes on those whose state differs from
 * the last one seen, so a batch of unchanged records costs the browsers nothing. A browser's EventSource
 * reconnects by itself (`retry:`); after a reconnect the console reloads what it shows, so a change missed
 * while disconnected is not lost.
 */
export class BreakerStream {
  private readonly clients = new Set<Response>();
  private readonly lastState = new Map<string, string>();
  private keepAlive: NodeJS.Timeout | null = null;

  constructor(private readonly options: BreakerStreamOptions = { maxClients: 200, keepAliveMs: 15_000 }) {}

  get size(): number {
    return this.clients.size;
  }

  /** Fed by the notifier with every announced record. */
  record(instanceId: string, record: unknown): void {
    const r = record as { state?: unknown; since?: unknown; reason?: unknown } | null;
    if (!r || typeof r.state !== 'string') return;
    if (this.lastState.get(instanceId) === r.state) return;
    if (this.lastState.size >= MAX_REMEMBERED) this.lastState.clear();
    this.lastState.set(instanceId, r.state);
    if (this.clients.size === 0) return;
    const event: BreakerEvent = {
      instanceId,
      state: r.state,
      since: typeof r.since === 'number' ? r.since : null,
      reason: typeof r.reason === 'string' ? r.reason : null,
    };
    const frame = `event: breaker\ndata: ${JSON.stringify(event)}\n\n`;
    for (const res of this.clients) res.write(frame);
  }

  /** Opens a stream on this response (the caller has authenticated the request). */
  open(req: Request, res: Response): void {
    if (this.clients.size >= this.options.maxClients) {
      throw new HttpError('RATE_LIMITED', 'too many open console streams on this replica', undefined, { 'Retry-After': '5' });
    }
    res.status(200).set({
      'Content-Type': 'text/event-stream; charset=utf-8',
      'Cache-Control': 'no-store',
      'X-Accel-Buffering': 'no',
      Connection: 'keep-alive',
    });
    res.flushHeaders();
    res.write('retry: 3000\n: connected\n\n');
    this.clients.add(res);
    this.keepAlive ??= setInterval(() => {
      for (const c of this.clients) c.write(': keep-alive\n\n');
    }, this.options.keepAliveMs).unref();
    const close = () => {
      this.clients.delete(res);
      if (this.clients.size === 0 && this.keepAlive) {
        clearInterval(this.keepAlive);
        this.keepAlive = null;
      }
    };
    const lifetime = setTimeout(() => {
      close();
      // Tells the console to reconnect now rather than after `retry:` (it would show "reconnecting" meanwhile).
      res.end('event: reconnect\ndata: {}\n\n');
    }, this.options.maxLifetimeMs ?? 300_000);
    lifetime.unref();
    req.on('close', () => {
      clearTimeout(lifetime);
      close();
    });
    res.on('error', close);
  }

  /** Ends every stream (api stop: an open stream would keep the server from closing). */
  stop(): void {
    for (const res of this.clients) res.end();
    this.clients.clear();
    if (this.keepAlive) clearInterval(this.keepAlive);
    this.keepAlive = null;
  }
}
