-- Up Migration

-- Raw call results become a table partitioned by day on call_ts (retention = dropping a partition),
-- and minute rollups gain a latency histogram and failure counts by error class.
--
-- Partitions are created ahead and dropped behind by the ingestor (services/ingestor,
-- partition-maintenance.ts), not here: this migration only creates the DEFAULT partition, which
-- catches every row whose day has no partition yet (the existing rows below, events stamped far in the
-- future by a skewed caller clock). When the ingestor creates a day's partition it moves that day's
-- rows out of DEFAULT in the same transaction, so nothing is ever lost or stranded.

-- 1. call_results, partitioned. The unique key must contain the partition key: (event_id, call_ts).
--    Idempotency holds because a redelivered event carries the same callTimestamp, so it lands in the
--    same partition and conflicts with its first copy.
ALTER TABLE call_results RENAME TO call_results_unpartitioned;
ALTER INDEX call_results_pkey RENAME TO call_results_unpartitioned_pkey;
ALTER INDEX call_results_instance_ts RENAME TO call_results_unpartitioned_instance_ts;

CREATE TABLE call_results (
  event_id          uuid         NOT NULL,
  project_id        char(32)     NOT NULL,
  instance_id       char(32)     NOT NULL,
  api_identifier    varchar(128) NOT NULL,
  api_type          varchar(32)  NOT NULL,
  business_id       varchar(128) NOT NULL,
  user_id           varchar(64),
  selection_id      varchar(64),
  success           boolean      NOT NULL,
  latency_ms        integer      NOT NULL,
  status_code       smallint,
  error_type        varchar(32),
  error_message     text,
  prompt_tokens     bigint,
  completion_tokens bigint,
  total_tokens      bigint,
  cost              numeric(18, 8),
  call_ts           timestamptz  NOT NULL,
  received_at       timestamptz,
  ingested_at       timestamptz  NOT NULL DEFAULT now(),
  CONSTRAINT call_results_pkey PRIMARY KEY (event_id, call_ts)
) PARTITION BY RANGE (call_ts);
CREATE INDEX call_results_instance_ts ON call_results (instance_id, call_ts);

CREATE TABLE call_results_default PARTITION OF call_results DEFAULT;
-- Lets the ingestor find one day's rows in DEFAULT (to move them) without a full scan.
CREATE INDEX call_results_default_call_ts ON call_results_default (call_ts);

INSERT INTO call_results (event_id, project_id, instance_id, api_identifier, api_type, business_id, user_id,
  selection_id, success, latency_ms, status_code, error_type, error_message, prompt_tokens, completion_tokens,
  total_tokens, cost, call_ts, received_at, ingested_at)
SELECT event_id, project_id, instance_id, api_identifier, api_type, business_id, user_id,
  selection_id, success, latency_ms, status_code, error_type, error_message, prompt_tokens, completion_tokens,
  total_tokens, cost, call_ts, received_at, ingested_at
FROM call_results_unpartitioned;
DROP TABLE call_results_unpartitioned;

-- 2. Rollups: latency histogram (counts per bucket of the fixed log-spaced bounds in
--    services/ingestor/src/latency-histogram.ts; element i counts latencies in [bound[i-1], bound[i]),
--    trailing empty buckets omitted) and failures by normalised error class ({"TIMEOUT": 3, ...}).
--    Minutes written before this migration have empty ones (their distribution was never recorded).
ALTER TABLE call_rollups_minute
  ADD COLUMN latency_hist    bigint[] NOT NULL DEFAULT '{}',
  ADD COLUMN errors_by_class jsonb    NOT NULL DEFAULT '{}'::jsonb;
-- Rollup retention deletes by minute; rows arrive roughly in minute order, so a BRIN index is enough.
CREATE INDEX call_rollups_minute_minute_brin ON call_rollups_minute USING brin (minute);

-- Element-wise sum of two count arrays of possibly different lengths (missing elements count as 0).
CREATE FUNCTION apg_add_counts(a bigint[], b bigint[]) RETURNS bigint[]
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
  SELECT coalesce(array_agg(coalesce(x, 0) + coalesce(y, 0) ORDER BY i), '{}'::bigint[])
  FROM unnest(coalesce(a, '{}'::bigint[]), coalesce(b, '{}'::bigint[])) WITH ORDINALITY AS t(x, y, i)
$$;

-- Key-wise sum of two JSON objects of counts ({"TIMEOUT": 2} + {"TIMEOUT": 1, "AUTH_INVALID": 1}).
CREATE FUNCTION apg_add_jsonb_counts(a jsonb, b jsonb) RETURNS jsonb
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
  SELECT coalesce(jsonb_object_agg(k, n), '{}'::jsonb)
  FROM (
    SELECT k, sum(v::bigint) AS n
    FROM (SELECT * FROM jsonb_each_text(coalesce(a, '{}'::jsonb))
          UNION ALL
          SELECT * FROM jsonb_each_text(coalesce(b, '{}'::jsonb))) AS e(k, v)
    GROUP BY k
  ) AS s
$$;

-- Down Migration
DROP FUNCTION apg_add_jsonb_counts(jsonb, jsonb);
DROP FUNCTION apg_add_counts(bigint[], bigint[]);
DROP INDEX call_rollups_minute_minute_brin;
ALTER TABLE call_rollups_minute DROP COLUMN errors_by_class, DROP COLUMN latency_hist;

CREATE TABLE call_results_unpartitioned (LIKE call_results INCLUDING DEFAULTS);
ALTER TABLE call_results_unpartitioned ADD CONSTRAINT call_results_unpartitioned_pkey PRIMARY KEY (event_id);
-- The same event id in two partitions (same event_id, different call_ts) is not a redelivery, but the
-- old key cannot hold both: the earliest copy is kept.
INSERT INTO call_results_unpartitioned SELECT * FROM call_results ORDER BY call_ts ON CONFLICT DO NOTHING;
DROP TABLE call_results;
ALTER TABLE call_results_unpartitioned RENAME TO call_results;
ALTER INDEX call_results_unpartitioned_pkey RENAME TO call_results_pkey;
CREATE INDEX call_results_instance_ts ON call_results (instance_id, call_ts);
