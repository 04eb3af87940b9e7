import { Client } from '@hubspot/api-client';
import express from 'express';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it, vi } from 'vitest';
import { verifyV1, verifyV2, verifyV3 } from '../../src/hubspot/webhook-signature.js';
import { AdjustableClock, type CrmChange } from '../../src/sandbox/types.js';
import { createWebhooksRouter, WebhookDispatcher, type WebhookEvent } from '../../src/sandbox/webhooks.js';
import { serve, type Served } from './edges-http.js';

const APP = { appId: 3001, clientSecret: 'hook-secret-3001' };
const PORTAL = 62515;

interface Received {
  headers: Record<string, string>;
  raw: string;
  events: WebhookEvent[];
}

/** A webhook endpoint that records what arrives and answers as the test says. */
const receiver = {
  requests: [] as Received[],
  inFlight: 0,
  maxInFlight: 0,
  /** Returns the status for the n-th request (0-based) and how long to wait before answering. */
  behave: (_n: number): { status: number; delayMs?: number } => ({ status: 204 }),
};

let hooks: Served;
let api: Served;
let clock: AdjustableClock;
let dispatcher: WebhookDispatcher;
let targetUrl: string;

beforeAll(async () => {
  const app = express();
  app.post('/hook', express.raw({ type: '*/*' }), async (req, res) => {
    const n = receiver.requests.length;
    const raw = (req.body as Buffer).toString('utf8');
    receiver.requests.push({ headers: req.headers as Record<string, string>, raw, events: JSON.parse(raw) as WebhookEvent[] });
    receiver.inFlight++;
    receiver.maxInFlight = Math.max(receiver.maxInFlight, receiver.inFlight);
    const { status, delayMs = 0 } = receiver.behave(n);
    await new Promise((r) => setTimeout(r, delayMs));
    receiver.inFlight--;
    if (!res.destroyed) res.status(status).end();
  });
  hooks = await serve(app);
  targetUrl = `${hooks.url}/hook`;
});
afterAll(() => hooks.close());

/** The app is installed in PORTAL only. */
const isInstalled = (appId: number, portalId: number) => appId === APP.appId && portalId === PORTAL;

function newDispatcher(seed = 42, signatureVersion: 'v1' | 'v2' = 'v1') {
  const d = new WebhookDispatcher({ clock, seed, isInstalled, options: { timeScale: 0.001, timeoutMs: 1_000 } });
  d.registerApp({ ...APP, signatureVersion });
  d.setSettings(APP.appId, { targetUrl });
  return d;
}

beforeEach(() => {
  receiver.requests = [];
  receiver.inFlight = 0;
  receiver.maxInFlight = 0;
  receiver.behave = () => ({ status: 204 });
  clock = new AdjustableClock();
  dispatcher = newDispatcher();
});
afterEach(() => dispatcher.close());

let nextId = 1;
function change(partial: Partial<CrmChange> = {}): CrmChange {
  return {
    portalId: PORTAL,
    objectType: 'contacts',
    objectTypeId: '0-1',
    objectId: String(nextId++),
    change: 'creation',
    occurredAt: clock.now(),
    changeSource: 'CRM_UI',
    ...partial,
  };
}

const allEvents = () => receiver.requests.flatMap((r) => r.events);

