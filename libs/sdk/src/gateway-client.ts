import type { Usage } from '@apg/contracts';
import { classifyFailure, type StoppedBy } from './classify';
import { GatewayCallError, GatewayError, type Attempt } from './errors';
import { HttpGateway } from './http-gateway';
import { reportRequestOf } from './report-event';
import { DEFAULT_BACKOFF, nextStep, type BackoffOptions } from './retry-plan';
import { LinkedAbort, raceAbort, sleep, timerDelay } from './timers';
import type { CallOutcome, InstanceContext, ResultReporter, SelectRequest, SelectedInstance } from './types';

/** Options of {@link GatewayClient}. */
export interface GatewayClientOptions {
  /** The gateway's origin, e.g. `http://gateway:8081` (`/api` is added; a trailing `/api` is tolerated). */
  baseUrl: string;
  /** The project's API key, sent as the `api-key` header. */
  apiKey: string;
  /** Timeout of each HTTP request to the gateway (select, report). @default 5000 */
  timeoutMs?: number;
  /**
   * Where outcomes go. Unset: `POST /api/gateway/report-result`. A {@link KafkaReporter} (or any
   * {@link ResultReporter}) publishes them to Kafka instead, without an HTTP round trip per call.
   * @default undefined (HTTP)
   */
  reporter?: ResultReporter;
  /** Told when reporting an outcome failed (the call itself is never affected). @default undefined */
  onReportError?: (err: unknown, outcome: CallOutcome) => void;
  /**
   * Retries of an HTTP report the gateway could not take (503 while Kafka is away, 502/504, no answer). Only
   * reports with a selectionId are retried: the gateway derives their eventId from it, so a retry that
   * follows a lost answer still counts once. An integer from 0 to 10. @default 2
   */
  reportRetries?: number;
  /** Defaults of every {@link CallOptions} not given per call. @default {} */
  callDefaults?: CallOptions;
  /** The fetch used for the gateway (tests, proxies). @default globalThis.fetch */
  fetch?: typeof fetch;
}

/** What `fn` gets besides the instance. */
export interface CallContext {
  /** Aborted at the attempt timeout, the call's deadline or the caller's own abort: pass it to your HTTP client. */
  signal: AbortSignal;
  /** 1-based attempt number. */
  attempt: number;
  /** The idempotency key given in {@link CallOptions}, to send upstream (e.g. an `Idempotency-Key` header). */
  idempotencyKey?: string;
}

/** Options of one {@link GatewayClient.call}. */
export interface CallOptions {
  /** Most instances tried (selects made). @default 3 */
  maxAttempts?: number;
  /** The whole call, selects and retries included; the running attempt is aborted through its signal at this point. @default 30000 */
  deadlineMs?: number;
  /** Longest single attempt of `fn`. @default undefined (only the deadline bounds it) */
  attemptTimeoutMs?: number;
  /** The caller's own abort: stops the call at once, reported as the caller's (not the instance's) doing. @default undefined */
  signal?: AbortSignal;
  /**
   * Whether `fn` may safely run twice. When false, a failure after which the upstream may have acted on the
   * request (a timeout, a 5xx, a reset connection) is not retried elsewhere; only failures where nothing was
   * done (connection refused, 429, an auth refusal) are. Giving an {@link idempotencyKey} makes it true.
   * @default true
   */
  idempotent?: boolean;
  /** Passed to `fn` in its context to send upstream; makes the call count as idempotent. @default undefined */
  idempotencyKey?: string;
  /** Wait between attempts (full jitter). @default { initialMs: 25, maxMs: 1000, multiplier: 2 } */
  backoff?: BackoffOptions;
  /** Token usage and cost of a successful result, reported with it. @default undefined */
  usageOf?: (result: unknown) => Usage | undefined;
}

/** What a successful {@link GatewayClient.call} returns. */
export interface CallSuccess<T> {
  result: T;
  /** The instance that served. */
  instance: SelectedInstance;
  /** Every attempt, the failed ones first; `attempts.length` is how many were made. */
  attempts: Attempt[];
  /** Whether the serving instance came from the fallback chain (not the requested apiIdentifier). */
  fallbackUsed: boolean;
  /** The identifier that served (the requested one or a fallback entry). */
  servedApiIdentifier: string;
  /** Time of the whole call, selects and reports included. */
  totalMs: number;
}

/** Statuses of a report worth sending again: the gateway did not take it (0 = no answer). */
const RETRIED_REPORT_STATUSES = new Set([0, 502, 503, 504]);
const NEVER = new AbortController().signal;
/** Most retries of one HTTP report (waits double from 100 ms: the tenth retry comes ~100 s after the first try). */
const MAX_REPORT_RETRIES = 10;

