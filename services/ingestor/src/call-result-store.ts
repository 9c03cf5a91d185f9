import { ERROR_TYPES, type CallResultEvent } from '@apg/contracts';
import type { Db } from '@apg/platform';
import { LATENCY_BUCKET_BOUNDS } from '@apg/contracts';
import { boolArray, numberArray, safeTokenArray, textArray } from './pg-array';

/** Error class of a failure without an errorType, and of an errorType outside the known vocabulary. */
export const UNSPECIFIED_ERROR_CLASS = 'UNSPECIFIED';
export const OTHER_ERROR_CLASS = 'OTHER';

/** Largest bigint: token and latency sums saturate here instead of failing the write for ever. */
const BIGINT_MAX = '9223372036854775807';

/**
 * All SQL of the ingestor's write path: ONE statement per write (so one implicit transaction).
 *
 * - The events travel as one array per column (`unnest`), which Postgres parses much faster than a
 *   JSON document of objects.
 * - One effect per event, on eventId alone: each id goes into `ingested_event_ids` (primary key
 *   event_id) first, and only the events whose id was new get a raw row. A redelivery, a producer retry
 *   and a client retry stamped with another callTimestamp all conflict there. Ids are inserted in
 *   event_id order so that two concurrent writes lock index entries in the same order (no deadlock).
 *   The raw insert keeps ON CONFLICT (event_id, call_ts) DO NOTHING as a second guard.
 * - The minute rollups are bumped only from the rows that were really inserted (the RETURNING of that
 *   insert), so a redelivered batch changes nothing. The latency histogram uses `width_bucket` over the
 *   bounds of @apg/contracts latency-histogram.ts (sent with each statement: one source of truth), and failures are
 *   counted by error class — a known errorType, OTHER for an unknown one (a caller's free text must not
 *   grow the JSON without bound), UNSPECIFIED for a failure without one — so the classes of a rollup
 *   always sum to its `failures`.
 * - Sums cannot overflow: cost is an unconstrained numeric; token and latency sums are computed in
 *   numeric and saturate at the bigint maximum (unreachable with the per-event caps, but one overflow
 *   would fail every later write of that rollup row — a partition wedged on arithmetic).
 */
