import path from 'node:path';

/** Folder of the reviewed SQL migrations (infra/migrations), resolved from this file in dist/. */
export const MIGRATIONS_DIR = path.resolve(__dirname, '../../../infra/migrations');

/**
 * Applies pending migrations with node-pg-migrate (an ES module, hence the dynamic import that
 * TypeScript keeps as a real `import()` under module Node16).
 */
export async function runMigrations(databaseUrl: string, log: (msg: string) => void = () => undefined): Promise<string[]> {
  const { runner } = await import('node-pg-migrate');
  const applied = await runner({
    databaseUrl,
    dir: MIGRATIONS_DIR,
    direction: 'up',
    migrationsTable: 'pgmigrations',
    count: Infinity,
    singleTransaction: true,
    log,
    logger: { debug: () => undefined, info: log, warn: log, error: log },
  });
  return applied.map((m) => m.name);
}
