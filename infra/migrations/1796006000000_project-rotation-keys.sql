-- Up Migration

-- Key rotation: a project may hold more keys than the one it was created with (projects.api_key_id, the
-- seed's one-to-one link, kept as the project's first key). A key issued for a project names it here; it
-- is never the first key of another project. A key unlocks the project that names it as first key or
-- that it names. Deleting the project leaves the keys (revoked by the api) unlinked, like its first key.
ALTER TABLE api_keys ADD COLUMN project_id char(32) REFERENCES projects (id) ON DELETE SET NULL;
CREATE INDEX api_keys_project_id ON api_keys (project_id) WHERE project_id IS NOT NULL;

-- Down Migration

DROP INDEX api_keys_project_id;
ALTER TABLE api_keys DROP COLUMN project_id;
