// The real stack for integration tests: the HubSpot simulator over HTTP, a fresh PostgreSQL
// database, a worker on its own task queue against the shared Temporal server, and the API.
import { randomBytes } from 'node:crypto';
import { Writable } from 'node:stream';
import type { Client } from '@temporalio/client';
import { inject } from 'vitest';
import { createActivities } from '../../src/activities/index.js';
import { createApp } from '../../src/api/app.js';
import { listen } from '../../src/api/server.js';
import type { Config, WebhookConfig } from '../../src/config.js';
import { createTokenCipher, type TokenCipher } from '../../src/crypto/token-cipher.js';
import { freePort } from '../../src/embedded/free-port.js';
import { createRateBudget } from '../../src/hubspot/rate-budget.js';
import { createLogger } from '../../src/logger.js';
import { SandboxClient } from '../../src/sandbox/client.js';
import { createSandbox, type Sandbox, type SandboxOptions } from '../../src/sandbox/server.js';
import { connectTemporalClient } from '../../src/temporal/client.js';
import { createDataConverter } from '../../src/temporal/data-converter.js';
import { startHubsyncWorker, type RunningWorker } from '../../src/worker/worker.js';
import { createTestDatabase, type TestDatabase } from './database.js';

export const OPERATOR_TOKEN = 'test-operator-token-0123456789';
/** The Web UI origin the API's codec routes allow. */
export const TEMPORAL_UI_ORIGIN = 'http://localhost:8233';
/** The OAuth app registered in the simulator; its secret must never reach a log line. */
export const OAUTH_APP = { appId: 4242, clientId: 'test-oauth-client-id', clientSecret: 'test-oauth-client-secret-0123456789' };

export interface StackOptions {
  /** HUBSPOT_OAUTH_TOKEN_VERSION of the API and worker. */
  oauthTokenVersion?: 'v3' | 'v1';
  /** The API runs as with SANDBOX=1 (e.g. /oauth/install takes a portalId). */
  sandboxApi?: boolean;
  /** Another Temporal server than the run's shared one (e.g. one with small history limits). */
  temporalAddress?: string;
  /** Overrides of the API's webhook settings (by default: the API's own URL, v3 only). */
  webhooks?: Partial<WebhookConfig>;
  /** ENGAGEMENT_SETUP_ON_CONNECT of the API: off unless a test is about it, so other tests' portals see only the sync's calls. */
  engagementSetupOnConnect?: boolean;
  /** Simulator options; its rate limits are off unless `rateLimits` turns them on. */
  sandbox?: SandboxOptions;
  /** Outside vitest (scripts/record-histories.ts), what global-setup would otherwise provide. */
  adminDatabaseUrl?: string;
  workflowBundleCode?: string;
  /** The token and payload key (base64, 32 bytes); random unless given, e.g. for histories a replay must decode. */
  cipherKey?: string;
}

export interface Stack {
  sandbox: Sandbox;
  sandboxUrl: string;
  control: SandboxClient;
  db: TestDatabase;
  temporal: Client;
  taskQueue: string;
  apiUrl: string;
  /** The HubSpot settings the API and worker use (the simulator and OAUTH_APP). */
  hubspot: Config['hubspot'];
  webhooks: WebhookConfig;
  /** The cipher the API and worker seal tokens with, and its key (for another worker process). */
  cipher: TokenCipher;
  cipherKey: string;
  /** Every log line the worker and API wrote, for "no secret in the logs" checks. */
  logs: string[];
  /** fetch against the API with the operator token. */
  api(path: string, init?: RequestInit & { json?: unknown }): Promise<Response>;
  /** Shuts the worker down (in-flight activities are cancelled) and starts a fresh one on the same task queue. */
  restartWorker(): Promise<void>;
  /** Shuts the worker down for good (until `restartWorker`), e.g. so that only another process's worker polls. */
  stopWorker(): Promise<void>;
  close(): Promise<void>;
}

