// CRM objects v3 through the official client: status codes, shapes, limits and sharp edges.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SandboxControlError } from '../../src/sandbox/client.js';
import type { CrmChange } from '../../src/sandbox/types.js';
import { failure, startFixture, type Fixture } from './sandbox-fixture.js';

let f: Fixture;
const changes: CrmChange[] = [];

beforeAll(async () => {
  f = await startFixture();
  f.sandbox.store.onChange((c) => changes.push(c));
  await f.control.seed(f.portalId, { seed: 7, contacts: 45, companies: 130, deals: 12, tickets: 5 });
});
afterAll(() => f.close());

describe('list and get', () => {
  it('pages contacts 10 at a time by default with string ids and the default properties', async () => {
    const page = await f.hubspot.crm.contacts.basicApi.getPage();
    expect(page.results).toHaveLength(10);
    const first = page.results[0]!;
    expect(typeof first.id).toBe('string');
    expect(Object.keys(first.properties).sort()).toEqual(['createdate', 'email', 'firstname', 'hs_object_id', 'lastmodifieddate', 'lastname']);
    expect(first.properties.hs_object_id).toBe(first.id);
    expect(page.paging?.next?.after).toBe(page.results[9]!.id);
  });

  it('keeps an after cursor valid while records are created and archived between pages', async () => {
    const seen: string[] = [];
    let after: string | undefined;
    let round = 0;
    do {
      const page = await f.hubspot.crm.contacts.basicApi.getPage(7, after);
      seen.push(...page.results.map((r) => r.id));
      after = page.paging?.next?.after;
      // Churn between pages: a record behind the cursor is archived, a new one appears ahead.
      if (round++ === 1) {
        await f.hubspot.crm.contacts.basicApi.archive(seen[0]!);
        await f.hubspot.crm.contacts.basicApi.create({ properties: { email: 'late.arrival@example.com' }, associations: [] });
      }
    } while (after);
    expect(new Set(seen).size).toBe(seen.length);
    expect(seen).toHaveLength(46);
    expect(seen.map(Number)).toEqual([...seen.map(Number)].sort((a, b) => a - b));
  });

  it('caps limit at 100 and returns only archived records with archived=true', async () => {
    const page = await f.hubspot.crm.companies.basicApi.getPage(500);
    expect(page.results).toHaveLength(100);
    expect(page.paging?.next?.after).toBe(page.results[99]!.id);
    const rest = await f.hubspot.crm.companies.basicApi.getPage(500, page.paging!.next!.after);
    expect(rest.results).toHaveLength(30);
    expect(rest.paging).toBeUndefined();
    const archivedId = page.results[3]!.id;
    await f.hubspot.crm.companies.basicApi.archive(archivedId);
    const archived = await f.hubspot.crm.companies.basicApi.getPage(100, undefined, undefined, undefined, undefined, true);
    expect(archived.results.map((r) => r.id)).toEqual([archivedId]);
    expect(archived.results[0]!.archived).toBe(true);
    expect(archived.results[0]!.archivedAt).toBeInstanceOf(Date);
    const active = await f.hubspot.crm.companies.basicApi.getPage(100);
    expect(active.results.map((r) => r.id)).not.toContain(archivedId);
  });

  it('reads a contact by email with idProperty and returns associations on request', async () => {
    const truth = await f.control.groundTruth(f.portalId);
    const contact = truth.objects.contacts!.find((c) => !c.archived && truth.associations.some((a) => a.fromType === 'contacts' && a.fromId === c.id && a.toType === 'companies'))!;
    const got = await f.hubspot.crm.contacts.basicApi.getById(contact.properties.email!, ['email', 'jobtitle'], undefined, ['companies'], false, 'email');
    expect(got.id).toBe(contact.id);
    expect(got.properties.jobtitle).toBe(contact.properties.jobtitle);
    const types = got.associations!.companies!.results.map((r) => r.type).sort();
    expect(types).toEqual(['contact_to_company', 'contact_to_company_unlabeled']);
  });

  it('answers 404 with a HubSpot error body and correlation id for an unknown id', async () => {
    const err = await failure(f.hubspot.crm.deals.basicApi.getById('999999'));
    expect(err.code).toBe(404);
    expect(err.body.category).toBe('OBJECT_NOT_FOUND');
    expect(err.body.status).toBe('error');
    expect(err.headers['x-hubspot-correlation-id']).toBe(err.body.correlationId);
  });
});

