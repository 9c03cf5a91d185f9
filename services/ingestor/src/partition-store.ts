import type { Db } from '@apg/platform';
import { DAY_MS, partitionDay, partitionName } from './retention-plan';

/**
 * All SQL of retention: the daily partitions of `call_results` and the age limit of the rollups.
 *
 * Every change runs in its own short transaction under a transaction-level advisory lock, so several
 * ingestors can run it at once (only one acts) and a failure leaves nothing half done; `lock_timeout`
 * keeps a busy table from making it wait forever (it is simply tried again at the next run).
 */
const MAINTENANCE_LOCK = `hashtext('apg.call_results.retention')`;
const LOCK_TIMEOUT = `SET LOCAL lock_timeout = '5s'`;

export class PartitionStore {
  constructor(private readonly db: Db) {}

  /** Day starts of the existing daily partitions. */
  async existingDays(): Promise<number[]> {
    const { rows } = await this.db.query<{ name: string }>(
      'call_results.partitions',
      `SELECT c.relname AS name FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid
        WHERE i.inhparent = 'call_results'::regclass`,
    );
    return rows.map((r) => partitionDay(r.name)).filter((d): d is number => d !== null);
  }

  /**
   * Creates the partition of one day, moving that day's rows out of DEFAULT in the same transaction
   * (Postgres refuses to attach a range while DEFAULT holds rows of it). DEFAULT is locked first, so no
   * concurrent insert can put a row of that day there between the move and the attach; inserts routed
   * to other partitions are not blocked. Returns the rows moved, or null when another ingestor held the
   * maintenance lock or the partition already existed.
   */
  async createDay(day: number): Promise<number | null> {
    const name = partitionName(day);
    const from = new Date(day).toISOString();
    const to = new Date(day + DAY_MS).toISOString();
    return this.db.tx('call_results.create_partition', async (c) => {
      await c.query(LOCK_TIMEOUT);
      const lock = await c.query<{ ok: boolean }>(`SELECT pg_try_advisory_xact_lock(${MAINTENANCE_LOCK}) AS ok`);
      if (!lock.rows[0]?.ok) return null;
      const exists = await c.query<{ t: string | null }>('SELECT to_regclass($1)::text AS t', [name]);
      if (exists.rows[0]?.t) return null;
      await c.query('LOCK TABLE call_results_default IN ACCESS EXCLUSIVE MODE');
      await c.query(`CREATE TABLE ${name} (LIKE call_results INCLUDING DEFAULTS INCLUDING CONSTRAINTS)`);
      // The CHECK lets ATTACH skip scanning the new table to prove its bound.
      await c.query(`ALTER TABLE ${name} ADD CONSTRAINT ${name}_bound CHECK (call_ts >= '${from}' AND call_ts < '${to}')`);
      const moved = await c.query(
        `WITH moved AS (DELETE FROM call_results_default WHERE call_ts >= $1 AND call_ts < $2 RETURNING *)
         INSERT INTO ${name} SELECT * FROM moved`,
        [from, to],
      );
      await c.query(`ALTER TABLE call_results ATTACH PARTITION ${name} FOR VALUES FROM ('${from}') TO ('${to}')`);
      return moved.rowCount ?? 0;
    });
  }

  /** Drops one day's partition (its rows are past retention). False when another ingestor held the lock. */
  async dropDay(day: number): Promise<boolean> {
    const name = partitionName(day);
    return this.db.tx('call_results.drop_partition', async (c) => {
      await c.query(LOCK_TIMEOUT);
      const lock = await c.query<{ ok: boolean }>(`SELECT pg_try_advisory_xact_lock(${MAINTENANCE_LOCK}) AS ok`);
      if (!lock.rows[0]?.ok) return false;
      await c.query(`DROP TABLE IF EXISTS ${name}`);
      return true;
    });
  }

  /** Deletes rows of DEFAULT older than the horizon (late rows nobody will read; normally none). */
  async purgeDefaultBefore(horizon: number): Promise<number> {
    const { rowCount } = await this.db.query('call_results.purge_default', 'DELETE FROM call_results_default WHERE call_ts < $1', [new Date(horizon).toISOString()]);
    return rowCount ?? 0;
  }

  /** Rows waiting in DEFAULT (callTimestamps beyond the partitions made ahead); a health signal. */
  async defaultRows(): Promise<number> {
    const { rows } = await this.db.query<{ n: number }>('call_results.default_rows', 'SELECT count(*)::int AS n FROM call_results_default');
    return rows[0]?.n ?? 0;
  }

  /**
   * Forgets the ids of events dated before the horizon, in slices: their raw rows went with their
   * partitions, and an event that old is refused at intake (timestamp_out_of_range), so no copy of it
   * can be stored again. Returns the ids deleted.
   */
  async purgeEventIdsBefore(horizon: number, slice = 50_000): Promise<number> {
    let total = 0;
    for (;;) {
      const { rowCount } = await this.db.query(
        'ingested_event_ids.purge',
        `DELETE FROM ingested_event_ids WHERE ctid = ANY (ARRAY(
           SELECT ctid FROM ingested_event_ids WHERE call_ts < $1 LIMIT $2))`,
        [new Date(horizon).toISOString(), slice],
      );
      total += rowCount ?? 0;
      if ((rowCount ?? 0) < slice) return total;
    }
  }

  /**
   * Deletes rollup minutes older than `before`, in slices so no statement holds many row locks or
   * runs long; returns the rows deleted.
   */
  async purgeRollupsBefore(before: number, slice = 50_000): Promise<number> {
    let total = 0;
    for (;;) {
      const { rowCount } = await this.db.query(
        'call_rollups_minute.purge',
        `DELETE FROM call_rollups_minute WHERE ctid = ANY (ARRAY(
           SELECT ctid FROM call_rollups_minute WHERE minute < $1 LIMIT $2))`,
        [new Date(before).toISOString(), slice],
      );
      total += rowCount ?? 0;
      if ((rowCount ?? 0) < slice) return total;
    }
  }
}
