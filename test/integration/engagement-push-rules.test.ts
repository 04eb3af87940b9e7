// Lead scoring settings and HubSpot's verdicts on the real stack (issue 7): the settings route
// (validated, documented, per connection), the hot-lead trigger by property when no HubSpot
// workflow is configured (once per crossing), and partial failures — a 207 whose transient items
// are retried alone and whose permanent ones are parked with the reason shown in status.
import express, { type NextFunction, type Request, type Response } from 'express';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createHubSpotClient } from '../../src/hubspot/client.js';
import { pushWorkflowId } from '../../src/workflows/engagement-definitions.js';
import { activityExecutions } from '../support/activity-history.js';
import { eventually, startStack, type Stack } from '../support/stack.js';

let stack: Stack;
let nextPortal = 700_851;

interface Connection {
  id: string;
  portalId: number;
  token: string;
}

const UPSERT_PATH = '/crm/v3/objects/contacts/batch/upsert';
const TIMELINE_PATH = '/integrators/timeline/v3/events/batch/create';
const FLAKY = 'flaky@example.org';
const REFUSED = 'refused@example.org';
const REFUSAL = { status: 'error', category: 'INVALID_EMAIL', message: `Email address ${REFUSED} is invalid`, context: { ids: [REFUSED] } };

/** Emails in each contact upsert the simulator received, in order. */
const upserts: string[][] = [];
/** While set, FLAKY is refused for now this many more times, REFUSED always: one 207 with both. */
let flakyRefusals = 0;
let refusing = false;
/** Portals whose timeline batches are all answered "unknown tokens", whatever the template holds. */
const tokenTrouble = new Set<number>();

const parseUpsert = express.json({ limit: '5mb' });

/** HubSpot's 207 for a contact upsert: the simulator takes the other inputs, the answer names the refused ones. */
function partialUpserts(req: Request, res: Response, next: NextFunction): void {
  if (req.method !== 'POST' || req.path !== UPSERT_PATH) return next();
  parseUpsert(req, res, () => {
    const inputs = (req.body as { inputs: Array<{ id: string }> }).inputs;
    upserts.push(inputs.map((i) => i.id));
    const errors: object[] = [];
    if (refusing && inputs.some((i) => i.id === REFUSED)) errors.push(REFUSAL);
    if (inputs.some((i) => i.id === FLAKY) && flakyRefusals > 0) {
      flakyRefusals--;
      errors.push({ status: 'error', category: 'INTERNAL_ERROR', message: 'Something went wrong; please try again', context: { ids: [FLAKY] } });
    }
    if (errors.length === 0) return next();
    const refused = new Set(errors.flatMap((e) => (e as typeof REFUSAL).context.ids));
    const answer = (body: { results?: unknown[] }) => ({ status: 'COMPLETE', startedAt: new Date().toISOString(), completedAt: new Date().toISOString(), ...body, results: body.results ?? [], numErrors: errors.length, errors });
    req.body.inputs = inputs.filter((i) => !refused.has(i.id));
    if (req.body.inputs.length === 0) return void res.status(207).json(answer({}));
    const json = res.json.bind(res);
    res.json = (body: { results?: unknown[] }) => {
      res.statusCode = 207;
      return json(answer(body));
    };
    next();
  });
}

function unknownTokens(req: Request, res: Response, next: NextFunction): void {
  const portalId = (res.locals.auth as { portalId?: number } | undefined)?.portalId;
  if (req.method !== 'POST' || req.path !== TIMELINE_PATH || portalId === undefined || !tokenTrouble.has(portalId)) return next();
  parseUpsert(req, res, () => {
    const inputs = (req.body as { inputs: Array<{ id: string }> }).inputs;
    const errors = inputs.map((i) => ({ status: 'error', category: 'VALIDATION_ERROR', message: 'Unknown tokens for template: url', context: { id: [i.id] } }));
    res.status(207).json({ status: 'COMPLETE', results: [], numErrors: errors.length, errors, startedAt: new Date().toISOString(), completedAt: new Date().toISOString() });
  });
}

async function connect(): Promise<Connection> {
  const portalId = nextPortal++;
  const token = `pat-na1-push-rules-${portalId}`;
  await stack.control.createPortal({ portalId });
  await stack.control.createToken(portalId, { token });
  const response = await stack.api('/connections', { method: 'POST', json: { accessToken: token, objectTypes: ['contacts'], syncIntervalSeconds: 3600 } });
  expect(response.status).toBe(201);
  return { id: ((await response.json()) as { id: string }).id, portalId, token };
}

