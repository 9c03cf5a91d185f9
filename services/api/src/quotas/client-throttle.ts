import { isIPv4, isIPv6 } from 'node:net';
import { LruMap } from '../cache/lru-map';

export interface ClientThrottleOptions {
  /** Requests per second a client earns back. @default 5 */
  ratePerSecond: number;
  /** Requests a client may make at once (bucket size). @default 30 */
  burst: number;
  /** Clients remembered at once (memory bound: ~150 bytes each). @default 10000 */
  maxClients: number;
}

export const DEFAULT_CLIENT_THROTTLE: Readonly<ClientThrottleOptions> = Object.freeze({ ratePerSecond: 5, burst: 30, maxClients: 10_000 });

interface Bucket {
  tokens: number;
  at: number;
}

export type ThrottleVerdict = { ok: true } | { ok: false; retryAfterS: number };

/**
 * A token bucket per client address for the routes anyone may call (README "Quotas"), in bounded
 * memory: at most `maxClients` buckets, least recently used first out. A full bucket carries no
 * information, so dropping one is lossless; when every remembered client is still mid-bucket (a flood
 * from more addresses than that), newcomers share one overflow bucket instead of evicting — so rotating
 * through addresses cannot buy a fresh budget, and the total anonymous load stays bounded.
 *
 * Per api replica: N replicas admit N × the rate. That is enough to keep one client from flooding the
 * database through an anonymous route; it is not a global quota.
 */
export class ClientThrottle {
  private readonly buckets: LruMap<string, Bucket>;
  private readonly overflow: Bucket;

  constructor(private readonly opts: ClientThrottleOptions, private readonly now: () => number = Date.now) {
    this.buckets = new LruMap(opts.maxClients);
    this.overflow = { tokens: opts.burst, at: now() };
  }

  get clients(): number {
    return this.buckets.size;
  }

  take(client: string): ThrottleVerdict {
    const now = this.now();
    let bucket = this.buckets.get(client);
    if (!bucket) {
      const oldest = this.buckets.size >= this.opts.maxClients ? this.buckets.oldest() : undefined;
      if (oldest && this.refill(oldest[1], now).tokens < this.opts.burst) {
        bucket = this.overflow;
      } else {
        if (oldest) this.buckets.delete(oldest[0]);
        bucket = { tokens: this.opts.burst, at: now };
        this.buckets.set(client, bucket);
      }
    }
    this.refill(bucket, now);
    if (bucket.tokens >= 1) {
      bucket.tokens -= 1;
      return { ok: true };
    }
    return { ok: false, retryAfterS: Math.max(1, Math.ceil((1 - bucket.tokens) / this.opts.ratePerSecond)) };
  }

  private refill(b: Bucket, now: number): Bucket {
    if (now > b.at) {
      b.tokens = Math.min(this.opts.burst, b.tokens + ((now - b.at) / 1000) * this.opts.ratePerSecond);
      b.at = now;
    }
    return b;
  }
}

/**
 * The throttling identity of a client address: IPv4 as is (IPv4-mapped IPv6 included), IPv6 by its /64
 * — one host usually holds a whole /64, so per-address buckets would hand it 2^64 budgets.
 */
export function clientKey(address: string | undefined): string {
  if (!address) return 'unknown';
  const bare = address.split('%')[0]!;
  const mapped = bare.toLowerCase().startsWith('::ffff:') ? bare.slice(7) : bare;
  if (isIPv4(mapped)) return mapped;
  if (!isIPv6(bare)) return 'unknown';
  return `${expandIPv6(bare).slice(0, 4).join(':')}::/64`;
}

/** The eight hextets of a valid IPv6 address, without leading zeros (a trailing dotted quad counts as two). */
function expandIPv6(address: string): string[] {
  const [head = '', tail] = address.toLowerCase().split('::');
  const parts = (s: string) => (s ? s.split(':').flatMap((p) => (p.includes('.') ? ['0', '0'] : [p])) : []);
  const h = parts(head);
  const t = tail === undefined ? [] : parts(tail);
  const fill = tail === undefined ? [] : Array<string>(Math.max(0, 8 - h.length - t.length)).fill('0');
  return [...h, ...fill, ...t].map((x) => parseInt(x, 16).toString(16));
}
