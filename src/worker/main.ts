// `npm run worker`: the production worker. Connects to an external Temporal and PostgreSQL.
import { createActivities } from '../activities/index.js';
import { ConfigError, loadConfigOrExit } from '../config.js';
import { resolveEncryptionKeys } from '../crypto/keys.js';
import { createTokenCipher } from '../crypto/token-cipher.js';
import { migrate } from '../db/migrate.js';
import { createPool } from '../db/pool.js';
import { createRateBudget } from '../hubspot/rate-budget.js';
import { createLogger } from '../logger.js';
import { installTemporalRuntime } from './runtime.js';
import { createShutdown, exitOnFailure } from '../shutdown.js';
import { createDataConverter } from '../temporal/data-converter.js';
import { startHubsyncWorker } from './worker.js';

const config = loadConfigOrExit();
const log = createLogger(config.logLevel);
const shutdown = createShutdown(log);
installTemporalRuntime(log, { metricsPort: config.temporal.workerMetricsPort });

async function main(): Promise<void> {
  const { address, namespace, taskQueue } = config.temporal;
  if (!address || !config.databaseUrl) {
    throw new ConfigError('npm run worker needs TEMPORAL_ADDRESS and DATABASE_URL (npm start runs everything embedded)');
  }
  await migrate(config.databaseUrl, log);
  const pool = createPool(config.databaseUrl, 'hubsync-worker', log);
  shutdown.add('database pool', () => pool.end());
  const tokenKeys = resolveEncryptionKeys(config.tokenEncryptionKeys, config.dataDir, log);
  const cipher = createTokenCipher(tokenKeys);
  const activities = createActivities({ pool, log, cipher, hubspot: config.hubspot, budget: createRateBudget(pool, config.rateBudget), developerApiKey: config.webhooks.developerApiKey });
  const dataConverter = createDataConverter(config.payloadEncryptionKeys ?? tokenKeys);
  const running = await startHubsyncWorker({ address, namespace, taskQueue, activities, dataConverter });
  shutdown.add('worker', async () => {
    running.worker.shutdown();
    await running.finished;
  });
  log.info({ address, namespace, taskQueue }, 'worker running');
  await running.finished;
}

main().catch(exitOnFailure(log, shutdown));
