import { fileURLToPath } from 'node:url';
import { runner } from 'node-pg-migrate';
import type { Logger } from 'pino';

const MIGRATIONS_DIR = fileURLToPath(new URL('./migrations', import.meta.url));

/** Applies the timestamped SQL files in src/db/migrations; safe to run from several processes at once. */
export async function migrate(databaseUrl: string, log: Logger): Promise<void> {
  const applied = await runner({
    databaseUrl,
    dir: MIGRATIONS_DIR,
    direction: 'up',
    migrationsTable: 'pgmigrations',
    singleTransaction: true,
    checkOrder: true,
    advisoryLockMode: 'wait',
    log: (message) => log.debug({ migration: message }, 'migrate'),
  });
  if (applied.length > 0) log.info({ applied: applied.map((m) => m.name) }, 'database migrated');
}