describe('webhook delivery', () => {
  it('delivers every change in batches of at most 100, each signed v1 and v3', async () => {
    dispatcher.subscribe(APP.appId, { eventType: 'contact.creation' });
    for (let i = 0; i < 250; i++) dispatcher.handle(change());
    await dispatcher.idle();

    expect(allEvents()).toHaveLength(250);
    expect(receiver.requests.length).toBeGreaterThanOrEqual(3);
    for (const r of receiver.requests) {
      expect(r.events.length).toBeLessThanOrEqual(100);
      expect(r.headers['x-hubspot-signature-version']).toBe('v1');
      expect(verifyV1({ secret: APP.clientSecret, rawBody: r.raw, signature: r.headers['x-hubspot-signature'] })).toEqual({ ok: true });
      const v3 = {
        secret: APP.clientSecret, method: 'POST', uri: targetUrl, rawBody: r.raw,
        signature: r.headers['x-hubspot-signature-v3'], timestamp: r.headers['x-hubspot-request-timestamp'], now: clock.now(),
      };
      expect(verifyV3(v3)).toEqual({ ok: true });
      expect(verifyV3({ ...v3, secret: 'wrong' })).toEqual({ ok: false, reason: 'bad_signature' });
    }
    const first = allEvents()[0]!;
    expect(first).toEqual({
      eventId: expect.any(Number),
      subscriptionId: dispatcher.listSubscriptions(APP.appId)[0]!.id,
      portalId: PORTAL,
      appId: APP.appId,
      occurredAt: expect.any(Number),
      subscriptionType: 'contact.creation',
      attemptNumber: 0,
      objectId: expect.any(Number),
      changeSource: 'CRM_UI',
      changeFlag: 'NEW',
    });
    expect(new Set(allEvents().map((e) => e.eventId)).size).toBe(250);
  });

  it('signs the v2 variant when the app is configured for it', async () => {
    dispatcher.close();
    dispatcher = newDispatcher(42, 'v2');
    dispatcher.subscribe(APP.appId, { eventType: 'contact.creation' });
    dispatcher.handle(change());
    await dispatcher.idle();
    const r = receiver.requests[0]!;
    expect(r.headers['x-hubspot-signature-version']).toBe('v2');
    const input = { secret: APP.clientSecret, method: 'POST', uri: targetUrl, rawBody: r.raw, signature: r.headers['x-hubspot-signature'] };
    expect(verifyV2(input)).toEqual({ ok: true });
  });

  it('sends only what the app subscribed to, in portals where it is installed', async () => {
    dispatcher.subscribe(APP.appId, { eventType: 'contact.propertyChange', propertyName: 'email' });
    const custom = dispatcher.subscribe(APP.appId, { eventType: 'object.creation', objectTypeId: '2-777' });
    dispatcher.subscribe(APP.appId, { eventType: 'contact.deletion' });
    dispatcher.subscribe(APP.appId, { eventType: 'contact.privacyDeletion' });
    dispatcher.subscribe(APP.appId, { eventType: 'contact.merge' });

    dispatcher.handle(change({ change: 'propertyChange', objectId: '10', propertyName: 'email', propertyValue: 'a@b.example', sourceId: '3001' }));
    dispatcher.handle(change({ change: 'propertyChange', propertyName: 'firstname', propertyValue: 'Ann' }));
    dispatcher.handle(change({ objectType: 'p_cars', objectTypeId: '2-777', objectId: '20' }));
    dispatcher.handle(change({ objectType: 'p_boats', objectTypeId: '2-888' }));
    dispatcher.handle(change({ change: 'privacyDeletion', objectId: '30' }));
    dispatcher.handle(change({ change: 'merge', objectId: '40', primaryObjectId: '40', mergedObjectIds: ['41'], newObjectId: '40', numberOfPropertiesMoved: 3 }));
    dispatcher.handle(change({ portalId: 999, change: 'deletion' }));
    await dispatcher.idle();

    const byType = Object.fromEntries(allEvents().map((e) => [e.subscriptionType, e]));
    expect(Object.keys(byType).sort()).toEqual(
      ['contact.deletion', 'contact.merge', 'contact.privacyDeletion', 'contact.propertyChange', 'object.creation'].sort(),
    );
    expect(byType['contact.propertyChange']).toMatchObject({ objectId: 10, propertyName: 'email', propertyValue: 'a@b.example', sourceId: '3001' });
    expect(byType['object.creation']).toMatchObject({ objectId: 20, objectTypeId: '2-777', subscriptionId: custom.id });
    expect(byType['contact.deletion']).toMatchObject({ objectId: 30 });
    expect(byType['contact.merge']).toMatchObject({ primaryObjectId: 40, mergedObjectIds: [41], newObjectId: 40, numberOfPropertiesMoved: 3 });
    expect(byType['contact.creation']).toBeUndefined();
  });

  it('retries a batch answered 500 with a rising attemptNumber until it is accepted', async () => {
    dispatcher.subscribe(APP.appId, { eventType: 'contact.creation' });
    receiver.behave = (n) => ({ status: n < 2 ? 500 : 200 });
    dispatcher.handle(change());
    await dispatcher.idle();
    expect(receiver.requests.map((r) => r.events[0]!.attemptNumber)).toEqual([0, 1, 2]);
    expect(new Set(receiver.requests.map((r) => r.events[0]!.eventId)).size).toBe(1);
    expect(dispatcher.stats()).toMatchObject({ attempts: 3, failures: 2, delivered: 1, dropped: 0 });
  });

  it('treats an answer slower than the timeout as a failure and retries', async () => {
    dispatcher.configure({ timeoutMs: 100 });
    dispatcher.subscribe(APP.appId, { eventType: 'contact.creation' });
    receiver.behave = (n) => ({ status: 200, delayMs: n === 0 ? 400 : 0 });
    dispatcher.handle(change());
    await dispatcher.idle();
    expect(receiver.requests).toHaveLength(2);
    expect(dispatcher.stats()).toMatchObject({ failures: 1, delivered: 1 });
  });

  it('gives up after the last retry', async () => {
    dispatcher.configure({ maxRetries: 3 });
    dispatcher.subscribe(APP.appId, { eventType: 'contact.creation' });
    receiver.behave = () => ({ status: 400 });
    dispatcher.handle(change());
    dispatcher.handle(change());
    await dispatcher.idle();
    expect(receiver.requests).toHaveLength(4);
    expect(dispatcher.stats()).toMatchObject({ attempts: 4, failures: 4, dropped: 2, delivered: 0 });
  });

  it('retries 10 times by default, waiting 1, 2, 4 … 512 minutes between attempts, then drops the batch', async () => {
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout', 'Date'] });
    try {
      const attempts: { at: number; attemptNumber: number }[] = [];
      const failing: typeof fetch = async (_url, init) => {
        const events = JSON.parse(String(init?.body)) as WebhookEvent[];
        attempts.push({ at: Date.now(), attemptNumber: events[0]!.attemptNumber });
        return new Response(null, { status: 503 });
      };
      const d = new WebhookDispatcher({ clock: new AdjustableClock(), isInstalled, fetch: failing });
      d.registerApp(APP);
      d.setSettings(APP.appId, { targetUrl });
      d.subscribe(APP.appId, { eventType: 'contact.creation' });
      d.handle(change());
      await vi.runAllTimersAsync();
      expect(attempts.map((a) => a.attemptNumber)).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10]);
      const gaps = attempts.slice(1).map((a, i) => a.at - attempts[i]!.at);
      expect(gaps).toEqual([1, 2, 4, 8, 16, 32, 64, 128, 256, 512].map((minutes) => minutes * 60_000));
      expect(d.stats()).toMatchObject({ attempts: 11, failures: 11, dropped: 1, delivered: 0 });
    } finally {
      vi.useRealTimers();
    }
  });

  it("stamps X-HubSpot-Request-Timestamp with the sender's wall clock while occurredAt stays simulated time", async () => {
    dispatcher.subscribe(APP.appId, { eventType: 'contact.creation' });
    clock.advance(3 * 24 * 3600 * 1000);
    const occurredAt = clock.now();
    const before = Date.now();
    dispatcher.handle(change({ occurredAt }));
    await dispatcher.idle();
    const r = receiver.requests[0]!;
    const timestamp = Number(r.headers['x-hubspot-request-timestamp']);
    expect(timestamp).toBeGreaterThanOrEqual(before);
    expect(timestamp).toBeLessThanOrEqual(Date.now());
    expect(r.events[0]!.occurredAt).toBe(occurredAt);
    // A receiver checking the 5-minute window against its own clock accepts it.
    const v3 = { secret: APP.clientSecret, method: 'POST', uri: targetUrl, rawBody: r.raw, signature: r.headers['x-hubspot-signature-v3'], timestamp: r.headers['x-hubspot-request-timestamp'], now: Date.now() };
    expect(verifyV3(v3)).toEqual({ ok: true });
  });

  it('sends an association change seen from the other record by default, and only the one side when configured', async () => {
    dispatcher.subscribe(APP.appId, { eventType: 'contact.associationChange' });
    dispatcher.subscribe(APP.appId, { eventType: 'company.associationChange' });
    const assoc = { change: 'associationChange' as const, associationRemoved: false, isPrimaryAssociation: false };
    dispatcher.handle(change({ ...assoc, objectId: '1', associationType: 'CONTACT_TO_COMPANY', fromObjectId: '1', toObjectId: '2' }));
    dispatcher.handle(change({ ...assoc, objectType: 'companies', objectTypeId: '0-2', objectId: '2', associationType: 'COMPANY_TO_CONTACT', fromObjectId: '2', toObjectId: '1', inverse: true }));
    await dispatcher.idle();
    expect(allEvents().map((e) => [e.subscriptionType, e.associationType, e.objectId])).toEqual([
      ['contact.associationChange', 'CONTACT_TO_COMPANY', 1],
      ['company.associationChange', 'COMPANY_TO_CONTACT', 2],
    ]);

    receiver.requests = [];
    dispatcher.configure({ associationChanges: 'one' });
    dispatcher.handle(change({ ...assoc, objectId: '3', associationType: 'CONTACT_TO_COMPANY', fromObjectId: '3', toObjectId: '4' }));
    dispatcher.handle(change({ ...assoc, objectType: 'companies', objectTypeId: '0-2', objectId: '4', associationType: 'COMPANY_TO_CONTACT', fromObjectId: '4', toObjectId: '3', inverse: true }));
    await dispatcher.idle();
    expect(allEvents().map((e) => e.subscriptionType)).toEqual(['contact.associationChange']);
  });

  it('refuses a batch size over 100, as HubSpot never sends more', () => {
    expect(() => dispatcher.configure({ maxBatchSize: 101 })).toThrow(/maxBatchSize/);
    expect(dispatcher.options.maxBatchSize).toBe(100);
  });

  it('stops sending, and drops pending retries, once the app is uninstalled', async () => {
    let installed = true;
    const d = new WebhookDispatcher({ clock, isInstalled: () => installed, options: { timeScale: 0.001, retryBaseDelayMs: 100_000 } });
    try {
      d.registerApp(APP);
      d.setSettings(APP.appId, { targetUrl });
      d.subscribe(APP.appId, { eventType: 'contact.creation' });
      receiver.behave = () => ({ status: 500 });
      d.handle(change());
      await vi.waitFor(() => expect(receiver.requests).toHaveLength(1));
      installed = false;
      d.handle(change());
      await d.idle();
      expect(receiver.requests).toHaveLength(1);
      expect(d.stats()).toMatchObject({ attempts: 1, discarded: 1, eventsCreated: 1 });
    } finally {
      d.close();
    }
  });

  it('sends duplicates with the same eventId when configured', async () => {
    dispatcher.configure({ duplicateRate: 1 });
    dispatcher.subscribe(APP.appId, { eventType: 'contact.creation' });
    for (let i = 0; i < 5; i++) dispatcher.handle(change());
    await dispatcher.idle();
    const ids = allEvents().map((e) => e.eventId);
    expect(ids).toHaveLength(10);
    expect(new Set(ids).size).toBe(5);
    expect(dispatcher.stats().duplicatesSent).toBe(5);
  });

  it('keeps change order without reordering and shuffles it, deterministically per seed, with it', async () => {
    const run = async (seed: number, reorder: boolean) => {
      receiver.requests = [];
      dispatcher.close();
      dispatcher = newDispatcher(seed);
      // One batch holds all 50 (HubSpot's cap is 100), so only the shuffle can change the order.
      dispatcher.configure({ reorder, maxBatchSize: 100 });
      dispatcher.subscribe(APP.appId, { eventType: 'contact.creation' });
      for (let i = 0; i < 50; i++) dispatcher.handle(change({ objectId: String(i) }));
      await dispatcher.idle();
      return allEvents().map((e) => e.objectId);
    };
    const inOrder = await run(1, false);
    expect(inOrder).toEqual([...Array(50).keys()]);
    const shuffled = await run(7, true);
    expect(shuffled).not.toEqual(inOrder);
    expect([...shuffled].sort((a, b) => a - b)).toEqual(inOrder);
    expect(await run(7, true)).toEqual(shuffled);
  });

  it('never has more than 10 requests in flight to one portal, and honours a lower app setting', async () => {
    dispatcher.subscribe(APP.appId, { eventType: 'contact.creation' });
    receiver.behave = () => ({ status: 200, delayMs: 40 });
    for (let i = 0; i < 3000; i++) dispatcher.handle(change());
    await dispatcher.idle();
    expect(allEvents()).toHaveLength(3000);
    expect(receiver.maxInFlight).toBe(10);

    receiver.maxInFlight = 0;
    dispatcher.setSettings(APP.appId, { targetUrl, maxConcurrentRequests: 3 });
    for (let i = 0; i < 1000; i++) dispatcher.handle(change());
    await dispatcher.idle();
    expect(receiver.maxInFlight).toBe(3);
  });
});

