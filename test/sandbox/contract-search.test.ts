// CRM search through the official client: operators, limits, the 10,000 cap, eventual
// consistency, and incremental sync through a same-timestamp bulk edit (HUBSPOT.md §2).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { PublicObjectSearchRequest } from '@hubspot/api-client/lib/codegen/crm/objects/index.js';
import { failure, startFixture, type Fixture } from './sandbox-fixture.js';

let f: Fixture;
const req = (r: Partial<PublicObjectSearchRequest>): PublicObjectSearchRequest => ({ filterGroups: [], sorts: [], properties: [], limit: 10, after: '0', ...r }) as PublicObjectSearchRequest;

beforeAll(async () => {
  f = await startFixture();
  await f.control.seed(f.portalId, { seed: 11, contacts: 300, companies: 40 });
});
afterAll(() => f.close());

describe('filters and paging', () => {
  it('applies EQ, IN, range, HAS_PROPERTY and CONTAINS_TOKEN like the ground truth says', async () => {
    const truth = (await f.control.groundTruth(f.portalId)).objects.contacts!;
    const expectCount = async (filters: object[], predicate: (p: Record<string, string>) => boolean) => {
      const res = await f.hubspot.crm.contacts.searchApi.doSearch(req({ filterGroups: [{ filters }] as never, limit: 200 }));
      expect(res.total).toBe(truth.filter((r) => predicate(r.properties)).length);
    };
    await expectCount([{ propertyName: 'lifecyclestage', operator: 'EQ', value: 'customer' }], (p) => p.lifecyclestage === 'customer');
    await expectCount([{ propertyName: 'jobtitle', operator: 'IN', values: ['CEO', 'CTO'] }], (p) => p.jobtitle === 'CEO' || p.jobtitle === 'CTO');
    await expectCount([{ propertyName: 'firstname', operator: 'NEQ', value: 'Emma' }], (p) => p.firstname !== 'Emma');
    await expectCount([{ propertyName: 'company', operator: 'NOT_HAS_PROPERTY' }], (p) => p.company === undefined);
    await expectCount([{ propertyName: 'email', operator: 'CONTAINS_TOKEN', value: '*@gmail.com' }], (p) => p.email!.endsWith('@gmail.com'));
    const mid = truth[150]!.properties.createdate!;
    await expectCount([{ propertyName: 'createdate', operator: 'GTE', value: String(Date.parse(mid)) }], (p) => p.createdate! >= mid);
    await expectCount(
      [{ propertyName: 'hs_object_id', operator: 'BETWEEN', value: truth[10]!.id, highValue: truth[20]!.id }],
      (p) => Number(p.hs_object_id) >= Number(truth[10]!.id) && Number(p.hs_object_id) <= Number(truth[20]!.id),
    );
  });

  it('NOT_IN, NOT_CONTAINS_TOKEN and HAS_PROPERTY: negations match records without a value, HAS_PROPERTY only those with one', async () => {
    const truth = (await f.control.groundTruth(f.portalId)).objects.contacts!.filter((r) => !r.archived);
    const withCompany = truth.filter((r) => r.properties.company !== undefined);
    // Some contacts have no company: the negations include them (the simulator's reading, as for NEQ), HAS_PROPERTY does not.
    expect(withCompany.length).toBeGreaterThan(0);
    expect(withCompany.length).toBeLessThan(truth.length);
    const ids = async (filters: object[]) => {
      const res = await f.hubspot.crm.contacts.searchApi.doSearch(req({ filterGroups: [{ filters }] as never, limit: 200 }));
      const all = [...res.results];
      if (res.paging?.next?.after) all.push(...(await f.hubspot.crm.contacts.searchApi.doSearch(req({ filterGroups: [{ filters }] as never, limit: 200, after: res.paging.next.after }))).results);
      expect(all).toHaveLength(res.total);
      return all.map((r) => r.id).sort();
    };
    const expected = (predicate: (p: Record<string, string>) => boolean) => truth.filter((r) => predicate(r.properties)).map((r) => r.id).sort();

    const [a, b] = [withCompany[0]!.properties.company!, withCompany[1]!.properties.company!];
    expect(await ids([{ propertyName: 'company', operator: 'NOT_IN', values: [a, b.toUpperCase()] }])).toEqual(expected((p) => p.company !== a && p.company !== b));
    expect(await ids([{ propertyName: 'jobtitle', operator: 'NOT_IN', values: ['ceo', 'Engineer'] }])).toEqual(expected((p) => !['ceo', 'engineer'].includes(p.jobtitle!.toLowerCase())));
    expect(await ids([{ propertyName: 'email', operator: 'NOT_CONTAINS_TOKEN', value: '*@gmail.com' }])).toEqual(expected((p) => !p.email!.endsWith('@gmail.com')));
    expect(await ids([{ propertyName: 'company', operator: 'NOT_CONTAINS_TOKEN', value: 'labs' }])).toEqual(expected((p) => !(p.company ?? '').toLowerCase().split(' ').includes('labs')));
    expect(await ids([{ propertyName: 'company', operator: 'HAS_PROPERTY' }])).toEqual(withCompany.map((r) => r.id).sort());
    expect(await ids([{ propertyName: 'hs_object_id', operator: 'HAS_PROPERTY' }])).toHaveLength(truth.length);
  });

  it('ORs filter groups and ANDs filters within a group', async () => {
    const res = await f.hubspot.crm.contacts.searchApi.doSearch(
      req({
        filterGroups: [
          { filters: [{ propertyName: 'firstname', operator: 'EQ', value: 'Emma' }, { propertyName: 'jobtitle', operator: 'EQ', value: 'CEO' }] },
          { filters: [{ propertyName: 'lastname', operator: 'EQ', value: 'Sato' }] },
        ] as never,
        properties: ['firstname', 'lastname', 'jobtitle'],
        limit: 200,
      }),
    );
    expect(res.total).toBeGreaterThan(0);
    for (const r of res.results) {
      const p = r.properties;
      expect((p.firstname === 'Emma' && p.jobtitle === 'CEO') || p.lastname === 'Sato').toBe(true);
    }
  });

  it('orders by creation time ascending by default and pages with an integer after', async () => {
    const first = await f.hubspot.crm.contacts.searchApi.doSearch(req({ limit: 100 }));
    expect(first.total).toBe(300);
    expect(first.paging?.next?.after).toBe('100');
    const created = first.results.map((r) => r.createdAt.getTime());
    expect(created).toEqual([...created].sort((a, b) => a - b));
    const second = await f.hubspot.crm.contacts.searchApi.doSearch(req({ limit: 100, after: first.paging!.next!.after }));
    expect(second.results[0]!.createdAt.getTime()).toBeGreaterThanOrEqual(created.at(-1)!);
    const desc = await f.hubspot.crm.contacts.searchApi.doSearch(req({ sorts: [{ propertyName: 'createdate', direction: 'DESCENDING' }] as never, limit: 1 }));
    expect(desc.results[0]!.createdAt.getTime()).toBeGreaterThanOrEqual(second.results.at(-1)!.createdAt.getTime());
  });

  it('never returns archived records', async () => {
    const page = await f.hubspot.crm.companies.basicApi.getPage(1);
    const id = page.results[0]!.id;
    await f.hubspot.crm.companies.basicApi.archive(id);
    const res = await f.hubspot.crm.companies.searchApi.doSearch(req({ filterGroups: [{ filters: [{ propertyName: 'hs_object_id', operator: 'EQ', value: id }] }] as never }));
    expect(res.total).toBe(0);
    expect(res.results).toEqual([]);
  });
});