export async function startStack(options: StackOptions = {}): Promise<Stack> {
  const logs: string[] = [];
  const log = createLogger(
    'debug',
    new Writable({
      write(chunk, _encoding, done) {
        logs.push(String(chunk));
        done();
      },
    }),
  );
  const sandbox = createSandbox({ rateLimits: { enabled: false }, ...options.sandbox });
  sandbox.tokens.registerApp(OAUTH_APP);
  sandbox.webhooks.registerApp({ appId: OAUTH_APP.appId, clientSecret: OAUTH_APP.clientSecret });
  const sandboxServer = await sandbox.listen(0);
  const port = await freePort();
  const apiUrl = `http://127.0.0.1:${port}`;
  const hubspot: Config['hubspot'] = {
    apiBaseUrl: sandboxServer.url,
    authorizeUrl: `${sandboxServer.url}/oauth/authorize`,
    clientId: OAUTH_APP.clientId,
    clientSecret: OAUTH_APP.clientSecret,
    redirectUri: `${apiUrl}/oauth/callback`,
    appId: OAUTH_APP.appId,
    scopes: 'crm.objects.contacts.read oauth',
    tokenVersion: options.oauthTokenVersion ?? 'v3',
  };
  const webhooks: WebhookConfig = { publicBaseUrl: apiUrl, signatureVersions: ['v3'], developerApiKey: 'test-developer-api-key', ...options.webhooks };
  const cipherKey = options.cipherKey ?? randomBytes(32).toString('base64');
  const cipher = createTokenCipher([cipherKey]);
  // As in production without PAYLOAD_ENCRYPTION_KEY: payloads are encrypted with the token key.
  const dataConverter = createDataConverter([cipherKey]);
  const db = await createTestDatabase(options.adminDatabaseUrl);
  const address = options.temporalAddress ?? inject('temporalAddress');
  const taskQueue = `test-${randomBytes(4).toString('hex')}`;
  const budget = createRateBudget(db.pool);
  const startWorker = () =>
    startHubsyncWorker({
      address,
      namespace: 'default',
      taskQueue,
      activities: createActivities({ pool: db.pool, log, cipher, hubspot, budget }),
      workflowBundle: { code: options.workflowBundleCode ?? inject('workflowBundleCode') },
      dataConverter,
    });
  let worker: RunningWorker | undefined;
  try {
    worker = await startWorker();
  } catch (error) {
    await db.drop();
    await sandboxServer.close();
    throw error;
  }
  const temporal = await connectTemporalClient(address, 'default', dataConverter);
  const app = createApp({
    pool: db.pool,
    temporal,
    taskQueue,
    cipher,
    hubspot,
    webhooks,
    budget,
    apiToken: OPERATOR_TOKEN,
    temporalUiOrigin: TEMPORAL_UI_ORIGIN,
    sandbox: options.sandboxApi ?? false,
    engagementSetupOnConnect: options.engagementSetupOnConnect ?? false,
    log,
  });
  const http = await listen(app, port, '127.0.0.1');

  return {
    sandbox,
    sandboxUrl: sandboxServer.url,
    control: new SandboxClient(sandboxServer.url),
    db,
    temporal,
    taskQueue,
    apiUrl,
    hubspot,
    webhooks,
    cipher,
    cipherKey,
    logs,
    api: (path, init = {}) => {
      const { json, ...rest } = init;
      const headers = new Headers(rest.headers);
      if (!headers.has('authorization')) headers.set('authorization', `Bearer ${OPERATOR_TOKEN}`);
      if (json !== undefined) headers.set('content-type', 'application/json');
      return fetch(`${apiUrl}${path}`, { ...rest, headers, ...(json !== undefined ? { body: JSON.stringify(json) } : {}) });
    },
    restartWorker: async () => {
      worker?.worker.shutdown();
      await worker?.finished;
      worker = await startWorker();
    },
    stopWorker: async () => {
      worker?.worker.shutdown();
      await worker?.finished;
      worker = undefined;
    },
    close: async () => {
      await http.close();
      worker?.worker.shutdown();
      await worker?.finished;
      await temporal.connection.close();
      await db.drop();
      await sandboxServer.close();
    },
  };
}

/** The connection workflow's own status, as GET /connections/:id reports it under `live`. */
export async function liveStatus(stack: Stack, connectionId: string): Promise<any> {
  return ((await (await stack.api(`/connections/${connectionId}`)).json()) as { live: any }).live;
}

/** Polls until `check` returns a value other than undefined, or fails after `timeoutMs`. */
export async function eventually<T>(check: () => Promise<T | undefined>, timeoutMs = 20_000, what = 'condition'): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await check();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}
