import { Counter, Gauge, type Registry } from 'prom-client';
import { namedIo, type IoMetrics, type Logger } from '@apg/platform';
import { ProbedCircuit, type CircuitState } from './probed-circuit';

export { nextCircuit, type CircuitEvent, type CircuitMemory, type CircuitState } from './probed-circuit';

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
  private readonly circuit: ProbedCircuit;
  private readonly shortCircuited: Counter<'name'>;

  constructor(
    ping: () => Promise<unknown>,
    log: Logger,
    private readonly opts: CircuitOptions,
    metrics: Registry,
    private readonly io?: IoMetrics,
  ) {
    this.circuit = new ProbedCircuit(log, {
      failureThreshold: opts.failureThreshold,
      probeIntervalMs: opts.probeIntervalMs,
      probeOnce: () => namedIo(this.io, 'redis', 'circuit.probe', () => withTimeout(ping(), Math.max(opts.timeoutMs, 1000), 'circuit.probe')),
      openMessage: 'redis circuit open: selects decide from in-process state until Redis answers again',
      closedMessage: 'redis circuit closed: Redis answers again',
    });
    this.shortCircuited = new Counter({ name: 'apg_api_redis_short_circuited_total', help: 'Redis calls refused at once because the Redis circuit was open', labelNames: ['name'] as const, registers: [metrics] });
    const isOpen = () => this.isOpen();
    new Gauge({ name: 'apg_api_redis_circuit_open', help: '1 while the api skips Redis (circuit open), else 0', registers: [metrics], collect() { this.set(isOpen() ? 1 : 0); } });
  }

  get state(): CircuitState {
    return this.circuit.state;
  }

  get openedAt(): number | null {
    return this.circuit.openedAt;
  }

  isOpen(): boolean {
    return this.circuit.isOpen();
  }

  /** Runs one named Redis call: refused at once while open, failed after `timeoutMs` (or the given one). */
  async run<T>(name: string, fn: () => Promise<T>, timeoutMs = this.opts.timeoutMs): Promise<T> {
    if (this.isOpen()) {
      this.shortCircuited.inc({ name });
      throw new RedisUnavailableError(name);
    }
    try {
      const value = await namedIo(this.io, 'redis', name, () => withTimeout(fn(), timeoutMs, name));
      this.circuit.record('success');
      return value;
    } catch (err) {
      this.circuit.record('failure');
      throw err;
    }
  }

  /** Runs `fn` each time the circuit closes (Redis answers again): what was missed meanwhile is reloaded. */
  onClosed(fn: () => void): void {
    this.circuit.onClosed(fn);
  }

  stop(): void {
    this.circuit.stop();
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
