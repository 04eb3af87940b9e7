// The engagement push workflow's life beside its connection, and its set-up in HubSpot, on the
// real stack (issue 7): a DELETE or a stop ends the push, events whose signal was lost are found
// by the push's own periodic look, and the set-up is verified — a template missing a token is
// repaired, a deleted template re-created, an archived property reported — instead of parking
// events or retrying for ever.
import type { Client } from '@temporalio/client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TEMPLATE_NAME } from '../../src/hubspot/engagement.js';
import { createHubSpotClient } from '../../src/hubspot/client.js';
import { ENGAGEMENT_PUSH_WORKFLOW, pushWorkflowId, type EngagementPushInput } from '../../src/workflows/engagement-definitions.js';
import { activityExecutions } from '../support/activity-history.js';
import { serveAppWith } from '../support/app-with.js';
import { eventually, OAUTH_APP, OPERATOR_TOKEN, startStack, type Stack } from '../support/stack.js';

let stack: Stack;
let nextPortal = 700_801;

interface Connection {
  id: string;
  portalId: number;
  token: string;
  workflowId: string;
}

/** A fresh portal with a private-app connection that syncs contacts hourly (so only the push calls HubSpot in between). */
async function connect(): Promise<Connection> {
  const portalId = nextPortal++;
  const token = `pat-na1-push-lifecycle-${portalId}`;
  await stack.control.createPortal({ portalId });
  await stack.control.createToken(portalId, { token });
  const response = await stack.api('/connections', { method: 'POST', json: { accessToken: token, objectTypes: ['contacts'], syncIntervalSeconds: 3600 } });
  expect(response.status).toBe(201);
  const { id, workflowId } = (await response.json()) as { id: string; workflowId: string };
  return { id, portalId, token, workflowId };
}

let eventSeq = 0;
function event(email: string, type = 'opened', extra: Record<string, string> = {}) {
  eventSeq++;
  return { id: `life-${eventSeq}`, type, email, occurredAt: new Date(Date.UTC(2026, 1, 1, 0, eventSeq)).toISOString(), campaignId: 'c1', campaignName: 'Spring', subject: 'Hello', ...extra };
}

async function submit(connection: Connection, events: unknown[], api = stack.api): Promise<Response> {
  return api(`/connections/${connection.id}/engagements`, { method: 'POST', json: { events } });
}

async function outbox(connection: Connection): Promise<{ pending: number; done: number; parked: number; parkedReasons: Array<{ reason: string; count: number }> }> {
  return ((await (await stack.api(`/connections/${connection.id}/engagements/status`)).json()) as any).outbox;
}

async function pushStatus(connection: Connection): Promise<any> {
  return ((await (await stack.api(`/connections/${connection.id}/engagements/status`)).json()) as any).workflow;
}

const allDone = (connection: Connection, total: number) =>
  eventually(async () => {
    const o = await outbox(connection);
    return o.done === total && o.pending === 0 ? o : undefined;
  }, 60_000, `${total} events done`);

/** Replaces the push workflow the connection started with one that looks at the outbox every `recheckInterval`. */
async function startPush(connection: Connection, recheckInterval: string): Promise<void> {
  await stack.temporal.workflow.getHandle(pushWorkflowId(connection.id)).terminate('replaced by a quicker one').catch(() => undefined);
  const input: EngagementPushInput = { connectionId: connection.id, portalId: connection.portalId, tier: 'free', recheckInterval };
  await stack.temporal.workflow.start(ENGAGEMENT_PUSH_WORKFLOW, { workflowId: pushWorkflowId(connection.id), taskQueue: stack.taskQueue, args: [input] });
}

const pushState = async (connection: Connection) => (await stack.temporal.workflow.getHandle(pushWorkflowId(connection.id)).describe()).status.name;

const portalRequests = async (portalId: number, since: number) => (await stack.control.requests({ portalId, since })).results;

const ourTemplates = () => stack.sandbox.timeline.listTemplates(OAUTH_APP.appId).filter((t) => t.name === TEMPLATE_NAME);

beforeAll(async () => {
  stack = await startStack({ engagementSetupOnConnect: true });
});
afterAll(async () => stack?.close());

describe('the push workflow ends with its connection', () => {
  it('completes when the connection is deleted, and HubSpot hears nothing more from it', async () => {
    const connection = await connect();
    expect((await submit(connection, [event('gone@example.org'), event('gone@example.org', 'clicked')])).status).toBe(202);
    await allDone(connection, 2);
    expect(await pushState(connection)).toBe('RUNNING');

    const deleted = await stack.api(`/connections/${connection.id}`, { method: 'DELETE' });
    expect(deleted.status).toBe(200);
    // DELETE waited for it: the push is over by the time the answer comes.
    expect(await pushState(connection)).toBe('COMPLETED');
    const after = (await stack.control.clock()).now;
    // New events cannot be given to it, and nothing else wakes it: the portal hears nothing more.
    expect((await submit(connection, [event('gone@example.org')])).status).toBe(409);
    await new Promise((resolve) => setTimeout(resolve, 3_000));
    expect(await portalRequests(connection.portalId, after)).toEqual([]);
    expect(await outbox(connection)).toMatchObject({ pending: 0, done: 2 });
  });

  it('completes at its next look once the connection is stopped', async () => {
    const connection = await connect();
    await startPush(connection, '1 second');
    expect((await submit(connection, [event('stop@example.org')])).status).toBe(202);
    await allDone(connection, 1);

    expect((await stack.api(`/connections/${connection.id}/stop`, { method: 'POST' })).status).toBe(200);
    await stack.temporal.workflow.getHandle(connection.workflowId).result();
    await eventually(async () => ((await pushState(connection)) === 'COMPLETED' ? true : undefined), 20_000, 'the push to complete');
    const refused = await submit(connection, [event('stop@example.org')]);
    expect(refused.status).toBe(409);
    expect(((await refused.json()) as { error: { code: string; message: string } }).error).toEqual({ code: 'conflict', message: 'cannot accept engagement events: the connection is stopped' });
  });
});

