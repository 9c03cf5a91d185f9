import type { CallResultEvent } from '@apg/contracts';
import type { Db } from '@apg/platform';

/**
 * All SQL of the ingestor. One statement per batch: the raw rows go in with ON CONFLICT DO NOTHING
 * (idempotent on event_id), and the minute rollups are bumped only from the rows that were really
 * inserted (the RETURNING of that insert), so a redelivered batch changes nothing.
 */
const INSERT_BATCH = `
WITH input AS (
  SELECT * FROM jsonb_to_recordset($1::jsonb) AS x(
    event_id uuid, project_id text, instance_id text, api_identifier text, api_type text, business_id text,
    user_id text, selection_id text, success boolean, latency_ms int, status_code int, error_type text,
    error_message text, prompt_tokens bigint, completion_tokens bigint, total_tokens bigint, cost numeric,
    call_ts bigint, received_at bigint)
), ins AS (
  INSERT INTO call_results (event_id, project_id, instance_id, api_identifier, api_type, business_id, user_id,
    selection_id, success, latency_ms, status_code, error_type, error_message, prompt_tokens, completion_tokens,
    total_tokens, cost, call_ts, received_at)
  SELECT event_id, project_id, instance_id, api_identifier, api_type, business_id, user_id, selection_id, success,
    latency_ms, status_code, error_type, error_message, prompt_tokens, completion_tokens, total_tokens, cost,
    to_timestamp(call_ts / 1000.0), to_timestamp(received_at / 1000.0)
  FROM input
  ON CONFLICT (event_id) DO NOTHING
  RETURNING instance_id, project_id, call_ts, success, latency_ms, prompt_tokens, completion_tokens, total_tokens, cost
), roll AS (
  INSERT INTO call_rollups_minute AS r (instance_id, project_id, minute, calls, failures, slow_calls, latency_sum_ms,
    latency_max_ms, prompt_tokens, completion_tokens, total_tokens, cost)
  SELECT instance_id, project_id, date_trunc('minute', call_ts), count(*), count(*) FILTER (WHERE NOT success),
    count(*) FILTER (WHERE latency_ms >= $2), sum(latency_ms), max(latency_ms), coalesce(sum(prompt_tokens), 0),
    coalesce(sum(completion_tokens), 0), coalesce(sum(total_tokens), 0), coalesce(sum(cost), 0)
  FROM ins
  GROUP BY 1, 2, 3
  -- A fixed lock order keeps concurrent ingestors from deadlocking on the same rollup rows.
  ORDER BY 1, 3
  ON CONFLICT (instance_id, minute) DO UPDATE SET
    calls = r.calls + EXCLUDED.calls,
    failures = r.failures + EXCLUDED.failures,
    slow_calls = r.slow_calls + EXCLUDED.slow_calls,
    latency_sum_ms = r.latency_sum_ms + EXCLUDED.latency_sum_ms,
    latency_max_ms = greatest(r.latency_max_ms, EXCLUDED.latency_max_ms),
    prompt_tokens = r.prompt_tokens + EXCLUDED.prompt_tokens,
    completion_tokens = r.completion_tokens + EXCLUDED.completion_tokens,
    total_tokens = r.total_tokens + EXCLUDED.total_tokens,
    cost = r.cost + EXCLUDED.cost
  RETURNING 1
)
SELECT (SELECT count(*) FROM ins)::int AS inserted`;

export class CallResultStore {
  constructor(private readonly db: Db, private readonly slowCallMs: number) {}

  /** Writes a batch in one transaction; returns how many events were new. */
  async insertBatch(events: CallResultEvent[]): Promise<number> {
    if (events.length === 0) return 0;
    const rows = events.map((e) => ({
      event_id: e.eventId,
      project_id: e.projectId,
      instance_id: e.instanceId,
      api_identifier: e.apiIdentifier,
      api_type: e.apiType,
      business_id: e.businessId,
      user_id: e.userId ?? null,
      selection_id: e.selectionId ?? null,
      success: e.success,
      latency_ms: e.latencyMs,
      status_code: e.statusCode ?? null,
      error_type: e.errorType ?? null,
      error_message: e.errorMessage ?? null,
      prompt_tokens: e.usage?.promptTokens ?? null,
      completion_tokens: e.usage?.completionTokens ?? null,
      total_tokens: e.usage?.totalTokens ?? null,
      cost: e.usage?.cost ?? null,
      call_ts: e.callTimestamp,
      received_at: e.receivedAt ?? null,
    }));
    const { rows: out } = await this.db.query<{ inserted: number }>('call_results.insert_batch', INSERT_BATCH, [JSON.stringify(rows), this.slowCallMs]);
    return out[0]?.inserted ?? 0;
  }
}
