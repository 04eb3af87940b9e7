// The connection workflow's side of webhooks, fed by signal directly (the HTTP intake has its own
// tests): duplicated, shuffled events leave the mirror equal to HubSpot, with no help from the
// incremental sync (its interval is an hour here), and events that arrive while paused are kept.
import type { NextFunction, Request, Response } from 'express';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createHubSpotClient } from '../../src/hubspot/client.js';
import { webhookEventsSignal, type WebhookEvent } from '../../src/workflows/definitions.js';
import { mirrorDifferences } from '../support/mirror.js';
import { eventually, startStack, liveStatus, type Stack } from '../support/stack.js';

const PORTAL_ID = 700601;
const TOKEN = 'pat-na1-webhook-apply';
const TYPES = ['contacts', 'companies', 'deals'];

let stack: Stack;
let connection: { id: string; workflowId: string };
let nextEventId = 1;

/** What HubSpot does to the contacts batch reads of webhook batches, as a test sets it. */
let contactBatchReads: 'answer' | 'stall' | 'refuse' = 'answer';
let contactBatchReadCount = 0;
async function steerContactBatchReads(req: Request, res: Response, next: NextFunction): Promise<void> {
  if (req.method !== 'POST' || req.path !== '/crm/v3/objects/contacts/batch/read') return next();
  contactBatchReadCount++;
  if (contactBatchReads === 'stall') await new Promise((resolve) => setTimeout(resolve, 5_000));
  if (contactBatchReads === 'refuse') {
    res.status(403).json({ status: 'error', message: 'This app has not been granted all required scopes to make this call.', category: 'MISSING_SCOPES', correlationId: '7d1a7d1a-0000-4000-8000-000000000403' });
    return;
  }
  next();
}

const live = () => liveStatus(stack, connection.id);

function event(subscriptionType: string, objectId: string, extra: Partial<WebhookEvent> = {}): WebhookEvent {
  return { eventId: nextEventId++, subscriptionId: 1, portalId: PORTAL_ID, occurredAt: Date.now(), subscriptionType, objectId, changeSource: 'CRM_UI', ...extra };
}

/** Each event two or three times, shuffled, in several signals — as HubSpot may deliver them. */
async function deliverMessily(events: WebhookEvent[]): Promise<void> {
  const copies = events.flatMap((e, i) => (i % 2 ? [e, e] : [e, e, e]));
  for (let i = copies.length - 1; i > 0; i--) {
    const j = (i * 7919) % (i + 1);
    [copies[i], copies[j]] = [copies[j]!, copies[i]!];
  }
  const handle = stack.temporal.workflow.getHandle(connection.workflowId);
  for (let i = 0; i < copies.length; i += 7) await handle.signal(webhookEventsSignal, copies.slice(i, i + 7));
}

async function expectMirrorToConverge(): Promise<void> {
  let last: string[] = [];
  await eventually(async () => {
    last = await mirrorDifferences(stack.db.pool, connection.id, await stack.control.groundTruth(PORTAL_ID), TYPES);
    return last.length === 0 ? true : undefined;
  }, 30_000).catch(() => undefined);
  expect(last.slice(0, 20)).toEqual([]);
}

beforeAll(async () => {
  stack = await startStack({ sandbox: { hubspotMiddleware: [(req, res, next) => void steerContactBatchReads(req, res, next)] } });
  await stack.control.createPortal({ portalId: PORTAL_ID });
  await stack.control.seed(PORTAL_ID, { seed: 3, contacts: 200, companies: 30, deals: 60 });
  await stack.control.createToken(PORTAL_ID, { token: TOKEN });
  const response = await stack.api('/connections', { method: 'POST', json: { accessToken: TOKEN, objectTypes: TYPES, syncIntervalSeconds: 3600, tier: 'api-addon' } });
  connection = (await response.json()) as { id: string; workflowId: string };
  await eventually(async () => {
    const objects = (await live())?.objects ?? {};
    return TYPES.every((t) => objects[t]?.backfill?.status === 'done' && objects[t]?.lastRun) ? true : undefined;
  }, 60_000, 'backfill');
});
afterAll(async () => stack?.close());

