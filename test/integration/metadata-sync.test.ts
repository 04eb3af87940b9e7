// The owners-and-pipelines activity called directly (a mock activity context, no Temporal
// server), with a real PostgreSQL and the simulator over HTTP: the mirror equals the portal's
// owners, active and archived, and its deal and ticket pipelines with their stages.
import { MockActivityEnvironment } from '@temporalio/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createMetadataActivities, type MetadataCounts, type MetadataInput } from '../../src/activities/metadata.js';
import type { Portal } from '../../src/sandbox/store.js';
import { startActivityHarness, type ActivityHarness } from '../support/activity-harness.js';

let harness: ActivityHarness;
let nextPortalId = 810_001;

beforeAll(async () => {
  harness = await startActivityHarness();
});
afterAll(async () => harness?.close());

/** A portal with a private-app connection stored as POST /connections stores it. */
async function connect(): Promise<{ portal: Portal; input: MetadataInput }> {
  const portalId = nextPortalId++;
  const objectTypes = ['contacts', 'deals', 'tickets'];
  const { portal, connectionId } = await harness.connect(portalId, objectTypes);
  return { portal, input: { connectionId, portalId, tier: 'free', priority: 'incremental', objectTypes } };
}

function sync(input: MetadataInput): Promise<MetadataCounts> {
  const activity = createMetadataActivities(harness.deps).syncOwnersAndPipelines;
  return new MockActivityEnvironment().run<[MetadataInput], MetadataCounts, typeof activity>(activity, input);
}

/** More owners than one page holds, some of them archived. */
function addOwners(portal: Portal, count: number, archivedEvery: number): void {
  const now = harness.sandbox.clock.now();
  for (let i = 0; i < count; i++) {
    const n = portal.owners.length + 1;
    portal.owners.push({
      id: String(portal.settings.portalId * 1000 + n),
      userId: portal.settings.portalId * 10_000 + n,
      email: `owner${n}@example-sales.test`,
      firstName: `Owner${n}`,
      lastName: 'Test',
      archived: i % archivedEvery === 0,
      createdAt: now,
      updatedAt: now,
    });
  }
}

async function mirroredOwners(connectionId: string) {
  const rows = await harness.db.pool.query(`select owner_id, data, updated_at, archived from crm_owners where connection_id = $1 order by owner_id`, [connectionId]);
  return rows.rows.map((r) => ({ id: r.owner_id, email: r.data.email, firstName: r.data.firstName, lastName: r.data.lastName, userId: r.data.userId, archived: r.archived, updatedAt: new Date(r.updated_at).getTime() }));
}

function portalOwners(portal: Portal) {
  return portal.owners
    .map((o) => ({ id: o.id, email: o.email, firstName: o.firstName, lastName: o.lastName, userId: o.userId, archived: o.archived, updatedAt: o.updatedAt }))
    .sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
}

async function mirroredPipelines(connectionId: string) {
  const rows = await harness.db.pool.query(`select object_type, pipeline_id, data from crm_pipelines where connection_id = $1 order by object_type, pipeline_id`, [connectionId]);
  return rows.rows.map((r) => ({
    objectType: r.object_type,
    id: r.pipeline_id,
    label: r.data.label,
    stages: r.data.stages.map((s: { id: string; label: string; metadata: unknown }) => ({ id: s.id, label: s.label, metadata: s.metadata })),
  }));
}

function portalPipelines(portal: Portal, objectTypes: Record<string, string>) {
  return Object.entries(objectTypes)
    .flatMap(([objectType, typeId]) =>
      (portal.pipelines.get(typeId) ?? []).map((p) => ({ objectType, id: p.id, label: p.label, stages: p.stages.map((s) => ({ id: s.id, label: s.label, metadata: s.metadata })) })),
    )
    .sort((a, b) => `${a.objectType}/${a.id}`.localeCompare(`${b.objectType}/${b.id}`));
}

