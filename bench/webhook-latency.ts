// Webhook receipt → PostgreSQL row: for N single-change webhook deliveries (a contact's firstname
// changed in the simulator, then one signed event POSTed to /webhooks/hubspot), the time from the
// API's 200 to the row carrying the new version (updated_at) in crm_objects. The real API, worker,
// Temporal dev server and PostgreSQL (the test stack), the simulator without rate limits.
// Deliveries are open loop at RATE per second, each about another contact, so some share a
// debounce window (as live traffic would). The connection's debounce is part of this path: runs
// with the default and with 1 s.
// Run: DATABASE_URL=postgres://postgres@127.0.0.1:5432/postgres node --import tsx bench/webhook-latency.ts [N] [rate/s] [debounce ms,...]
import { bundleWorkflowCode } from '@temporalio/worker';
import { startTemporalDevServer } from '../src/embedded/temporal-server.js';
import { signV3 } from '../src/hubspot/webhook-signature.js';
import { createLogger } from '../src/logger.js';
import { WORKFLOWS_PATH } from '../src/worker/worker.js';
import { OAUTH_APP, startStack, type Stack } from '../test/support/stack.js';

const PORTAL_ID = 900_601;
const TOKEN = 'pat-na1-bench-webhook-latency';

const percentile = (sorted: number[], p: number): number => sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? Number.NaN;

async function waitFor(check: () => Promise<boolean>, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error('timed out');
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
}

async function run(stack: Stack, connectionId: string, contactIds: string[], n: number, rate: number, debounceMs: number | undefined, offset: number): Promise<string> {
  if (debounceMs !== undefined) {
    const patched = await stack.api(`/connections/${connectionId}`, { method: 'PATCH', json: { webhookDebounceMs: debounceMs } });
    if (patched.status !== 200) throw new Error(`PATCH answered ${patched.status}: ${await patched.text()}`);
  }
  const url = `${stack.webhooks.publicBaseUrl}/webhooks/hubspot`;
  /** contact id → [answered at, expected updated_at ms] */
  const outstanding = new Map<string, { answeredAt: number; version: number }>();
  const latencies: number[] = [];
  let failures = 0;
  let eventId = 1 + Math.floor(Math.random() * 1e9);

  // One poller for every outstanding row, every 5 ms.
  let polling = true;
  const poller = (async () => {
    while (polling || outstanding.size > 0) {
      const ids = [...outstanding.keys()];
      if (ids.length > 0) {
        const rows = await stack.db.pool.query(
          `select object_id, (extract(epoch from updated_at) * 1000)::bigint as v from crm_objects where connection_id = $1 and object_type = 'contacts' and object_id = any($2)`,
          [connectionId, ids],
        );
        const now = performance.now();
        for (const row of rows.rows) {
          const wanted = outstanding.get(row.object_id);
          if (wanted && Number(row.v) >= wanted.version) {
            latencies.push(now - wanted.answeredAt);
            outstanding.delete(row.object_id);
          }
        }
      }
      await new Promise((resolve) => setTimeout(resolve, 5));
    }
  })();

  const start = performance.now();
  const sends: Array<Promise<void>> = [];
  for (let i = 0; i < n; i++) {
    const wait = start + (i * 1_000) / rate - performance.now();
    if (wait > 0) await new Promise((resolve) => setTimeout(resolve, wait));
    // Each run changes other contacts than the runs before it.
    const id = contactIds[(offset + i) % contactIds.length]!;
    sends.push(
      (async () => {
        const record = await stack.control.updateObject(PORTAL_ID, 'contacts', id, { firstname: `bench-${i}` });
        const now = Date.now();
        const body = JSON.stringify([
          { eventId: eventId++, subscriptionId: 1001, portalId: PORTAL_ID, appId: OAUTH_APP.appId, occurredAt: Date.parse(record.updatedAt), subscriptionType: 'contact.propertyChange', attemptNumber: 0, objectId: Number(id), changeSource: 'CRM_UI', propertyName: 'firstname', propertyValue: `bench-${i}` },
        ]);
        const response = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/json', 'x-hubspot-signature-v3': signV3(OAUTH_APP.clientSecret, 'POST', url, body, now), 'x-hubspot-request-timestamp': String(now) }, body });
        await response.arrayBuffer();
        if (response.status !== 200) failures++;
        else outstanding.set(id, { answeredAt: performance.now(), version: Date.parse(record.updatedAt) });
      })(),
    );
  }
  await Promise.all(sends);
  polling = false;
  const timeout = setTimeout(() => outstanding.clear(), 60_000);
  await poller;
  clearTimeout(timeout);
  const sorted = latencies.sort((a, b) => a - b);
  const ms = (p: number) => `${Math.round(percentile(sorted, p))} ms`;
  return `| ${debounceMs === undefined ? 'default' : `${debounceMs} ms`} | ${n} | ${rate}/s | ${ms(50)} | ${ms(99)} | ${ms(100)} | ${n - latencies.length - failures} | ${failures} |`;
}

async function main(): Promise<void> {
  const n = Number(process.argv[2] ?? 200);
  const rate = Number(process.argv[3] ?? 5);
  const debounces = (process.argv[4] ?? 'default,1000').split(',').map((d) => (d === 'default' ? undefined : Number(d)));
  const adminDatabaseUrl = process.env.DATABASE_URL;
  if (!adminDatabaseUrl) throw new Error('DATABASE_URL is required');
  const log = createLogger('warn');
  const temporal = await startTemporalDevServer({ uiPort: false, namespace: 'default', log });
  const bundle = await bundleWorkflowCode({ workflowsPath: WORKFLOWS_PATH, logger: { trace() {}, debug() {}, info() {}, warn: console.warn, error: console.error, log() {} } });
  const stack = await startStack({ temporalAddress: temporal.address, adminDatabaseUrl, workflowBundleCode: bundle.code });
  try {
    await stack.control.createPortal({ portalId: PORTAL_ID });
    await stack.control.seed(PORTAL_ID, { seed: 1, contacts: 1_000, companies: 0, deals: 0, tickets: 0 });
    await stack.control.createToken(PORTAL_ID, { token: TOKEN, scopes: ['crm.objects.contacts.read'] });
    const contactIds = (await stack.control.groundTruth(PORTAL_ID)).objects.contacts!.map((r) => r.id);
    const created = await stack.api('/connections', { method: 'POST', json: { accessToken: TOKEN, objectTypes: ['contacts'], syncIntervalSeconds: 3600 } });
    if (created.status !== 201) throw new Error(`POST /connections answered ${created.status}: ${await created.text()}`);
    const { id } = (await created.json()) as { id: string };
    await waitFor(async () => {
      const live = ((await (await stack.api(`/connections/${id}`)).json()) as { live: any }).live;
      return live?.objects?.contacts?.backfill?.status === 'done' && !!live.objects.contacts.lastRun;
    }, 120_000);
    console.log('| debounce | deliveries | offered | p50 | p99 | max | not seen in 60 s | non-200 |');
    console.log('| --- | --- | --- | --- | --- | --- | --- | --- |');
    for (const [i, debounce] of debounces.entries()) console.log(await run(stack, id, contactIds, n, rate, debounce, i * n));
  } finally {
    await stack.close();
    await temporal.stop();
  }
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
