-- Up Migration

-- One effect per event, on eventId alone. call_results is unique on (event_id, call_ts) only, because
-- a partitioned table's unique keys must contain the partition key; a report retried without a
-- callTimestamp gets a new one from the api (same eventId, derived from its selectionId), so it would
-- land as a second row, possibly in another partition, and be counted twice in the rollups. The
-- ingestor writes every event's id here in the same statement as its raw row, and writes the raw row
-- (and so its rollup counts) only when the id was new.
--
-- Kept as long as the raw rows: the ingestor prunes ids whose call_ts is older than the retention
-- horizon, in slices, when it drops the partitions behind. Rows arrive roughly in call_ts order, so a
-- BRIN index finds them at almost no cost per insert.
CREATE TABLE ingested_event_ids (
  event_id  uuid         PRIMARY KEY,
  call_ts   timestamptz  NOT NULL
);
CREATE INDEX ingested_event_ids_call_ts_brin ON ingested_event_ids USING brin (call_ts);

-- Rows stored before this migration (the earliest copy of an id stored twice).
INSERT INTO ingested_event_ids (event_id, call_ts)
SELECT DISTINCT ON (event_id) event_id, call_ts FROM call_results ORDER BY event_id, call_ts;

-- Cost sums that cannot overflow: numeric(20, 8) held < 10^12, a thousand calls at the per-call cap of
-- 10^9. Dropping the typmod of a numeric column does not rewrite the table. Token and latency sums
-- stay bigint and saturate in the write (services/ingestor/src/call-result-store.ts).
ALTER TABLE call_rollups_minute ALTER COLUMN cost TYPE numeric;

-- Down Migration
ALTER TABLE call_rollups_minute ALTER COLUMN cost TYPE numeric(20, 8);
DROP TABLE ingested_event_ids;
