// Webhook intake: signed batches of 100 events, posted by a load generator in its own process over
// loopback with HubSpot's 10 concurrent requests per account, against the API with a real Temporal
// server and a hubsync worker running the connection workflow that the signals reach. Records
// events accepted per second and p50/p99 answer time (warm-up excluded).
// Run: DATABASE_URL=postgres://postgres@127.0.0.1:5432/postgres node --import tsx bench/webhook-intake.ts [seconds per run] [concurrency] [open-loop events/s,...]
// (TEMPORAL_ADDRESS=host:port uses that server instead of starting a dev server; NO_WORKER=1 stops
// the worker once the backfill is done, so only the API and Temporal are measured.)
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import pg from 'pg';
import { createActivities } from '../src/activities/index.js';
import { createApp } from '../src/api/app.js';
import { listen } from '../src/api/server.js';
import { createTokenCipher } from '../src/crypto/token-cipher.js';
import { migrate } from '../src/db/migrate.js';
import { createPool } from '../src/db/pool.js';
import { freePort } from '../src/embedded/free-port.js';
import { startTemporalDevServer } from '../src/embedded/temporal-server.js';
import { createRateBudget } from '../src/hubspot/rate-budget.js';
import { signV3 } from '../src/hubspot/webhook-signature.js';
import { createLogger } from '../src/logger.js';
import { SandboxClient } from '../src/sandbox/client.js';
import { createSandbox } from '../src/sandbox/server.js';
import { connectTemporalClient } from '../src/temporal/client.js';
import { createDataConverter } from '../src/temporal/data-converter.js';
import { statusQuery } from '../src/workflows/definitions.js';
import { startHubsyncWorker } from '../src/worker/worker.js';

const SELF = fileURLToPath(import.meta.url);
const BATCH = 100;
const WARM_UP_MS = 3_000;
const PORTAL_ID = 900_001;
const SECRET = `bench-secret-${randomBytes(8).toString('hex')}`;
const OPERATOR_TOKEN = randomBytes(16).toString('hex');

interface LoadResult {
  latenciesMs: number[];
  events: number;
  seconds: number;
  failures: Record<string, number>;
}

/**
 * The load generator (child process), reporting JSON on stdout. RATE=0: closed loop, CONCURRENCY
 * senders back to back (the most the API takes). RATE>0: open loop, one batch every 1/RATE s
 * whatever the answers do, latency counted from the planned send time (no coordinated omission).
 */
async function load(): Promise<void> {
  const env = (name: string): string => process.env[name] ?? '';
  const [url, secret] = [env('URL'), env('SECRET')];
  const objectIds = JSON.parse(env('OBJECT_IDS')) as number[];
  const stopAt = Number(env('STOP_AT'));
  const rate = Number(env('RATE'));
  const measureFrom = Date.now() + WARM_UP_MS;
  const result: LoadResult = { latenciesMs: [], events: 0, seconds: (stopAt - measureFrom) / 1_000, failures: {} };
  let eventId = 1;

  async function send(plannedAt: number): Promise<void> {
    const now = Date.now();
    const events = Array.from({ length: BATCH }, () => ({
      eventId: eventId++,
      subscriptionId: 1001,
      portalId: PORTAL_ID,
      appId: 1,
      occurredAt: now,
      subscriptionType: 'contact.propertyChange',
      attemptNumber: 0,
      objectId: objectIds[eventId % objectIds.length],
      changeSource: 'CRM_UI',
      propertyName: 'firstname',
      propertyValue: `name-${eventId}`,
    }));
    const body = JSON.stringify(events);
    const response = await fetch(url, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-hubspot-signature-v3': signV3(secret, 'POST', url, body, now), 'x-hubspot-request-timestamp': String(now) },
      body,
    });
    await response.arrayBuffer();
    const elapsed = performance.now() - plannedAt;
    if (response.status !== 200) result.failures[response.status] = (result.failures[response.status] ?? 0) + 1;
    else if (Date.now() >= measureFrom && Date.now() < stopAt) {
      result.latenciesMs.push(elapsed);
      result.events += BATCH;
    }
  }

  if (rate > 0) {
    const start = performance.now();
    const inFlight: Array<Promise<void>> = [];
    for (let i = 0; Date.now() < stopAt; i++) {
      const plannedAt = start + (i * 1_000) / rate;
      const wait = plannedAt - performance.now();
      if (wait > 0) await new Promise((resolve) => setTimeout(resolve, wait));
      inFlight.push(send(plannedAt));
    }
    await Promise.all(inFlight);
  } else {
    const sender = async () => {
      while (Date.now() < stopAt) await send(performance.now());
    };
    await Promise.all(Array.from({ length: Number(env('CONCURRENCY')) }, sender));
  }
  process.stdout.write(JSON.stringify(result));
}

function runLoad(env: Record<string, string>): Promise<LoadResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', SELF, '--load'], { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'inherit'] });
    let out = '';
    child.stdout.on('data', (chunk: Buffer) => (out += chunk.toString()));
    child.on('exit', (code) => (code === 0 ? resolve(JSON.parse(out) as LoadResult) : reject(new Error(`load generator exited ${code}`))));
  });
}

async function admin(url: string, sql: string): Promise<void> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  await client.query(sql);
  await client.end();
}

const percentile = (sorted: number[], p: number): number => sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? Number.NaN;

