// createSandbox wires the parts together: auth, rate-limit headers, faults, OAuth installs that
// start webhook delivery, and the demo portal `npm run sandbox` serves.
import type { AddressInfo } from 'node:net';
import express from 'express';
import { Client } from '@hubspot/api-client';
import { afterAll, beforeAll, beforeEach, describe, expect, it, vi } from 'vitest';
import { SandboxClient, SandboxControlError } from '../../src/sandbox/client.js';
import { createDemoPortal, createSandbox } from '../../src/sandbox/server.js';
import { failure, startFixture, type Fixture } from './sandbox-fixture.js';

describe('HubSpot middleware', () => {
  let f: Fixture;
  beforeAll(async () => {
    f = await startFixture({ rateLimits: { enabled: true } });
  });
  afterAll(() => f.close());

  it('sends rate-limit headers on CRM calls but not on search', async () => {
    const list = await fetch(`${f.url}/crm/v3/objects/contacts`, { headers: { authorization: `Bearer ${f.token}` } });
    expect(list.headers.get('x-hubspot-ratelimit-max')).toBe('100');
    expect(list.headers.get('x-hubspot-ratelimit-daily')).toBe('250000');
    const search = await fetch(`${f.url}/crm/v3/objects/contacts/search`, { method: 'POST', headers: { authorization: `Bearer ${f.token}`, 'content-type': 'application/json' }, body: '{}' });
    expect(search.status).toBe(200);
    expect(search.headers.get('x-hubspot-ratelimit-max')).toBeNull();
  });

  it('answers 401 INVALID_AUTHENTICATION without a valid token, but serves the control API without one', async () => {
    const noAuth = new Client({ accessToken: 'nope', basePath: f.url, numberOfApiCallRetries: 0 });
    const err = await failure(noAuth.crm.contacts.basicApi.getPage());
    expect(err.code).toBe(401);
    expect(err.body.category).toBe('INVALID_AUTHENTICATION');
    expect((await f.control.listPortals()).results.map((p) => p.portalId)).toContain(f.portalId);
  });

  it('injects faults into HubSpot routes only, and counts requests per status', async () => {
    await f.control.setFaults({ errorRate: 1, errorStatuses: [503] }, f.portalId);
    try {
      expect((await failure(f.hubspot.crm.contacts.basicApi.getPage())).code).toBe(503);
      expect((await f.control.groundTruth(f.portalId)).portalId).toBe(f.portalId);
    } finally {
      await f.control.clearFaults(f.portalId);
    }
    const counters = await f.control.counters();
    expect(counters.requests.byStatus['503']).toBe(1);
    expect(counters.requests.byPortal[String(f.portalId)]).toBeGreaterThanOrEqual(3);
  });
});

describe('private apps', () => {
  it('each token the control API creates is its own private app with its own ten-second budget; counters keep the portal total', async () => {
    const sandbox = createSandbox();
    const server = await sandbox.listen(0);
    try {
      const control = new SandboxClient(server.url);
      await control.createPortal({ portalId: 888101 });
      const [a, b] = [await control.createToken(888101), await control.createToken(888101)];
      expect(a.appId).not.toBe(b.appId);
      const call = (token: string) => fetch(`${server.url}/crm/v3/objects/contacts`, { headers: { authorization: `Bearer ${token}` } });
      const statuses: number[] = [];
      for (let i = 0; i < 101; i++) statuses.push((await call(a.token)).status);
      expect(statuses.slice(0, 100).every((s) => s === 200)).toBe(true);
      expect(statuses[100]).toBe(429);
      expect((await call(b.token)).status).toBe(200);
      const { rateLimits } = await control.counters();
      expect(rateLimits.portals['888101']).toMatchObject({
        requests: 102,
        rejected: { TEN_SECONDLY_ROLLING: 1 },
        apps: { [a.appId]: { requests: 101, rejected: { TEN_SECONDLY_ROLLING: 1 } }, [b.appId]: { requests: 1, rejected: { TEN_SECONDLY_ROLLING: 0 } } },
      });
    } finally {
      await server.close();
    }
  });
});