describe('create, update, archive', () => {
  it('creates with 201, clears a property with "", and keeps history', async () => {
    const created = await f.hubspot.crm.contacts.basicApi.create({ properties: { email: 'ada@example.com', firstname: 'Ada', jobtitle: 'Engineer' }, associations: [] });
    expect(created.properties.firstname).toBe('Ada');
    expect(created.createdAt).toBeInstanceOf(Date);
    const updated = await f.hubspot.crm.contacts.basicApi.update(created.id, { properties: { jobtitle: '', firstname: 'Ada L.' } });
    expect(updated.properties.jobtitle ?? null).toBeNull();
    expect(updated.updatedAt.getTime()).toBeGreaterThanOrEqual(created.updatedAt.getTime());
    const got = await f.hubspot.crm.contacts.basicApi.getById(created.id, ['jobtitle', 'firstname'], ['firstname']);
    expect(got.properties.jobtitle).toBeNull();
    expect(got.propertiesWithHistory!.firstname!.map((h) => h.value)).toEqual(['Ada L.', 'Ada']);
    expect(got.propertiesWithHistory!.firstname![0]!.sourceType).toBe('API');
  });

  it('lists records with propertiesWithHistory, newest value first', async () => {
    const created = await f.hubspot.crm.contacts.basicApi.create({ properties: { email: 'history.list@example.com', firstname: 'One' }, associations: [] });
    await f.hubspot.crm.contacts.basicApi.update(created.id, { properties: { firstname: 'Two' } });
    await f.control.updateObject(f.portalId, 'contacts', created.id, { firstname: 'Three' });
    const page = await f.hubspot.crm.contacts.basicApi.getPage(5, String(Number(created.id) - 1), ['firstname'], ['firstname', 'email']);
    const rec = page.results[0]!;
    expect(rec.id).toBe(created.id);
    expect(rec.properties.firstname).toBe('Three');
    expect(rec.propertiesWithHistory!.firstname!.map((h) => [h.value, h.sourceType])).toEqual([['Three', 'CRM_UI'], ['Two', 'API'], ['One', 'API']]);
    expect(rec.propertiesWithHistory!.email!.map((h) => h.value)).toEqual(['history.list@example.com']);
    // Without the parameter, list results carry no history.
    const plain = await f.hubspot.crm.contacts.basicApi.getPage(1, String(Number(created.id) - 1));
    expect(plain.results[0]!.propertiesWithHistory).toBeUndefined();
  });

  it('refuses unknown and read-only properties with 400 VALIDATION_ERROR', async () => {
    const unknown = await failure(f.hubspot.crm.contacts.basicApi.create({ properties: { email: 'x@example.com', favourite_colour: 'blue' }, associations: [] }));
    expect(unknown.code).toBe(400);
    expect(unknown.body.category).toBe('VALIDATION_ERROR');
    expect(String(unknown.body.message)).toContain('favourite_colour');
    const page = await f.hubspot.crm.contacts.basicApi.getPage(1);
    const readOnly = await failure(f.hubspot.crm.contacts.basicApi.update(page.results[0]!.id, { properties: { lastmodifieddate: '2020-01-01T00:00:00Z' } }));
    expect(readOnly.code).toBe(400);
  });

  it('answers 409 CONFLICT naming the existing id for a duplicate contact email', async () => {
    const existing = await f.hubspot.crm.contacts.basicApi.create({ properties: { email: 'dup@example.com' }, associations: [] });
    const err = await failure(f.hubspot.crm.contacts.basicApi.create({ properties: { email: 'DUP@example.com' }, associations: [] }));
    expect(err.code).toBe(409);
    expect(err.body.category).toBe('CONFLICT');
    expect(err.body.message).toBe(`Contact already exists. Existing ID: ${existing.id}`);
  });

  it('archives with 204 and reports API changes with the calling app as source', async () => {
    const created = await f.hubspot.crm.tickets.basicApi.create({ properties: { subject: 'Broken', hs_pipeline: '0', hs_pipeline_stage: '1' }, associations: [] });
    await f.hubspot.crm.tickets.basicApi.archive(created.id);
    const mine = changes.filter((c) => c.objectId === created.id && c.objectType === 'tickets');
    expect(mine.map((c) => c.change)).toEqual(['creation', 'propertyChange', 'propertyChange', 'propertyChange', 'deletion']);
    expect(mine.every((c) => c.changeSource === 'API' && c.sourceId === '4242' && c.objectTypeId === '0-5' && c.portalId === f.portalId)).toBe(true);
    const err = await failure(f.hubspot.crm.tickets.basicApi.getById(created.id));
    expect(err.code).toBe(404);
  });

  it('reports control-API edits as CRM_UI changes', async () => {
    const page = await f.hubspot.crm.deals.basicApi.getPage(1);
    await f.control.updateObject(f.portalId, 'deals', page.results[0]!.id, { amount: '1234' });
    const last = changes.at(-1)!;
    expect(last).toMatchObject({ change: 'propertyChange', changeSource: 'CRM_UI', propertyName: 'amount', propertyValue: '1234', objectId: page.results[0]!.id });
  });
});