describe('index plans agree with a full scan', () => {
  it('returns the same pages from the indexes as from a scan, for ranges, ties, unions and both directions', async () => {
    // Some churn so that modified times interleave with ids.
    const page = await f.hubspot.crm.contacts.basicApi.getPage(40);
    await f.control.bulkEdit(f.portalId, 'contacts', { jobtitle: 'Analyst' }, { ids: page.results.slice(0, 25).map((r) => r.id) });
    const truth = (await f.control.groundTruth(f.portalId)).objects.contacts!.filter((r) => !r.archived);
    const byModified = [...truth].sort((a, b) => Date.parse(a.updatedAt) - Date.parse(b.updatedAt) || Number(a.id) - Number(b.id));
    const pivot = byModified[120]!;
    const t = String(Date.parse(pivot.updatedAt));
    const tied = String(Date.parse(byModified.at(-1)!.updatedAt));
    const queries: Record<string, unknown>[] = [
      { filterGroups: [{ filters: [{ propertyName: 'lastmodifieddate', operator: 'GTE', value: t }] }], sorts: [{ propertyName: 'lastmodifieddate', direction: 'ASCENDING' }] },
      { filterGroups: [{ filters: [{ propertyName: 'lastmodifieddate', operator: 'LT', value: t }] }], sorts: [{ propertyName: 'lastmodifieddate', direction: 'DESCENDING' }] },
      { filterGroups: [{ filters: [{ propertyName: 'lastmodifieddate', operator: 'EQ', value: tied }, { propertyName: 'hs_object_id', operator: 'GT', value: page.results[5]!.id }] }], sorts: [{ propertyName: 'hs_object_id', direction: 'ASCENDING' }] },
      {
        filterGroups: [
          { filters: [{ propertyName: 'lastmodifieddate', operator: 'GT', value: t }] },
          { filters: [{ propertyName: 'lastmodifieddate', operator: 'EQ', value: t }, { propertyName: 'hs_object_id', operator: 'GT', value: pivot.id }] },
        ],
        sorts: [{ propertyName: 'lastmodifieddate', direction: 'ASCENDING' }],
      },
      { filterGroups: [{ filters: [{ propertyName: 'createdate', operator: 'BETWEEN', value: truth[30]!.properties.createdate!, highValue: truth[90]!.properties.createdate! }, { propertyName: 'jobtitle', operator: 'NEQ', value: 'CEO' }] }] },
      { filterGroups: [{ filters: [{ propertyName: 'hs_object_id', operator: 'LTE', value: truth[200]!.id }] }], sorts: [{ propertyName: 'hs_object_id', direction: 'DESCENDING' }] },
    ];
    const pages = async (body: Record<string, unknown>) => {
      const ids: string[] = [];
      let after: string | undefined = '0';
      let total = -1;
      while (after !== undefined) {
        const res = await f.hubspot.crm.contacts.searchApi.doSearch(req({ ...(body as Partial<PublicObjectSearchRequest>), limit: 37, after }));
        total = res.total;
        ids.push(...res.results.map((r) => r.id));
        after = res.paging?.next?.after;
      }
      return { total, ids };
    };
    const indexed = [];
    for (const q of queries) indexed.push(await pages(q));
    // A search delay sends every search down the scan path.
    await f.control.setSearchDelay(f.portalId, 1);
    await new Promise((r) => setTimeout(r, 5));
    try {
      for (const [i, q] of queries.entries()) {
        const scanned = await pages(q);
        expect(indexed[i]!.ids.length).toBeGreaterThan(0);
        expect(indexed[i]).toEqual(scanned);
      }
    } finally {
      await f.control.setSearchDelay(f.portalId, 0);
    }
    const union = indexed[3]!.ids;
    expect(union).toEqual(byModified.slice(121).map((r) => r.id));
  });
});

