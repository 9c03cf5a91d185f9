-- Up Migration

-- API keys are stored as SHA-256 hashes; the plaintext is shown once at creation and never kept.
-- Keys are 190+ bits of randomness, so an unsalted fast hash is safe and lets the hot path look a key
-- up by hash in O(1).
CREATE TABLE api_keys (
  id            char(32)     PRIMARY KEY,
  key_hash      char(64)     NOT NULL UNIQUE,
  key_prefix    varchar(16)  NOT NULL,
  description   text,
  status        varchar(16)  NOT NULL DEFAULT 'UNUSED'
                CHECK (status IN ('ACTIVE', 'REVOKED', 'EXPIRED', 'UNUSED')),
  expires_at    timestamptz,
  last_used_at  timestamptz,
  issued_at     timestamptz  NOT NULL DEFAULT now(),
  created_at    timestamptz  NOT NULL DEFAULT now(),
  updated_at    timestamptz  NOT NULL DEFAULT now()
);

CREATE TABLE projects (
  id             char(32)     PRIMARY KEY,
  name           varchar(128) NOT NULL,
  description    text,
  -- One key per project and one project per key (the seed only checked this in code, racily).
  api_key_id     char(32)     UNIQUE REFERENCES api_keys (id) ON DELETE SET NULL,
  status         varchar(16)  NOT NULL DEFAULT 'ACTIVE' CHECK (status IN ('ACTIVE', 'INACTIVE')),
  default_strategy varchar(32),
  panic_mode     boolean      NOT NULL DEFAULT false,
  created_at     timestamptz  NOT NULL DEFAULT now(),
  updated_at     timestamptz  NOT NULL DEFAULT now()
);

CREATE TABLE api_instances (
  id              char(32)     PRIMARY KEY,
  project_id      char(32)     NOT NULL REFERENCES projects (id) ON DELETE CASCADE,
  user_id         varchar(64),
  api_identifier  varchar(128) NOT NULL,
  api_type        varchar(32)  NOT NULL,
  business_id     varchar(128) NOT NULL,
  routing_params  jsonb        NOT NULL DEFAULT '{}'::jsonb,
  status          varchar(16)  NOT NULL DEFAULT 'ACTIVE' CHECK (status IN ('ACTIVE', 'INACTIVE', 'DEPRECATED')),
  metadata        jsonb        NOT NULL DEFAULT '{}'::jsonb,
  created_at      timestamptz  NOT NULL DEFAULT now(),
  updated_at      timestamptz  NOT NULL DEFAULT now(),
  CONSTRAINT api_instances_logical_key UNIQUE (project_id, api_type, business_id)
);
-- Candidate query: project + type + (identifier OR businessId); the unique key above covers businessId.
CREATE INDEX api_instances_candidates ON api_instances (project_id, api_type, api_identifier);

-- Raw call outcomes, one row per event; event_id is the producer's idempotency key.
CREATE TABLE call_results (
  event_id          uuid         PRIMARY KEY,
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
  ingested_at       timestamptz  NOT NULL DEFAULT now()
);
CREATE INDEX call_results_instance_ts ON call_results (instance_id, call_ts);

-- Minute rollups, maintained by the ingestor in the same transaction as the raw rows it really inserted.
CREATE TABLE call_rollups_minute (
  instance_id       char(32)     NOT NULL,
  project_id        char(32)     NOT NULL,
  minute            timestamptz  NOT NULL,
  calls             bigint       NOT NULL DEFAULT 0,
  failures          bigint       NOT NULL DEFAULT 0,
  slow_calls        bigint       NOT NULL DEFAULT 0,
  latency_sum_ms    bigint       NOT NULL DEFAULT 0,
  latency_max_ms    integer      NOT NULL DEFAULT 0,
  prompt_tokens     bigint       NOT NULL DEFAULT 0,
  completion_tokens bigint       NOT NULL DEFAULT 0,
  total_tokens      bigint       NOT NULL DEFAULT 0,
  cost              numeric(20, 8) NOT NULL DEFAULT 0,
  PRIMARY KEY (instance_id, minute)
);
CREATE INDEX call_rollups_minute_project ON call_rollups_minute (project_id, minute);

-- Audit trail of every breaker transition (automatic or forced by an admin).
CREATE TABLE breaker_transitions (
  id           bigserial    PRIMARY KEY,
  instance_id  char(32)     NOT NULL,
  project_id   char(32)     NOT NULL,
  from_state   varchar(16)  NOT NULL,
  to_state     varchar(16)  NOT NULL,
  reason       text         NOT NULL,
  actor        varchar(64)  NOT NULL DEFAULT 'aggregator',
  at           timestamptz  NOT NULL
);
CREATE INDEX breaker_transitions_instance ON breaker_transitions (instance_id, at DESC);

-- Down Migration
DROP TABLE breaker_transitions;
DROP TABLE call_rollups_minute;
DROP TABLE call_results;
DROP TABLE api_instances;
DROP TABLE projects;
DROP TABLE api_keys;