describe('batch', () => {
  it('batch read returns 207 with OBJECT_NOT_FOUND for missing ids', async () => {
    const page = await f.hubspot.crm.contacts.basicApi.getPage(2);
    const res = await f.hubspot.crm.contacts.batchApi.read({ inputs: [{ id: page.results[0]!.id }, { id: '987654' }, { id: page.results[1]!.id }], properties: ['email'], propertiesWithHistory: [] });
    expect(res.results.map((r) => r.id).sort()).toEqual([page.results[0]!.id, page.results[1]!.id].sort());
    expect('numErrors' in res && res.numErrors).toBe(1);
    const errors = (res as { errors?: { category: string; context: Record<string, string[]> }[] }).errors!;
    expect(errors[0]!.category).toBe('OBJECT_NOT_FOUND');
    expect(errors[0]!.context.ids).toEqual(['987654']);
  });

  it('refuses more than 100 inputs with 400', async () => {
    const inputs = Array.from({ length: 101 }, (_, i) => ({ id: String(i + 1) }));
    const err = await failure(f.hubspot.crm.contacts.batchApi.read({ inputs, properties: [], propertiesWithHistory: [] }));
    expect(err.code).toBe(400);
    expect(err.body.category).toBe('VALIDATION_ERROR');
  });

  it('batch create is all-or-nothing: one duplicate email fails the whole batch with 409', async () => {
    const before = (await f.control.groundTruth(f.portalId)).objects.contacts!.length;
    const err = await failure(
      f.hubspot.crm.contacts.batchApi.create({
        inputs: [
          { properties: { email: 'batch.one@example.com' }, associations: [] },
          { properties: { email: 'dup@example.com' }, associations: [] },
          { properties: { email: 'batch.three@example.com' }, associations: [] },
        ],
      }),
    );
    expect(err.code).toBe(409);
    expect(String(err.body.message)).toMatch(/Existing ID: \d+/);
    expect((await f.control.groundTruth(f.portalId)).objects.contacts!.length).toBe(before);
  });

  it('batch create with unique objectWriteTraceIds answers 207 and creates the valid inputs', async () => {
    const res = await f.hubspot.crm.contacts.batchApi.create({
      inputs: [
        { properties: { email: 'trace.one@example.com' }, associations: [], objectWriteTraceId: 't1' },
        { properties: { email: 'dup@example.com' }, associations: [], objectWriteTraceId: 't2' },
      ],
    });
    expect(res.results.map((r) => r.properties.email)).toEqual(['trace.one@example.com']);
    const errors = (res as { errors?: { category: string; context: Record<string, string[]> }[] }).errors!;
    expect(errors).toHaveLength(1);
    expect(errors[0]!.category).toBe('CONFLICT');
    expect(errors[0]!.context.objectWriteTraceId).toEqual(['t2']);
  });

  it('batch create answers 201 and batch update 200', async () => {
    const created = await f.hubspot.crm.companies.batchApi.create({ inputs: [{ properties: { name: 'Acme', domain: 'acme.test' }, associations: [] }] });
    expect(created.results[0]!.properties.name).toBe('Acme');
    const updated = await f.hubspot.crm.companies.batchApi.update({ inputs: [{ id: created.results[0]!.id, properties: { city: 'Oslo' } }] });
    expect(updated.results[0]!.properties.city).toBe('Oslo');
  });

  it('batch upsert by email reports new and existing records', async () => {
    const res = await f.hubspot.crm.contacts.batchApi.upsert({
      inputs: [
        { id: 'dup@example.com', idProperty: 'email', properties: { firstname: 'Dup' } },
        { id: 'fresh.upsert@example.com', idProperty: 'email', properties: { firstname: 'Fresh' } },
      ],
    });
    const byEmail = Object.fromEntries(res.results.map((r) => [r.properties.email, r]));
    expect(byEmail['dup@example.com']!.properties.firstname).toBe('Dup');
    expect(byEmail['dup@example.com']!._new).toBe(false);
    expect(byEmail['fresh.upsert@example.com']!._new).toBe(true);
  });

  it('batch archive answers 204', async () => {
    const c = await f.hubspot.crm.contacts.basicApi.create({ properties: { email: 'to.archive@example.com' }, associations: [] });
    await f.hubspot.crm.contacts.batchApi.archive({ inputs: [{ id: c.id }] });
    expect((await failure(f.hubspot.crm.contacts.basicApi.getById(c.id))).code).toBe(404);
  });
});