let eventSeq = 0;
function event(email: string, type: string) {
  eventSeq++;
  return { id: `rules-${eventSeq}`, type, email, occurredAt: new Date(Date.UTC(2026, 2, 1, 0, eventSeq)).toISOString(), campaignId: 'c1', campaignName: 'Launch', subject: 'News' };
}

async function submit(connection: Connection, events: unknown[]): Promise<void> {
  const response = await stack.api(`/connections/${connection.id}/engagements`, { method: 'POST', json: { events } });
  expect(response.status).toBe(202);
}

async function status(connection: Connection): Promise<any> {
  return (await (await stack.api(`/connections/${connection.id}/engagements/status`)).json()) as any;
}

const settled = (connection: Connection, total: number) =>
  eventually(async () => {
    const s = await status(connection);
    return s.outbox.pending === 0 && s.outbox.done + s.outbox.parked === total ? s : undefined;
  }, 60_000, `${total} events settled`);

async function contact(connection: Connection, email: string): Promise<Record<string, string> | undefined> {
  return (await stack.control.groundTruth(connection.portalId)).objects.contacts?.find((c) => c.properties.email === email)?.properties;
}

const settingsPath = (connection: Connection | string) => `/connections/${typeof connection === 'string' ? connection : connection.id}/engagements/settings`;

async function putSettings(connection: Connection, body: unknown): Promise<{ status: number; body: any }> {
  const response = await stack.api(settingsPath(connection), { method: 'PUT', json: body });
  return { status: response.status, body: await response.json() };
}

beforeAll(async () => {
  stack = await startStack({ sandbox: { hubspotMiddleware: [partialUpserts, unknownTokens] } });
});
afterAll(async () => stack?.close());

