import type { Logger } from '@apg/platform';

export type CircuitState = 'CLOSED' | 'OPEN';

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

/** What a dependency's circuit is made of: its rules' threshold, how it probes, and what it logs. */
export interface ProbedCircuitSpec {
  failureThreshold: number;
  probeIntervalMs: number;
  /** One background check of the dependency; resolving closes an open circuit. */
  probeOnce: () => Promise<unknown>;
  /** Logged (warn) when the circuit opens, and (info) when it closes. */
  openMessage: string;
  closedMessage: string;
}

/**
 * The mechanics shared by the api's circuits around Redis and Postgres: the state (per {@link nextCircuit}),
 * a background probe every `probeIntervalMs` while open (one at a time, unref'd, stopped for good by
 * `stop`), the time it opened, and listeners run each time it closes. Each dependency decides what counts
 * as a failure and how calls are refused.
 */
export class ProbedCircuit {
  private memory: CircuitMemory = { state: 'CLOSED', failures: 0 };
  private probeTimer: NodeJS.Timeout | null = null;
  private probing = false;
  private stopped = false;
  private readonly closedListeners: (() => void)[] = [];
  openedAt: number | null = null;

  constructor(
    private readonly log: Logger,
    private readonly spec: ProbedCircuitSpec,
  ) {}

  get state(): CircuitState {
    return this.memory.state;
  }

  isOpen(): boolean {
    return this.memory.state === 'OPEN';
  }

  /** Runs `fn` each time the circuit closes (the dependency answers again). */
  onClosed(fn: () => void): void {
    this.closedListeners.push(fn);
  }

  stop(): void {
    this.stopped = true;
    if (this.probeTimer) clearInterval(this.probeTimer);
    this.probeTimer = null;
  }

  record(event: CircuitEvent): void {
    const before = this.memory.state;
    this.memory = nextCircuit(this.memory, event, this.spec.failureThreshold);
    if (before === this.memory.state) return;
    if (this.memory.state === 'OPEN') {
      this.openedAt = Date.now();
      this.log.warn({ failures: this.memory.failures }, this.spec.openMessage);
      if (!this.probeTimer && !this.stopped) {
        this.probeTimer = setInterval(() => void this.probe(), this.spec.probeIntervalMs);
        this.probeTimer.unref();
      }
    } else {
      this.log.info({ openMs: this.openedAt === null ? null : Date.now() - this.openedAt }, this.spec.closedMessage);
      this.openedAt = null;
      if (this.probeTimer) clearInterval(this.probeTimer);
      this.probeTimer = null;
      for (const fn of this.closedListeners) fn();
    }
  }

  private async probe(): Promise<void> {
    if (this.probing) return;
    this.probing = true;
    try {
      await this.spec.probeOnce();
      this.record('probe_ok');
    } catch {
      this.record('probe_failed');
    } finally {
      this.probing = false;
    }
  }
}
