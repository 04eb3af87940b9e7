// GET /metrics on the real stack: hubsync's own series, read at scrape time from PostgreSQL and
// the connection workflows; the worker entry point's Temporal SDK exporter; and log lines of
// operator requests that name the connection and no secret.
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it, inject } from 'vitest';
import { freePort } from '../../src/embedded/free-port.js';
import { webhookEventsSignal, type WebhookEvent } from '../../src/workflows/definitions.js';
import { eventually, OPERATOR_TOKEN, startStack, type Stack } from '../support/stack.js';

const PORTAL_ID = 700901;
const TOKEN = 'pat-na1-metrics-secret-token-0042';
const CONTACTS = 40;
const OTHER_PORTAL_ID = 700902;
const OTHER_TOKEN = 'pat-na1-metrics-secret-token-0043';

let stack: Stack;
let connectionId: string;
let workflowId: string;

async function scrape(path = '/metrics'): Promise<string> {
  const response = await fetch(`${stack.apiUrl}${path}`);
  expect(response.status).toBe(200);
  expect(response.headers.get('content-type')).toMatch(/^text\/plain; version=0\.0\.4/);
  return response.text();
}

/** The value of one series, or undefined when absent. */
function sample(text: string, name: string, labels: Record<string, string>): number | undefined {
  const wanted = Object.entries(labels).map(([key, value]) => `${key}="${value}"`);
  const line = text.split('\n').find((l) => l.startsWith(`${name}{`) && wanted.every((pair) => l.includes(pair)));
  return line === undefined ? undefined : Number(line.slice(line.lastIndexOf(' ') + 1));
}

beforeAll(async () => {
  stack = await startStack();
  await stack.control.createPortal({ portalId: PORTAL_ID });
  await stack.control.seed(PORTAL_ID, { seed: 3, contacts: CONTACTS, companies: 0, deals: 0, tickets: 0 });
  await stack.control.createToken(PORTAL_ID, { token: TOKEN });
  const response = await stack.api('/connections', { method: 'POST', json: { accessToken: TOKEN, objectTypes: ['contacts'], syncIntervalSeconds: 10 } });
  expect(response.status).toBe(201);
  ({ id: connectionId, workflowId } = (await response.json()) as { id: string; workflowId: string });
  await eventually(async () => {
    const body = (await (await stack.api(`/connections/${connectionId}`)).json()) as any;
    return body.live?.objects?.contacts?.backfill?.status === 'done' ? true : undefined;
  }, 60_000, 'the backfill');
}, 120_000);
afterAll(async () => stack?.close());