const INSERT_BATCH = `
WITH x AS (
  SELECT * FROM unnest($1::uuid[], $2::text[], $3::text[], $4::text[], $5::text[], $6::text[], $7::text[], $8::text[],
    $9::bool[], $10::int[], $11::smallint[], $12::text[], $13::text[], $14::int8[], $15::int8[], $16::int8[],
    $17::numeric[], $18::float8[], $19::float8[])
    AS x(event_id, project_id, instance_id, api_identifier, api_type, business_id, user_id, selection_id, success,
      latency_ms, status_code, error_type, error_message, prompt_tokens, completion_tokens, total_tokens, cost,
      call_ms, received_ms)
), ids AS (
  -- DISTINCT ON: one id per write even if a caller passed twins (the writer already merges them).
  INSERT INTO ingested_event_ids (event_id, call_ts)
  SELECT DISTINCT ON (event_id) event_id, to_timestamp(call_ms / 1000) FROM x ORDER BY event_id
  ON CONFLICT (event_id) DO NOTHING
  RETURNING event_id, call_ts
), ins AS (
  INSERT INTO call_results (event_id, project_id, instance_id, api_identifier, api_type, business_id, user_id,
    selection_id, success, latency_ms, status_code, error_type, error_message, prompt_tokens, completion_tokens,
    total_tokens, cost, call_ts, received_at)
  SELECT x.event_id, project_id, instance_id, api_identifier, api_type, business_id, user_id, selection_id, success,
    latency_ms, status_code, error_type, error_message, prompt_tokens, completion_tokens, total_tokens, cost,
    to_timestamp(call_ms / 1000), to_timestamp(received_ms / 1000)
  FROM x JOIN ids ON ids.event_id = x.event_id AND ids.call_ts = to_timestamp(x.call_ms / 1000)
  ON CONFLICT (event_id, call_ts) DO NOTHING
  RETURNING instance_id, project_id, call_ts, success, latency_ms, error_type, prompt_tokens, completion_tokens,
    total_tokens, cost
), r AS (
  SELECT instance_id, project_id, date_trunc('minute', call_ts) AS minute, success, latency_ms,
    width_bucket(latency_ms, $21::int[]) AS bucket,
    CASE WHEN success THEN NULL
         WHEN error_type IS NULL THEN '${UNSPECIFIED_ERROR_CLASS}'
         WHEN error_type = ANY ($22::text[]) THEN error_type
         ELSE '${OTHER_ERROR_CLASS}' END AS error_class,
    prompt_tokens, completion_tokens, total_tokens, cost
  FROM ins
), hb AS (
  SELECT instance_id, minute, bucket, count(*) AS n FROM r GROUP BY 1, 2, 3
), h AS (
  -- Dense per (instance, minute) up to its highest non-empty bucket.
  SELECT k.instance_id, k.minute, array_agg(coalesce(hb.n, 0) ORDER BY s.i) AS hist
  FROM (SELECT instance_id, minute, max(bucket) AS top FROM hb GROUP BY 1, 2) AS k
  CROSS JOIN LATERAL generate_series(0, k.top) AS s(i)
  LEFT JOIN hb ON hb.instance_id = k.instance_id AND hb.minute = k.minute AND hb.bucket = s.i
  GROUP BY 1, 2
), e AS (
  SELECT instance_id, minute, jsonb_object_agg(error_class, n) AS errors
  FROM (SELECT instance_id, minute, error_class, count(*) AS n FROM r WHERE error_class IS NOT NULL GROUP BY 1, 2, 3) AS c
  GROUP BY 1, 2
), g AS (
  SELECT instance_id, min(project_id) AS project_id, minute, count(*) AS calls,
    count(*) FILTER (WHERE NOT success) AS failures, count(*) FILTER (WHERE latency_ms >= $20) AS slow_calls,
    least(sum(latency_ms::numeric), ${BIGINT_MAX}) AS latency_sum_ms, max(latency_ms) AS latency_max_ms,
    least(coalesce(sum(prompt_tokens::numeric), 0), ${BIGINT_MAX}) AS prompt_tokens,
    least(coalesce(sum(completion_tokens::numeric), 0), ${BIGINT_MAX}) AS completion_tokens,
    least(coalesce(sum(total_tokens::numeric), 0), ${BIGINT_MAX}) AS total_tokens, coalesce(sum(cost), 0) AS cost
  FROM r GROUP BY instance_id, minute
), roll AS (
  INSERT INTO call_rollups_minute AS t (instance_id, project_id, minute, calls, failures, slow_calls, latency_sum_ms,
    latency_max_ms, prompt_tokens, completion_tokens, total_tokens, cost, latency_hist, errors_by_class)
  SELECT g.instance_id, g.project_id, g.minute, g.calls, g.failures, g.slow_calls, g.latency_sum_ms, g.latency_max_ms,
    g.prompt_tokens, g.completion_tokens, g.total_tokens, g.cost, h.hist, coalesce(e.errors, '{}'::jsonb)
  FROM g
  JOIN h ON h.instance_id = g.instance_id AND h.minute = g.minute
  LEFT JOIN e ON e.instance_id = g.instance_id AND e.minute = g.minute
  -- A fixed lock order keeps concurrent writers from deadlocking on the same rollup rows.
  ORDER BY g.instance_id, g.minute
  ON CONFLICT (instance_id, minute) DO UPDATE SET
    calls = t.calls + EXCLUDED.calls,
    failures = t.failures + EXCLUDED.failures,
    slow_calls = t.slow_calls + EXCLUDED.slow_calls,
    latency_sum_ms = least(t.latency_sum_ms::numeric + EXCLUDED.latency_sum_ms, ${BIGINT_MAX}),
    latency_max_ms = greatest(t.latency_max_ms, EXCLUDED.latency_max_ms),
    prompt_tokens = least(t.prompt_tokens::numeric + EXCLUDED.prompt_tokens, ${BIGINT_MAX}),
    completion_tokens = least(t.completion_tokens::numeric + EXCLUDED.completion_tokens, ${BIGINT_MAX}),
    total_tokens = least(t.total_tokens::numeric + EXCLUDED.total_tokens, ${BIGINT_MAX}),
    cost = t.cost + EXCLUDED.cost,
    latency_hist = apg_add_counts(t.latency_hist, EXCLUDED.latency_hist),
    errors_by_class = apg_add_jsonb_counts(t.errors_by_class, EXCLUDED.errors_by_class)
  RETURNING 1
)
SELECT (SELECT count(*) FROM ins)::int AS inserted, (SELECT count(*) FROM roll)::int AS rollups`;

