// Properties, custom object schemas, owners, pipelines and account details through the official client.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PropertyCreateFieldTypeEnum, PropertyCreateTypeEnum } from '@hubspot/api-client/lib/codegen/crm/properties/index.js';
import { ObjectTypePropertyCreateTypeEnum } from '@hubspot/api-client/lib/codegen/crm/schemas/index.js';
import { failure, startFixture, type Fixture } from './sandbox-fixture.js';

let f: Fixture;

beforeAll(async () => {
  f = await startFixture();
});
afterAll(() => f.close());

describe('properties', () => {
  it('lists the standard contact properties with their types and read-only flags', async () => {
    const all = await f.hubspot.crm.properties.coreApi.getAll('contacts');
    const byName = Object.fromEntries(all.results.map((p) => [p.name, p]));
    expect(byName.email).toMatchObject({ type: 'string', hasUniqueValue: true });
    expect(byName.lastmodifieddate!.modificationMetadata!.readOnlyValue).toBe(true);
    expect(byName.createdate!.type).toBe('datetime');
  });

  it('creates a property (201) that records can then carry, and refuses a duplicate with 409', async () => {
    const input = { name: 'favourite_colour', label: 'Favourite colour', type: PropertyCreateTypeEnum.String, fieldType: PropertyCreateFieldTypeEnum.Text, groupName: 'contactinformation' };
    const created = await f.hubspot.crm.properties.coreApi.create('contacts', input);
    expect(created.name).toBe('favourite_colour');
    expect((await f.hubspot.crm.properties.coreApi.getByName('contacts', 'favourite_colour')).label).toBe('Favourite colour');
    const c = await f.hubspot.crm.contacts.basicApi.create({ properties: { email: 'colour@example.com', favourite_colour: 'teal' }, associations: [] });
    expect((await f.hubspot.crm.contacts.basicApi.getById(c.id, ['favourite_colour'])).properties.favourite_colour).toBe('teal');
    expect((await failure(f.hubspot.crm.properties.coreApi.create('contacts', input))).code).toBe(409);
  });

  it('refuses a property without a group with 400, and creates groups with 201', async () => {
    const bad = await failure(f.hubspot.crm.properties.coreApi.create('deals', { name: 'x', label: 'X', type: PropertyCreateTypeEnum.String, fieldType: PropertyCreateFieldTypeEnum.Text, groupName: 'nope' }));
    expect(bad.code).toBe(400);
    const group = await f.hubspot.crm.properties.groupsApi.create('deals', { name: 'hubsync', label: 'hubsync' });
    expect(group.name).toBe('hubsync');
    expect((await f.hubspot.crm.properties.groupsApi.getAll('deals')).results.map((g) => g.name)).toContain('hubsync');
  });

  it('batch archives properties with 204: gone from reads and writes, listed with archived=true', async () => {
    const input = (name: string) => ({ name, label: name, type: PropertyCreateTypeEnum.String, fieldType: PropertyCreateFieldTypeEnum.Text, groupName: 'dealinformation' });
    await f.hubspot.crm.properties.batchApi.create('deals', { inputs: [input('old_code'), input('old_region'), input('kept_code')] });
    await f.hubspot.crm.properties.batchApi.archive('deals', { inputs: [{ name: 'old_code' }, { name: 'old_region' }, { name: 'never_existed' }] });

    const names = async (archived: boolean) => (await f.hubspot.crm.properties.coreApi.getAll('deals', archived)).results.map((p) => p.name);
    expect(await names(false)).toContain('kept_code');
    expect(await names(false)).not.toContain('old_code');
    expect((await names(true)).sort()).toEqual(['old_code', 'old_region']);
    expect((await failure(f.hubspot.crm.properties.coreApi.getByName('deals', 'old_code'))).code).toBe(404);
    expect((await f.hubspot.crm.properties.coreApi.getByName('deals', 'old_code', true)).archived).toBe(true);
    const write = await failure(f.hubspot.crm.deals.basicApi.create({ properties: { dealname: 'Archived prop', old_code: 'x' }, associations: [] }));
    expect(write.code).toBe(400);
    expect(String(write.body.message)).toContain('old_code');

    await f.hubspot.crm.properties.coreApi.archive('deals', 'kept_code');
    expect(await names(false)).not.toContain('kept_code');
  });

  it('refuses to archive a HubSpot-defined property with 400, archiving nothing of the batch', async () => {
    const input = { name: 'doomed', label: 'Doomed', type: PropertyCreateTypeEnum.String, fieldType: PropertyCreateFieldTypeEnum.Text, groupName: 'companyinformation' };
    await f.hubspot.crm.properties.coreApi.create('companies', input);
    const err = await failure(f.hubspot.crm.properties.batchApi.archive('companies', { inputs: [{ name: 'doomed' }, { name: 'domain' }] }));
    expect(err.code).toBe(400);
    expect(err.body.category).toBe('VALIDATION_ERROR');
    expect((await f.hubspot.crm.properties.coreApi.getByName('companies', 'doomed')).archived).toBe(false);
    expect((await failure(f.hubspot.crm.properties.coreApi.archive('companies', 'name'))).code).toBe(400);
  });

  it('batch reads properties with 207 for unknown names', async () => {
    const res = await f.hubspot.crm.properties.batchApi.read('companies', { inputs: [{ name: 'domain' }, { name: 'nope' }], archived: false });
    expect(res.results.map((p) => p.name)).toEqual(['domain']);
    expect((res as { numErrors?: number }).numErrors).toBe(1);
  });
});

