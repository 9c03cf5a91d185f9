import { createHash, randomBytes } from 'node:crypto';
import type { Redis, RedisKeys } from '@apg/platform';
import type { RedisCircuit } from '../gateway/redis-circuit';
import { HttpError } from '../http/http-error';

/** What a console session is: when it began and when it ends (epoch ms). */
export interface ConsoleSession {
  createdAt: number;
  expiresAt: number;
}

/** 32 random bytes, base64url: the cookie's value. Never stored: Redis holds only its SHA-256. */
const newSessionId = () => randomBytes(32).toString('base64url');
const hashOf = (id: string) => createHash('sha256').update(id).digest('hex');
/** A cookie value that cannot be one of ours is refused without a Redis call (43 base64url characters). */
const SESSION_ID_FORMAT = /^[\w-]{43}$/;

/**
 * Admin console sessions in Redis, so a login on one api replica is valid on every other and logout is
 * immediate everywhere. Each session key expires with the session (PX), so nothing outlives it.
 */
export class ConsoleSessions {
  constructor(
    private readonly redis: Redis,
    private readonly keys: RedisKeys,
    private readonly circuit: RedisCircuit,
    private readonly ttlMs: number,
    private readonly now: () => number = Date.now,
  ) {}

  get lifetimeMs(): number {
    return this.ttlMs;
  }

  /** A new session; the returned id goes into the cookie and nowhere else. */
  async create(): Promise<{ id: string; session: ConsoleSession }> {
    const id = newSessionId();
    const createdAt = this.now();
    const session: ConsoleSession = { createdAt, expiresAt: createdAt + this.ttlMs };
    await this.io('console.session.create', () => this.redis.set(this.keys.consoleSession(hashOf(id)), JSON.stringify(session), 'PX', this.ttlMs));
    return { id, session };
  }

  /** The live session with this id, or null (unknown, expired, logged out, or not an id at all). */
  async find(id: string | undefined): Promise<ConsoleSession | null> {
    if (id === undefined || !SESSION_ID_FORMAT.test(id)) return null;
    const raw = await this.io('console.session.find', () => this.redis.get(this.keys.consoleSession(hashOf(id))));
    if (raw === null) return null;
    const parsed = parseSession(raw);
    return parsed !== null && parsed.expiresAt > this.now() ? parsed : null;
  }

  /** A Redis call through the circuit; Redis being away is a 503 the console shows, not a 500. */
  private async io<T>(name: string, fn: () => Promise<T>): Promise<T> {
    try {
      return await this.circuit.run(name, fn);
    } catch (err) {
      throw new HttpError('DEPENDENCY_UNAVAILABLE', `console sessions are unavailable (Redis): ${(err as Error).message}`);
    }
  }

  async delete(id: string | undefined): Promise<void> {
    if (id === undefined || !SESSION_ID_FORMAT.test(id)) return;
    await this.io('console.session.delete', () => this.redis.del(this.keys.consoleSession(hashOf(id))));
  }
}

function parseSession(raw: string): ConsoleSession | null {
  try {
    const v = JSON.parse(raw) as Partial<ConsoleSession>;
    return typeof v.createdAt === 'number' && typeof v.expiresAt === 'number' ? { createdAt: v.createdAt, expiresAt: v.expiresAt } : null;
  } catch {
    return null;
  }
}
