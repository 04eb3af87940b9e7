// Loop prevention end to end (issue 7): the simulator delivers, signed, the propertyChange webhooks
// its own store raises when the engagement push writes a contact's properties; the API recognises
// them as the echo of our write (the write ledger) and no HubSpot call follows for that contact.
// The ledger's match is bounded in time: the same value set back by a person much later (A→B→A)
// is a change, and the connection reads the contact again.
import express, { type NextFunction, type Request, type Response } from 'express';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PUSHED_PROPERTIES } from '../../src/activities/engagement-score.js';
import { ownWriteEchoes, recordOwnWrites } from '../../src/db/write-ledger.js';
import { installConnection } from '../support/oauth-install.js';
import { eventually, startStack, liveStatus, type Stack } from '../support/stack.js';

const PORTAL_ID = 700_931;

let stack: Stack;
let connection: { id: string; workflowId: string };

/** Contact ids the simulator was asked to read since the last reset (batch reads and single reads). */
let contactReads: string[] = [];
const parseRead = express.json({ limit: '5mb' });
function recordContactReads(req: Request, res: Response, next: NextFunction): void {
  const single = /^\/crm\/v3\/objects\/contacts\/(\d+)$/.exec(req.path);
  if (req.method === 'GET' && single) contactReads.push(single[1]!);
  if (req.method !== 'POST' || req.path !== '/crm/v3/objects/contacts/batch/read') return next();
  parseRead(req, res, () => {
    for (const input of (req.body as { inputs?: Array<{ id: string }> }).inputs ?? []) contactReads.push(String(input.id));
    next();
  });
}

/** While set, HubSpot's answer to a contact upsert leaves this long after the write (and its webhook). */
let delayUpsertAnswersMs = 0;
function delayUpsertAnswers(req: Request, res: Response, next: NextFunction): void {
  if (delayUpsertAnswersMs > 0 && req.method === 'POST' && req.path === '/crm/v3/objects/contacts/batch/upsert') {
    const json = res.json.bind(res);
    const delay = delayUpsertAnswersMs;
    res.json = (body: unknown) => {
      setTimeout(() => json(body), delay);
      return res;
    };
  }
  next();
}

const live = () => liveStatus(stack, connection.id);

async function outbox(): Promise<{ pending: number; done: number }> {
  return ((await (await stack.api(`/connections/${connection.id}/engagements/status`)).json()) as any).outbox;
}

/** Every webhook delivery the simulator had queued is answered, and the connection took what the API signalled. */
async function deliveriesSettled(): Promise<void> {
  await stack.sandbox.webhooks.idle();
  await eventually(async () => {
    const hooks = (await live()).webhooks;
    return !hooks.running && Object.values(hooks.pending as Record<string, number>).every((n) => n === 0) ? true : undefined;
  }, 20_000, 'the webhook batches to finish');
}

beforeAll(async () => {
  stack = await startStack({ sandboxApi: true, sandbox: { hubspotMiddleware: [recordContactReads, delayUpsertAnswers] } });
  await stack.control.createPortal({ portalId: PORTAL_ID });
  await stack.control.seed(PORTAL_ID, { seed: 93, contacts: 20, companies: 0, deals: 0, tickets: 0 });
  // HubSpot subscribes property changes one property at a time: the push's properties and the trigger property.
  const subscribed = await stack.api('/webhooks/subscriptions', {
    method: 'POST',
    json: { propertyNames: { contact: ['firstname', 'lifecyclestage', ...PUSHED_PROPERTIES.map((name) => `hubsync_${name}`)] } },
  });
  expect(subscribed.status).toBe(200);
  const installed = await installConnection(stack, PORTAL_ID, '&objectTypes=contacts&syncIntervalSeconds=3600');
  expect(installed.status).toBe(201);
  connection = (await installed.json()) as { id: string; workflowId: string };
  await eventually(async () => ((await live())?.objects?.contacts?.backfill?.status === 'done' ? true : undefined), 60_000, 'backfill');
  await deliveriesSettled();
}, 120_000);
afterAll(async () => stack?.close());

