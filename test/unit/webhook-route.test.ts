// POST /webhooks/hubspot with Temporal and PostgreSQL stubbed: what the real stack cannot easily
// show — Temporal refusing a signal, a workflow gone from Temporal, legacy v1/v2 signatures
// where configured — behind a proxy whose public URL is not the listen address.
import type { AddressInfo } from 'node:net';
import { WorkflowNotFoundError, type Client } from '@temporalio/client';
import type { Pool } from 'pg';
import { afterEach, describe, expect, it } from 'vitest';
import { createApp, type ApiDeps } from '../../src/api/app.js';
import { listen } from '../../src/api/server.js';
import type { WebhookSignatureVersion } from '../../src/config.js';
import type { TokenCipher } from '../../src/crypto/token-cipher.js';
import type { RateBudget } from '../../src/hubspot/rate-budget.js';
import { signV1, signV2, signV3 } from '../../src/hubspot/webhook-signature.js';
import { createLogger } from '../../src/logger.js';

const SECRET = 'unit-client-secret';
const PUBLIC_BASE_URL = 'https://hubsync.example.com/hooks';
const PUBLIC_URL = `${PUBLIC_BASE_URL}/webhooks/hubspot`;

type Signal = (workflowId: string, events: unknown) => Promise<void>;

const running: Array<() => Promise<void>> = [];
afterEach(async () => {
  for (const close of running.splice(0)) await close();
});

/** The API with one connection for every portal, whose signals go to `signal`. */
async function api(signal: Signal, signatureVersions: WebhookSignatureVersion[] = ['v3']): Promise<string> {
  const pool = { query: async () => ({ rows: [{ id: 'c1', workflow_id: 'connection:c1', app_id: '1' }] }) } as unknown as Pool;
  const temporal = {
    options: { loadedDataConverter: { payloadCodecs: [] } },
    withDeadline: (_deadline: number, fn: () => Promise<unknown>) => fn(),
    workflow: { getHandle: (workflowId: string) => ({ signal: (_def: unknown, events: unknown) => signal(workflowId, events) }) },
  } as unknown as Client;
  // Asserted: the stubs stand in for only what the webhook route touches.
  const app = createApp({
    pool,
    temporal,
    taskQueue: 'unit',
    cipher: {} as TokenCipher,
    budget: {} as RateBudget,
    hubspot: { apiBaseUrl: 'http://127.0.0.1:1', authorizeUrl: 'http://127.0.0.1:1', clientId: 'id', clientSecret: SECRET, redirectUri: undefined, appId: 1, scopes: '', tokenVersion: 'v3' },
    webhooks: { publicBaseUrl: PUBLIC_BASE_URL, signatureVersions, developerApiKey: undefined },
    apiToken: 'unit-operator-token-0123',
    sandbox: false,
    log: createLogger('silent'),
  } as ApiDeps);
  const http = await listen(app, 0, '127.0.0.1');
  running.push(http.close);
  return `http://127.0.0.1:${(http.server.address() as AddressInfo).port}`;
}

const body = JSON.stringify([{ eventId: 1, subscriptionId: 2, portalId: 3, occurredAt: 4, subscriptionType: 'contact.creation', objectId: 5 }]);

function post(base: string, headers: Record<string, string>): Promise<Response> {
  return fetch(`${base}/webhooks/hubspot`, { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body });
}

const v3 = (): Record<string, string> => {
  const timestamp = Date.now();
  return { 'x-hubspot-signature-v3': signV3(SECRET, 'POST', PUBLIC_URL, body, timestamp), 'x-hubspot-request-timestamp': String(timestamp) };
};

describe('POST /webhooks/hubspot (stubbed Temporal)', () => {
  it('answers 503 when Temporal does not take the signal, so HubSpot retries', async () => {
    const base = await api(async () => {
      throw new Error('14 UNAVAILABLE: connection refused');
    });
    const response = await post(base, v3());
    expect(response.status).toBe(503);
    expect(await response.json()).toEqual({ error: { code: 'temporal_unavailable', message: expect.stringMatching(/retry/) } });
  });

  it('acknowledges events whose connection has no running workflow, as for an unknown portal', async () => {
    const base = await api(async (workflowId) => {
      throw new WorkflowNotFoundError('not found', workflowId, undefined);
    });
    const response = await post(base, v3());
    expect(response.status).toBe(200);
    expect(await response.json()).toEqual({ accepted: 0, ignored: 1, unknownPortals: [3] });
  });

  it('accepts v1 and v2 signatures only when configured, and still prefers v3', async () => {
    const signals: unknown[] = [];
    const record: Signal = async (_id, events) => void signals.push(events);
    const v1 = { 'x-hubspot-signature': signV1(SECRET, body), 'x-hubspot-signature-version': 'v1' };
    const v2 = { 'x-hubspot-signature': signV2(SECRET, 'POST', PUBLIC_URL, body), 'x-hubspot-signature-version': 'v2' };

    const strict = await api(record);
    expect((await post(strict, v1)).status).toBe(401);
    expect((await post(strict, v2)).status).toBe(401);

    const legacy = await api(record, ['v3', 'v2', 'v1']);
    expect((await post(legacy, v1)).status).toBe(200);
    expect((await post(legacy, v2)).status).toBe(200);
    expect((await post(legacy, { ...v2, 'x-hubspot-signature': signV2('wrong', 'POST', PUBLIC_URL, body) })).status).toBe(401);
    // A bad v3 is not rescued by a good v1 next to it: v1 carries no timestamp and replays for ever.
    expect((await post(legacy, { ...v1, ...v3(), 'x-hubspot-signature-v3': 'bad' })).status).toBe(401);
    expect(signals).toHaveLength(2);
  });
});
