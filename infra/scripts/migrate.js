#!/usr/bin/env node
'use strict';
// `npm run migrate`: creates the database named in DATABASE_URL if missing, then applies the SQL
// migrations under infra/migrations with node-pg-migrate. A step of its own, never hidden in start-up.
const { ensureDatabase, runMigrations, parseEnv, envFragments } = require('@apg/platform');
const { z } = require('zod');

async function main() {
  const env = parseEnv(z.object({ DATABASE_URL: envFragments.database.DATABASE_URL }), process.env);
  const created = await ensureDatabase(env.DATABASE_URL);
  const db = new URL(env.DATABASE_URL).pathname.slice(1);
  if (created) console.log(`migrate: created database ${db}`);
  const applied = await runMigrations(env.DATABASE_URL);
  console.log(`migrate: ${applied.length ? `applied ${applied.join(', ')}` : 'nothing to apply'} (database ${db})`);
}

main().catch((err) => {
  console.error(`migrate: failed: ${err.message}`);
  process.exit(1);
});
