-- Up Migration

-- Per-project quota overrides set by an admin (PUT /api/admin/projects/{id}/quotas). Keys are those of
-- ProjectQuotaOverridesSchema (libs/contracts); a missing key means the configured default. One jsonb
-- column rather than one column per quota: the api decodes it with the same zod schema that validates
-- the admin's request, so a new quota needs no migration.
ALTER TABLE projects
  ADD COLUMN quota_overrides jsonb NOT NULL DEFAULT '{}'::jsonb
  CONSTRAINT projects_quota_overrides_object CHECK (jsonb_typeof(quota_overrides) = 'object');

-- Down Migration

ALTER TABLE projects DROP COLUMN quota_overrides;
