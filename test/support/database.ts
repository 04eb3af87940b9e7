import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { inject } from 'vitest';
import { migrate } from '../../src/db/migrate.js';
import { createPool } from '../../src/db/pool.js';
import { createLogger } from '../../src/logger.js';

export interface TestDatabase {
  url: string;
  pool: pg.Pool;
  drop(): Promise<void>;
}

async function asAdmin(adminDatabaseUrl: string, sql: string): Promise<void> {
  const admin = new pg.Client({ connectionString: adminDatabaseUrl });
  await admin.connect();
  try {
    await admin.query(sql);
  } finally {
    await admin.end();
  }
}

/**
 * A fresh, migrated database for one test file, dropped afterwards.
 * @param adminDatabaseUrl outside vitest (scripts), a URL whose user may create databases.
 */
export async function createTestDatabase(adminDatabaseUrl: string = inject('adminDatabaseUrl')): Promise<TestDatabase> {
  const name = `hubsync_test_${randomBytes(6).toString('hex')}`;
  await asAdmin(adminDatabaseUrl, `create database ${name}`);
  const url = new URL(adminDatabaseUrl);
  url.pathname = `/${name}`;
  const log = createLogger('silent');
  await migrate(url.toString(), log);
  const pool = createPool(url.toString(), 'hubsync-test', log);
  return {
    url: url.toString(),
    pool,
    drop: async () => {
      await pool.end();
      await asAdmin(adminDatabaseUrl, `drop database if exists ${name} with (force)`);
    },
  };
}