describe('merge, restore, GDPR delete', () => {
  it('a contact merge keeps the primary id; the merged id reads as the primary', async () => {
    const a = await f.hubspot.crm.contacts.basicApi.create({ properties: { email: 'primary@example.com', firstname: 'Prim' }, associations: [] });
    const b = await f.hubspot.crm.contacts.basicApi.create({ properties: { email: 'secondary@example.com', jobtitle: 'CFO' }, associations: [] });
    const merged = await f.hubspot.crm.contacts.basicApi.merge({ primaryObjectId: a.id, objectIdToMerge: b.id });
    expect(merged.id).toBe(a.id);
    const viaOld = await f.hubspot.crm.contacts.basicApi.getById(b.id, ['jobtitle']);
    expect(viaOld.id).toBe(a.id);
    expect(viaOld.properties.jobtitle).toBe('CFO');
  });

  it('a deal merge mints a new id, and a GET on either old id returns the new one', async () => {
    const a = await f.hubspot.crm.deals.basicApi.create({ properties: { dealname: 'Big one', pipeline: 'default', dealstage: 'closedwon' }, associations: [] });
    const b = await f.hubspot.crm.deals.basicApi.create({ properties: { dealname: 'Small one', amount: '99' }, associations: [] });
    const merged = await f.hubspot.crm.deals.basicApi.merge({ primaryObjectId: a.id, objectIdToMerge: b.id });
    expect(merged.id).not.toBe(a.id);
    expect(merged.id).not.toBe(b.id);
    expect(Number(merged.id)).toBeGreaterThan(Number(b.id));
    for (const old of [a.id, b.id]) {
      const got = await f.hubspot.crm.deals.basicApi.getById(old, ['dealname', 'amount']);
      expect(got.id).toBe(merged.id);
      expect(got.properties).toMatchObject({ dealname: 'Big one', amount: '99' });
    }
  });

  it('a ticket or custom-object merge keeps the primary id by default; configured, a ticket merge mints one like a deal', async () => {
    const ticket = (subject: string) => f.hubspot.crm.tickets.basicApi.create({ properties: { subject, hs_pipeline: '0', hs_pipeline_stage: '1' }, associations: [] });
    const [a, b] = [await ticket('Keep me'), await ticket('Merge me')];
    expect((await f.hubspot.crm.tickets.basicApi.merge({ primaryObjectId: a.id, objectIdToMerge: b.id })).id).toBe(a.id);

    const schema = await f.hubspot.crm.schemas.coreApi.create({
      name: 'boats', labels: { singular: 'Boat', plural: 'Boats' }, primaryDisplayProperty: 'hull', requiredProperties: [], associatedObjects: [],
      properties: [{ name: 'hull', label: 'Hull', type: 'string' as never, fieldType: 'text' }],
    });
    const boat = (hull: string) => f.hubspot.crm.objects.basicApi.create(schema.objectTypeId!, { properties: { hull }, associations: [] });
    // Client 14 has no merge for custom objects: the same path through its generic request.
    const mergeBoats = async (primaryObjectId: string, objectIdToMerge: string) => {
      const res = await f.hubspot.apiRequest({ method: 'POST', path: `/crm/v3/objects/${schema.objectTypeId}/merge`, body: { primaryObjectId, objectIdToMerge } });
      expect(res.status).toBe(200);
      return ((await res.json()) as { id: string }).id;
    };
    const [x, y] = [await boat('X1'), await boat('Y1')];
    expect(await mergeBoats(x.id, y.id)).toBe(x.id);

    expect((await f.control.setCrmBehaviour({ newIdOnMerge: ['0-3', '0-5', 'custom'] })).newIdOnMerge).toEqual(['0-3', '0-5', 'custom']);
    try {
      const [c, d] = [await ticket('Old one'), await ticket('Old two')];
      const merged = await f.hubspot.crm.tickets.basicApi.merge({ primaryObjectId: c.id, objectIdToMerge: d.id });
      expect([c.id, d.id]).not.toContain(merged.id);
      expect((await f.hubspot.crm.tickets.basicApi.getById(c.id)).id).toBe(merged.id);
      const [p, q] = [await boat('P1'), await boat('Q1')];
      expect([p.id, q.id]).not.toContain(await mergeBoats(p.id, q.id));
    } finally {
      await f.control.setCrmBehaviour({ newIdOnMerge: ['0-3'] });
    }
  });

  it('restores an archived record through the control API', async () => {
    const c = await f.hubspot.crm.contacts.basicApi.create({ properties: { email: 'comeback@example.com' }, associations: [] });
    await f.hubspot.crm.contacts.basicApi.archive(c.id);
    await f.control.restoreObject(f.portalId, 'contacts', c.id);
    const got = await f.hubspot.crm.contacts.basicApi.getById(c.id);
    expect(got.archived).toBe(false);
    expect(changes.filter((x) => x.objectId === c.id).map((x) => x.change).slice(-2)).toEqual(['deletion', 'restore']);
  });

  it('refuses to restore a record archived more than 90 days ago (simulated time); the window is configurable', async () => {
    const [late, inTime] = [
      await f.hubspot.crm.companies.basicApi.create({ properties: { name: 'Too late' }, associations: [] }),
      await f.hubspot.crm.companies.basicApi.create({ properties: { name: 'Just in time' }, associations: [] }),
    ];
    await f.hubspot.crm.companies.basicApi.archive(late.id);
    await f.control.advanceClock(30 * 86_400_000);
    await f.hubspot.crm.companies.basicApi.archive(inTime.id);
    await f.control.advanceClock(60 * 86_400_000 + 1_000);
    const refused = await f.control.restoreObject(f.portalId, 'companies', late.id).catch((e: unknown) => e as SandboxControlError);
    expect(refused).toBeInstanceOf(SandboxControlError);
    expect((refused as SandboxControlError).status).toBe(400);
    expect((refused as SandboxControlError).body).toMatchObject({ category: 'VALIDATION_ERROR', message: expect.stringContaining('90 days') });
    expect((await f.control.restoreObject(f.portalId, 'companies', inTime.id)).archived).toBe(false);

    await f.control.setCrmBehaviour({ restoreWindowMs: 365 * 86_400_000 });
    try {
      expect((await f.control.restoreObject(f.portalId, 'companies', late.id)).archived).toBe(false);
    } finally {
      await f.control.setCrmBehaviour({ restoreWindowMs: 90 * 86_400_000 });
    }
  });

  it('GDPR delete answers 204 and removes the contact for good', async () => {
    const c = await f.hubspot.crm.contacts.basicApi.create({ properties: { email: 'forget.me@example.com' }, associations: [] });
    await f.hubspot.crm.contacts.basicApi.purge({ objectId: 'forget.me@example.com', idProperty: 'email' });
    const truth = await f.control.groundTruth(f.portalId);
    expect(truth.objects.contacts!.some((r) => r.id === c.id)).toBe(false);
    expect(changes.filter((x) => x.objectId === c.id).map((x) => x.change).slice(-2)).toEqual(['privacyDeletion', 'deletion']);
  });
});
