import pg from 'pg';
import { classifyError } from './error-class';
import { IoMetrics, namedIo } from './metrics';

// Postgres int8 (count(*), sums) arrives as a string by default; our counts fit in a JS number.
pg.types.setTypeParser(20, (v) => Number(v));
// numeric (cost sums) likewise; costs are small decimals where a double is precise enough.
pg.types.setTypeParser(1700, (v) => Number(v));

export type Pool = pg.Pool;
export type PoolClient = pg.PoolClient;

export interface Queryable {
  query<R extends pg.QueryResultRow = pg.QueryResultRow>(text: string, values?: unknown[]): Promise<pg.QueryResult<R>>;
}

/**
 * A pool plus named queries: every statement carries a name that shows in metrics and errors.
 * Stores take a `Db`, never a raw pool, so SQL stays observable.
 */
/**
 * Wraps every pool-level statement and transaction (a fail-fast circuit in the api); statements run on a
 * transaction's own client are covered by the transaction's call.
 */
export type DbGuard = <T>(name: string, fn: () => Promise<T>) => Promise<T>;

export class Db {
  constructor(readonly pool: pg.Pool, private readonly io?: IoMetrics, private readonly guard?: DbGuard) {}

  /** The same pool with every statement and transaction run through `guard` (the api's circuit). */
  guarded(guard: DbGuard): Db {
    return new Db(this.pool, this.io, guard);
  }

  query<R extends pg.QueryResultRow>(name: string, text: string, values?: unknown[], on: Queryable = this.pool) {
    const run = () => namedIo(this.io, 'pg', name, () => on.query<R>(text, values));
    return this.guard && on === this.pool ? this.guard(name, run) : run();
  }

  /** Runs `fn` in one transaction on one connection; rolls back on any error. */
  async tx<T>(name: string, fn: (client: pg.PoolClient) => Promise<T>): Promise<T> {
    const run = () => namedIo(this.io, 'pg', name, async () => {
      const client = await this.pool.connect();
      let broken: Error | undefined;
      try {
        await client.query('BEGIN');
        const result = await fn(client);
        await client.query('COMMIT');
        return result;
      } catch (err) {
        // A lost, timed-out or hung connection: no ROLLBACK (it would wait on the same dead socket), and
        // the client is destroyed rather than pooled (the server rolls back when the connection goes).
        if (classifyError(err) === 'infrastructure') broken = err instanceof Error ? err : new Error(String(err));
        else await client.query('ROLLBACK').catch((e: unknown) => (broken = e instanceof Error ? e : new Error(String(e))));
        throw err;
      } finally {
        client.release(broken);
      }
    });
    return this.guard ? this.guard(name, run) : run();
  }

  async ping(): Promise<void> {
    await this.query('ping', 'SELECT 1');
  }

  async close(): Promise<void> {
    await this.pool.end();
  }
}

export interface DbOptions {
  max?: number;
  io?: IoMetrics;
  application?: string;
  /**
   * Client-side bound on one statement (pg `query_timeout`): a connection black-holed without a reset
   * (a hung server, a dead peer behind a NAT) otherwise never answers and never fails. The statement then
   * fails with "Query read timeout" (an infrastructure error) and its connection is destroyed, so the
   * retry gets a fresh one. @default 30000
   */
  queryTimeoutMs?: number;
  /** Bound on getting a connection (pool wait plus TCP/startup). @default 5000 */
  connectTimeoutMs?: number;
}

export function createDb(url: string, opts: DbOptions = {}): Db {
  const pool = new pg.Pool({
    connectionString: url,
    max: opts.max ?? 10,
    connectionTimeoutMillis: opts.connectTimeoutMs ?? 5000,
    idleTimeoutMillis: 30000,
    query_timeout: opts.queryTimeoutMs ?? 30_000,
    // Kernel keepalives find a peer that vanished while the connection sat idle in the pool.
    keepAlive: true,
    application_name: opts.application ?? 'apg',
  });
  // An idle client losing its connection emits on the pool; without a listener it would crash the process.
  pool.on('error', () => undefined);
  return new Db(pool, opts.io);
}

function splitUrl(url: string): { admin: string; database: string } {
  const u = new URL(url);
  const database = decodeURIComponent(u.pathname.replace(/^\//, ''));
  if (!/^\w+$/.test(database)) throw new Error(`unsupported database name "${database}"`);
  u.pathname = '/postgres';
  return { admin: u.toString(), database };
}

/** Creates the database named in `url` if it does not exist (connects to `postgres` to do so). */
export async function ensureDatabase(url: string): Promise<boolean> {
  const { admin, database } = splitUrl(url);
  const client = new pg.Client({ connectionString: admin });
  await client.connect();
  try {
    const found = await client.query('SELECT 1 FROM pg_database WHERE datname = $1', [database]);
    if (found.rowCount) return false;
    try {
      await client.query(`CREATE DATABASE "${database}"`);
    } catch (err) {
      // Two processes racing to create it: the other one won, which is fine.
      if ((err as { code?: string }).code !== '42P04') throw err;
    }
    return true;
  } finally {
    await client.end();
  }
}

/** Drops a test database. Refuses any database whose name does not contain "test". */
export async function dropTestDatabase(url: string): Promise<void> {
  const { admin, database } = splitUrl(url);
  if (!database.includes('test')) throw new Error(`refusing to drop non-test database "${database}"`);
  const client = new pg.Client({ connectionString: admin });
  await client.connect();
  try {
    await client.query(`DROP DATABASE IF EXISTS "${database}" WITH (FORCE)`);
  } finally {
    await client.end();
  }
}