/** Where the rows of one write go (the writer's interface, so the ingestor can be tested with a fake). */
export interface CallResultWriter {
  /** Writes the events in one transaction; returns how many were new (the rest were already stored, by eventId). */
  insertBatch(events: readonly CallResultEvent[]): Promise<number>;
}

export class CallResultStore implements CallResultWriter {
  constructor(private readonly db: Db, private readonly slowCallMs: number) {}

  async insertBatch(events: readonly CallResultEvent[]): Promise<number> {
    if (events.length === 0) return 0;
    const n = events.length;
    const cols = {
      eventId: new Array<string>(n), projectId: new Array<string>(n), instanceId: new Array<string>(n),
      apiIdentifier: new Array<string>(n), apiType: new Array<string>(n), businessId: new Array<string>(n),
      userId: new Array<string | null>(n), selectionId: new Array<string | null>(n), success: new Array<boolean>(n),
      latencyMs: new Array<number>(n), statusCode: new Array<number | null>(n), errorType: new Array<string | null>(n),
      errorMessage: new Array<string | null>(n), promptTokens: new Array<number | null>(n),
      completionTokens: new Array<number | null>(n), totalTokens: new Array<number | null>(n),
      cost: new Array<number | null>(n), callMs: new Array<number>(n), receivedMs: new Array<number | null>(n),
    };
    for (let i = 0; i < n; i++) {
      const e = events[i]!;
      cols.eventId[i] = e.eventId;
      cols.projectId[i] = e.projectId;
      cols.instanceId[i] = e.instanceId;
      cols.apiIdentifier[i] = e.apiIdentifier;
      cols.apiType[i] = e.apiType;
      cols.businessId[i] = e.businessId;
      cols.userId[i] = e.userId ?? null;
      cols.selectionId[i] = e.selectionId ?? null;
      cols.success[i] = e.success;
      cols.latencyMs[i] = e.latencyMs;
      cols.statusCode[i] = e.statusCode ?? null;
      cols.errorType[i] = e.errorType ?? null;
      cols.errorMessage[i] = e.errorMessage ?? null;
      cols.promptTokens[i] = e.usage?.promptTokens ?? null;
      cols.completionTokens[i] = e.usage?.completionTokens ?? null;
      cols.totalTokens[i] = e.usage?.totalTokens ?? null;
      cols.cost[i] = e.usage?.cost ?? null;
      cols.callMs[i] = e.callTimestamp;
      cols.receivedMs[i] = e.receivedAt ?? null;
    }
    // Ids are validated hex / UUID strings (CallResultEventSchema), so they need no quoting.
    const { rows } = await this.db.query<{ inserted: number }>('call_results.insert_batch', INSERT_BATCH, [
      safeTokenArray(cols.eventId), safeTokenArray(cols.projectId), safeTokenArray(cols.instanceId),
      textArray(cols.apiIdentifier), textArray(cols.apiType), textArray(cols.businessId), textArray(cols.userId),
      textArray(cols.selectionId), boolArray(cols.success), numberArray(cols.latencyMs), numberArray(cols.statusCode),
      textArray(cols.errorType), textArray(cols.errorMessage), numberArray(cols.promptTokens),
      numberArray(cols.completionTokens), numberArray(cols.totalTokens), numberArray(cols.cost), numberArray(cols.callMs),
      numberArray(cols.receivedMs), this.slowCallMs, LATENCY_BUCKET_BOUNDS, ERROR_TYPES,
    ]);
    return rows[0]?.inserted ?? 0;
  }
}
