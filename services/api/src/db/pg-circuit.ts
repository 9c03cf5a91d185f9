import { Counter, Gauge, type Registry } from 'prom-client';
import { ClassifiedError, classifyError, type Logger } from '@apg/platform';
import { nextCircuit, type CircuitEvent, type CircuitMemory, type CircuitState } from '../gateway/redis-circuit';

export interface PgCircuitOptions {
  /**
   * Infrastructure failures in a row (refused, reset, timed out) that open the circuit.
   * @default 3
   */
  failureThreshold: number;
  /**
   * How often an open circuit tries `SELECT 1` in the background; one answer closes it.
   * @default 1000
   */
  probeIntervalMs: number;
}

export const DEFAULT_PG_CIRCUIT_OPTIONS: Readonly<PgCircuitOptions> = Object.freeze({ failureThreshold: 3, probeIntervalMs: 1000 });

/** Thrown at once, without touching Postgres, while the circuit is open: a 503 `DEPENDENCY_UNAVAILABLE`. */
export class PgUnavailableError extends ClassifiedError {
  constructor(name: string) {
    super('infrastructure', `[pg:${name}] skipped: Postgres is unavailable (circuit open)`);
    this.name = 'PgUnavailableError';
  }
}

/**
 * Fail-fast around the api's Postgres (installed as the `Db` guard, so every statement and transaction
 * goes through it). A refused connection fails at once by itself, but a hung server makes each
 * statement wait for `DATABASE_QUERY_TIMEOUT_MS` / `DATABASE_CONNECT_TIMEOUT_MS`: after
 * `failureThreshold` infrastructure failures in a row the circuit opens, every statement fails at once
 * (writes answer 503 `DEPENDENCY_UNAVAILABLE`, the caches serve their last copies), and a background
 * probe closes it when Postgres answers. Only infrastructure errors count: a database that refuses a
 * value (a unique violation) has answered.
 */
export class PgCircuit {
  private memory: CircuitMemory = { state: 'CLOSED', failures: 0 };
  private probeTimer: NodeJS.Timeout | null = null;
  private probing = false;
  private stopped = false;
  private readonly shortCircuited: Counter;
  openedAt: number | null = null;

  constructor(
    private readonly probeOnce: () => Promise<unknown>,
    private readonly log: Logger,
    private readonly opts: PgCircuitOptions,
    metrics: Registry,
  ) {
    this.shortCircuited = new Counter({ name: 'apg_api_postgres_short_circuited_total', help: 'Postgres statements refused at once because the Postgres circuit was open', registers: [metrics] });
    const isOpen = () => this.isOpen();
    new Gauge({ name: 'apg_api_postgres_circuit_open', help: '1 while the api fails Postgres statements at once (circuit open), else 0', registers: [metrics], collect() { this.set(isOpen() ? 1 : 0); } });
  }

  get state(): CircuitState {
    return this.memory.state;
  }

  isOpen(): boolean {
    return this.memory.state === 'OPEN';
  }

  /** The `Db` guard: refused at once while open; otherwise run and count. */
  readonly guard = async <T>(name: string, fn: () => Promise<T>): Promise<T> => {
    if (this.isOpen()) {
      this.shortCircuited.inc();
      throw new PgUnavailableError(name);
    }
    try {
      const value = await fn();
      this.record('success');
      return value;
    } catch (err) {
      this.record(classifyError(err) === 'infrastructure' ? 'failure' : 'success');
      throw err;
    }
  };

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
      this.log.warn({ failures: this.memory.failures }, 'postgres circuit open: writes answer 503, caches serve their last copies until Postgres answers again');
      if (!this.probeTimer && !this.stopped) {
        this.probeTimer = setInterval(() => void this.probe(), this.opts.probeIntervalMs);
        this.probeTimer.unref();
      }
    } else {
      this.log.info({ openMs: this.openedAt === null ? null : Date.now() - this.openedAt }, 'postgres circuit closed: Postgres answers again');
      this.openedAt = null;
      if (this.probeTimer) clearInterval(this.probeTimer);
      this.probeTimer = null;
    }
  }

  private async probe(): Promise<void> {
    if (this.probing) return;
    this.probing = true;
    try {
      await this.probeOnce();
      this.record('probe_ok');
    } catch {
      this.record('probe_failed');
    } finally {
      this.probing = false;
    }
  }
}