describe('GET /metrics', () => {
  it('answers Prometheus without a token, like /healthz', async () => {
    const text = await scrape();
    expect(text).toContain('# TYPE hubsync_records_synced_total counter');
    expect(text).toContain('# TYPE hubsync_sync_lag_seconds gauge');
    expect(text).toMatch(/^hubsync_api_process_cpu_seconds_total /m);
  });

  it('counts the records synced per connection and object type', async () => {
    expect(sample(await scrape(), 'hubsync_records_synced_total', { connection_id: connectionId, object_type: 'contacts' })).toBeGreaterThanOrEqual(CONTACTS);
  });

  it('gives the sync lag per connection, small while incremental sync keeps up', async () => {
    const lag = await eventually(async () => sample(await scrape(), 'hubsync_sync_lag_seconds', { connection_id: connectionId, object_type: 'contacts' }), 20_000, 'a lag series');
    expect(lag).toBeGreaterThanOrEqual(0);
    // Incremental runs every 10 s here.
    expect(lag).toBeLessThan(30);
  });

  it("counts HubSpot calls and 429s by portal from the shared rate budget", async () => {
    const before = await scrape();
    expect(sample(before, 'hubsync_hubspot_calls_today', { portal_id: String(PORTAL_ID) })).toBeGreaterThan(0);
    expect(sample(before, 'hubsync_hubspot_rate_limited_total', { portal_id: String(PORTAL_ID), kind: 'general' }) ?? 0).toBe(0);

    await stack.control.setFaults({ rateLimitStorm: { requests: 2 } }, PORTAL_ID);
    await stack.api(`/connections/${connectionId}/resync`, { method: 'POST', json: { since: new Date(Date.now() - 60_000).toISOString() } });
    const limited = await eventually(async () => {
      const value = sample(await scrape(), 'hubsync_hubspot_rate_limited_total', { portal_id: String(PORTAL_ID), kind: 'general' });
      return value !== undefined && value > 0 ? value : undefined;
    }, 30_000, 'a 429 in the metrics');
    expect(limited).toBeGreaterThanOrEqual(1);
  });

  it('counts webhook events received, deduplicated and applied', async () => {
    const [contact] = (await stack.control.groundTruth(PORTAL_ID)).objects.contacts!;
    const event: WebhookEvent = {
      eventId: 77, subscriptionId: 1, portalId: PORTAL_ID, occurredAt: Date.now(), subscriptionType: 'contact.propertyChange',
      objectId: contact!.id, propertyName: 'firstname', propertyValue: 'Twice',
    };
    const handle = stack.temporal.workflow.getHandle(workflowId);
    // HubSpot retries deliveries: the same event twice is one change.
    await handle.signal(webhookEventsSignal, [event]);
    await handle.signal(webhookEventsSignal, [event]);
    const text = await eventually(async () => {
      const current = await scrape();
      return sample(current, 'hubsync_webhook_events_applied_total', { connection_id: connectionId }) === 1 ? current : undefined;
    }, 30_000, 'the webhook event applied');
    expect(sample(text, 'hubsync_webhook_events_received_total', { connection_id: connectionId })).toBe(1);
    expect(sample(text, 'hubsync_webhook_events_deduplicated_total', { connection_id: connectionId })).toBe(1);
  });

  it("exports each connected portal's budget and what remains of it, as the status shows them", async () => {
    const text = await scrape();
    const status = (await (await stack.api(`/connections/${connectionId}`)).json()) as { rateBudget: { general: { budget: number } } };
    expect(sample(text, 'hubsync_hubspot_budget', { portal_id: String(PORTAL_ID), kind: 'general' })).toBe(status.rateBudget.general.budget);
    expect(sample(text, 'hubsync_hubspot_budget', { portal_id: String(PORTAL_ID), kind: 'search' })).toBeGreaterThan(0);
    const remaining = sample(text, 'hubsync_hubspot_remaining', { portal_id: String(PORTAL_ID), kind: 'general' });
    expect(remaining).toBeGreaterThanOrEqual(0);
    expect(remaining).toBeLessThanOrEqual(status.rateBudget.general.budget);
    expect(text).toContain('# TYPE hubsync_outbox_depth gauge');
  });

  it('gives the exact outbox depth per connection: engagement events stored and not yet pushed', async () => {
    // A second connection, so each series must carry its own connection's count.
    await stack.control.createPortal({ portalId: OTHER_PORTAL_ID });
    await stack.control.createToken(OTHER_PORTAL_ID, { token: OTHER_TOKEN });
    const created = await stack.api('/connections', { method: 'POST', json: { accessToken: OTHER_TOKEN, objectTypes: ['contacts'] } });
    expect(created.status).toBe(201);
    const otherId = ((await created.json()) as { id: string }).id;
    const engagement = (id: string) => ({
      id, type: 'opened', email: `${id}@example.org`, occurredAt: new Date().toISOString(), campaignId: 'metrics-1', campaignName: 'Metrics', subject: 'Depth',
    });
    const submit = async (id: string, ids: string[]) => {
      const response = await stack.api(`/connections/${id}/engagements`, { method: 'POST', json: { events: ids.map(engagement) } });
      expect(response.status).toBe(202);
      return response.json();
    };

    // No worker: the push workflow is signalled but cannot run, so every event stays pending.
    await stack.stopWorker();
    try {
      expect(await submit(connectionId, ['m-1', 'm-2', 'm-3'])).toEqual({ accepted: 3, duplicates: 0, pushScheduled: true });
      expect(await submit(otherId, ['o-1', 'o-2'])).toEqual({ accepted: 2, duplicates: 0, pushScheduled: true });
      // A resubmitted id is stored once: the depth does not count it twice.
      expect(await submit(otherId, ['o-2'])).toEqual({ accepted: 0, duplicates: 1, pushScheduled: true });
      const text = await scrape();
      expect(sample(text, 'hubsync_outbox_depth', { connection_id: connectionId })).toBe(3);
      expect(sample(text, 'hubsync_outbox_depth', { connection_id: otherId })).toBe(2);
    } finally {
      await stack.restartWorker();
    }
  });

  it('drops the series of a connection that stopped', async () => {
    await stack.api(`/connections/${connectionId}/stop`, { method: 'POST' });
    await stack.temporal.workflow.getHandle(workflowId).result();
    const text = await scrape();
    expect(sample(text, 'hubsync_records_synced_total', { connection_id: connectionId })).toBeUndefined();
    // The portal's HubSpot usage stays: it is the portal's, not the connection's.
    expect(sample(text, 'hubsync_hubspot_calls_today', { portal_id: String(PORTAL_ID) })).toBeGreaterThan(0);
  });
});

describe('logs of operator requests', () => {
  it('name the connection and its workflow, and carry neither the operator token nor the HubSpot token', async () => {
    const lines = stack.logs.map((line) => JSON.parse(line) as Record<string, unknown>);
    const created = lines.find((line) => line.msg === 'connection created');
    expect(created).toMatchObject({ connectionId, workflowId, portalId: PORTAL_ID, service: 'hubsync' });
    const control = lines.filter((line) => line.msg === 'connection control' && line.connectionId === connectionId);
    expect(control.map((line) => [line.action, line.workflowId])).toEqual(expect.arrayContaining([['resync', workflowId], ['stop', workflowId]]));
    const all = stack.logs.join('\n');
    expect(all).not.toContain(OPERATOR_TOKEN);
    expect(all).not.toContain(TOKEN);
  });
});

describe('the worker entry point with WORKER_METRICS_PORT', () => {
  let child: ChildProcess | undefined;
  afterAll(async () => {
    if (!child || child.exitCode !== null) return;
    const exited = new Promise((resolve) => child!.once('exit', resolve));
    child.kill('SIGTERM');
    await exited;
  });

  it("serves the Temporal SDK's worker metrics for Prometheus", async () => {
    const port = await freePort();
    child = spawn(process.execPath, ['--import', 'tsx', 'src/worker/main.ts'], {
      env: {
        ...process.env,
        TEMPORAL_ADDRESS: inject('temporalAddress'),
        DATABASE_URL: stack.db.url,
        TEMPORAL_TASK_QUEUE: `metrics-${randomBytes(4).toString('hex')}`,
        TOKEN_ENCRYPTION_KEY: stack.cipherKey,
        WORKER_METRICS_PORT: String(port),
        LOG_LEVEL: 'warn',
      },
      stdio: ['ignore', 'ignore', 'inherit'],
    });
    const text = await eventually(async () => {
      const response = await fetch(`http://127.0.0.1:${port}/metrics`).catch(() => undefined);
      const body = await response?.text();
      return body?.includes('temporal_worker_task_slots_available') ? body : undefined;
    }, 90_000, 'the worker metrics endpoint');
    expect(text).toMatch(/^temporal_worker_task_slots_available\{.*task_queue="metrics-/m);
  }, 120_000);
});