/** Most instances the client remembers for reports given without their project and API (Kafka reporter). */
const CONTEXT_CACHE_SIZE = 10_000;

/**
 * A client of the gateway: `select`, `report`, and `call`, which does select → call → report → retry on the
 * next instance (and down the fallback chain) for you. Uses Node's global `fetch`; holds no sockets of its
 * own beyond fetch's pool, so it needs no close (a {@link KafkaReporter} it reports through does).
 */
export class GatewayClient {
  private readonly http: HttpGateway;
  private readonly timeoutMs: number;
  private readonly contexts = new Map<string, InstanceContext>();
  private readonly pending = new Set<Promise<void>>();
  private reportFailures = 0;

  constructor(private readonly options: GatewayClientOptions) {
    if (typeof options?.baseUrl !== 'string' || !/^https?:\/\//.test(options.baseUrl)) throw new TypeError('GatewayClient: baseUrl must be an http(s) URL');
    if (typeof options.apiKey !== 'string' || options.apiKey.length === 0) throw new TypeError('GatewayClient: apiKey is required');
    if (options.timeoutMs !== undefined && !(Number.isFinite(options.timeoutMs) && options.timeoutMs > 0)) throw new TypeError('GatewayClient: timeoutMs must be a number > 0');
    // Bounded: each retry waits twice as long and holds the report (and flushReports) meanwhile; 10 is ~100 s.
    if (options.reportRetries !== undefined && !(Number.isInteger(options.reportRetries) && options.reportRetries >= 0 && options.reportRetries <= MAX_REPORT_RETRIES)) {
      throw new TypeError(`GatewayClient: reportRetries must be an integer from 0 to ${MAX_REPORT_RETRIES}`);
    }
    this.timeoutMs = options.timeoutMs ?? 5000;
    this.http = new HttpGateway(options.baseUrl, options.apiKey, options.fetch ?? fetch);
  }

  /** Reports that failed since construction (HTTP errors, a reporter that threw, an outcome lacking its context). */
  get failedReports(): number {
    return this.reportFailures;
  }

  /** Asks the gateway for an instance. Throws {@link GatewayError} with the gateway's errorCode when it has none. */
  async select(request: SelectRequest, opts: { signal?: AbortSignal; timeoutMs?: number } = {}): Promise<SelectedInstance> {
    const instance = await this.http.post<SelectedInstance | undefined>('/gateway/select-instance', request, opts.timeoutMs ?? this.timeoutMs, opts.signal);
    if (!instance || typeof instance.id !== 'string' || typeof instance.selectionId !== 'string') {
      throw new GatewayError(200, 'BAD_GATEWAY_RESPONSE', 'select answered without an instance');
    }
    this.remember(instance);
    return instance;
  }

  /**
   * Reports one outcome: to the reporter when there is one (synchronous, never throws), else over HTTP.
   * Resolves once done; never rejects — a failure is counted ({@link failedReports}) and told to `onReportError`.
   * With a reporter, the outcome needs its instance's project and API: taken from `instance`, else from the
   * instances this client selected recently.
   */
  async report(outcome: CallOutcome, instance?: InstanceContext): Promise<void> {
    const tracked = this.deliver(outcome, instance);
    this.pending.add(tracked);
    try {
      await tracked;
    } finally {
      this.pending.delete(tracked);
    }
  }

  /** Waits (up to `timeoutMs`) for reports still on their way over HTTP. */
  async flushReports(timeoutMs = 5000): Promise<boolean> {
    let timer: NodeJS.Timeout | undefined;
    const all = Promise.all([...this.pending]).then(() => true);
    const timeout = new Promise<boolean>((r) => (timer = setTimeout(() => r(false), timerDelay(timeoutMs))));
    try {
      return await Promise.race([all, timeout]);
    } finally {
      clearTimeout(timer);
    }
  }

  /**
   * Selects an instance, runs `fn(instance, { signal })`, reports the outcome with its selectionId, and on a
   * failure another instance may not share retries on the next one (excluding those tried; the gateway
   * moves down the fallback chain when the primary has none left) — bounded by `maxAttempts` and `deadlineMs`.
   * Returns fn's result with the serving instance and every attempt; throws {@link GatewayCallError} (every
   * attempt listed) when no attempt succeeded, or {@link GatewayError} when the very first select failed.
   */
  async call<T>(request: SelectRequest, fn: (instance: SelectedInstance, ctx: CallContext) => Promise<T> | T, options: CallOptions = {}): Promise<CallSuccess<T>> {
    const o = { ...this.options.callDefaults, ...options };
    const maxAttempts = o.maxAttempts ?? 3;
    const deadlineMs = o.deadlineMs ?? 30_000;
    const idempotent = o.idempotencyKey !== undefined ? true : (o.idempotent ?? true);
    const backoff = { ...DEFAULT_BACKOFF, ...o.backoff };
    if (!Number.isInteger(maxAttempts) || maxAttempts < 1) throw new TypeError(`call: maxAttempts must be an integer ≥ 1, got ${maxAttempts}`);
    if (!(Number.isFinite(deadlineMs) && deadlineMs > 0)) throw new TypeError(`call: deadlineMs must be a number > 0, got ${deadlineMs}`);
    if (o.attemptTimeoutMs !== undefined && !(Number.isFinite(o.attemptTimeoutMs) && o.attemptTimeoutMs > 0)) throw new TypeError(`call: attemptTimeoutMs must be a number > 0, got ${o.attemptTimeoutMs}`);
    const started = Date.now();
    // Aborts at the deadline or at the caller's abort; disposed on the way out so no timer outlives the call.
    const deadline = new LinkedAbort([o.signal], Math.max(1, deadlineMs));
    const outer = deadline.signal;
    const exclude = [...(request.excludeInstanceIds ?? [])];
    const attempts: Attempt[] = [];
    const fail = (reason: GatewayCallError['reason'], message: string, errorCode?: string, cause?: unknown): GatewayCallError =>
      new GatewayCallError(reason, attempts, `${message} (${attempts.length} attempt${attempts.length === 1 ? '' : 's'})`, errorCode, cause);
    const stopReason = (): 'aborted' | 'deadline' => (o.signal?.aborted ? 'aborted' : 'deadline');

    try {
      for (let attempt = 1; ; attempt++) {
        if (outer.aborted) throw fail(stopReason(), stopReason() === 'aborted' ? 'call aborted by the caller' : `deadline of ${deadlineMs} ms reached`);
        let instance: SelectedInstance;
        try {
          const remaining = started + deadlineMs - Date.now();
          instance = await this.select({ ...request, ...(exclude.length ? { excludeInstanceIds: exclude } : {}) }, { signal: outer, timeoutMs: Math.max(1, Math.min(this.timeoutMs, remaining)) });
        } catch (err) {
          if (outer.aborted) throw fail(stopReason(), stopReason() === 'aborted' ? 'call aborted by the caller' : `deadline of ${deadlineMs} ms reached while selecting`, undefined, err);
          // Nothing tried yet: the gateway's own refusal (401, 404, 429, 503 …) is the answer.
          if (attempts.length === 0) throw err;
          const code = err instanceof GatewayError ? err.errorCode : undefined;
          throw fail('exhausted', `no further instance: ${(err as Error).message}`, code, err);
        }

        const { record, failure } = await this.attempt(instance, attempt, fn, o, deadline);
        attempts.push(record);
        const outcome = this.outcomeOf(instance, record, failure?.message, request.userId);
        if (!failure) {
          // The result is the caller's now; its report goes on in the background.
          void this.report(outcome, instance);
          return { result: record.result as T, instance, attempts: attempts.map(stripResult), fallbackUsed: instance.fallbackUsed, servedApiIdentifier: instance.servedApiIdentifier, totalMs: Date.now() - started };
        }
        exclude.push(instance.id);
        const step = nextStep({ failure, attempt, maxAttempts, idempotent, remainingMs: started + deadlineMs - Date.now(), backoff, rand: Math.random });
        record.retryable = step.retry;
        if (!step.retry) {
          void this.report(outcome, instance);
          const reason = outer.aborted ? stopReason() : step.reason;
          throw fail(reason, `${instance.businessId} failed (${failure.errorType}): ${failure.message}`, undefined, record.error);
        }
        // Reported before the next select, so the gateway's breakers see this failure when they decide again
        // (bounded by what is left of the deadline: a slow report must not eat the retry).
        await this.reportWithin(outcome, instance, Math.min(this.timeoutMs, started + deadlineMs - Date.now()));
        if (step.delayMs > 0) await sleep(step.delayMs, outer);
      }
    } finally {
      deadline.dispose();
    }
  }

  private async attempt<T>(
    instance: SelectedInstance,
    attempt: number,
    fn: (instance: SelectedInstance, ctx: CallContext) => Promise<T> | T,
    o: CallOptions,
    deadline: LinkedAbort,
  ): Promise<{ record: Attempt & { result?: unknown }; failure: ReturnType<typeof classifyFailure> | null }> {
    // Disposed when the attempt ends, without aborting: a body fn returned unread stays readable after call().
    const link = new LinkedAbort([deadline.signal], o.attemptTimeoutMs);
    const signal = link.signal;
    const ctx: CallContext = { signal, attempt, ...(o.idempotencyKey !== undefined ? { idempotencyKey: o.idempotencyKey } : {}) };
    const t0 = performance.now();
    const record: Attempt & { result?: unknown } = { attempt, instance, success: false, latencyMs: 0 };
    try {
      // fn may ignore the signal: the race still ends the attempt at the abort, and fn's late result is dropped.
      const result = await raceAbort(Promise.resolve().then(() => fn(instance, ctx)), signal);
      record.latencyMs = Math.round(performance.now() - t0);
      record.success = true;
      record.result = result;
      const usage = o.usageOf ? safeUsage(o.usageOf, result) : undefined;
      if (usage) (record as { usage?: Usage }).usage = usage;
      return { record, failure: null };
    } catch (err) {
      record.latencyMs = Math.round(performance.now() - t0);
      const stoppedBy: StoppedBy = o.signal?.aborted ? 'caller' : deadline.timedOut ? 'deadline' : link.timedOut ? 'attempt_timeout' : null;
      const failure = classifyFailure(err, stoppedBy);
      record.error = err;
      record.errorType = failure.errorType;
      if (failure.statusCode !== undefined) record.statusCode = failure.statusCode;
      if (failure.retryAfterMs !== undefined) record.retryAfterMs = failure.retryAfterMs;
      return { record, failure };
    } finally {
      link.dispose();
    }
  }

  private outcomeOf(instance: SelectedInstance, a: Attempt & { usage?: Usage }, errorMessage: string | undefined, userId: string | undefined): CallOutcome {
    const out: CallOutcome = { instanceId: instance.id, businessId: instance.businessId, selectionId: instance.selectionId, success: a.success, latencyMs: a.latencyMs, callTimestamp: Date.now() };
    if (userId) out.userId = userId;
    if (a.statusCode !== undefined) out.statusCode = a.statusCode;
    if (a.errorType) out.errorType = a.errorType;
    if (errorMessage) out.errorMessage = errorMessage;
    if (a.retryAfterMs !== undefined) out.retryAfterMs = a.retryAfterMs;
    if (a.usage) out.usage = a.usage;
    return out;
  }

  private async reportWithin(outcome: CallOutcome, instance: InstanceContext, ms: number): Promise<void> {
    if (ms <= 0) {
      void this.report(outcome, instance);
      return;
    }
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([this.report(outcome, instance), new Promise<void>((r) => (timer = setTimeout(r, timerDelay(ms))))]);
    clearTimeout(timer);
  }

  private async deliver(outcome: CallOutcome, instance?: InstanceContext): Promise<void> {
    try {
      const reporter = this.options.reporter;
      if (reporter) {
        const ctx = instance ?? this.contexts.get(outcome.instanceId);
        if (!ctx) throw new Error(`no project/apiIdentifier/apiType known for instance ${outcome.instanceId}: pass the selected instance to report()`);
        reporter.report({ ...outcome, projectId: ctx.projectId, apiIdentifier: ctx.apiIdentifier, apiType: ctx.apiType });
        return;
      }
      const body = reportRequestOf(outcome);
      const retries = outcome.selectionId ? (this.options.reportRetries ?? 2) : 0;
      for (let attempt = 0; ; attempt++) {
        try {
          await this.http.post('/gateway/report-result', body, this.timeoutMs);
          return;
        } catch (err) {
          if (attempt >= retries || !(err instanceof GatewayError) || !RETRIED_REPORT_STATUSES.has(err.status) || err.errorCode === 'ABORTED') throw err;
          await sleep(100 * 2 ** attempt * (0.5 + Math.random() / 2), NEVER);
        }
      }
    } catch (err) {
      this.reportFailures++;
      try {
        this.options.onReportError?.(err, outcome);
      } catch {
        // The callback's own failure is not the caller's problem either.
      }
    }
  }

  private remember(instance: SelectedInstance): void {
    if (!this.options.reporter) return;
    this.contexts.delete(instance.id);
    this.contexts.set(instance.id, { projectId: instance.projectId, apiIdentifier: instance.apiIdentifier, apiType: instance.apiType });
    if (this.contexts.size > CONTEXT_CACHE_SIZE) this.contexts.delete(this.contexts.keys().next().value!);
  }
}

function stripResult(a: Attempt & { result?: unknown; usage?: unknown }): Attempt {
  const { result: _r, usage: _u, ...rest } = a;
  return rest;
}

function safeUsage(usageOf: (r: unknown) => Usage | undefined, result: unknown): Usage | undefined {
  try {
    return usageOf(result);
  } catch {
    return undefined;
  }
}
