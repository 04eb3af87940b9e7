// Deletions only show in HubSpot's archived list, and a restore need not move the modification
// time incremental sync follows: the archived sweep is where both are found for sure.
import { afterAll, beforeAll, expect, it } from 'vitest';
import { eventually, startStack, type Stack } from '../support/stack.js';

const PORTAL_ID = 700_961;

let stack: Stack;

beforeAll(async () => {
  stack = await startStack();
  await stack.control.createPortal({ portalId: PORTAL_ID });
  await stack.control.seed(PORTAL_ID, { seed: 21, contacts: 30 });
  // The case incremental search cannot see.
  await stack.control.setCrmBehaviour({ restoreMovesModifiedTime: false });
});
afterAll(async () => stack?.close());

it('a record restored without a new modification time is found live again by the next archived sweep', async () => {
  const { token } = await stack.control.createToken(PORTAL_ID);
  const created = await stack.api('/connections', { method: 'POST', json: { accessToken: token, objectTypes: ['contacts'], syncIntervalSeconds: 10 } });
  const { id } = (await created.json()) as { id: string };
  const live = async () => ((await (await stack.api(`/connections/${id}`)).json()) as { live: any }).live.objects.contacts;
  const archived = async (contactId: string) =>
    (await stack.db.pool.query(`select archived from crm_objects where connection_id = $1 and object_type = 'contacts' and object_id = $2`, [id, contactId])).rows[0]?.archived;
  const idle = (state: any) => state?.lastArchivedSweepAt && !Object.values(state.running).some((r: any) => r.kind === 'archived');
  // The backfill, then the first sweep, which follows it at once.
  await eventually(async () => (idle(await live()) ? true : undefined), 30_000, 'the backfill and its first sweep');
  // A sweep now and then: what the 10-minute timer does, asked for by a resync with `since`.
  const sweep = async () => {
    const before = (await live()).lastArchivedSweepAt;
    expect((await stack.api(`/connections/${id}/resync`, { method: 'POST', json: { objectType: 'contacts', since: new Date().toISOString() } })).status).toBe(200);
    await eventually(async () => {
      const state = await live();
      return idle(state) && state.lastArchivedSweepAt !== before ? true : undefined;
    }, 30_000, 'an archived sweep');
  };

  const [x, y] = (await stack.control.groundTruth(PORTAL_ID)).objects.contacts!;
  await stack.control.archiveObject(PORTAL_ID, 'contacts', x!.id);
  await sweep();
  expect(await archived(x!.id)).toBe(true);

  // HubSpot's clock moves on, and the incremental cursor with it, far past the archiving; then one
  // more window runs, starting (less its overlap) after it.
  const archivedAt = Date.parse((await stack.control.groundTruth(PORTAL_ID)).objects.contacts!.find((c) => c.id === x!.id)!.updatedAt);
  await stack.control.advanceClock(10 * 60_000);
  await stack.control.updateObject(PORTAL_ID, 'contacts', y!.id, { jobtitle: 'Later' });
  const moved = await eventually(async () => {
    const state = await live();
    return state.incrementalFromMs > archivedAt + 5 * 60_000 ? state : undefined;
  }, 30_000, 'the cursor to move on');
  await eventually(async () => {
    const state = await live();
    return state.lastRun.kind === 'incremental' && Date.parse(state.lastRun.startedAt) > Date.parse(moved.lastRun.finishedAt) ? true : undefined;
  }, 30_000, 'a window after the cursor moved');

  await stack.control.restoreObject(PORTAL_ID, 'contacts', x!.id);
  // Incremental windows start after the restored record's modification time: they never see it.
  await new Promise((resolve) => setTimeout(resolve, 12_000));
  expect(await archived(x!.id)).toBe(true);

  await sweep();
  expect(await archived(x!.id)).toBe(false);
}, 120_000);
