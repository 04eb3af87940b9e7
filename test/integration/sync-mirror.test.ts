// Backfill and incremental sync into PostgreSQL against the real Temporal server and the
// simulator: the mirror equals HubSpot's ground truth, field by field, and stays equal as users
// edit, delete, restore and merge records.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { eventually, startStack, type Stack } from '../support/stack.js';
import { mirrorDifferences } from '../support/mirror.js';
import { decodeFirst } from '../support/payloads.js';

const PORTAL_ID = 700301;
const TOKEN = 'pat-na1-sync-mirror-token';
const TYPES = ['contacts', 'companies', 'deals', 'tickets'];

let stack: Stack;
let connectionId: string;

async function status(): Promise<any> {
  return (await stack.api(`/connections/${connectionId}`)).json();
}

async function mirrorMatches(): Promise<string[]> {
  const truth = await stack.control.groundTruth(PORTAL_ID);
  return mirrorDifferences(stack.db.pool, connectionId, truth, TYPES);
}

/** Waits until the mirror equals ground truth; fails with the remaining differences. */
async function expectMirrorToConverge(timeoutMs: number): Promise<void> {
  let last: string[] = [];
  await eventually(
    async () => {
      last = await mirrorMatches();
      return last.length === 0 ? true : undefined;
    },
    timeoutMs,
    'the mirror to match HubSpot',
  ).catch(() => undefined);
  expect(last.slice(0, 20)).toEqual([]);
}

beforeAll(async () => {
  stack = await startStack();
  await stack.control.createPortal({ portalId: PORTAL_ID });
  await stack.control.seed(PORTAL_ID, { seed: 7, contacts: 1200, companies: 150, deals: 300, tickets: 120 });
  await stack.control.createToken(PORTAL_ID, { token: TOKEN });
  const response = await stack.api('/connections', { method: 'POST', json: { accessToken: TOKEN, syncIntervalSeconds: 10 } });
  expect(response.status).toBe(201);
  connectionId = ((await response.json()) as { id: string }).id;
});
afterAll(async () => stack?.close());

describe('a connection syncing four object types', () => {
  it('backfills every type, with progress against an estimated total', async () => {
    const live = await eventually(async () => {
      const body = await status();
      const objects = body.live?.objects ?? {};
      return TYPES.every((t) => objects[t]?.backfill?.status === 'done') ? objects : undefined;
    }, 120_000, 'backfill of every type');
    expect(live.contacts.backfill).toMatchObject({ status: 'done', done: 1200, estimatedTotal: 1200 });
    expect(live.deals.backfill.done).toBe(300);
    expect(live.contacts.recordsSynced).toBeGreaterThanOrEqual(1200);
    await expectMirrorToConverge(30_000);
  });

  it('labels every activity in the Web UI with what it does: which page, which records', async () => {
    const workflowId = ((await status()) as { workflowId: string }).workflowId;
    const history = await stack.temporal.workflow.getHandle(`${workflowId}:sync:contacts:1`).fetchHistory();
    const summaries: string[] = [];
    for (const event of history.events ?? []) {
      const summary = event.activityTaskScheduledEventAttributes ? event.userMetadata?.summary : undefined;
      if (summary) summaries.push(await decodeFirst<string>(stack.temporal, [summary]));
    }
    expect(summaries).toEqual([
      'contacts backfill count',
      ...Array.from({ length: 12 }, (_, i) => `contacts backfill page ${i + 1}: records ${i * 100 + 1}–${(i + 1) * 100}`),
    ]);
  });

  it('brings every user change into the mirror within a sync interval', async () => {
    const truth = await stack.control.groundTruth(PORTAL_ID);
    const [c1, c2] = truth.objects.contacts!;
    const [co1, co2] = truth.objects.companies!;
    const deal = truth.objects.deals![0]!;
    const ticket = truth.objects.tickets![0]!;
    await stack.control.updateObject(PORTAL_ID, 'contacts', c1!.id, { firstname: 'Ada', jobtitle: 'Engineer' });
    await stack.control.createObject(PORTAL_ID, 'contacts', { email: 'new.person@example.org', firstname: 'New' });
    await stack.control.archiveObject(PORTAL_ID, 'tickets', ticket.id);
    await stack.control.archiveObject(PORTAL_ID, 'contacts', c2!.id);
    await stack.control.restoreObject(PORTAL_ID, 'contacts', c2!.id);
    await stack.control.merge(PORTAL_ID, 'companies', co1!.id, co2!.id);
    await stack.control.associate(PORTAL_ID, { fromType: 'deals', fromId: deal.id, toType: 'contacts', toId: c1!.id });
    // A user-defined label too: the mirror keeps each edge's type id and label.
    const defined = await fetch(`${stack.sandboxUrl}/crm/v4/associations/deals/contacts/labels`, {
      method: 'POST',
      headers: { authorization: `Bearer ${TOKEN}`, 'content-type': 'application/json' },
      body: JSON.stringify({ label: 'Decision maker', inverseLabel: 'Deciding on' }),
    });
    const decisionMaker = ((await defined.json()) as { results: Array<{ typeId: number }> }).results[0]!.typeId;
    await stack.control.associate(PORTAL_ID, { fromType: 'deals', fromId: deal.id, toType: 'contacts', toId: c1!.id, typeId: decisionMaker });

    // Archived records only show in the archived sweep: ask for one now instead of waiting 10 minutes.
    const resync = await stack.api(`/connections/${connectionId}/resync`, { method: 'POST', json: { since: new Date(Date.now() - 60_000).toISOString() } });
    expect(resync.status).toBe(200);
    // An association change alone does not touch a record's modification time, so polling cannot
    // see it: webhooks deliver it at once; without them a resync of the type re-reads it.
    expect((await stack.api(`/connections/${connectionId}/resync`, { method: 'POST', json: { objectType: 'deals' } })).status).toBe(200);
    await expectMirrorToConverge(30_000);

    const merged = await stack.db.pool.query(`select archived, merged_into from crm_objects where connection_id = $1 and object_type = 'companies' and object_id = $2`, [connectionId, co2!.id]);
    expect(merged.rows[0]).toEqual({ archived: true, merged_into: co1!.id });
    const labelled = await stack.db.pool.query(`select label from crm_associations where connection_id = $1 and from_type = 'deals' and from_id = $2 and to_id = $3 and type_id = $4`, [connectionId, deal.id, c1!.id, decisionMaker]);
    expect(labelled.rows).toEqual([{ label: 'Decision maker' }]);
  });
});
