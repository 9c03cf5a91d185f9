import { randomBytes } from 'node:crypto';
import type { Db } from '@apg/platform';

/** A database that refuses chosen events with a chosen SQLSTATE, and can be repaired. */
export interface PoisonTrigger {
  /** Makes every insert of this eventId fail with `sqlstate` (e.g. 23514 check violation, 42703 undefined column). */
  poison(eventId: string, sqlstate: string): Promise<void>;
  /** Drops the trigger, its function and its table ("the fix is deployed"). Idempotent. */
  remove(): Promise<void>;
}

/**
 * Installs a row trigger on `ingested_event_ids` (written first by every ingestion statement) that
 * raises the SQLSTATE registered for an eventId. It stands in for the two failures that the schema and
 * the event guard leave unreachable on purpose: a value the database refuses (class 22/23, as a new
 * CHECK constraint would) and a bug (class 42, as code deployed ahead of its migration). Only the
 * poisoned ids are affected, so other suites' rows in the same database pass through untouched.
 */
export async function installPoisonTrigger(db: Db): Promise<PoisonTrigger> {
  const name = `test_poison_${randomBytes(6).toString('hex')}`;
  await db.query('test.poison_install', `
    CREATE TABLE ${name} (event_id uuid PRIMARY KEY, sqlstate char(5) NOT NULL);
    CREATE FUNCTION ${name}() RETURNS trigger LANGUAGE plpgsql AS $$
    DECLARE s text;
    BEGIN
      SELECT sqlstate INTO s FROM ${name} WHERE event_id = NEW.event_id;
      IF s IS NOT NULL THEN
        RAISE EXCEPTION 'injected failure % for event %', s, NEW.event_id USING ERRCODE = s;
      END IF;
      RETURN NEW;
    END $$;
    CREATE TRIGGER ${name} BEFORE INSERT ON ingested_event_ids FOR EACH ROW EXECUTE FUNCTION ${name}();`);
  let removed = false;
  return {
    async poison(eventId, sqlstate) {
      await db.query('test.poison_add', `INSERT INTO ${name} (event_id, sqlstate) VALUES ($1, $2)`, [eventId, sqlstate]);
    },
    async remove() {
      if (removed) return;
      removed = true;
      await db.query('test.poison_remove', `DROP TRIGGER IF EXISTS ${name} ON ingested_event_ids; DROP FUNCTION IF EXISTS ${name}(); DROP TABLE IF EXISTS ${name};`);
    },
  };
}