describe('custom objects', () => {
  it('creates a schema (201) whose objects work by type id and fully qualified name', async () => {
    const schema = await f.hubspot.crm.schemas.coreApi.create({
      name: 'cars',
      labels: { singular: 'Car', plural: 'Cars' },
      primaryDisplayProperty: 'model',
      requiredProperties: ['model'],
      associatedObjects: ['CONTACT'],
      properties: [
        { name: 'model', label: 'Model', type: ObjectTypePropertyCreateTypeEnum.String, fieldType: 'text' },
        { name: 'vin', label: 'VIN', type: ObjectTypePropertyCreateTypeEnum.String, fieldType: 'text', hasUniqueValue: true },
      ],
    });
    expect(schema.objectTypeId).toMatch(/^2-\d+$/);
    expect(schema.fullyQualifiedName).toBe(`p${f.portalId}_cars`);
    const car = await f.hubspot.crm.objects.basicApi.create(schema.objectTypeId!, { properties: { model: 'Beetle', vin: 'V1' }, associations: [] });
    const viaName = await f.hubspot.crm.objects.basicApi.getById(schema.fullyQualifiedName!, car.id, ['model']);
    expect(viaName.properties.model).toBe('Beetle');
    expect(Object.keys(viaName.properties)).toContain('hs_lastmodifieddate');
    const listed = await f.hubspot.crm.schemas.coreApi.getAll();
    expect(listed.results.map((s) => s.objectTypeId)).toEqual([schema.objectTypeId]);
    const c = (await f.hubspot.crm.contacts.basicApi.create({ properties: { email: 'driver@example.com' }, associations: [] })).id;
    await f.hubspot.crm.associations.v4.basicApi.createDefault(schema.objectTypeId!, car.id, 'contacts', c);
    const assoc = await f.hubspot.crm.associations.v4.basicApi.getPage('contacts', c, schema.objectTypeId!);
    expect(assoc.results.map((r) => String(r.toObjectId))).toEqual([car.id]);
    const dup = await failure(f.hubspot.crm.objects.basicApi.create(schema.objectTypeId!, { properties: { model: 'Golf', vin: 'v1' }, associations: [] }));
    expect(dup.code).toBe(409);
  });

  it('answers 400 for an unknown object type', async () => {
    const err = await failure(f.hubspot.crm.objects.basicApi.getPage('unicorns'));
    expect(err.code).toBe(400);
  });
});

describe('owners, pipelines, account', () => {
  it('lists owners with paging and filters them by email', async () => {
    const page = await f.hubspot.crm.owners.ownersApi.getPage(undefined, undefined, 2);
    expect(page.results).toHaveLength(2);
    expect(page.paging?.next?.after).toBe('2');
    const email = page.results[1]!.email!;
    const byEmail = await f.hubspot.crm.owners.ownersApi.getPage(email);
    expect(byEmail.results.map((o) => o.id)).toEqual([page.results[1]!.id]);
    expect((await f.hubspot.crm.owners.ownersApi.getById(Number(page.results[0]!.id))).email).toBe(page.results[0]!.email);
  });

  it('serves the default deal and ticket pipelines and their stages', async () => {
    const deals = await f.hubspot.crm.pipelines.pipelinesApi.getAll('deals');
    expect(deals.results[0]!.id).toBe('default');
    expect(deals.results[0]!.stages.map((s) => s.id)).toContain('closedwon');
    const stages = await f.hubspot.crm.pipelines.pipelineStagesApi.getAll('tickets', '0');
    expect(stages.results.map((s) => s.label)).toEqual(['New', 'Waiting on contact', 'Waiting on us', 'Closed']);
  });

  it('tells a private-app token which portal it belongs to', async () => {
    const res = await f.hubspot.apiRequest({ method: 'GET', path: '/account-info/v3/details' });
    const body = (await res.json()) as Record<string, unknown>;
    expect(body).toMatchObject({ portalId: f.portalId, timeZone: 'US/Eastern', companyCurrency: 'USD', uiDomain: 'app.hubspot.com', dataHostingLocation: 'na1' });
    expect(typeof body.utcOffsetMilliseconds).toBe('number');
  });
});