async function main(): Promise<void> {
  const seconds = Number(process.argv[2] ?? 20);
  const concurrency = Number(process.argv[3] ?? 10);
  const rates = (process.argv[4] ?? '2000,3000').split(',').map(Number);
  const adminUrl = process.env.DATABASE_URL;
  if (!adminUrl) throw new Error('DATABASE_URL is required');
  const log = createLogger('warn');
  const cleanups: Array<() => Promise<unknown>> = [];
  try {
    const temporalServer = process.env.TEMPORAL_ADDRESS ? undefined : await startTemporalDevServer({ uiPort: false, namespace: 'default', log });
    if (temporalServer) cleanups.unshift(() => temporalServer.stop());
    const address = process.env.TEMPORAL_ADDRESS ?? temporalServer!.address;

    const name = `hubsync_bench_${randomBytes(4).toString('hex')}`;
    await admin(adminUrl, `create database ${name}`);
    cleanups.unshift(() => admin(adminUrl, `drop database if exists ${name} with (force)`));
    const dbUrl = new URL(adminUrl);
    dbUrl.pathname = `/${name}`;
    await migrate(dbUrl.toString(), log);
    const pool = createPool(dbUrl.toString(), 'hubsync-bench', log);
    cleanups.unshift(() => pool.end());

    // The connection's HubSpot: a simulator with a seeded portal, so what the workflow reads exists.
    const sandbox = createSandbox({ rateLimits: { enabled: false } });
    const sandboxServer = await sandbox.listen(0);
    cleanups.unshift(() => sandboxServer.close());
    const control = new SandboxClient(sandboxServer.url);
    await control.createPortal({ portalId: PORTAL_ID });
    await control.seed(PORTAL_ID, { seed: 1, contacts: 1_000, companies: 0, deals: 0, tickets: 0 });
    const token = 'pat-na1-bench-webhooks';
    await control.createToken(PORTAL_ID, { token, scopes: ['crm.objects.contacts.read'] });
    const objectIds = (await control.groundTruth(PORTAL_ID)).objects.contacts!.map((record) => Number(record.id));

    const port = await freePort();
    const apiUrl = `http://127.0.0.1:${port}`;
    const hubspot = { apiBaseUrl: sandboxServer.url, authorizeUrl: `${sandboxServer.url}/oauth/authorize`, clientId: 'bench', clientSecret: SECRET, redirectUri: undefined, appId: 1, scopes: '', tokenVersion: 'v3' as const };
    const key = randomBytes(32).toString('base64');
    const cipher = createTokenCipher([key]);
    const dataConverter = createDataConverter([key]);
    const budget = createRateBudget(pool);
    const taskQueue = `bench-${randomBytes(4).toString('hex')}`;
    const worker = await startHubsyncWorker({ address, namespace: 'default', taskQueue, activities: createActivities({ pool, log, cipher, hubspot, budget }), dataConverter });
    cleanups.unshift(async () => {
      if (worker.worker.getState() === 'RUNNING') worker.worker.shutdown();
      await worker.finished;
    });
    const temporal = await connectTemporalClient(address, 'default', dataConverter);
    cleanups.unshift(() => temporal.connection.close());
    const deps = { pool, temporal, taskQueue, cipher, budget, hubspot, webhooks: { publicBaseUrl: apiUrl, signatureVersions: ['v3' as const], developerApiKey: undefined }, apiToken: OPERATOR_TOKEN, temporalUiOrigin: 'http://localhost:8233', sandbox: false, log };
    const http = await listen(createApp(deps), port, '127.0.0.1');
    cleanups.unshift(() => http.close());

    const created = await fetch(`${apiUrl}/connections`, {
      method: 'POST',
      headers: { authorization: `Bearer ${OPERATOR_TOKEN}`, 'content-type': 'application/json' },
      body: JSON.stringify({ accessToken: token, objectTypes: ['contacts'] }),
    });
    if (created.status !== 201) throw new Error(`POST /connections answered ${created.status}: ${await created.text()}`);
    const { workflowId } = (await created.json()) as { workflowId: string };
    // Measure the steady state, not the backfill.
    const handle = temporal.workflow.getHandle(workflowId);
    for (let done = false; !done; await new Promise((resolve) => setTimeout(resolve, 250))) {
      done = (await handle.query(statusQuery)).objects.contacts?.backfill.status === 'done';
    }

    // NO_WORKER=1: the workflow only receives the signals (no worker processes them), which
    // separates the API's own cost from the worker's share of this 2-core machine.
    if (process.env.NO_WORKER) {
      worker.worker.shutdown();
      await worker.finished;
    }
    console.log('| load | events accepted/s | p50 | p99 | max | non-200 answers |');
    console.log('| --- | --- | --- | --- | --- | --- |');
    const runs = [{ label: `closed loop, ${concurrency} concurrent requests`, rate: 0 }, ...rates.map((events) => ({ label: `open loop, ${events} events/s offered`, rate: events / BATCH }))];
    for (const run of runs) {
      const result = await runLoad({
        URL: `${apiUrl}/webhooks/hubspot`,
        SECRET,
        STOP_AT: String(Date.now() + seconds * 1_000 + WARM_UP_MS),
        CONCURRENCY: String(concurrency),
        RATE: String(run.rate),
        OBJECT_IDS: JSON.stringify(objectIds),
      });
      const sorted = result.latenciesMs.sort((a, b) => a - b);
      const ms = (p: number) => `${percentile(sorted, p).toFixed(1)} ms`;
      console.log(`| ${run.label} | ${Math.round(result.events / result.seconds)} | ${ms(50)} | ${ms(99)} | ${ms(100)} | ${JSON.stringify(result.failures)} |`);
    }
    const description = await handle.describe();
    console.log(`\nconnection workflow: ${description.status.name}, ${description.historyLength} events in its current run`);
  } finally {
    for (const cleanup of cleanups) await cleanup().catch((error: unknown) => console.error(error));
  }
}

(process.argv.includes('--load') ? load() : main()).catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