describe('the echo of our own property writes', () => {
  let contactId: string;
  let email: string;

  it('arrives by webhook and causes no further HubSpot call for the contact', async () => {
    const { rows } = await stack.db.pool.query(`select object_id, properties->>'email' as email from crm_objects where connection_id = $1 and object_type = 'contacts' order by object_id limit 1`, [connection.id]);
    contactId = rows[0].object_id;
    email = rows[0].email;
    const before = (await live()).webhooks.received as number;
    const delivered = stack.sandbox.webhooks.stats().delivered;
    contactReads = [];

    const events = [
      { id: 'echo-1', type: 'opened', email, occurredAt: '2026-03-01T10:00:00.000Z', campaignId: 'c1', campaignName: 'Echo', subject: 'Hi' },
      { id: 'echo-2', type: 'clicked', email, occurredAt: '2026-03-01T10:05:00.000Z', campaignId: 'c1', campaignName: 'Echo', subject: 'Hi', url: 'https://example.org/e' },
    ];
    // HubSpot's answer comes after its webhook: the echo reaches the API before the push learns the write succeeded.
    delayUpsertAnswersMs = 1_500;
    try {
      expect((await stack.api(`/connections/${connection.id}/engagements`, { method: 'POST', json: { events } })).status).toBe(202);
      await eventually(async () => ((await outbox()).done === 2 ? true : undefined), 30_000, 'the push');
    } finally {
      delayUpsertAnswersMs = 0;
    }
    const pushed = (await stack.control.groundTruth(PORTAL_ID)).objects.contacts!.find((c) => c.id === contactId)!;
    expect(pushed.properties).toMatchObject({ hubsync_total_opens: '1', hubsync_total_clicks: '1', hubsync_lead_score: '7' });

    await deliveriesSettled();
    // HubSpot did send the echo: a propertyChange per written property reached the API.
    expect(stack.sandbox.webhooks.stats().delivered - delivered).toBeGreaterThanOrEqual(PUSHED_PROPERTIES.length);
    expect(stack.logs.some((line) => line.includes('echoes of our own writes dropped'))).toBe(true);
    // ...and nothing came of it: no event reached the connection, no read of the contact.
    expect((await live()).webhooks.received).toBe(before);
    expect(contactReads).not.toContain(contactId);
  });

  it('is told from the same value set back by a person after the echo window: that is a change, and is read', async () => {
    const own = { objectType: 'contacts', objectId: contactId, property: 'hubsync_lead_score', value: '7' };
    expect(await ownWriteEchoes(stack.db.pool, connection.id, [own])).toEqual([true]);
    // Sales sets another score, then, long after our write, the one we wrote: both are changes.
    await stack.control.updateObject(PORTAL_ID, 'contacts', contactId, { hubsync_lead_score: '50' });
    await deliveriesSettled();
    await stack.db.pool.query(`update hubspot_write_ledger set written_at = now() - interval '11 minutes' where connection_id = $1`, [connection.id]);
    expect(await ownWriteEchoes(stack.db.pool, connection.id, [own])).toEqual([false]);

    const before = (await live()).webhooks.received as number;
    contactReads = [];
    await stack.control.updateObject(PORTAL_ID, 'contacts', contactId, { hubsync_lead_score: '7' });
    await deliveriesSettled();
    expect((await live()).webhooks.received).toBe(before + 1);
    // The connection took the change and read the contact again, as for any change made in HubSpot.
    expect(contactReads).toContain(contactId);
  });

  it('matches a time written as ISO when HubSpot spells it in epoch milliseconds or without them', async () => {
    const own = { objectType: 'contacts', objectId: contactId, property: 'hubsync_last_email_opened', value: '2026-03-01T10:00:00.000Z' };
    await recordOwnWrites(stack.db.pool, connection.id, [own]);
    const spelled = (value: string) => ({ ...own, value });
    expect(await ownWriteEchoes(stack.db.pool, connection.id, [spelled(String(Date.parse(own.value))), spelled('2026-03-01T10:00:00Z'), spelled('2026-03-01T10:00:01Z')])).toEqual([true, true, false]);
  });
});
