// POST /webhooks/hubspot on the real stack: signed batches become exactly one `webhookEvents`
// signal per live connection of each portal; bad input gets its documented 4xx and no workflow
// history gains a signal; the simulator's own signed delivery through a real URL arrives too.
import { settled } from '../support/history.js';
import { decodeFirst } from '../support/payloads.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { recordOwnWrites } from '../../src/db/write-ledger.js';
import { signV3 } from '../../src/hubspot/webhook-signature.js';
import { webhookEventsSignal, type WebhookEvent } from '../../src/workflows/definitions.js';
import { installConnection } from '../support/oauth-install.js';
import { OAUTH_APP, startStack, type Stack } from '../support/stack.js';

const PORTAL_A = 700_801;
const PORTAL_B = 700_802;
const UNKNOWN_PORTAL = 700_899;

let stack: Stack;
/** Portal A: an OAuth connection and a private-app one (two apps, both signalled). */
let oauthA: Connection;
let privateA: Connection;
let oauthB: Connection;
let nextEventId = 1;

interface Connection {
  id: string;
  workflowId: string;
}

beforeAll(async () => {
  stack = await startStack({ sandboxApi: true });
  for (const portalId of [PORTAL_A, PORTAL_B]) await stack.control.createPortal({ portalId });
  oauthA = await created(await installConnection(stack, PORTAL_A, '&objectTypes=contacts'));
  oauthB = await created(await installConnection(stack, PORTAL_B, '&objectTypes=contacts'));
  const token = `pat-na1-webhooks-${PORTAL_A}`;
  await stack.control.createToken(PORTAL_A, { token, scopes: ['crm.objects.contacts.read'] });
  privateA = await created(await stack.api('/connections', { method: 'POST', json: { accessToken: token, objectTypes: ['contacts'] } }));
});
afterAll(async () => stack?.close());

async function created(response: Response): Promise<Connection> {
  expect(response.status).toBe(201);
  return (await response.json()) as Connection;
}

function event(portalId: number, overrides: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    eventId: nextEventId++,
    subscriptionId: 1001,
    portalId,
    appId: OAUTH_APP.appId,
    occurredAt: Date.now(),
    subscriptionType: 'contact.propertyChange',
    attemptNumber: 0,
    objectId: 5_000 + nextEventId,
    changeSource: 'CRM_UI',
    propertyName: 'firstname',
    propertyValue: 'Ada',
    ...overrides,
  };
}

interface Delivery {
  secret?: string;
  timestamp?: number;
  /** Headers to drop or replace after signing. */
  headers?: Record<string, string | null>;
}

/** POSTs a raw body signed as HubSpot signs it (v3, over the public URL). */
async function deliver(body: string, options: Delivery = {}): Promise<Response> {
  const url = `${stack.webhooks.publicBaseUrl}/webhooks/hubspot`;
  const timestamp = options.timestamp ?? Date.now();
  const headers = new Headers({
    'content-type': 'application/json',
    'x-hubspot-signature-v3': signV3(options.secret ?? OAUTH_APP.clientSecret, 'POST', url, body, timestamp),
    'x-hubspot-request-timestamp': String(timestamp),
  });
  for (const [name, value] of Object.entries(options.headers ?? {})) {
    if (value === null) headers.delete(name);
    else headers.set(name, value);
  }
  return fetch(`${stack.apiUrl}/webhooks/hubspot`, { method: 'POST', headers, body });
}

/** Every `webhookEvents` signal the workflow received, across continue-as-new runs, oldest first. */
async function webhookSignals(workflowId: string): Promise<WebhookEvent[][]> {
  await settled(stack.temporal, workflowId);
  const runs: WebhookEvent[][][] = [];
  let runId: string | undefined;
  do {
    const history = await stack.temporal.workflow.getHandle(workflowId, runId).fetchHistory();
    const events = history.events ?? [];
    const signals = events.map((e) => e.workflowExecutionSignaledEventAttributes).filter((signal) => signal?.signalName === webhookEventsSignal.name);
    runs.unshift(await Promise.all(signals.map((signal) => decodeFirst<WebhookEvent[]>(stack.temporal, signal!.input!.payloads!))));
    runId = events[0]?.workflowExecutionStartedEventAttributes?.continuedExecutionRunId ?? undefined;
  } while (runId);
  return runs.flat();
}

async function signalCounts(): Promise<number[]> {
  return Promise.all([oauthA, privateA, oauthB].map(async (c) => (await webhookSignals(c.workflowId)).length));
}

