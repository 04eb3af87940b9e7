// The backfill page activity called directly (a mock activity context, no Temporal server), with a
// real PostgreSQL and the simulator over HTTP: while one page is written, the next page's list and
// association requests are already made, and the activity for that page uses them instead of
// asking again, so a backfill still reads each page exactly once.
import { MockActivityEnvironment } from '@temporalio/testing';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { createSyncActivities, type PageInput, type PageResult } from '../../src/activities/sync.js';
import { seedPortal } from '../../src/sandbox/seed.js';
import { startActivityHarness, type ActivityHarness } from '../support/activity-harness.js';
import { eventually } from '../support/stack.js';

const PORTAL_ID = 820_001;
let harness: ActivityHarness;

beforeAll(async () => {
  harness = await startActivityHarness();
});
afterAll(async () => harness?.close());

type ListPageInput = PageInput & { after: string | undefined };
type ListPageResult = PageResult & { after: string | undefined };

it('reads the next page (list and associations) ahead and every page once', async () => {
  const { sandbox, db } = harness;
  const { portal, connectionId } = await harness.connect(PORTAL_ID, ['contacts']);
  seedPortal(sandbox.store, portal, { seed: 7, contacts: 250, companies: 0, deals: 0, tickets: 0 });
  const syncListPage = createSyncActivities(harness.deps).syncListPage;
  const page = (after: string | undefined) =>
    new MockActivityEnvironment().run<[ListPageInput], ListPageResult, typeof syncListPage>(syncListPage, {
      connectionId,
      portalId: PORTAL_ID,
      tier: 'free',
      priority: 'backfill',
      objectType: 'contacts',
      after,
    });
  const requests = (method: string, pathPrefix: string) => sandbox.requestLog.query({ portalId: PORTAL_ID, pathPrefix }).results.filter((r) => r.method === method).length;
  // Contacts mirror their company associations: a page is a list request and an association batch read.
  const counts = () => ({ lists: requests('GET', '/crm/v3/objects/contacts'), associationReads: requests('POST', '/crm/v4/associations/contacts/companies/batch/read') });

  const first = await page(undefined);
  expect(first).toMatchObject({ fetched: 100, applied: 100 });
  expect(first.after).toBeDefined();
  // Page 2 is asked for before its activity runs.
  await eventually(async () => (counts().associationReads === 2 ? true : undefined), 5_000, 'the read-ahead of page 2');
  expect(counts()).toEqual({ lists: 2, associationReads: 2 });

  const second = await page(first.after);
  expect(second).toMatchObject({ fetched: 100, applied: 100 });
  const third = await page(second.after);
  expect(third).toEqual({ fetched: 50, applied: 50, after: undefined });

  // Three pages, three of each request: each read-ahead was used, none repeated.
  expect(counts()).toEqual({ lists: 3, associationReads: 3 });
  const mirrored = await db.pool.query('select count(*)::int as n from crm_objects where connection_id = $1', [connectionId]);
  expect(mirrored.rows[0].n).toBe(250);
});
