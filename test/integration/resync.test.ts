// A resync is a request an operator makes once: it must happen even when a run of the same kind is
// already under way (an incremental window for "since", a backfill for a full resync).
import type { NextFunction, Request, Response } from 'express';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ObjectSyncInput } from '../../src/workflows/definitions.js';
import { decodeFirst } from '../support/payloads.js';
import { eventually, startStack, type Stack } from '../support/stack.js';

const SINCE_PORTAL = 700_501;
const RESTART_PORTAL = 700_502;
const CONTACTS = 1_500;

let stack: Stack;
/** Contacts searches of SINCE_PORTAL wait this long: an incremental window stays open while the test acts. */
let searchStallMs = 0;
async function stallSearches(req: Request, _res: Response, next: NextFunction): Promise<void> {
  if (searchStallMs > 0 && req.method === 'POST' && req.path === '/crm/v3/objects/contacts/search') await new Promise((resolve) => setTimeout(resolve, searchStallMs));
  next();
}

beforeAll(async () => {
  stack = await startStack({ sandbox: { hubspotMiddleware: [(req, res, next) => void stallSearches(req, res, next)] } });
  for (const portalId of [SINCE_PORTAL, RESTART_PORTAL]) await stack.control.createPortal({ portalId });
  await stack.control.seed(SINCE_PORTAL, { seed: 11, contacts: 50 });
  await stack.control.seed(RESTART_PORTAL, { seed: 12, contacts: CONTACTS });
});
afterAll(async () => stack?.close());

async function connect(portalId: number, syncIntervalSeconds: number): Promise<{ id: string; workflowId: string }> {
  const { token } = await stack.control.createToken(portalId);
  const response = await stack.api('/connections', { method: 'POST', json: { accessToken: token, objectTypes: ['contacts'], syncIntervalSeconds, tier: 'api-addon' } });
  expect(response.status).toBe(201);
  return (await response.json()) as { id: string; workflowId: string };
}

async function contacts(id: string): Promise<any> {
  return ((await (await stack.api(`/connections/${id}`)).json()) as { live: any }).live?.objects?.contacts;
}

describe('POST /connections/:id/resync', () => {
  it('with since, re-reads from then even when an incremental window is running as it arrives', async () => {
    const connection = await connect(SINCE_PORTAL, 10);
    await eventually(async () => ((await contacts(connection.id))?.backfill.status === 'done' ? true : undefined), 30_000, 'the backfill');
    const [old] = (await stack.control.groundTruth(SINCE_PORTAL)).objects.contacts!;
    const oldModified = Date.parse(old!.updatedAt);
    // HubSpot's clock moves on and a newer change moves the incremental cursor far past the seed.
    await stack.control.advanceClock(60 * 60_000);
    const [, other] = (await stack.control.groundTruth(SINCE_PORTAL)).objects.contacts!;
    await stack.control.updateObject(SINCE_PORTAL, 'contacts', other!.id, { firstname: 'Newer' });
    await eventually(async () => {
      const state = await contacts(connection.id);
      return state?.incrementalFromMs > oldModified + 30 * 60_000 ? true : undefined;
    }, 30_000, 'the incremental cursor to pass the seeded records');

    // The mirror lost a seeded contact's value (say, a bad manual edit): only a re-read from before its change fixes it.
    await stack.db.pool.query(
      `update crm_objects set properties = properties || '{"firstname": "Wrong"}', updated_at = updated_at - interval '1 second' where connection_id = $1 and object_type = 'contacts' and object_id = $2`,
      [connection.id, old!.id],
    );
    searchStallMs = 3_000;
    await eventually(async () => {
      const state = await contacts(connection.id);
      return Object.values(state?.running ?? {}).some((run: any) => run.kind === 'incremental') ? true : undefined;
    }, 30_000, 'an incremental window to be running');
    const resync = await stack.api(`/connections/${connection.id}/resync`, { method: 'POST', json: { since: new Date(oldModified - 1_000).toISOString() } });
    expect(resync.status).toBe(200);
    searchStallMs = 0;

    await eventually(async () => {
      const row = await stack.db.pool.query(`select properties->>'firstname' as firstname from crm_objects where connection_id = $1 and object_type = 'contacts' and object_id = $2`, [connection.id, old!.id]);
      return row.rows[0].firstname === old!.properties.firstname ? true : undefined;
    }, 40_000, 'the resync to re-read the seeded contact');
  }, 120_000);

  it('without since, restarts a backfill that is running as it arrives, from the first page', async () => {
    await stack.control.setFaults({ latencyMs: 150 }, RESTART_PORTAL);
    const connection = await connect(RESTART_PORTAL, 3600);
    const first = await eventually(async () => {
      const state = await contacts(connection.id);
      const run = Object.entries(state?.running ?? {}).find(([, r]: [string, any]) => r.kind === 'backfill');
      return run && state.backfill.done >= 1_000 ? run[0] : undefined;
    }, 60_000, 'a backfill past its first checkpoint');

    const requestedAt = Date.now();
    expect((await stack.api(`/connections/${connection.id}/resync`, { method: 'POST', json: { objectType: 'contacts' } })).status).toBe(200);
    await stack.control.clearFaults(RESTART_PORTAL);

    const done = await eventually(async () => {
      const state = await contacts(connection.id);
      return state?.backfill.status === 'done' && Date.parse(state.backfill.startedAt) >= requestedAt - 1_000 ? state : undefined;
    }, 60_000, 'a fresh backfill to finish');
    expect(done.backfill.done).toBe(CONTACTS);
    // The run under way stopped at a page boundary; the next backfill started without a cursor.
    const firstResult = await stack.temporal.workflow.getHandle(first).result();
    expect(firstResult).toMatchObject({ outcome: 'stopped' });
    // The first backfill run after the stopped one is the restart (it has finished, so it exists;
    // runs after it, such as the archived sweep, may still be starting).
    let restarted: ObjectSyncInput | undefined;
    for (let n = Number(first.split(':').at(-1)) + 1; !restarted && n <= done.runs; n++) {
      const history = await stack.temporal.workflow.getHandle(`${connection.workflowId}:sync:contacts:${n}`).fetchHistory();
      const input = await decodeFirst<ObjectSyncInput>(stack.temporal, history.events?.[0]?.workflowExecutionStartedEventAttributes?.input?.payloads ?? []);
      if (input.cursor.kind === 'backfill') restarted = input;
    }
    expect(restarted?.cursor).toEqual({ kind: 'backfill' });
    expect(restarted?.counts.fetched).toBe(0);
  }, 150_000);
});
