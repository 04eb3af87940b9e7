// `npm run api`: the production API. Connects to an external Temporal and PostgreSQL.
import { ConfigError, loadConfigOrExit } from '../config.js';
import { resolveEncryptionKeys } from '../crypto/keys.js';
import { createTokenCipher } from '../crypto/token-cipher.js';
import { migrate } from '../db/migrate.js';
import { createPool } from '../db/pool.js';
import { createRateBudget } from '../hubspot/rate-budget.js';
import { createLogger } from '../logger.js';
import { createShutdown, exitOnFailure } from '../shutdown.js';
import { connectTemporalClient } from '../temporal/client.js';
import { createDataConverter } from '../temporal/data-converter.js';
import { createApp } from './app.js';
import { listen } from './server.js';

const config = loadConfigOrExit();
const log = createLogger(config.logLevel);
const shutdown = createShutdown(log);

async function main(): Promise<void> {
  const { address, namespace, taskQueue } = config.temporal;
  if (!address || !config.databaseUrl) {
    throw new ConfigError('npm run api needs TEMPORAL_ADDRESS and DATABASE_URL (npm start runs everything embedded)');
  }
  await migrate(config.databaseUrl, log);
  const pool = createPool(config.databaseUrl, 'hubsync-api', log);
  shutdown.add('database pool', () => pool.end());
  const tokenKeys = resolveEncryptionKeys(config.tokenEncryptionKeys, config.dataDir, log);
  const cipher = createTokenCipher(tokenKeys);
  const temporal = await connectTemporalClient(address, namespace, createDataConverter(config.payloadEncryptionKeys ?? tokenKeys));
  shutdown.add('temporal client', () => temporal.connection.close());
  const app = createApp({
    pool,
    temporal,
    taskQueue,
    cipher,
    hubspot: config.hubspot,
    budget: createRateBudget(pool, config.rateBudget),
    webhooks: config.webhooks,
    apiToken: config.api.token,
    temporalUiOrigin: config.temporal.uiOrigin,
    engagementSetupOnConnect: config.engagementSetupOnConnect,
    sandbox: false,
    log,
  });
  const http = await listen(app, config.api.port);
  shutdown.add('http', () => http.close());
  log.info({ port: config.api.port }, 'api listening');
}

main().catch(exitOnFailure(log, shutdown));
