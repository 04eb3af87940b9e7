// A connection outlives its sync runs: a child that is gone when the connection signals it (it
// finished a moment before, or an operator terminated it) must not fail the connection workflow.
import { afterAll, beforeAll, expect, it } from 'vitest';
import type { ObjectSyncInput } from '../../src/workflows/definitions.js';
import { decodeFirst } from '../support/payloads.js';
import { eventually, startStack, type Stack } from '../support/stack.js';

const PORTAL_ID = 700_401;
const CONTACTS = 1_500;

let stack: Stack;

beforeAll(async () => {
  stack = await startStack();
  await stack.control.createPortal({ portalId: PORTAL_ID });
  await stack.control.seed(PORTAL_ID, { seed: 7, contacts: CONTACTS });
  // Slow pages, so the backfill is still running when the test steps in.
  await stack.control.setFaults({ latencyMs: 150 }, PORTAL_ID);
});
afterAll(async () => stack?.close());

async function live(id: string): Promise<any> {
  return ((await (await stack.api(`/connections/${id}`)).json()) as { live: any }).live;
}

it('a sync run terminated without reporting is counted as failed and its backfill resumes from the checkpoint, with the connection still running', async () => {
  const { token } = await stack.control.createToken(PORTAL_ID);
  const created = await stack.api('/connections', { method: 'POST', json: { accessToken: token, objectTypes: ['contacts'], syncIntervalSeconds: 3600 } });
  expect(created.status).toBe(201);
  const { id, workflowId } = (await created.json()) as { id: string; workflowId: string };

  // A backfill run that has passed its first checkpoint (10 pages).
  const lostRun = await eventually(async () => {
    const contacts = (await live(id))?.objects?.contacts;
    const [childId] = Object.keys(contacts?.running ?? {});
    return childId && contacts.backfill.done >= 1_000 ? childId : undefined;
  }, 60_000, 'a backfill past its first checkpoint');

  expect((await stack.api(`/connections/${id}/pause`, { method: 'POST' })).status).toBe(200);
  await stack.temporal.workflow.getHandle(lostRun).terminate('an operator ends the run by hand');
  // Resuming signals the terminated run: the connection finds it gone instead of failing.
  expect((await stack.api(`/connections/${id}/resume`, { method: 'POST' })).status).toBe(200);

  const done = await eventually(async () => {
    const state = await live(id);
    return state?.objects?.contacts?.backfill.status === 'done' ? state : undefined;
  }, 60_000, 'the backfill to finish in a new run');
  expect(done.recentErrors).toContainEqual(expect.objectContaining({ type: 'SyncRunLost', message: expect.stringContaining(lostRun) }));
  expect(done.objects.contacts.runs).toBeGreaterThanOrEqual(2);
  expect((await stack.temporal.workflow.getHandle(workflowId).describe()).status.name).toBe('RUNNING');

  const mirrored = await stack.db.pool.query(`select count(*)::int as n from crm_objects where connection_id = $1 and object_type = 'contacts'`, [id]);
  expect(mirrored.rows[0].n).toBe(CONTACTS);
  // The new backfill run started from the lost run's checkpoint, not from the first page.
  const lostNumber = Number(lostRun.split(':').at(-1));
  const inputs: ObjectSyncInput[] = [];
  for (let n = lostNumber + 1; n <= done.objects.contacts.runs; n++) {
    const history = await stack.temporal.workflow.getHandle(`${workflowId}:sync:contacts:${n}`).fetchHistory();
    const started = history.events?.[0]?.workflowExecutionStartedEventAttributes;
    inputs.push(await decodeFirst<ObjectSyncInput>(stack.temporal, started?.input?.payloads ?? []));
  }
  const resumed = inputs.find((input) => input.cursor.kind === 'backfill');
  expect(resumed?.cursor).toEqual({ kind: 'backfill', after: expect.any(String) });
  expect(resumed?.counts.fetched).toBeGreaterThanOrEqual(1_000);
}, 150_000);
