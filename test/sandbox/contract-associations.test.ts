// Associations v4 through the official client: type ids, primary/unlabeled semantics, paging
// and batch limits (HUBSPOT.md §4).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AssociationSpecAssociationCategoryEnum } from '@hubspot/api-client/lib/codegen/crm/associations/v4/index.js';
import type { CrmChange } from '../../src/sandbox/types.js';
import { failure, startFixture, type Fixture } from './sandbox-fixture.js';

let f: Fixture;
const HUBSPOT_DEFINED = AssociationSpecAssociationCategoryEnum.HubspotDefined;
const changes: CrmChange[] = [];

beforeAll(async () => {
  f = await startFixture();
  f.sandbox.store.onChange((c) => changes.push(c));
});
afterAll(() => f.close());

const contact = async (email: string) => (await f.hubspot.crm.contacts.basicApi.create({ properties: { email }, associations: [] })).id;
const company = async (name: string) => (await f.hubspot.crm.companies.basicApi.create({ properties: { name }, associations: [] })).id;
const typeIds = (r: { associationTypes: { typeId: number }[] }) => r.associationTypes.map((t) => t.typeId).sort((a, b) => a - b);

describe('type ids', () => {
  it('a primary contact→company association (1) also creates the unlabeled one (279), and the company sees 2 and 280', async () => {
    const c = await contact('primary.assoc@example.com');
    const co = await company('Primary Co');
    const labels = await f.hubspot.crm.associations.v4.basicApi.create('contacts', c, 'companies', co, [{ associationCategory: HUBSPOT_DEFINED, associationTypeId: 1 }]);
    expect(labels.labels).toEqual(['Primary']);
    const fromContact = await f.hubspot.crm.associations.v4.basicApi.getPage('contacts', c, 'companies');
    expect(fromContact.results.map((r) => [String(r.toObjectId), typeIds(r)])).toEqual([[co, [1, 279]]]);
    expect(fromContact.results[0]!.associationTypes.find((t) => t.typeId === 1)).toMatchObject({ category: 'HUBSPOT_DEFINED', label: 'Primary' });
    const fromCompany = await f.hubspot.crm.associations.v4.basicApi.getPage('companies', co, 'contacts');
    expect(fromCompany.results.map((r) => [String(r.toObjectId), typeIds(r)])).toEqual([[c, [2, 280]]]);
  });

  it('a contact has one primary company: a new primary demotes the old one to unlabeled', async () => {
    const c = await contact('two.companies@example.com');
    const [a, b] = [await company('First Co'), await company('Second Co')];
    for (const co of [a, b]) await f.hubspot.crm.associations.v4.basicApi.create('contacts', c, 'companies', co, [{ associationCategory: HUBSPOT_DEFINED, associationTypeId: 1 }]);
    const page = await f.hubspot.crm.associations.v4.basicApi.getPage('contacts', c, 'companies');
    expect(Object.fromEntries(page.results.map((r) => [String(r.toObjectId), typeIds(r)]))).toEqual({ [a]: [279], [b]: [1, 279] });
  });

  it('a demoted primary and each new type are association changes, told from both records', async () => {
    const c = await contact('demoted.events@example.com');
    const [a, b] = [await company('Old Primary'), await company('New Primary')];
    await f.hubspot.crm.associations.v4.basicApi.create('contacts', c, 'companies', a, [{ associationCategory: HUBSPOT_DEFINED, associationTypeId: 1 }]);
    const from = changes.length;
    await f.hubspot.crm.associations.v4.basicApi.create('contacts', c, 'companies', b, [{ associationCategory: HUBSPOT_DEFINED, associationTypeId: 1 }]);
    const events = changes.slice(from).map((x) => [x.objectTypeId, x.objectId, x.associationType, x.toObjectId, x.associationRemoved, x.isPrimaryAssociation]);
    expect(events).toEqual([
      ['0-1', c, 'CONTACT_TO_COMPANY', a, true, true],
      ['0-2', a, 'COMPANY_TO_CONTACT', c, true, true],
      ['0-1', c, 'CONTACT_TO_COMPANY', b, false, true],
      ['0-2', b, 'COMPANY_TO_CONTACT', c, false, true],
      ['0-1', c, 'CONTACT_TO_COMPANY_UNLABELED', b, false, false],
      ['0-2', b, 'COMPANY_TO_CONTACT_UNLABELED', c, false, false],
    ]);
    expect(changes.slice(from).map((x) => x.inverse ?? false)).toEqual([false, true, false, true, false, true]);
  });

  it('a merge moves the merged record’s associations to the survivor; each association the survivor gains is an association change', async () => {
    const co = await company('Merge Target Co');
    const [keep, gone] = [await contact('survivor@example.com'), await contact('absorbed@example.com')];
    await f.hubspot.crm.associations.v4.basicApi.createDefault('contacts', gone, 'companies', co);
    const from = changes.length;
    await f.hubspot.crm.contacts.basicApi.merge({ primaryObjectId: keep, objectIdToMerge: gone });
    const events = changes.slice(from).filter((x) => x.change === 'associationChange').map((x) => [x.objectId, x.associationType, x.toObjectId, x.associationRemoved]);
    // The absorbed record's own edges go with it: the merge event announces that.
    expect(events).toEqual([
      [keep, 'CONTACT_TO_COMPANY_UNLABELED', co, false],
      [co, 'COMPANY_TO_CONTACT_UNLABELED', keep, false],
    ]);
    const page = await f.hubspot.crm.associations.v4.basicApi.getPage('companies', co, 'contacts');
    expect(page.results.map((r) => String(r.toObjectId))).toEqual([keep]);
  });

  it('a merge keeps the survivor’s primary company; the absorbed record’s primary company comes along unlabeled', async () => {
    const [coA, coB] = [await company('Survivor Primary'), await company('Absorbed Primary')];
    const [keep, gone] = [await contact('primary.keep@example.com'), await contact('primary.gone@example.com')];
    await f.hubspot.crm.associations.v4.basicApi.create('contacts', keep, 'companies', coA, [{ associationCategory: HUBSPOT_DEFINED, associationTypeId: 1 }]);
    await f.hubspot.crm.associations.v4.basicApi.create('contacts', gone, 'companies', coB, [{ associationCategory: HUBSPOT_DEFINED, associationTypeId: 1 }]);
    const from = changes.length;
    await f.hubspot.crm.contacts.basicApi.merge({ primaryObjectId: keep, objectIdToMerge: gone });
    const page = await f.hubspot.crm.associations.v4.basicApi.getPage('contacts', keep, 'companies');
    expect(Object.fromEntries(page.results.map((r) => [String(r.toObjectId), typeIds(r)]))).toEqual({ [coA]: [1, 279], [coB]: [279] });
    const events = changes.slice(from).filter((x) => x.change === 'associationChange');
    expect(events.map((x) => [x.objectId, x.associationType, x.toObjectId, x.associationRemoved])).toEqual([
      [keep, 'CONTACT_TO_COMPANY_UNLABELED', coB, false],
      [coB, 'COMPANY_TO_CONTACT_UNLABELED', keep, false],
    ]);
  });

  it('a default association answers 200 with the unlabeled type; deal→contact is 3 and contact→deal 4', async () => {
    const c = await contact('deal.contact@example.com');
    const d = (await f.hubspot.crm.deals.basicApi.create({ properties: { dealname: 'D' }, associations: [] })).id;
    const res = await f.hubspot.crm.associations.v4.basicApi.createDefault('deals', d, 'contacts', c);
    expect(res.results[0]!.associationSpec).toEqual({ associationCategory: 'HUBSPOT_DEFINED', associationTypeId: 3 });
    const back = await f.hubspot.crm.associations.v4.basicApi.getPage('contacts', c, 'deals');
    expect(back.results.map(typeIds)).toEqual([[4]]);
  });

  it('rejects a type id that does not belong to the pair with 400', async () => {
    const c = await contact('wrong.type@example.com');
    const co = await company('Wrong Co');
    const err = await failure(f.hubspot.crm.associations.v4.basicApi.create('contacts', c, 'companies', co, [{ associationCategory: HUBSPOT_DEFINED, associationTypeId: 5 }]));
    expect(err.code).toBe(400);
  });

  it('associations given on create appear in v3 reads and v4 reads', async () => {
    const co = await company('Created With');
    const created = await f.hubspot.crm.contacts.basicApi.create({
      properties: { email: 'with.assoc@example.com' },
      associations: [{ to: { id: co }, types: [{ associationCategory: HUBSPOT_DEFINED, associationTypeId: 279 }] }],
    });
    const got = await f.hubspot.crm.contacts.basicApi.getById(created.id, undefined, undefined, ['companies']);
    expect(got.associations!.companies!.results).toEqual([{ id: co, type: 'contact_to_company_unlabeled' }]);
  });

  it('DELETE removes every type between the pair, in both directions', async () => {
    const c = await contact('unlink@example.com');
    const co = await company('Unlink Co');
    await f.hubspot.crm.associations.v4.basicApi.create('contacts', c, 'companies', co, [{ associationCategory: HUBSPOT_DEFINED, associationTypeId: 1 }]);
    await f.hubspot.crm.associations.v4.basicApi.archive('contacts', c, 'companies', co);
    expect((await f.hubspot.crm.associations.v4.basicApi.getPage('companies', co, 'contacts')).results).toEqual([]);
  });
});