const DEALS_AND_TICKETS = { deals: '0-3', tickets: '0-5' };

describe('syncOwnersAndPipelines', () => {
  it('mirrors every owner, active and archived across pages, and the deal and ticket pipelines with their stages', async () => {
    const { portal, input } = await connect();
    addOwners(portal, 240, 7);
    const deals = portal.pipelines.get('0-3')!;
    deals.push({ ...deals[0]!, id: 'enterprise', label: 'Enterprise', displayOrder: 1, stages: [{ id: 'e1', label: 'Discovery', displayOrder: 0, metadata: { isClosed: 'false', probability: '0.1' } }] });

    const counts = await sync(input);

    expect(portal.owners.filter((o) => o.archived).length).toBeGreaterThan(30);
    expect(portal.owners.filter((o) => !o.archived).length).toBeGreaterThan(200);
    expect(counts).toEqual({ owners: portal.owners.length, pipelines: 3 });
    expect(await mirroredOwners(input.connectionId)).toEqual(portalOwners(portal));
    expect(await mirroredPipelines(input.connectionId)).toEqual(portalPipelines(portal, DEALS_AND_TICKETS));
  });

  it('follows later changes: an archived or renamed owner, a removed pipeline, a new stage', async () => {
    const { portal, input } = await connect();
    await sync(input);

    harness.sandbox.clock.advance(60_000);
    const [first, second] = portal.owners;
    Object.assign(first!, { archived: true, updatedAt: harness.sandbox.clock.now() });
    Object.assign(second!, { lastName: 'Renamed', updatedAt: harness.sandbox.clock.now() });
    const tickets = portal.pipelines.get('0-5')![0]!;
    tickets.stages.push({ id: '5', label: 'Escalated', displayOrder: 4, metadata: { ticketState: 'OPEN' } });
    const deals = portal.pipelines.get('0-3')!;
    deals.push({ ...deals[0]!, id: 'renewals', label: 'Renewals' });
    await sync(input);
    expect(await mirroredPipelines(input.connectionId)).toEqual(portalPipelines(portal, DEALS_AND_TICKETS));

    deals.splice(deals.findIndex((p) => p.id === 'renewals'), 1);
    await sync(input);

    expect(await mirroredOwners(input.connectionId)).toEqual(portalOwners(portal));
    expect((await mirroredOwners(input.connectionId)).find((o) => o.id === first!.id)).toMatchObject({ archived: true });
    expect(await mirroredPipelines(input.connectionId)).toEqual(portalPipelines(portal, DEALS_AND_TICKETS));
  });

  it('changes nothing when run again over the same data', async () => {
    const { input } = await connect();
    await sync(input);
    const snapshot = async () =>
      (await harness.db.pool.query(`select owner_id, data, updated_at, archived from crm_owners where connection_id = $1 order by owner_id`, [input.connectionId])).rows.concat(
        (await harness.db.pool.query(`select object_type, pipeline_id, data from crm_pipelines where connection_id = $1 order by object_type, pipeline_id`, [input.connectionId])).rows,
      );
    const before = await snapshot();
    await sync(input);
    expect(await snapshot()).toEqual(before);
  });

  it('reads pipelines only for the object types the connection syncs', async () => {
    const { portal, input } = await connect();
    const counts = await sync({ ...input, objectTypes: ['contacts', 'tickets'] });
    expect(counts.pipelines).toBe(1);
    expect(await mirroredPipelines(input.connectionId)).toEqual(portalPipelines(portal, { tickets: '0-5' }));
  });

  it('takes a permit from the portal budget for every request, the account details read too', async () => {
    const { input } = await connect();
    await sync(input);
    const requests = harness.sandbox.requestLog.query({ portalId: input.portalId }).results;
    expect(requests.map((r) => r.path)).toContain('/account-info/v3/details');
    const { general } = await harness.deps.budget.snapshot({ portalId: input.portalId });
    expect(general.used).toBe(requests.length);
  });
});