async function errorOf(response: Response): Promise<{ code: string; message: string }> {
  return ((await response.json()) as { error: { code: string; message: string } }).error;
}

describe('POST /webhooks/hubspot', () => {
  it('signals each live connection of the portal once with its events, ids as strings, before answering 200', async () => {
    const before = await signalCounts();
    const batch = [event(PORTAL_A), event(PORTAL_A, { subscriptionType: 'contact.creation', propertyName: undefined, propertyValue: undefined, changeFlag: 'NEW' })];
    const response = await deliver(JSON.stringify(batch));
    expect(response.status).toBe(200);
    expect(await response.json()).toEqual({ accepted: 2, ignored: 0, unknownPortals: [] });

    // The answer came after Temporal took the signals: they are in the histories now, no waiting.
    expect(await signalCounts()).toEqual([before[0]! + 1, before[1]! + 1, before[2]]);
    // Only what the workflow reads: a property's value, its source and the like stay out of the history.
    const expected = batch.map(({ eventId, subscriptionId, portalId, occurredAt, subscriptionType, objectId }) => ({ eventId, subscriptionId, portalId, occurredAt, subscriptionType, objectId: String(objectId) }));
    expect((await webhookSignals(oauthA.workflowId)).at(-1)).toEqual(expected);
    expect((await webhookSignals(privateA.workflowId)).at(-1)).toEqual(expected);
  });

  it('splits a batch for two portals into one signal per portal, each with only its events', async () => {
    const before = await signalCounts();
    const batch = [event(PORTAL_A), event(PORTAL_B), event(PORTAL_A), event(PORTAL_B), event(PORTAL_B)];
    const response = await deliver(JSON.stringify(batch));
    expect(response.status).toBe(200);
    expect(await response.json()).toEqual({ accepted: 5, ignored: 0, unknownPortals: [] });
    expect(await signalCounts()).toEqual([before[0]! + 1, before[1]! + 1, before[2]! + 1]);
    const eventIds = async (c: Connection) => (await webhookSignals(c.workflowId)).at(-1)!.map((e) => e.eventId);
    expect(await eventIds(oauthA)).toEqual([batch[0]!.eventId, batch[2]!.eventId]);
    expect(await eventIds(oauthB)).toEqual([batch[1]!.eventId, batch[3]!.eventId, batch[4]!.eventId]);
  });

  it('drops the echo of our own write-back for the connection that wrote it, and only for it', async () => {
    const echo = event(PORTAL_A, { propertyName: 'hubsync_lead_score', propertyValue: '12', objectId: 4242 });
    await recordOwnWrites(stack.db.pool, oauthA.id, [{ objectType: 'contacts', objectId: '4242', property: 'hubsync_lead_score', value: '12' }]);
    const before = await signalCounts();
    const foreign = event(PORTAL_A, { propertyName: 'hubsync_lead_score', propertyValue: '13', objectId: 4242 });
    const response = await deliver(JSON.stringify([echo, foreign]));
    expect(response.status).toBe(200);
    expect(await signalCounts()).toEqual([before[0]! + 1, before[1]! + 1, before[2]]);
    // The connection that wrote the value sees only the change someone else made; the other one sees both.
    expect((await webhookSignals(oauthA.workflowId)).at(-1)!.map((e) => e.eventId)).toEqual([foreign.eventId]);
    expect((await webhookSignals(privateA.workflowId)).at(-1)!.map((e) => e.eventId)).toEqual([echo.eventId, foreign.eventId]);

    // An echo alone reaches no workflow, so it costs no HubSpot call.
    const again = await signalCounts();
    expect((await deliver(JSON.stringify([event(PORTAL_A, { ...echo, eventId: nextEventId++ })]))).status).toBe(200);
    expect((await signalCounts())[0]).toBe(again[0]);
  });

  it('drops a property change HubSpot names our own OAuth app as the source of, for that connection only', async () => {
    const ours = event(PORTAL_A, { propertyName: 'hubsync_total_opens', propertyValue: '3', objectId: 4343, changeSource: 'INTEGRATION', sourceId: String(OAUTH_APP.appId) });
    const before = await signalCounts();
    expect((await deliver(JSON.stringify([ours]))).status).toBe(200);
    const after = await signalCounts();
    expect(after[0]).toBe(before[0]); // the OAuth connection of our app: an echo
    expect(after[1]).toBe(before[1]! + 1); // the private app's connection: someone else's change
    expect((await webhookSignals(privateA.workflowId)).at(-1)!.map((e) => e.eventId)).toEqual([ours.eventId]);
  });

  it('acknowledges events of a portal with no connection, counts them, and signals nothing', async () => {
    const before = await signalCounts();
    const response = await deliver(JSON.stringify([event(UNKNOWN_PORTAL), event(UNKNOWN_PORTAL)]));
    expect(response.status).toBe(200);
    expect(await response.json()).toEqual({ accepted: 0, ignored: 2, unknownPortals: [UNKNOWN_PORTAL] });
    expect(await signalCounts()).toEqual(before);
    expect(stack.logs.join('')).toContain(`"portalId":${UNKNOWN_PORTAL}`);
  });

  const valid = () => JSON.stringify([event(PORTAL_A), event(PORTAL_B)]);
  const rejections: Array<[string, () => Promise<Response>, number, string, RegExp]> = [
    ['no signature', () => deliver(valid(), { headers: { 'x-hubspot-signature-v3': null } }), 401, 'missing_signature', /X-HubSpot-Signature-v3/],
    ['a signature of another body', () => deliver(valid(), { headers: { 'x-hubspot-signature-v3': signV3(OAUTH_APP.clientSecret, 'POST', `${stack.webhooks.publicBaseUrl}/webhooks/hubspot`, '[]', Date.now()) } }), 401, 'bad_signature', /does not match/],
    ['the wrong secret', () => deliver(valid(), { secret: 'not-the-client-secret' }), 401, 'bad_signature', /client secret/],
    ['no timestamp', () => deliver(valid(), { headers: { 'x-hubspot-request-timestamp': null } }), 401, 'missing_timestamp', /X-HubSpot-Request-Timestamp/],
    ['a stale timestamp (6 minutes)', () => deliver(valid(), { timestamp: Date.now() - 6 * 60_000 }), 401, 'stale_timestamp', /more than 5 minutes old/],
    ['a future timestamp (6 minutes)', () => deliver(valid(), { timestamp: Date.now() + 6 * 60_000 }), 401, 'future_timestamp', /in the future/],
    ['a legacy v1 signature (not configured)', () => deliver(valid(), { headers: { 'x-hubspot-signature-v3': null, 'x-hubspot-signature': 'ab', 'x-hubspot-signature-version': 'v1' } }), 401, 'missing_signature', /expected X-HubSpot-Signature-v3/],
    ['malformed JSON', () => deliver('[{"eventId": 1,'), 400, 'invalid_json', /not valid JSON/],
    ['an object instead of an array', () => deliver(JSON.stringify(event(PORTAL_A))), 400, 'invalid_webhook', /expected a JSON array/],
    ['an empty array', () => deliver('[]'), 400, 'invalid_webhook', /empty batch/],
    ['101 events', () => deliver(JSON.stringify(Array.from({ length: 101 }, () => event(PORTAL_A)))), 400, 'invalid_webhook', /at most 100/],
    ['an event without objectId', () => deliver(JSON.stringify([event(PORTAL_A), event(PORTAL_A, { objectId: undefined })])), 400, 'invalid_webhook', /^events\.1\.objectId: /],
    ['an event with a text portalId', () => deliver(JSON.stringify([event(PORTAL_A), event(PORTAL_A), event(PORTAL_A, { portalId: 'abc' })])), 400, 'invalid_webhook', /^events\.2\.portalId: /],
    ['a 2 MB body', () => deliver(JSON.stringify([event(PORTAL_A, { propertyValue: 'x'.repeat(2 * 1024 * 1024) })])), 413, 'payload_too_large', /larger than 1048576 bytes/],
  ];

  it.each(rejections)('answers %s with its documented error, and signals no workflow', async (_name, send, status, code, message) => {
    const before = await signalCounts();
    const response = await send();
    expect(response.status).toBe(status);
    const error = await errorOf(response);
    expect(error.code).toBe(code);
    expect(error.message).toMatch(message);
    expect(await signalCounts()).toEqual(before);
  });

  it('checks the signature over PUBLIC_BASE_URL, not the address the request reached', async () => {
    const before = await signalCounts();
    const body = valid();
    const timestamp = Date.now();
    // Signed for the internal address while the public base is something else: what a proxy misconfiguration looks like.
    const behindProxy = `${stack.apiUrl}/webhooks/hubspot?via=proxy`;
    const response = await fetch(behindProxy, {
      method: 'POST',
      headers: { 'x-hubspot-signature-v3': signV3(OAUTH_APP.clientSecret, 'POST', `http://internal:1/webhooks/hubspot?via=proxy`, body, timestamp), 'x-hubspot-request-timestamp': String(timestamp) },
      body,
    });
    expect(response.status).toBe(401);
    // The query is part of what is signed: the same URL signed as HubSpot calls it passes.
    const signed = await fetch(behindProxy, {
      method: 'POST',
      headers: { 'x-hubspot-signature-v3': signV3(OAUTH_APP.clientSecret, 'POST', `${stack.webhooks.publicBaseUrl}/webhooks/hubspot?via=proxy`, body, timestamp), 'x-hubspot-request-timestamp': String(timestamp) },
      body,
    });
    expect(signed.status).toBe(200);
    expect(await signalCounts()).toEqual([before[0]! + 1, before[1]! + 1, before[2]! + 1]);
  });

  it("takes the simulator's own signed delivery through the target URL that the subscriptions route registered", async () => {
    const registered = await stack.api('/webhooks/subscriptions', { method: 'POST', json: {} });
    expect(registered.status).toBe(200);
    expect(await registered.json()).toMatchObject({ targetUrl: `${stack.apiUrl}/webhooks/hubspot`, targetUrlChanged: true });
    const before = (await webhookSignals(oauthB.workflowId)).length;

    const contact = await stack.control.createObject(PORTAL_B, 'contacts', { email: 'grace@example.com', firstname: 'Grace' });
    await stack.sandbox.webhooks.idle();
    const stats = stack.sandbox.webhooks.stats();
    expect(stats.failures).toBe(0);
    expect(stats.delivered).toBeGreaterThan(0);

    const arrived = (await webhookSignals(oauthB.workflowId)).slice(before).flat();
    expect(arrived).toContainEqual(expect.objectContaining({ portalId: PORTAL_B, subscriptionType: 'contact.creation', objectId: contact.id }));
    // Portal A's connections heard nothing of portal B.
    const a = (await webhookSignals(oauthA.workflowId)).flat();
    expect(a.some((e) => e.objectId === contact.id)).toBe(false);
  });
});

