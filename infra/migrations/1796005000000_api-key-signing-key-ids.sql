-- Up Migration

-- Signed events (libs/contracts event-signature.ts): a message names the key that signed it by
-- keyId = hex(SHA-256("apg-key-id:v1:" || key_hash))[0:32], computable from the stored digest alone,
-- so keys stay stored as digests. A generated column keeps it in step with key_hash (no writer can
-- forget it) and the index lets the consumers resolve a batch's key ids in one query. The bytes come
-- from decode(…, 'escape'), not convert_to (only STABLE, refused in a generated column): key_hash is
-- 64 hex digits, so the string is plain ASCII without backslashes and those bytes are its UTF-8 bytes.
ALTER TABLE api_keys
  ADD COLUMN signing_key_id char(32)
  GENERATED ALWAYS AS (substr(encode(sha256(decode('apg-key-id:v1:' || key_hash, 'escape')), 'hex'), 1, 32)) STORED;
CREATE UNIQUE INDEX api_keys_signing_key_id ON api_keys (signing_key_id);

-- Down Migration

DROP INDEX api_keys_signing_key_id;
ALTER TABLE api_keys DROP COLUMN signing_key_id;