describe('GET/PUT /connections/:id/engagements/settings', () => {
  let connection: Connection;
  const DEFAULTS = {
    propertyPrefix: 'hubsync_',
    scoringRules: { sent: 0, opened: 2, clicked: 5, replied: 10, bounced: -5 },
    scoreThreshold: 75,
    enrolWorkflowId: null,
    triggerProperty: 'lifecyclestage',
    triggerValue: 'salesqualifiedlead',
  };

  beforeAll(async () => {
    connection = await connect();
  });

  it('shows the defaults before anything is set', async () => {
    const response = await stack.api(settingsPath(connection));
    expect(response.status).toBe(200);
    expect(await response.json()).toEqual({ settings: DEFAULTS, setup: { timelineTemplateId: null, verifiedAt: null } });
  });

  it('replaces the settings, fields left out taking their defaults, and the push verifies its set-up at once', async () => {
    const put = await putSettings(connection, { scoringRules: { opened: 3 }, scoreThreshold: 40, enrolWorkflowId: '4711' });
    expect(put.status).toBe(200);
    const settings = { ...DEFAULTS, scoringRules: { ...DEFAULTS.scoringRules, opened: 3 }, scoreThreshold: 40, enrolWorkflowId: '4711' };
    expect(put.body).toMatchObject({ settings, pushScheduled: true });
    // The PUT started the push workflow, which sets the properties and the template up before any event.
    const shown = await eventually(async () => {
      const body = (await (await stack.api(settingsPath(connection))).json()) as any;
      return body.setup.timelineTemplateId ? body : undefined;
    }, 20_000, 'the set-up');
    expect(shown.settings).toEqual(settings);
    expect(Date.parse(shown.setup.verifiedAt)).not.toBeNaN();
    expect(await contact(connection, 'nobody@example.org')).toBeUndefined();
    const properties = (await createHubSpotClient(stack.sandboxUrl, connection.token).crm.properties.coreApi.getAll('contacts')).results.map((p) => p.name);
    expect(properties).toEqual(expect.arrayContaining(['hubsync_lead_score', 'hubsync_total_opens', 'hubsync_last_campaign']));

    const back = await putSettings(connection, {});
    expect(back.body.settings).toEqual(DEFAULTS);
  });

  it('sets up the properties of a new prefix before the next push writes them', async () => {
    const renamed = await connect();
    await submit(renamed, [event('prefix@example.org', 'opened')]);
    await settled(renamed, 1);
    expect((await putSettings(renamed, { propertyPrefix: 'mail_' })).status).toBe(200);
    await submit(renamed, [event('prefix@example.org', 'clicked')]);
    await settled(renamed, 2);
    // The aggregate carries on; its values now go to the new properties.
    expect(await contact(renamed, 'prefix@example.org')).toMatchObject({ hubsync_total_clicks: '0', mail_total_opens: '1', mail_total_clicks: '1', mail_lead_score: '7' });
    expect((await status(renamed)).outbox.parked).toBe(0);
    // Set up first, not after HubSpot refused a write to properties it did not have yet.
    expect((await stack.control.requests({ portalId: renamed.portalId })).results.filter((r) => r.status >= 400)).toEqual([]);
  });

  it.each([
    ['a prefix HubSpot would not accept', { propertyPrefix: 'Hub-' }, 'invalid_request', 'propertyPrefix: '],
    ['a score that is not a whole number', { scoringRules: { opened: 'two' } }, 'invalid_request', 'scoringRules.opened: '],
    ['a rule for an event type without a score', { scoringRules: { unsubscribed: -100 } }, 'invalid_request', 'scoringRules: Unrecognized key: "unsubscribed"'],
    ['a threshold of 0', { scoreThreshold: 0 }, 'invalid_request', 'scoreThreshold: '],
    ['a workflow id that is not one', { enrolWorkflowId: 'hot-leads' }, 'invalid_request', 'enrolWorkflowId: expected the id of a HubSpot workflow'],
    ['a trigger property the push writes itself', { triggerProperty: 'hubsync_lead_score' }, 'invalid_request', 'triggerProperty: hubsync_lead_score is written by the push itself'],
    ['a trigger property the portal does not have', { triggerProperty: 'no_such_property' }, 'unknown_property', 'triggerProperty: unknown HubSpot property no_such_property on contacts'],
    ['a trigger value that is not an option of the property', { triggerValue: 'hot' }, 'invalid_request', 'triggerValue: hot is not an option of lifecyclestage'],
    ['an unknown field', { threshold: 10 }, 'invalid_request', 'Unrecognized key: "threshold"'],
  ])('refuses %s with a 400 naming the field, and keeps the settings', async (_what, body, code, message) => {
    const before = (await (await stack.api(settingsPath(connection))).json()) as any;
    const put = await putSettings(connection, body);
    expect(put.status).toBe(400);
    expect(put.body.error.code).toBe(code);
    expect(put.body.error.message).toContain(message);
    expect(((await (await stack.api(settingsPath(connection))).json()) as any).settings).toEqual(before.settings);
  });

  it('answers 404 for an unknown connection and 401 without the operator token', async () => {
    const unknown = '00000000-0000-4000-8000-000000000000';
    expect((await stack.api(settingsPath(unknown))).status).toBe(404);
    expect((await stack.api(settingsPath(unknown), { method: 'PUT', json: {} })).status).toBe(404);
    expect((await stack.api(settingsPath(connection), { headers: { authorization: 'Bearer wrong' } })).status).toBe(401);
    expect((await stack.api(settingsPath(connection), { method: 'PUT', json: {}, headers: { authorization: 'Bearer wrong' } })).status).toBe(401);
  });

  it('is in the OpenAPI document with its request body', async () => {
    const doc = (await (await fetch(`${stack.apiUrl}/openapi.json`)).json()) as any;
    const route = doc.paths['/connections/{id}/engagements/settings'];
    expect(Object.keys(route).sort()).toEqual(['get', 'put']);
    expect(Object.keys(route.put.requestBody.content['application/json'].schema.properties).sort()).toEqual(Object.keys(DEFAULTS).sort());
  });
});

