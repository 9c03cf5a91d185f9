import { Counter, Gauge, type Registry } from 'prom-client';
import { namedIo, type IoMetrics, type Logger } from '@apg/platform';

export type CircuitState = 'CLOSED' | 'OPEN';

export interface CircuitOptions {
  /**
   * Longest wait for one call before it counts as failed (the caller decides without it).
   * @default 250
   */
  timeoutMs: number;
  /**
   * Failures (errors or timeouts) in a row that open the circuit.
   * @default 3
   */
  failureThreshold: number;
  /**
   * How often an open circuit pings Redis in the background; one success closes it.
   * @default 500
   */
  probeIntervalMs: number;
}

export const DEFAULT_CIRCUIT_OPTIONS: Readonly<CircuitOptions> = Object.freeze({ timeoutMs: 250, failureThreshold: 3, probeIntervalMs: 500 });

/** The circuit's memory: its state and the failures in a row while closed. */
export interface CircuitMemory {
  state: CircuitState;
  failures: number;
}

export type CircuitEvent = 'success' | 'failure' | 'probe_ok' | 'probe_failed';

/**
 * The circuit's rules, pure: closed, `failureThreshold` failures in a row open it and any success resets
 * the count; open, only the background probe's answer counts (calls are refused, so none can succeed or
 * fail), and a good one closes it.
 */
export function nextCircuit(m: CircuitMemory, event: CircuitEvent, failureThreshold: number): CircuitMemory {
  if (m.state === 'OPEN') {
    return event === 'probe_ok' ? { state: 'CLOSED', failures: 0 } : m;
  }
  if (event === 'success' || event === 'probe_ok') return m.failures === 0 ? m : { state: 'CLOSED', failures: 0 };
  const failures = m.failures + 1;
  return failures >= failureThreshold ? { state: 'OPEN', failures } : { state: 'CLOSED', failures };
}

/** Thrown at once, without touching Redis, while the circuit is open. */
export class RedisUnavailableError extends Error {
  constructor(name: string) {
    super(`[redis:${name}] skipped: the Redis circuit is open`);
    this.name = 'RedisUnavailableError';
  }
}

/**
 * A small breaker around the api's Redis dependency. Every Redis call the api makes is named and run
 * through `run`: bounded by a timeout, timed in the I/O histogram, and counted. After
 * `failureThreshold` failures in a row the circuit opens: calls fail at once (selects decide from
 * in-process state: local breakers, the last health records, no rate limit, affinity or load figures)
 * while a background PING every `probeIntervalMs` finds out when Redis answers again.
 *
 * Why not ioredis' own timeouts: with a peer that accepts and never answers, ioredis waits for ever, and
 * every select would pay the full timeout. A call that timed out may still complete later; the callers
 * only use it for best-effort state (leases, counters, affinity) that tolerates that.
 */
export class RedisCircuit {
  private memory: CircuitMemory = { state: 'CLOSED', failures: 0 };
  private probeTimer: NodeJS.Timeout | null = null;
  private probing = false;
  private stopped = false;
  private readonly shortCircuited: Counter<'name'>;
  private readonly closedListeners: (() => void)[] = [];
  openedAt: number | null = null;

  constructor(
    private readonly ping: () => Promise<unknown>,
    private readonly log: Logger,
    private readonly opts: CircuitOptions,
    metrics: Registry,
    private readonly io?: IoMetrics,
  ) {
    this.shortCircuited = new Counter({ name: 'apg_api_redis_short_circuited_total', help: 'Redis calls refused at once because the Redis circuit was open', labelNames: ['name'] as const, registers: [metrics] });
    const isOpen = () => this.isOpen();
    new Gauge({ name: 'apg_api_redis_circuit_open', help: '1 while the api skips Redis (circuit open), else 0', registers: [metrics], collect() { this.set(isOpen() ? 1 : 0); } });
  }

  get state(): CircuitState {
    return this.memory.state;
  }

  isOpen(): boolean {
    return this.memory.state === 'OPEN';
  }

  /** Runs one named Redis call: refused at once while open, failed after `timeoutMs` (or the given one). */
  async run<T>(name: string, fn: () => Promise<T>, timeoutMs = this.opts.timeoutMs): Promise<T> {
    if (this.isOpen()) {
      this.shortCircuited.inc({ name });
      throw new RedisUnavailableError(name);
    }
    try {
      const value = await namedIo(this.io, 'redis', name, () => withTimeout(fn(), timeoutMs, name));
      this.record('success');
      return value;
    } catch (err) {
      this.record('failure');
      throw err;
    }
  }

  /** Runs `fn` each time the circuit closes (Redis answers again): what was missed meanwhile is reloaded. */
  onClosed(fn: () => void): void {
    this.closedListeners.push(fn);
  }

  stop(): void {
    this.stopped = true;
    if (this.probeTimer) clearInterval(this.probeTimer);
    this.probeTimer = null;
  }

  private record(event: CircuitEvent): void {
    const before = this.memory.state;
    this.memory = nextCircuit(this.memory, event, this.opts.failureThreshold);
    if (before === this.memory.state) return;
    if (this.memory.state === 'OPEN') {
      this.openedAt = Date.now();
      this.log.warn({ failures: this.memory.failures }, 'redis circuit open: selects decide from in-process state until Redis answers again');
      this.startProbing();
    } else {
      this.log.info({ openMs: this.openedAt === null ? null : Date.now() - this.openedAt }, 'redis circuit closed: Redis answers again');
      this.openedAt = null;
      if (this.probeTimer) clearInterval(this.probeTimer);
      this.probeTimer = null;
      for (const fn of this.closedListeners) fn();
    }
  }

  private startProbing(): void {
    if (this.probeTimer || this.stopped) return;
    this.probeTimer = setInterval(() => void this.probe(), this.opts.probeIntervalMs);
    this.probeTimer.unref();
  }

  private async probe(): Promise<void> {
    if (this.probing) return;
    this.probing = true;
    try {
      await namedIo(this.io, 'redis', 'circuit.probe', () => withTimeout(this.ping(), Math.max(this.opts.timeoutMs, 1000), 'circuit.probe'));
      this.record('probe_ok');
    } catch {
      this.record('probe_failed');
    } finally {
      this.probing = false;
    }
  }
}

function withTimeout<T>(p: Promise<T>, ms: number, name: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  return Promise.race([
    p,
    new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`[redis:${name}] timed out after ${ms} ms`)), ms);
    }),
  ]).finally(() => clearTimeout(timer));
}
