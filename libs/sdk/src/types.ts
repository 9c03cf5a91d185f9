import type { ApiType, SelectInstanceRequest, SelectedInstanceDto, Usage } from '@apg/contracts';

/**
 * The body of `POST /api/gateway/select-instance`: the seed's fields (`apiIdentifier`, `apiType`, `userId`,
 * `affinityKey`, `affinityType`, `fallbackChain`) plus the gateway's options (`strategy`,
 * `excludeInstanceIds`, `affinityStrength`, `explain`).
 */
export type SelectRequest = SelectInstanceRequest;

/** What a select answers: the seed's instance DTO plus `selectionId`, `breakerState`, `fallbackUsed`, `servedApiIdentifier`. */
export interface SelectedInstance extends Omit<SelectedInstanceDto, 'apiType'> {
  apiType: ApiType;
  /** Set when the project's panic mode served the least-bad instance because none was healthy. */
  panic?: boolean;
  /** The candidates' scores and why each was skipped, when the request asked for `explain`. */
  explain?: unknown;
}

/** What a report carries about one call (the body of `POST /api/gateway/report-result`, usage as {@link Usage}). */
export interface CallOutcome {
  instanceId: string;
  businessId: string;
  success: boolean;
  /** Integer milliseconds ≥ 0 (rounded when not). */
  latencyMs: number;
  /** When the call happened (epoch ms). @default the time the report is built */
  callTimestamp?: number;
  /** The selection this outcome settles; makes the event id deterministic so a doubled report counts once. */
  selectionId?: string;
  userId?: string;
  statusCode?: number;
  /** One of the gateway's error classes (`RATE_LIMITED`, `TIMEOUT`, `UPSTREAM_5XX`, …); see the SDK README. */
  errorType?: string;
  /** Cut to 1,024 characters. */
  errorMessage?: string;
  retryAfterMs?: number;
  usage?: Usage;
}

/**
 * What a Kafka event needs beyond the outcome: which project, API and type the instance belongs to. Over HTTP
 * the gateway looks these up; a publisher writing straight to Kafka must say them, and the consumers check
 * that the instance does belong to the signing key's project.
 */
export interface InstanceContext {
  projectId: string;
  apiIdentifier: string;
  apiType: ApiType;
}

/** A {@link CallOutcome} with everything a `CallResultEvent` needs: what `KafkaReporter.report` takes. */
export type KafkaCallOutcome = CallOutcome & InstanceContext;

/** Anything that takes outcomes synchronously: a {@link KafkaReporter}, or a caller's own sink. */
export interface ResultReporter {
  /** Takes one outcome; must not throw and must not block (the GatewayClient guards against a throw anyway). */
  report(result: KafkaCallOutcome): void;
}