describe('limits', () => {
  const filter = { propertyName: 'firstname', operator: 'HAS_PROPERTY' };
  const cases: [string, Partial<PublicObjectSearchRequest>][] = [
    ['6 filter groups', { filterGroups: Array.from({ length: 6 }, () => ({ filters: [filter] })) as never }],
    ['7 filters in one group', { filterGroups: [{ filters: Array.from({ length: 7 }, () => filter) }] as never }],
    ['19 filters in total', { filterGroups: [...Array.from({ length: 3 }, () => ({ filters: Array.from({ length: 6 }, () => filter) })), { filters: [filter] }] as never }],
    ['two sorts', { sorts: ['createdate', 'email'] }],
    ['limit 201', { limit: 201 }],
    ['an unknown operator', { filterGroups: [{ filters: [{ propertyName: 'email', operator: 'LIKE', value: 'x' }] }] as never }],
  ];
  for (const [name, body] of cases) {
    it(`refuses ${name} with 400 VALIDATION_ERROR`, async () => {
      const err = await failure(f.hubspot.crm.contacts.searchApi.doSearch(req(body)));
      expect(err.code).toBe(400);
      expect(err.body.category).toBe('VALIDATION_ERROR');
    });
  }

  it('accepts the documented maximums: 5 groups, 6 filters per group, 18 in total, limit 200', async () => {
    const res = await f.hubspot.crm.contacts.searchApi.doSearch(
      req({ filterGroups: [...Array.from({ length: 3 }, () => ({ filters: Array.from({ length: 6 }, () => filter) }))] as never, limit: 200 }),
    );
    expect(res.results).toHaveLength(200);
  });
});

