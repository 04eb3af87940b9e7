// A worker killed (SIGKILL, its own process) while a webhook batch child's applyObjectBatch is
// reading from HubSpot: after another worker takes over, the batch completes, the mirror equals
// ground truth, and nothing is applied twice. "Applied twice", concretely: a trigger records every
// insert/update of crm_objects; each changed record must be written exactly once at its new
// HubSpot version (updated_at), and the workflow's `webhooks.applied` must grow by exactly the
// number of distinct records changed. (The killed attempt died before its transaction; the
// version guard is `>=`, so a re-run after a commit would write the same version again: that
// window is not what this test produces.)
import type { NextFunction, Request, Response } from 'express';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { webhookEventsSignal, type WebhookEvent } from '../../src/workflows/definitions.js';
import { activityExecutions } from '../support/activity-history.js';
import { mirrorDifferences } from '../support/mirror.js';
import { startWorkerProcess, type WorkerProcess } from '../support/worker-process.js';
import { eventually, startStack, liveStatus, type Stack } from '../support/stack.js';

const PORTAL_ID = 700_951;
const TOKEN = 'pat-na1-webhook-worker-kill';
const CHANGED = 12;

let stack: Stack;
let connection: { id: string; workflowId: string };
let worker: WorkerProcess | undefined;

/** While armed, the simulator holds contact batch reads this long: the activity is in flight. */
let holdReadsMs = 0;
let readsSeen = 0;
function slowBatchRead(req: Request, _res: Response, next: NextFunction): void {
  if (req.method === 'POST' && req.path === '/crm/v3/objects/contacts/batch/read') {
    readsSeen++;
    if (holdReadsMs > 0) return void setTimeout(next, holdReadsMs);
  }
  next();
}

const live = () => liveStatus(stack, connection.id);

beforeAll(async () => {
  stack = await startStack({ sandbox: { hubspotMiddleware: [slowBatchRead] } });
  await stack.control.createPortal({ portalId: PORTAL_ID });
  await stack.control.seed(PORTAL_ID, { seed: 9, contacts: 60, companies: 10, deals: 0, tickets: 0 });
  await stack.control.createToken(PORTAL_ID, { token: TOKEN });
  const response = await stack.api('/connections', { method: 'POST', json: { accessToken: TOKEN, objectTypes: ['contacts'], syncIntervalSeconds: 3600, tier: 'api-addon' } });
  connection = (await response.json()) as { id: string; workflowId: string };
  await eventually(async () => {
    const contacts = (await live())?.objects?.contacts;
    return contacts?.backfill?.status === 'done' && contacts.lastRun ? true : undefined;
  }, 60_000, 'backfill');
  // The first incremental run starts beside the backfill, the first archived sweep right after it:
  // let every sync run end before counting writes.
  await eventually(async () => {
    const contacts = (await live())?.objects?.contacts;
    return contacts?.incrementalFromMs !== null && contacts?.lastArchivedSweepAt && contacts.runs >= 3 && Object.keys(contacts.running).length === 0 ? true : undefined;
  }, 60_000, 'no sync run in flight');
  // Every write to the mirror, for the "applied twice" check.
  await stack.db.pool.query(`
    create table test_crm_writes (object_id text, updated_at timestamptz, op text, at timestamptz default clock_timestamp());
    create function test_record_crm_write() returns trigger language plpgsql as $$
      begin insert into test_crm_writes (object_id, updated_at, op) values (new.object_id, new.updated_at, tg_op); return new; end $$;
    create trigger test_crm_writes after insert or update on crm_objects for each row execute function test_record_crm_write();`);
}, 120_000);
afterAll(async () => {
  await worker?.stop('SIGKILL');
  await stack?.close();
});

describe('a worker killed while a webhook batch is in flight', () => {
  it('is replaced: the batch completes, the mirror equals ground truth, nothing is applied twice', async () => {
    // Only the worker process polls from here on, so the batch's activity runs there.
    await stack.stopWorker();
    worker = await startWorkerProcess(stack);

    const before = (await live()).webhooks;
    const contacts = (await stack.control.groundTruth(PORTAL_ID)).objects.contacts!.slice(0, CHANGED);
    const versions = new Map<string, string>();
    for (const [i, contact] of contacts.entries()) {
      const updated = await stack.control.updateObject(PORTAL_ID, 'contacts', contact.id, { firstname: `Killed${i}` });
      versions.set(contact.id, updated.updatedAt);
    }
    holdReadsMs = 120_000;
    const readsBefore = readsSeen;
    // Each event twice, as HubSpot may deliver it.
    const events: WebhookEvent[] = contacts.map((c, i) => ({ eventId: 9_000 + i, subscriptionId: 1, portalId: PORTAL_ID, occurredAt: Date.parse(versions.get(c.id)!), subscriptionType: 'contact.propertyChange', objectId: c.id, changeSource: 'CRM_UI', propertyName: 'firstname', propertyValue: `Killed${i}` }));
    await stack.temporal.workflow.getHandle(connection.workflowId).signal(webhookEventsSignal, [...events, ...events]);

    // The batch child's read has reached the simulator and is held there: the activity is in flight on the worker process.
    const childId = await eventually(async () => ((await live()).webhooks.running as string | null) ?? undefined, 20_000, 'a webhook batch child');
    await eventually(async () => (readsSeen > readsBefore ? true : undefined), 20_000, 'the batch read');
    const pending = (await stack.temporal.workflow.getHandle(childId).describe()).raw.pendingActivities ?? [];
    expect(pending.map((a) => a.activityType?.name)).toEqual(['applyObjectBatch']);
    expect(pending[0]!.lastWorkerIdentity).toContain(`${worker.pid}@`);

    await worker.stop('SIGKILL');
    holdReadsMs = 0;
    await stack.restartWorker();

    // The server notices the dead attempt at the webhook batch's one-minute start-to-close timeout.
    await eventually(async () => ((await stack.temporal.workflow.getHandle(childId).describe()).status.name === 'COMPLETED' ? true : undefined), 120_000, 'the batch child to complete');
    const hooks = await eventually(async () => {
      const h = (await live()).webhooks;
      return !h.running && Object.values(h.pending as Record<string, number>).every((n) => n === 0) ? h : undefined;
    }, 20_000, 'the connection to take the report');

    const executions = (await activityExecutions(stack.temporal, childId)).filter((e) => e.activityType === 'applyObjectBatch');
    expect(executions).toHaveLength(1);
    expect(executions[0]).toMatchObject({ outcome: 'completed', attempt: 2, lastFailure: expect.objectContaining({ message: expect.stringMatching(/timeout|timed out/i) }) });
    expect(executions[0]!.identity).not.toContain(`${worker.pid}@`);

    expect(await mirrorDifferences(stack.db.pool, connection.id, await stack.control.groundTruth(PORTAL_ID), ['contacts'])).toEqual([]);
    expect(hooks.received - before.received).toBe(CHANGED);
    expect(hooks.duplicates - before.duplicates).toBe(CHANGED);
    expect(hooks.applied - before.applied).toBe(CHANGED);
    const writes = await stack.db.pool.query(`select object_id, updated_at from test_crm_writes`);
    for (const contact of contacts) {
      const atNewVersion = writes.rows.filter((w) => w.object_id === contact.id && new Date(w.updated_at).toISOString() === versions.get(contact.id));
      expect(atNewVersion, `writes of contact ${contact.id} at its new version`).toHaveLength(1);
    }
    // Nothing else was written meanwhile.
    expect(writes.rows.filter((w) => !versions.has(w.object_id))).toEqual([]);
  }, 360_000);
});
