// The field mapping against the real stack: a synced connection's contacts and companies read
// through contacts_view and companies_view with the default mapping, a remap to a custom property
// created in the simulator changes what the view shows, and a bad mapping is refused whole.
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LOCAL_NAMES } from '../../src/db/field-mappings.js';
import { createHubSpotClient } from '../../src/hubspot/client.js';
import type { GroundTruthRecord } from '../../src/sandbox/client.js';
import { eventually, startStack, type Stack } from '../support/stack.js';

const PORTAL_ID = 700451;
const TOKEN = 'pat-na1-field-mapping-token';
const CUSTOM_ROLE = 'hubsync_test_role';

const DEFAULTS = {
  contacts: { email: 'email', first_name: 'firstname', last_name: 'lastname', company: 'company', phone: 'phone', job_title: 'jobtitle', city: 'city', state: 'state', country: 'country' },
  companies: { name: 'name', domain: 'domain', industry: 'industry', number_of_employees: 'numberofemployees', annual_revenue: 'annualrevenue' },
} as const;

let stack: Stack;
let connectionId: string;

const mappingPath = () => `/connections/${connectionId}/field-mapping`;

async function getMapping(): Promise<Array<{ objectType: string; localName: string; hubspotProperty: string; direction: string; customized: boolean }>> {
  const response = await stack.api(mappingPath());
  expect(response.status).toBe(200);
  return ((await response.json()) as { mappings: never[] }).mappings;
}

async function putMapping(mappings: unknown[]): Promise<{ status: number; body: any }> {
  const response = await stack.api(mappingPath(), { method: 'PUT', json: { mappings } });
  return { status: response.status, body: await response.json() };
}

async function viewRows(view: 'contacts_view' | 'companies_view'): Promise<Map<string, Record<string, unknown>>> {
  const { rows } = await stack.db.pool.query(`select * from ${view} where connection_id = $1`, [connectionId]);
  return new Map(rows.map((row) => [row.object_id as string, row]));
}

/** What the view must show for a record under a mapping: the mapped property's value, or null. */
function expectedRow(record: GroundTruthRecord, mapping: Record<string, string | null>): Record<string, unknown> {
  return Object.fromEntries(Object.entries(mapping).map(([local, property]) => [local, property === null ? null : (record.properties[property] ?? null)]));
}

beforeAll(async () => {
  stack = await startStack();
  await stack.control.createPortal({ portalId: PORTAL_ID });
  await stack.control.seed(PORTAL_ID, { seed: 11, contacts: 40, companies: 8 });
  await stack.control.createToken(PORTAL_ID, { token: TOKEN });
  const response = await stack.api('/connections', { method: 'POST', json: { accessToken: TOKEN, objectTypes: ['contacts', 'companies'], syncIntervalSeconds: 10 } });
  expect(response.status).toBe(201);
  connectionId = ((await response.json()) as { id: string }).id;
  await eventually(async () => {
    const body = (await (await stack.api(`/connections/${connectionId}`)).json()) as any;
    const objects = body.live?.objects ?? {};
    return objects.contacts?.backfill?.status === 'done' && objects.companies?.backfill?.status === 'done' ? true : undefined;
  }, 60_000, 'the backfill of contacts and companies');
});
afterAll(async () => stack?.close());

