import { Counter, Gauge, type Registry } from 'prom-client';
import { ClassifiedError, classifyError, type Logger } from '@apg/platform';
import { ProbedCircuit, type CircuitState } from '../gateway/probed-circuit';

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
  private readonly circuit: ProbedCircuit;
  private readonly shortCircuited: Counter;

  constructor(probeOnce: () => Promise<unknown>, log: Logger, opts: PgCircuitOptions, metrics: Registry) {
    this.circuit = new ProbedCircuit(log, {
      failureThreshold: opts.failureThreshold,
      probeIntervalMs: opts.probeIntervalMs,
      probeOnce,
      openMessage: 'postgres circuit open: writes answer 503, caches serve their last copies until Postgres answers again',
      closedMessage: 'postgres circuit closed: Postgres answers again',
    });
    this.shortCircuited = new Counter({ name: 'apg_api_postgres_short_circuited_total', help: 'Postgres statements refused at once because the Postgres circuit was open', registers: [metrics] });
    const isOpen = () => this.isOpen();
    new Gauge({ name: 'apg_api_postgres_circuit_open', help: '1 while the api fails Postgres statements at once (circuit open), else 0', registers: [metrics], collect() { this.set(isOpen() ? 1 : 0); } });
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

  /** The `Db` guard: refused at once while open; otherwise run and count. */
  readonly guard = async <T>(name: string, fn: () => Promise<T>): Promise<T> => {
    if (this.isOpen()) {
      this.shortCircuited.inc();
      throw new PgUnavailableError(name);
    }
    try {
      const value = await fn();
      this.circuit.record('success');
      return value;
    } catch (err) {
      this.circuit.record(classifyError(err) === 'infrastructure' ? 'failure' : 'success');
      throw err;
    }
  };

  stop(): void {
    this.circuit.stop();
  }
}
