// Which properties a connection mirrors: every property HubSpot lists (re-discovered on a slow
// timer, so a new custom property appears without a restart), or an explicit list per type.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createHubSpotClient } from '../../src/hubspot/client.js';
import { eventually, startStack, type Stack } from '../support/stack.js';

const PORTAL_ID = 700_901;
const TOKEN = 'pat-na1-properties-token';

let stack: Stack;

beforeAll(async () => {
  stack = await startStack();
  await stack.control.createPortal({ portalId: PORTAL_ID });
  await stack.control.seed(PORTAL_ID, { seed: 9, contacts: 40 });
  await stack.control.createToken(PORTAL_ID, { token: TOKEN });
});
afterAll(async () => stack?.close());

async function connect(body: Record<string, unknown>): Promise<{ id: string }> {
  const response = await stack.api('/connections', { method: 'POST', json: { accessToken: TOKEN, objectTypes: ['contacts'], syncIntervalSeconds: 10, ...body } });
  expect(response.status).toBe(201);
  return (await response.json()) as { id: string };
}

async function backfilled(id: string): Promise<void> {
  await eventually(async () => {
    const live = ((await (await stack.api(`/connections/${id}`)).json()) as { live: any }).live;
    return live?.objects?.contacts?.backfill?.status === 'done' ? true : undefined;
  }, 30_000, 'the backfill');
}

async function mirroredProperties(id: string, contactId: string): Promise<Record<string, string | null>> {
  const row = await stack.db.pool.query(`select properties from crm_objects where connection_id = $1 and object_type = 'contacts' and object_id = $2`, [id, contactId]);
  return row.rows[0]?.properties;
}

describe('mirrored properties', () => {
  it('are every property HubSpot lists, and a custom property created later appears once the list is re-discovered', async () => {
    const { id } = await connect({});
    await backfilled(id);
    const contact = (await stack.control.groundTruth(PORTAL_ID)).objects.contacts![0]!;
    expect(Object.keys(await mirroredProperties(id, contact.id))).toEqual(expect.arrayContaining(['email', 'firstname', 'lastname', 'jobtitle', 'lastmodifieddate']));

    await createHubSpotClient(stack.sandboxUrl, TOKEN).crm.properties.coreApi.create('contacts', {
      name: 'favourite_colour',
      label: 'Favourite colour',
      type: 'string',
      fieldType: 'text',
      groupName: 'contactinformation',
    } as never);
    // An hour passes for the discovered list (the slow timer), not for the test.
    await stack.db.pool.query(`update object_properties set discovered_at = now() - interval '61 minutes' where connection_id = $1`, [id]);
    await stack.control.updateObject(PORTAL_ID, 'contacts', contact.id, { favourite_colour: 'teal' });
    await eventually(async () => ((await mirroredProperties(id, contact.id)).favourite_colour === 'teal' ? true : undefined), 40_000, 'the new property in the mirror');
  }, 90_000);

  it('can be an explicit list per type, changed later, and checked against the portal', async () => {
    const unknown = await stack.api('/connections', { method: 'POST', json: { accessToken: TOKEN, objectTypes: ['contacts'], properties: { contacts: ['email', 'shoe_size'], deals: ['amount'] } } });
    expect(unknown.status).toBe(400);
    expect(((await unknown.json()) as { error: { message: string } }).error.message).toBe(
      "properties.contacts: unknown HubSpot property shoe_size on contacts; properties.deals: not one of the connection's object types (contacts)",
    );

    const { id } = await connect({ properties: { contacts: ['email', 'firstname'] } });
    await backfilled(id);
    const contact = (await stack.control.groundTruth(PORTAL_ID)).objects.contacts![1]!;
    // The listed properties, what the sync itself reads (merges, the modification time), and what HubSpot always adds.
    expect(Object.keys(await mirroredProperties(id, contact.id)).sort()).toEqual(['createdate', 'email', 'firstname', 'hs_merged_object_ids', 'hs_object_id', 'lastmodifieddate']);

    const refused = await stack.api(`/connections/${id}`, { method: 'PATCH', json: { properties: { contacts: ['email', 'shoe_size'] } } });
    expect(refused.status).toBe(400);
    const changed = await stack.api(`/connections/${id}`, { method: 'PATCH', json: { properties: { contacts: ['email', 'jobtitle'] } } });
    expect(changed.status).toBe(200);
    expect(((await changed.json()) as { config: unknown }).config).toMatchObject({ properties: { contacts: ['email', 'jobtitle'] } });
    // Records read from now on carry the new list.
    await stack.control.updateObject(PORTAL_ID, 'contacts', contact.id, { jobtitle: 'Cartographer' });
    await eventually(async () => ((await mirroredProperties(id, contact.id)).jobtitle === 'Cartographer' ? true : undefined), 40_000, 'jobtitle in the mirror');
    expect(await mirroredProperties(id, contact.id)).not.toHaveProperty('firstname');
  }, 90_000);
});