describe('POST /webhooks/subscriptions', () => {
  const subscriptionsInSimulator = () => stack.sandbox.webhooks.listSubscriptions(OAUTH_APP.appId);

  it('needs the operator token', async () => {
    const response = await fetch(`${stack.apiUrl}/webhooks/subscriptions`, { method: 'POST' });
    expect(response.status).toBe(401);
  });

  it('creates nothing the second time, and re-activates a paused subscription', async () => {
    const first = (await (await stack.api('/webhooks/subscriptions', { method: 'POST', json: { customObjects: [{ objectTypeId: '2-777', propertyNames: ['model'] }] } })).json()) as { created: Array<{ eventType: string }> };
    const count = subscriptionsInSimulator().length;
    expect(count).toBeGreaterThan(30);
    expect(first.created.filter((s) => s.eventType.startsWith('object.'))).toHaveLength(6);
    expect(subscriptionsInSimulator()).toContainEqual(expect.objectContaining({ eventType: 'contact.privacyDeletion', active: true }));
    expect(subscriptionsInSimulator()).toContainEqual(expect.objectContaining({ eventType: 'object.propertyChange', objectTypeId: '2-777', propertyName: 'model' }));

    const again = await stack.api('/webhooks/subscriptions', { method: 'POST', json: { customObjects: [{ objectTypeId: '2-777', propertyNames: ['model'] }] } });
    expect(again.status).toBe(200);
    expect(await again.json()).toEqual({ targetUrl: `${stack.apiUrl}/webhooks/hubspot`, targetUrlChanged: false, created: [], reactivated: [], unchanged: count });
    expect(subscriptionsInSimulator()).toHaveLength(count);

    const paused = subscriptionsInSimulator().find((s) => s.eventType === 'deal.deletion')!;
    stack.sandbox.webhooks.setSubscriptionActive(OAUTH_APP.appId, paused.id, false);
    const third = await (await stack.api('/webhooks/subscriptions', { method: 'POST', json: { customObjects: [{ objectTypeId: '2-777', propertyNames: ['model'] }] } })).json();
    expect(third).toMatchObject({ created: [], reactivated: [{ eventType: 'deal.deletion' }], unchanged: count - 1 });
    expect(subscriptionsInSimulator()).toHaveLength(count);
  });

  it('rejects a bad request body with 400 naming the field', async () => {
    const response = await stack.api('/webhooks/subscriptions', { method: 'POST', json: { customObjects: [{ objectTypeId: 'cars' }] } });
    expect(response.status).toBe(400);
    expect((await errorOf(response)).message).toMatch(/^customObjects\.0\.objectTypeId: /);
  });
});