describe('webhooks API', () => {
  beforeAll(async () => {
    const app = express();
    app.use(createWebhooksRouter(newDispatcherForApi()));
    api = await serve(app);
  });
  afterAll(() => api.close());

  let apiDispatcher: WebhookDispatcher;
  function newDispatcherForApi() {
    apiDispatcher = new WebhookDispatcher({ clock: new AdjustableClock(), isInstalled });
    return apiDispatcher;
  }

  it('configures settings and subscriptions through the official client', async () => {
    const client = new Client({ developerApiKey: 'dev-key', basePath: api.url, numberOfApiCallRetries: 0 });
    const settings = await client.webhooks.settingsApi.configure(APP.appId, { targetUrl: 'https://example.com/hook', throttling: { maxConcurrentRequests: 7 } });
    expect(settings).toMatchObject({ targetUrl: 'https://example.com/hook', throttling: { maxConcurrentRequests: 7 } });
    expect((await client.webhooks.settingsApi.getAll(APP.appId)).targetUrl).toBe('https://example.com/hook');

    const created = await client.webhooks.subscriptionsApi.create(APP.appId, {
      eventType: 'contact.propertyChange' as never,
      propertyName: 'email',
      active: true,
    });
    expect(created).toMatchObject({ eventType: 'contact.propertyChange', propertyName: 'email', active: true, id: expect.any(String) });
    expect((await client.webhooks.subscriptionsApi.getAll(APP.appId)).results).toHaveLength(1);
    await client.webhooks.subscriptionsApi.archive(Number(created.id), APP.appId);
    expect((await client.webhooks.subscriptionsApi.getAll(APP.appId)).results).toHaveLength(0);
    expect(apiDispatcher.listSubscriptions(APP.appId)).toEqual([]);
  });

  it('refuses more than 10 concurrent requests with a HubSpot-shaped 400, and accepts 10', async () => {
    const client = new Client({ developerApiKey: 'dev-key', basePath: api.url, numberOfApiCallRetries: 0 });
    const error = await client.webhooks.settingsApi.configure(APP.appId, { targetUrl: 'https://example.com/hook', throttling: { maxConcurrentRequests: 50 } }).catch((e: unknown) => e);
    expect(error).toMatchObject({ code: 400, body: { status: 'error', category: 'VALIDATION_ERROR', correlationId: expect.any(String), message: expect.stringContaining('maxConcurrentRequests') } });
    const ok = await client.webhooks.settingsApi.configure(APP.appId, { targetUrl: 'https://example.com/hook', throttling: { maxConcurrentRequests: 10 } });
    expect(ok.throttling.maxConcurrentRequests).toBe(10);
  });

  it('refuses a propertyChange subscription without propertyName', async () => {
    const res = await fetch(`${api.url}/webhooks/v3/${APP.appId}/subscriptions?hapikey=x`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ eventType: 'contact.propertyChange' }),
    });
    expect(res.status).toBe(400);
    expect(await res.json()).toMatchObject({ category: 'VALIDATION_ERROR' });
  });
});
