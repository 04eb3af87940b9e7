// createSandbox wires the parts together: auth, rate-limit headers, faults, OAuth installs that
// start webhook delivery, and the demo portal `npm run sandbox` serves.
import type { AddressInfo } from 'node:net';
import express from 'express';
import { Client } from '@hubspot/api-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SandboxClient } from '../../src/sandbox/client.js';
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
  it('delivers a signed-up app’s webhook for a change made through its OAuth token', async () => {
    const received: Record<string, unknown>[] = [];
    const target = express().use(express.json()).post('/hook', (req, res) => {
      received.push(...(req.body as Record<string, unknown>[]));
      res.status(204).end();
    });
    const targetServer = await new Promise<import('node:http').Server>((resolve) => {
      const s = target.listen(0, '127.0.0.1', () => resolve(s));
    });
    const sandbox = createSandbox({ rateLimits: { enabled: false }, webhooks: { timeScale: 0.001 } });
    const server = await sandbox.listen(0);
    try {
      const control = new SandboxClient(server.url);
      await control.createPortal({ portalId: 888001 });
      const app = await control.createApp({ appId: 31337 });
      await fetch(`${server.url}/webhooks/v3/31337/settings`, { method: 'PUT', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ targetUrl: `http://127.0.0.1:${(targetServer.address() as AddressInfo).port}/hook` }) });
      await fetch(`${server.url}/webhooks/v3/31337/subscriptions`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ eventType: 'contact.creation' }) });
      const tokens = await control.installApp(888001, app.appId, ['crm.objects.contacts.write']);
      const hubspot = new Client({ accessToken: tokens.access_token, basePath: server.url, numberOfApiCallRetries: 0 });
      const details = (await (await hubspot.apiRequest({ method: 'GET', path: '/account-info/v3/details' })).json()) as { portalId: number };
      expect(details.portalId).toBe(888001);
      const created = await hubspot.crm.contacts.basicApi.create({ properties: { email: 'hooked@example.com' }, associations: [] });
      await sandbox.webhooks.idle();
      expect(received).toHaveLength(1);
      expect(received[0]).toMatchObject({ subscriptionType: 'contact.creation', objectId: Number(created.id), portalId: 888001, appId: 31337, changeSource: 'API', sourceId: '31337' });
    } finally {
      await server.close();
      targetServer.close();
    }
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