describe('sharp edges', () => {
  it('search lags writes: a search-then-create hits 409 with the existing id, which the caller can update instead', async () => {
    await f.control.setSearchDelay(f.portalId, 60_000);
    try {
      const created = await f.hubspot.crm.contacts.basicApi.create({ properties: { email: 'lagging@example.com', firstname: 'Old' }, associations: [] });
      const byEmail = req({ filterGroups: [{ filters: [{ propertyName: 'email', operator: 'EQ', value: 'lagging@example.com' }] }] as never, properties: ['firstname'] });
      expect((await f.hubspot.crm.contacts.searchApi.doSearch(byEmail)).total).toBe(0);
      const err = await failure(f.hubspot.crm.contacts.basicApi.create({ properties: { email: 'lagging@example.com', firstname: 'New' }, associations: [] }));
      expect(err.code).toBe(409);
      const existingId = /Existing ID: (\d+)/.exec(String(err.body.message))?.[1];
      expect(existingId).toBe(created.id);
      await f.hubspot.crm.contacts.basicApi.update(existingId!, { properties: { firstname: 'New' } });
      // Once the delay has passed, search sees the latest version.
      f.sandbox.clock.advance(61_000);
      const later = await f.hubspot.crm.contacts.searchApi.doSearch(byEmail);
      expect(later.results.map((r) => [r.id, r.properties.firstname])).toEqual([[created.id, 'New']]);
    } finally {
      await f.control.setSearchDelay(f.portalId, 0);
    }
  });

  it('while a delay is pending, search still answers with the previous version of an updated record', async () => {
    const c = await f.hubspot.crm.contacts.basicApi.create({ properties: { email: 'stale@example.com', jobtitle: 'Before' }, associations: [] });
    await f.control.setSearchDelay(f.portalId, 60_000);
    try {
      await f.hubspot.crm.contacts.basicApi.update(c.id, { properties: { jobtitle: 'After' } });
      const res = await f.hubspot.crm.contacts.searchApi.doSearch(
        req({ filterGroups: [{ filters: [{ propertyName: 'email', operator: 'EQ', value: 'stale@example.com' }] }] as never, properties: ['jobtitle'] }),
      );
      expect(res.results[0]!.properties.jobtitle).toBe('Before');
    } finally {
      await f.control.setSearchDelay(f.portalId, 0);
    }
  });
});

describe('10,000 cap and same-timestamp floods', () => {
  let g: Fixture;
  beforeAll(async () => {
    g = await startFixture({}, 555002);
    await g.control.seed(g.portalId, { seed: 3, contacts: 10_250 });
  });
  afterAll(() => g.close());

  it('paging past 10,000 results answers 400 even though total says more', async () => {
    const res = await g.hubspot.crm.contacts.searchApi.doSearch(req({ limit: 200, after: '9800' }));
    expect(res.total).toBe(10_250);
    expect(res.results).toHaveLength(200);
    expect(res.paging?.next?.after).toBe('10000');
    const err = await failure(g.hubspot.crm.contacts.searchApi.doSearch(req({ limit: 200, after: '10000' })));
    expect(err.code).toBe(400);
    expect(err.body.category).toBe('VALIDATION_ERROR');
  });

  it('a bulk edit gives >10,000 records one modified time; an hs_object_id tie-break still reaches every record', async () => {
    const { count, timestamp } = await g.control.bulkEdit(g.portalId, 'contacts', { lifecyclestage: 'customer' });
    expect(count).toBe(10_250);
    const sameInstant = req({ filterGroups: [{ filters: [{ propertyName: 'lastmodifieddate', operator: 'EQ', value: String(timestamp) }] }] as never, limit: 1 });
    expect((await g.hubspot.crm.contacts.searchApi.doSearch(sameInstant)).total).toBe(10_250);

    // A cursor on (lastmodifieddate, hs_object_id): pin the instant, page by id.
    const seen = new Set<string>();
    let lastId = '0';
    for (;;) {
      const page = await g.hubspot.crm.contacts.searchApi.doSearch(
        req({
          filterGroups: [
            {
              filters: [
                { propertyName: 'lastmodifieddate', operator: 'EQ', value: String(timestamp) },
                { propertyName: 'hs_object_id', operator: 'GT', value: lastId },
              ],
            },
          ] as never,
          sorts: [{ propertyName: 'hs_object_id', direction: 'ASCENDING' }] as never,
          limit: 200,
        }),
      );
      for (const r of page.results) seen.add(r.id);
      if (page.results.length < 200) break;
      lastId = page.results.at(-1)!.id;
    }
    expect(seen.size).toBe(10_250);
  });
});