describe('webhook events in the connection workflow', () => {
  it('apply creations, property changes, deletions, merges and association changes exactly, however delivered', async () => {
    const truth = await stack.control.groundTruth(PORTAL_ID);
    const [c1, c2, c3] = truth.objects.contacts!;
    const [co1, co2] = truth.objects.companies!;
    const deal = truth.objects.deals![0]!;
    const created = await stack.control.createObject(PORTAL_ID, 'contacts', { email: 'hook@example.org', firstname: 'Hook' });
    await stack.control.updateObject(PORTAL_ID, 'contacts', c1!.id, { firstname: 'Changed' });
    await stack.control.archiveObject(PORTAL_ID, 'deals', deal.id);
    await stack.control.merge(PORTAL_ID, 'companies', co1!.id, co2!.id);
    await stack.control.associate(PORTAL_ID, { fromType: 'contacts', fromId: c2!.id, toType: 'companies', toId: co1!.id });
    await createHubSpotClient(stack.sandboxUrl, TOKEN).crm.contacts.basicApi.purge({ objectId: c3!.id });

    const events = [
      event('contact.creation', String(created.id)),
      event('contact.propertyChange', c1!.id, { propertyName: 'firstname', propertyValue: 'Changed' }),
      event('deal.deletion', deal.id),
      event('company.merge', co1!.id, { primaryObjectId: co1!.id, mergedObjectIds: [co2!.id], newObjectId: co1!.id }),
      event('contact.associationChange', c2!.id, { associationType: 'CONTACT_TO_COMPANY', fromObjectId: c2!.id, toObjectId: co1!.id }),
      event('contact.privacyDeletion', c3!.id),
    ];
    await deliverMessily(events);
    await expectMirrorToConverge();
    const purged = await stack.db.pool.query(`select properties, archived from crm_objects where connection_id = $1 and object_type = 'contacts' and object_id = $2`, [connection.id, c3!.id]);
    expect(purged.rows[0]).toEqual({ properties: {}, archived: true });

    const hooks = (await live()).webhooks;
    expect(hooks.received).toBe(6);
    expect(hooks.duplicates).toBe(9);
    // The newest event HubSpot saw happen: where the incremental sync would close a gap from.
    expect(hooks.lastEventAt).toBe(new Date(Math.max(...events.map((e) => e.occurredAt))).toISOString());
  });

  it('keeps events that arrive while paused and applies them after resume', async () => {
    expect((await stack.api(`/connections/${connection.id}/pause`, { method: 'POST' })).status).toBe(200);
    const contact = (await stack.control.groundTruth(PORTAL_ID)).objects.contacts!.find((c) => !c.archived)!;
    await stack.control.updateObject(PORTAL_ID, 'contacts', contact.id, { lastname: 'WhilePaused' });
    await deliverMessily([event('contact.propertyChange', contact.id, { propertyName: 'lastname' })]);
    await new Promise((resolve) => setTimeout(resolve, 3_000));
    const before = await stack.db.pool.query(`select properties->>'lastname' as lastname from crm_objects where connection_id = $1 and object_type = 'contacts' and object_id = $2`, [connection.id, contact.id]);
    expect(before.rows[0].lastname).not.toBe('WhilePaused');
    expect((await live()).webhooks.pending.contacts).toBe(1);

    expect((await stack.api(`/connections/${connection.id}/resume`, { method: 'POST' })).status).toBe(200);
    await expectMirrorToConverge();
  });

  it('queues again the records of a batch that ended without reporting (terminated by hand), and applies them', async () => {
    const contact = (await stack.control.groundTruth(PORTAL_ID)).objects.contacts!.find((c) => !c.archived)!;
    await stack.control.updateObject(PORTAL_ID, 'contacts', contact.id, { lastname: 'AfterALostBatch' });
    await eventually(async () => ((await live()).webhooks.running === null ? true : undefined), 20_000, 'earlier batches to finish');
    contactBatchReads = 'stall';
    const readsBefore = contactBatchReadCount;
    await deliverMessily([event('contact.propertyChange', contact.id, { propertyName: 'lastname' })]);
    // The batch whose read of this contact is stalled in the simulator right now.
    const batch = await eventually(async () => (contactBatchReadCount > readsBefore ? ((await live()).webhooks.running ?? undefined) : undefined), 10_000, 'the batch to read');
    await stack.temporal.workflow.getHandle(batch).terminate('an operator ends the batch by hand');
    contactBatchReads = 'answer';

    await expectMirrorToConverge();
    const state = await live();
    expect(state.recentErrors).toContainEqual(expect.objectContaining({ type: 'WebhookBatchLost', message: expect.stringContaining(batch) }));
    expect(state.webhooks.running).not.toBe(batch);
    expect((await stack.temporal.workflow.getHandle(connection.workflowId).describe()).status.name).toBe('RUNNING');
  });

  it('records a batch HubSpot refuses for good once, instead of retrying it every debounce', async () => {
    const contact = (await stack.control.groundTruth(PORTAL_ID)).objects.contacts!.find((c) => !c.archived)!;
    contactBatchReads = 'refuse';
    const readsBefore = contactBatchReadCount;
    await deliverMessily([event('contact.propertyChange', contact.id, { propertyName: 'lastname' })]);
    const refused = await eventually(async () => {
      const state = await live();
      return state.recentErrors.find((e: { type: string }) => e.type === 'HubSpotMissingScopes');
    }, 20_000, 'the refusal in the status');
    expect(refused.message).toMatch(/^webhook batch \(1 records left to the next sync\): HubSpot 403/);
    await new Promise((resolve) => setTimeout(resolve, 3_000)); // a dozen debounces
    expect(contactBatchReadCount - readsBefore).toBe(1); // a 403 is not retried by the activity either
    const hooks = (await live()).webhooks;
    expect(hooks.pending.contacts ?? 0).toBe(0);
    expect(hooks.running).toBeNull();
    contactBatchReads = 'answer';
  });
});