describe('the hot-lead trigger without a HubSpot workflow', () => {
  it('sets the trigger property once when the score crosses the threshold, never again for that contact', async () => {
    const connection = await connect();
    expect((await putSettings(connection, { scoreThreshold: 20 })).status).toBe(200);
    // hot: 10 + 10 = 20 crosses; cold: 10 stays below.
    await submit(connection, [event('hot@example.org', 'replied'), event('cold@example.org', 'replied'), event('hot@example.org', 'replied')]);
    await settled(connection, 3);
    expect(await contact(connection, 'hot@example.org')).toMatchObject({ hubsync_lead_score: '20', lifecyclestage: 'salesqualifiedlead' });
    expect((await contact(connection, 'cold@example.org'))?.lifecyclestage ?? '').toBe('');

    // Sales moves the lead on in HubSpot; more engagement (the score stays above) must not move it back.
    const hot = (await stack.control.groundTruth(connection.portalId)).objects.contacts!.find((c) => c.properties.email === 'hot@example.org')!;
    await stack.control.updateObject(connection.portalId, 'contacts', hot.id, { lifecyclestage: 'customer' });
    // cold: 10 + 10 = 20 crosses now, for the first time.
    await submit(connection, [event('hot@example.org', 'replied'), event('cold@example.org', 'replied')]);
    await settled(connection, 5);
    expect(await contact(connection, 'hot@example.org')).toMatchObject({ hubsync_lead_score: '30', lifecyclestage: 'customer' });
    expect(await contact(connection, 'cold@example.org')).toMatchObject({ hubsync_lead_score: '20', lifecyclestage: 'salesqualifiedlead' });
    const { rows } = await stack.db.pool.query(`select email, via from engagement_triggers where connection_id = $1 order by email`, [connection.id]);
    expect(rows).toEqual([
      { email: 'cold@example.org', via: 'property lifecyclestage' },
      { email: 'hot@example.org', via: 'property lifecyclestage' },
    ]);
  });

  it('parks a hot lead with the reason when the trigger property was deleted in HubSpot, and pushes the others', async () => {
    const connection = await connect();
    const client = createHubSpotClient(stack.sandboxUrl, connection.token);
    await client.crm.properties.coreApi.create('contacts', { name: 'hot_lead_flag', label: 'Hot lead', type: 'string' as never, fieldType: 'text' as never, groupName: 'contactinformation' });
    expect((await putSettings(connection, { scoreThreshold: 10, triggerProperty: 'hot_lead_flag', triggerValue: 'yes' })).status).toBe(200);
    await client.crm.properties.coreApi.archive('contacts', 'hot_lead_flag');

    await submit(connection, [event('warm@example.org', 'opened'), event('burning@example.org', 'replied')]);
    const s = await settled(connection, 2);
    expect(s.outbox).toMatchObject({ done: 1, parked: 1 });
    expect(s.outbox.parkedReasons[0].reason).toMatch(/hot_lead_flag.*does not exist/);
    expect(await contact(connection, 'warm@example.org')).toMatchObject({ hubsync_lead_score: '2' });
    expect(await contact(connection, 'burning@example.org')).toBeUndefined();
  });
});

describe("HubSpot's partial answers", () => {
  it('retry only the items a 207 refused for now, and park those it refused for good with the reason in status', async () => {
    const connection = await connect();
    const others = ['ann@example.org', 'bob@example.org', 'cid@example.org'];
    const events = [...others, FLAKY, REFUSED].flatMap((email) => [event(email, 'opened'), event(email, 'clicked')]);
    const upsertsBefore = upserts.length;
    refusing = true;
    flakyRefusals = 1;
    try {
      await submit(connection, events);
      const s = await settled(connection, events.length);
      expect(s.outbox).toMatchObject({ pending: 0, done: 8, parked: 2, parkedReasons: [{ reason: `INVALID_EMAIL: Email address ${REFUSED} is invalid`, count: 2 }] });
      expect(s.workflow).toMatchObject({ done: 8, parked: 2 });
    } finally {
      refusing = false;
    }
    // The first upsert carried all five contacts; the retry carried the transient one alone.
    const mine = upserts.slice(upsertsBefore);
    expect(mine.map((emails) => [...emails].sort())).toEqual([[...others, FLAKY, REFUSED].sort(), [FLAKY]]);
    expect(await contact(connection, FLAKY)).toMatchObject({ hubsync_total_opens: '1', hubsync_total_clicks: '1', hubsync_lead_score: '7' });
    expect(await contact(connection, REFUSED)).toBeUndefined();
    const timeline = new Set(stack.sandbox.timeline.listEvents(connection.portalId).map((e) => e.id));
    expect(events.filter((e) => timeline.has(e.id)).map((e) => e.email)).toEqual(events.filter((e) => e.email !== REFUSED).map((e) => e.email));
  });

  it('does not re-run the set-up in a loop when HubSpot keeps refusing right after it was verified', async () => {
    const connection = await connect();
    tokenTrouble.add(connection.portalId);
    await submit(connection, [event('stuck@example.org', 'opened')]);
    const s = await eventually(async () => {
      const found = await status(connection);
      return found.workflow?.lastError ? found : undefined;
    }, 30_000, 'the push to report the refusal');
    expect(s.workflow.lastError).toBe('EngagementSetupRefused: HubSpot refuses the push right after the set-up was verified');
    expect(s.outbox).toMatchObject({ pending: 1, parked: 0 });
    await new Promise((resolve) => setTimeout(resolve, 2_000));
    const setups = (await activityExecutions(stack.temporal, pushWorkflowId(connection.id))).filter((e) => e.activityType === 'ensureEngagementSetup');
    // Once for the first drain; the next try waits a minute.
    expect(setups).toHaveLength(1);
  });
});