describe('field mapping', () => {
  it('exposes exactly the mappable local names as view columns', async () => {
    for (const [objectType, names] of Object.entries(LOCAL_NAMES)) {
      const { rows } = await stack.db.pool.query(`select column_name from information_schema.columns where table_name = $1 order by ordinal_position`, [`${objectType}_view`]);
      expect(rows.map((row) => row.column_name)).toEqual(['connection_id', 'object_id', ...names, 'updated_at', 'archived']);
    }
  });

  it('uses the defaults for a connection without its own mapping, and the views show the synced values', async () => {
    const mapping = await getMapping();
    const expected = Object.entries(DEFAULTS).flatMap(([objectType, defaults]) =>
      Object.entries(defaults).map(([localName, hubspotProperty]) => ({ objectType, localName, hubspotProperty, direction: 'both', customized: false })),
    );
    expect(mapping).toEqual(expected);

    const truth = await stack.control.groundTruth(PORTAL_ID);
    for (const objectType of ['contacts', 'companies'] as const) {
      const rows = await viewRows(`${objectType}_view`);
      const records = truth.objects[objectType]!;
      expect(rows.size).toBe(records.length);
      for (const record of records) expect(rows.get(record.id)).toMatchObject({ ...expectedRow(record, DEFAULTS[objectType]), archived: false });
    }
    // Not vacuous: the seed fills most default properties.
    const someContact = truth.objects.contacts![0]!;
    expect((await viewRows('contacts_view')).get(someContact.id)).toMatchObject({ email: expect.stringContaining('@'), job_title: expect.any(String) });
  });

  it('follows a remap of job_title to a custom property created in HubSpot, and hides an outbound-only field', async () => {
    const hubspot = createHubSpotClient(stack.sandboxUrl, TOKEN);
    await hubspot.crm.properties.coreApi.create('contacts', { name: CUSTOM_ROLE, label: 'Role', type: 'string' as never, fieldType: 'text' as never, groupName: 'contactinformation' });

    const put = await putMapping([
      { objectType: 'contacts', localName: 'job_title', hubspotProperty: CUSTOM_ROLE, direction: 'both' },
      { objectType: 'contacts', localName: 'city', hubspotProperty: 'city', direction: 'outbound' },
    ]);
    expect(put.status).toBe(200);
    expect(put.body.mappings).toContainEqual({ objectType: 'contacts', localName: 'job_title', hubspotProperty: CUSTOM_ROLE, direction: 'both', customized: true });
    expect(put.body.mappings).toContainEqual({ objectType: 'contacts', localName: 'email', hubspotProperty: 'email', direction: 'both', customized: false });

    // The view reads the new property at once: no synced contact has it yet.
    const truth = await stack.control.groundTruth(PORTAL_ID);
    const [target, other] = truth.objects.contacts!;
    const before = await viewRows('contacts_view');
    expect(before.get(other!.id)).toMatchObject({ job_title: null, city: null, email: other!.properties.email });

    // A value set in HubSpot reaches the view with the next sync.
    await stack.control.updateObject(PORTAL_ID, 'contacts', target!.id, { [CUSTOM_ROLE]: 'Chief Tinkerer' });
    const row = await eventually(async () => {
      const current = (await viewRows('contacts_view')).get(target!.id);
      return current?.job_title === 'Chief Tinkerer' ? current : undefined;
    }, 40_000, 'the remapped job_title in contacts_view');
    expect(row).toMatchObject({ email: target!.properties.email, first_name: target!.properties.firstname, city: null });
  });

  it('refuses an unknown HubSpot property by name and leaves the mapping as it was', async () => {
    const before = await getMapping();
    const { status, body } = await putMapping([
      { objectType: 'contacts', localName: 'job_title', hubspotProperty: 'jobtitle', direction: 'both' },
      { objectType: 'companies', localName: 'industry', hubspotProperty: 'no_such_property', direction: 'inbound' },
    ]);
    expect(status).toBe(400);
    expect(body.error.code).toBe('unknown_property');
    expect(body.error.message).toBe('mappings.1.hubspotProperty: unknown HubSpot property no_such_property on companies');
    expect(await getMapping()).toEqual(before);
  });

  it('refuses a bad direction or local name, naming the index and field, and writes nothing', async () => {
    const before = await getMapping();
    const badDirection = await putMapping([
      { objectType: 'contacts', localName: 'phone', hubspotProperty: 'phone', direction: 'inbound' },
      { objectType: 'contacts', localName: 'job_title', hubspotProperty: 'jobtitle', direction: 'sideways' },
    ]);
    expect(badDirection.status).toBe(400);
    expect(badDirection.body.error.message).toMatch(/^mappings\.1\.direction: /);

    const badLocalName = await putMapping([{ objectType: 'companies', localName: 'first_name', hubspotProperty: 'name', direction: 'both' }]);
    expect(badLocalName.status).toBe(400);
    expect(badLocalName.body.error.message).toMatch(/^mappings\.0\.localName: first_name is not a column of companies_view/);

    const twice = await putMapping([
      { objectType: 'contacts', localName: 'phone', hubspotProperty: 'phone', direction: 'inbound' },
      { objectType: 'contacts', localName: 'phone', hubspotProperty: 'mobilephone', direction: 'inbound' },
    ]);
    expect(twice.status).toBe(400);
    expect(twice.body.error.message).toBe('mappings.1.localName: phone is mapped twice for contacts');
    expect(await getMapping()).toEqual(before);
  });

  it('answers 404 for a connection that does not exist', async () => {
    for (const id of [randomUUID(), 'not-a-uuid']) {
      expect((await stack.api(`/connections/${id}/field-mapping`)).status).toBe(404);
      const put = await stack.api(`/connections/${id}/field-mapping`, { method: 'PUT', json: { mappings: [] } });
      expect(put.status).toBe(404);
    }
  });
});