describe('events whose signal was lost', () => {
  it('are pushed by the running workflow at its next look, without another request', async () => {
    const connection = await connect();
    await startPush(connection, '2 seconds');
    await eventually(async () => ((await pushStatus(connection))?.lastRunAt ? true : undefined), 20_000, 'the push to look once');

    // An API whose Temporal client refuses signals: the events are stored, the signal is lost.
    const temporal = new Proxy(stack.temporal, {
      get: (target, key) =>
        key === 'workflow'
          ? new Proxy(target.workflow, { get: (w, k) => (k === 'signalWithStart' ? () => Promise.reject(new Error('Temporal is unavailable')) : Reflect.get(w, k)) })
          : Reflect.get(target, key),
    }) as Client;
    const app = await serveAppWith(stack, { temporal });
    try {
      const api = (path: string, init: RequestInit & { json?: unknown } = {}) =>
        fetch(`${app.url}${path}`, { method: init.method, headers: { authorization: `Bearer ${OPERATOR_TOKEN}`, 'content-type': 'application/json' }, body: JSON.stringify(init.json) });
      const response = await submit(connection, [event('lost@example.org'), event('lost@example.org', 'replied')], api);
      expect(response.status).toBe(202);
      expect(await response.json()).toEqual({ accepted: 2, duplicates: 0, pushScheduled: false });
    } finally {
      await app.close();
    }
    await allDone(connection, 2);
    const contact = (await stack.control.groundTruth(connection.portalId)).objects.contacts?.find((c) => c.properties.email === 'lost@example.org');
    expect(contact?.properties).toMatchObject({ hubsync_total_opens: '1', hubsync_lead_score: '12' });
  });
});

describe('the set-up in HubSpot', () => {
  let connection: Connection;

  it('happens as soon as the connection is made, before any engagement event', async () => {
    const fresh = await connect();
    const client = createHubSpotClient(stack.sandboxUrl, fresh.token);
    const names = await eventually(async () => {
      const all = (await client.crm.properties.coreApi.getAll('contacts')).results.map((p) => p.name);
      return all.includes('hubsync_lead_score') ? all : undefined;
    }, 30_000, 'the engagement properties in the portal');
    expect(names).toEqual(expect.arrayContaining(['hubsync_total_opens', 'hubsync_total_clicks', 'hubsync_last_campaign', 'hubsync_unsubscribed']));
    expect(ourTemplates()).toHaveLength(1);
    expect(await pushState(fresh)).toBe('RUNNING');
    expect(await outbox(fresh)).toMatchObject({ pending: 0, done: 0 });
  });

  beforeAll(async () => {
    connection = await connect();
    expect((await submit(connection, [event('setup@example.org')])).status).toBe(202);
    await allDone(connection, 1);
  });

  it('adds a token the template lacks, instead of parking the events that use it', async () => {
    const [template] = ourTemplates();
    stack.sandbox.timeline.updateTemplate(template!.id, { tokens: template!.tokens.filter((t) => t.name !== 'url') });
    const clicked = event('setup@example.org', 'clicked', { url: 'https://example.org/spring' });
    expect((await submit(connection, [clicked])).status).toBe(202);
    await allDone(connection, 2);

    expect(ourTemplates()).toHaveLength(1);
    expect(ourTemplates()[0]!.tokens.map((t) => t.name).sort()).toEqual(['action', 'campaign', 'subject', 'url']);
    expect(stack.sandbox.timeline.getEvent(connection.portalId, template!.id, clicked.id)?.tokens.url).toBe('https://example.org/spring');
  });

  it('creates the template again when it was deleted', async () => {
    const [template] = ourTemplates();
    stack.sandbox.timeline.deleteTemplate(template!.id);
    const opened = event('setup@example.org');
    expect((await submit(connection, [opened])).status).toBe(202);
    await allDone(connection, 3);

    const [recreated] = ourTemplates();
    expect(recreated!.id).not.toBe(template!.id);
    expect(stack.sandbox.timeline.getEvent(connection.portalId, recreated!.id, opened.id)).toBeDefined();
    const settings = (await (await stack.api(`/connections/${connection.id}/engagements/settings`)).json()) as any;
    expect(settings.setup.timelineTemplateId).toBe(recreated!.id);
  });

  it('reports a property archived in HubSpot in the status, without retrying the set-up in a loop', async () => {
    await createHubSpotClient(stack.sandboxUrl, connection.token).crm.properties.coreApi.archive('contacts', 'hubsync_total_opens');
    expect((await submit(connection, [event('setup@example.org')])).status).toBe(202);
    const status = await eventually(async () => {
      const s = await pushStatus(connection);
      return s?.lastError ? s : undefined;
    }, 30_000, 'the push to report the archived property');
    expect(status.lastError).toMatch(/^EngagementPropertyArchived: HubSpot has hubsync_total_opens archived/);
    expect(await outbox(connection)).toMatchObject({ pending: 1, done: 3, parked: 0 });
    // The set-up ran once for the refusal and then waits (a minute) instead of looping.
    await new Promise((resolve) => setTimeout(resolve, 2_000));
    const setups = (await activityExecutions(stack.temporal, pushWorkflowId(connection.id))).filter((e) => e.activityType === 'ensureEngagementSetup');
    expect(setups.length).toBeLessThanOrEqual(4);
  });
});