describe('OAuth install and webhooks', () => {
  const received: Record<string, unknown>[] = [];
  /** The hook's answer; a test makes it fail to leave a retry pending. */
  let answer = 204;
  let targetServer: import('node:http').Server;
  let sandbox: ReturnType<typeof createSandbox>;
  let server: { url: string; close(): Promise<void> };
  let control: SandboxClient;

  beforeAll(async () => {
    const target = express().use(express.json()).post('/hook', (req, res) => {
      received.push(...(req.body as Record<string, unknown>[]));
      res.status(answer).end();
    });
    targetServer = await new Promise((resolve) => {
      const s = target.listen(0, '127.0.0.1', () => resolve(s));
    });
    sandbox = createSandbox({ rateLimits: { enabled: false }, webhooks: { timeScale: 0.001 } });
    server = await sandbox.listen(0);
    control = new SandboxClient(server.url);
  });
  afterAll(async () => {
    await server.close();
    targetServer.close();
  });
  beforeEach(() => {
    received.length = 0;
    answer = 204;
  });

  /** A portal with an app whose webhooks go to the hook, subscribed to `eventTypes`. */
  async function appWithHooks(portalId: number, appId: number, eventTypes: string[]) {
    await control.createPortal({ portalId });
    const app = await control.createApp({ appId });
    const put = (path: string, method: string, body: unknown) =>
      fetch(`${server.url}/webhooks/v3/${appId}/${path}`, { method, headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
    await put('settings', 'PUT', { targetUrl: `http://127.0.0.1:${(targetServer.address() as AddressInfo).port}/hook` });
    for (const eventType of eventTypes) await put('subscriptions', 'POST', { eventType });
    return app;
  }

  it('delivers a signed-up app’s webhook for a change made through its OAuth token', async () => {
    const app = await appWithHooks(888001, 31337, ['contact.creation']);
    const tokens = await control.installApp(888001, app.appId, ['crm.objects.contacts.write']);
    const hubspot = new Client({ accessToken: tokens.access_token, basePath: server.url, numberOfApiCallRetries: 0 });
    const details = (await (await hubspot.apiRequest({ method: 'GET', path: '/account-info/v3/details' })).json()) as { portalId: number };
    expect(details.portalId).toBe(888001);
    const created = await hubspot.crm.contacts.basicApi.create({ properties: { email: 'hooked@example.com' }, associations: [] });
    await sandbox.webhooks.idle();
    expect(received).toHaveLength(1);
    expect(received[0]).toMatchObject({ subscriptionType: 'contact.creation', objectId: Number(created.id), portalId: 888001, appId: 31337, changeSource: 'API', sourceId: '31337' });
  });

  it('an app installed through the OAuth redirect gets webhooks until the portal uninstalls it; a pending retry is dropped', async () => {
    const app = await appWithHooks(888002, 31338, ['contact.creation']);
    const redirect = 'http://127.0.0.1:1/callback';
    const authorize = await fetch(`${server.url}/oauth/authorize?client_id=${app.clientId}&redirect_uri=${encodeURIComponent(redirect)}&scope=oauth&portalId=888002`, { redirect: 'manual' });
    const code = new URL(authorize.headers.get('location')!).searchParams.get('code')!;
    const grant = await new Client({ basePath: server.url, numberOfApiCallRetries: 0 }).oauth.tokensApi.create('authorization_code', code, redirect, app.clientId, app.clientSecret);

    await control.createObject(888002, 'contacts', { email: 'before.uninstall@example.com' });
    await sandbox.webhooks.idle();
    expect(received).toHaveLength(1);

    // The next delivery fails and waits for its retry (300 s at 0.001 = 300 ms) when the uninstall comes.
    answer = 500;
    await control.configureWebhooks({ retryBaseDelayMs: 300_000 });
    try {
      await control.createObject(888002, 'contacts', { email: 'pending.retry@example.com' });
      await vi.waitFor(() => expect(received).toHaveLength(2));
      const before = sandbox.webhooks.stats();
      await control.uninstallApp(888002, app.appId);
      await control.createObject(888002, 'contacts', { email: 'after.uninstall@example.com' });
      await sandbox.webhooks.idle();
      expect(received).toHaveLength(2);
      expect(sandbox.webhooks.stats().discarded - before.discarded).toBe(1);
      expect(sandbox.webhooks.stats().eventsCreated).toBe(before.eventsCreated);
    } finally {
      await control.configureWebhooks({ retryBaseDelayMs: 60_000 });
    }
    const err = await failure(new Client({ accessToken: grant.accessToken, basePath: server.url, numberOfApiCallRetries: 0 }).crm.contacts.basicApi.getPage());
    expect(err.code).toBe(401);
  });

  it("revoking the portal's tokens uninstalls every app: its webhooks stop", async () => {
    const app = await appWithHooks(888003, 31339, ['contact.creation']);
    await control.installApp(888003, app.appId);
    await control.createObject(888003, 'contacts', { email: 'one@example.com' });
    await sandbox.webhooks.idle();
    expect(received).toHaveLength(1);
    await control.revokeTokens(888003);
    await control.createObject(888003, 'contacts', { email: 'two@example.com' });
    await sandbox.webhooks.idle();
    expect(received).toHaveLength(1);
  });

  it('tells subscribers of both sides about an association change made from one side', async () => {
    const app = await appWithHooks(888004, 31340, ['contact.associationChange', 'company.associationChange']);
    const tokens = await control.installApp(888004, app.appId);
    const hubspot = new Client({ accessToken: tokens.access_token, basePath: server.url, numberOfApiCallRetries: 0 });
    const company = await hubspot.crm.companies.basicApi.create({ properties: { name: 'Both Sides' }, associations: [] });
    const contact = await hubspot.crm.contacts.basicApi.create({ properties: { email: 'sides@example.com' }, associations: [] });
    await hubspot.crm.associations.v4.basicApi.createDefault('contacts', contact.id, 'companies', company.id);
    await sandbox.webhooks.idle();
    const seen = received.map((e) => [e.subscriptionType, e.associationType, e.objectId, e.fromObjectId, e.toObjectId, e.associationRemoved]);
    expect(seen).toEqual(
      expect.arrayContaining([
        ['contact.associationChange', 'CONTACT_TO_COMPANY_UNLABELED', Number(contact.id), Number(contact.id), Number(company.id), false],
        ['company.associationChange', 'COMPANY_TO_CONTACT_UNLABELED', Number(company.id), Number(company.id), Number(contact.id), false],
      ]),
    );
    expect(received).toHaveLength(2);
  });

  it("refuses webhook delivery options beyond HubSpot's caps with a HubSpot-shaped 400", async () => {
    const err = await control.configureWebhooks({ maxBatchSize: 1000 }).catch((e: unknown) => e as SandboxControlError);
    expect(err).toBeInstanceOf(SandboxControlError);
    expect((err as SandboxControlError).status).toBe(400);
    expect((err as SandboxControlError).body).toMatchObject({ status: 'error', category: 'VALIDATION_ERROR', message: expect.stringContaining('maxBatchSize') });
    expect(sandbox.webhooks.options.maxBatchSize).toBe(100);
  });
});

describe('demo portal', () => {
  it('is seeded with associated contacts, companies, deals and tickets behind a fixed token', async () => {
    const sandbox = createSandbox();
    const server = await sandbox.listen(0);
    try {
      const demo = createDemoPortal(sandbox, { contacts: 200, companies: 30, deals: 40, tickets: 20 });
      const hubspot = new Client({ accessToken: demo.token, basePath: server.url, numberOfApiCallRetries: 0 });
      const search = await hubspot.crm.deals.searchApi.doSearch({ filterGroups: [], sorts: [], properties: [], limit: 1, after: '0' });
      expect(search.total).toBe(40);
      const page = await hubspot.crm.contacts.basicApi.getPage(100, undefined, undefined, undefined, ['companies']);
      expect(page.results.filter((r) => r.associations?.companies).length).toBeGreaterThan(50);
    } finally {
      await server.close();
    }
  });
});
