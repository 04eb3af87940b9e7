import pg from 'pg';
import type { Logger } from 'pino';

/** One pool per process. Bounded statements so a stuck query fails an activity instead of hanging it. */
export function createPool(databaseUrl: string, applicationName: string, log: Logger): pg.Pool {
  const pool = new pg.Pool({
    connectionString: databaseUrl,
    application_name: applicationName,
    max: 10,
    statement_timeout: 30_000,
    idleTimeoutMillis: 30_000,
  });
  // An idle client losing its server (restart, shutdown) must not crash the process: the pool replaces it.
  pool.on('error', (error) => log.warn({ err: error.message }, 'idle database connection lost'));
  return pool;
}

export type { Pool, PoolClient } from 'pg';