describe('USER_DEFINED labels', () => {
  it('creates a label pair, associates with it, and reads it back from both sides with category USER_DEFINED', async () => {
    const created = await f.hubspot.crm.associations.v4.schema.definitionsApi.create('contacts', 'companies', { name: 'manager', label: 'Manager', inverseLabel: 'Managed by' });
    const manager = created.results.find((r) => r.label === 'Manager')!;
    const managedBy = created.results.find((r) => r.label === 'Managed by')!;
    expect(manager.category).toBe('USER_DEFINED');
    expect(managedBy.typeId).not.toBe(manager.typeId);
    const listed = await f.hubspot.crm.associations.v4.schema.definitionsApi.getAll('contacts', 'companies');
    expect(listed.results).toContainEqual({ category: 'USER_DEFINED', typeId: manager.typeId, label: 'Manager' });

    const c = await contact('labelled@example.com');
    const co = await company('Labelled Co');
    const USER_DEFINED = AssociationSpecAssociationCategoryEnum.UserDefined;
    const labels = await f.hubspot.crm.associations.v4.basicApi.create('contacts', c, 'companies', co, [{ associationCategory: USER_DEFINED, associationTypeId: manager.typeId }]);
    expect(labels.labels).toEqual(['Manager']);
    const fromContact = await f.hubspot.crm.associations.v4.basicApi.getPage('contacts', c, 'companies');
    expect(fromContact.results[0]!.associationTypes).toEqual([{ category: 'USER_DEFINED', typeId: manager.typeId, label: 'Manager' }]);
    const fromCompany = await f.hubspot.crm.associations.v4.basicApi.getPage('companies', co, 'contacts');
    expect(fromCompany.results[0]!.associationTypes).toEqual([{ category: 'USER_DEFINED', typeId: managedBy.typeId, label: 'Managed by' }]);

    // A user-defined type id under the wrong category, or for another pair, is refused.
    const wrongCategory = await failure(f.hubspot.crm.associations.v4.basicApi.create('contacts', c, 'companies', co, [{ associationCategory: HUBSPOT_DEFINED, associationTypeId: manager.typeId }]));
    expect(wrongCategory.code).toBe(400);
    const d = (await f.hubspot.crm.deals.basicApi.create({ properties: { dealname: 'Label deal' }, associations: [] })).id;
    expect((await failure(f.hubspot.crm.associations.v4.basicApi.create('deals', d, 'companies', co, [{ associationCategory: USER_DEFINED, associationTypeId: manager.typeId }]))).code).toBe(400);
  });
});

