// `npm start`: the whole stack on one machine. Starts what is not configured (Temporal dev server
// with its Web UI, PostgreSQL), then the worker and the API; Ctrl-C stops everything.
import { resolve } from 'node:path';
import { mkdirSync } from 'node:fs';
import { createActivities } from './activities/index.js';
import { createApp } from './api/app.js';
import { listen } from './api/server.js';
import { loadConfigOrExit } from './config.js';
import { resolveEncryptionKeys } from './crypto/keys.js';
import { createTokenCipher } from './crypto/token-cipher.js';
import { migrate } from './db/migrate.js';
import { createPool } from './db/pool.js';
import { createRateBudget } from './hubspot/rate-budget.js';
import { startEmbeddedPostgres } from './embedded/postgres.js';
import { startTemporalDevServer } from './embedded/temporal-server.js';
import { createLogger } from './logger.js';
import { installTemporalRuntime } from './worker/runtime.js';
import { startEmbeddedSandbox } from './sandbox/embedded.js';
import { createShutdown, exitOnFailure } from './shutdown.js';
import { connectTemporalClient } from './temporal/client.js';
import { createDataConverter } from './temporal/data-converter.js';
import { startHubsyncWorker } from './worker/worker.js';

const config = loadConfigOrExit();
const log = createLogger(config.logLevel);
const shutdown = createShutdown(log);
installTemporalRuntime(log, { metricsPort: config.temporal.workerMetricsPort });

async function main(): Promise<void> {
  mkdirSync(config.dataDir, { recursive: true });

  let databaseUrl = config.databaseUrl;
  if (!databaseUrl) {
    const postgres = await startEmbeddedPostgres(config.dataDir, log);
    shutdown.add('embedded postgres', () => postgres.stop());
    databaseUrl = postgres.url;
  }

  let temporalAddress = config.temporal.address;
  let webUi: string | undefined;
  if (!temporalAddress) {
    const server = await startTemporalDevServer({
      port: 7233,
      uiPort: config.temporal.uiPort,
      dbFilename: resolve(config.dataDir, 'temporal.db'),
      namespace: config.temporal.namespace,
      // The Web UI decodes payloads through the API (operators only; loopback in the sandbox demo).
      extraArgs: ['--ui-codec-endpoint', `http://localhost:${config.api.port}/codec`],
      log,
    });
    shutdown.add('temporal dev server', () => server.stop());
    temporalAddress = server.address;
    webUi = server.uiUrl;
  }

  let hubspot = config.hubspot;
  let sandboxNote = '';
  if (config.sandbox.enabled) {
    const sandbox = await startEmbeddedSandbox(config);
    shutdown.add('hubspot sandbox', () => sandbox.close());
    hubspot = sandbox.hubspot;
    // The demo token is a fixed public test value of the simulator, not a secret.
    sandboxNote = `; HubSpot sandbox ${sandbox.url} (portal ${sandbox.portalId}, demo token ${sandbox.demoToken})`;
  }

  await migrate(databaseUrl, log);
  const pool = createPool(databaseUrl, 'hubsync', log);
  shutdown.add('database pool', () => pool.end());

  const tokenKeys = resolveEncryptionKeys(config.tokenEncryptionKeys, config.dataDir, log);
  const cipher = createTokenCipher(tokenKeys);
  const dataConverter = createDataConverter(config.payloadEncryptionKeys ?? tokenKeys);
  const { namespace, taskQueue } = config.temporal;
  const budget = createRateBudget(pool, config.rateBudget);
  const running = await startHubsyncWorker({
    address: temporalAddress,
    namespace,
    taskQueue,
    activities: createActivities({ pool, log, cipher, hubspot, budget, developerApiKey: config.webhooks.developerApiKey }),
    dataConverter,
  });
  shutdown.add('worker', async () => {
    running.worker.shutdown();
    await running.finished;
  });

  const temporal = await connectTemporalClient(temporalAddress, namespace, dataConverter);
  shutdown.add('temporal client', () => temporal.connection.close());
  const app = createApp({
    pool,
    temporal,
    taskQueue,
    cipher,
    hubspot,
    budget,
    webhooks: config.webhooks,
    apiToken: config.api.token,
    temporalUiOrigin: config.temporal.uiOrigin,
    engagementSetupOnConnect: config.engagementSetupOnConnect,
    sandbox: config.sandbox.enabled,
    log,
  });
  const http = await listen(app, config.api.port);
  shutdown.add('http', () => http.close());

  log.info(
    { api: `http://localhost:${config.api.port}`, temporalWebUi: webUi ?? 'external', temporal: temporalAddress },
    `hubsync is running: API http://localhost:${config.api.port}${webUi ? `, Temporal Web UI ${webUi}` : ''}${sandboxNote}`,
  );
  await running.finished;
}

main().catch(exitOnFailure(log, shutdown));