describe('paging and batches', () => {
  let co: string;
  let contacts: string[];
  beforeAll(async () => {
    co = await company('Big Co');
    const created = await f.hubspot.crm.contacts.batchApi.create({ inputs: Array.from({ length: 60 }, (_, i) => ({ properties: { email: `member${i}@big.example` }, associations: [] })) });
    contacts = created.results.map((r) => r.id).sort((a, b) => Number(a) - Number(b));
    await f.hubspot.crm.associations.v4.batchApi.createDefault('companies', 'contacts', { inputs: contacts.map((id) => ({ _from: { id: co }, to: { id } })) });
  });

  it('pages one record’s associations with limit and after', async () => {
    const seen: string[] = [];
    let after: string | undefined;
    do {
      const page = await f.hubspot.crm.associations.v4.basicApi.getPage('companies', co, 'contacts', after, 25);
      expect(page.results.length).toBeLessThanOrEqual(25);
      seen.push(...page.results.map((r) => String(r.toObjectId)));
      after = page.paging?.next?.after;
    } while (after);
    expect(seen).toEqual(contacts);
  });

  it('batch read returns each input’s associations, with 207 errors for inputs that have none', async () => {
    const lonely = await contact('lonely@example.com');
    const res = await f.hubspot.crm.associations.v4.batchApi.getPage('contacts', 'companies', { inputs: [{ id: contacts[0]! }, { id: lonely }] });
    expect(res.results.map((r) => [r._from.id, r.to.map((t) => String(t.toObjectId))])).toEqual([[contacts[0], [co]]]);
    expect((res as { numErrors?: number }).numErrors).toBe(1);
  });

  it('reads at most 500 associations per page, and pages one batch-read input on with its after', async () => {
    const hub = await company('Hub Co');
    const members: string[] = [];
    for (let batch = 0; batch < 6; batch++) {
      const res = await f.hubspot.crm.contacts.batchApi.create({ inputs: Array.from({ length: 100 }, (_, i) => ({ properties: { email: `hub${batch * 100 + i}@hub.example` }, associations: [] })) });
      members.push(...res.results.map((r) => r.id));
    }
    members.sort((a, b) => Number(a) - Number(b));
    await f.hubspot.crm.associations.v4.batchApi.createDefault('companies', 'contacts', { inputs: members.map((id) => ({ _from: { id: hub }, to: { id } })) });

    const first = await f.hubspot.crm.associations.v4.basicApi.getPage('companies', hub, 'contacts', undefined, 1000);
    expect(first.results).toHaveLength(500);
    expect(first.paging?.next?.after).toBe(members[499]);
    const rest = await f.hubspot.crm.associations.v4.basicApi.getPage('companies', hub, 'contacts', first.paging!.next!.after, 1000);
    expect(rest.results.map((r) => String(r.toObjectId))).toEqual(members.slice(500));
    expect(rest.paging).toBeUndefined();

    const batchFirst = await f.hubspot.crm.associations.v4.batchApi.getPage('companies', 'contacts', { inputs: [{ id: hub }, { id: co }] });
    const byFrom = Object.fromEntries(batchFirst.results.map((r) => [r._from.id, r]));
    expect(byFrom[hub]!.to).toHaveLength(500);
    expect(byFrom[hub]!.paging?.next?.after).toBe(members[499]);
    expect(byFrom[co]!.to).toHaveLength(60);
    expect(byFrom[co]!.paging).toBeUndefined();
    const batchRest = await f.hubspot.crm.associations.v4.batchApi.getPage('companies', 'contacts', { inputs: [{ id: hub, after: byFrom[hub]!.paging!.next!.after }] });
    expect(batchRest.results[0]!.to.map((t) => String(t.toObjectId))).toEqual(members.slice(500));
    expect(batchRest.results[0]!.paging).toBeUndefined();
  });

  it('batch read refuses more than 1,000 inputs with 400', async () => {
    const inputs = Array.from({ length: 1001 }, (_, i) => ({ id: String(i + 1) }));
    const err = await failure(f.hubspot.crm.associations.v4.batchApi.getPage('contacts', 'companies', { inputs }));
    expect(err.code).toBe(400);
  });

  it('batch create answers 201 with labels and batch archive 204', async () => {
    const d = (await f.hubspot.crm.deals.basicApi.create({ properties: { dealname: 'Batch deal' }, associations: [] })).id;
    const created = await f.hubspot.crm.associations.v4.batchApi.create('deals', 'companies', {
      inputs: [{ _from: { id: d }, to: { id: co }, types: [{ associationCategory: HUBSPOT_DEFINED, associationTypeId: 5 }] }],
    });
    expect(created.results[0]!.labels).toEqual(['Primary']);
    const fromCompany = await f.hubspot.crm.associations.v4.basicApi.getPage('companies', co, 'deals');
    expect(fromCompany.results.map(typeIds)).toEqual([[6, 342]]);
    await f.hubspot.crm.associations.v4.batchApi.archive('deals', 'companies', { inputs: [{ _from: { id: d }, to: [{ id: co }] }] });
    expect((await f.hubspot.crm.associations.v4.basicApi.getPage('deals', d, 'companies')).results).toEqual([]);
  });

  it('ground truth lists every association in both directions with its type id', async () => {
    const truth = await f.control.groundTruth(f.portalId);
    const edge = (fromType: string, fromId: string, toType: string, toId: string) =>
      truth.associations.filter((a) => a.fromType === fromType && a.fromId === fromId && a.toType === toType && a.toId === toId).map((a) => a.typeId);
    expect(edge('companies', co, 'contacts', contacts[5]!)).toEqual([280]);
    expect(edge('contacts', contacts[5]!, 'companies', co)).toEqual([279]);
  });
});
