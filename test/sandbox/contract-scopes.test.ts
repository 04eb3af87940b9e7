// Opt-in scope enforcement: an OAuth token without the object's read or write scope gets HubSpot's
// 403 MISSING_SCOPES body through the official client; off, nothing is checked.
import { Client } from '@hubspot/api-client';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { failure, startFixture, type Fixture } from './sandbox-fixture.js';

let f: Fixture;
let oauth: Client;
let contactId: string;

beforeAll(async () => {
  f = await startFixture();
  const app = await f.control.createApp({ appId: 7070 });
  const tokens = await f.control.installApp(f.portalId, app.appId, ['oauth', 'crm.objects.contacts.read', 'crm.objects.companies.write']);
  oauth = new Client({ accessToken: tokens.access_token, basePath: f.url, numberOfApiCallRetries: 0 });
  contactId = (await f.control.createObject(f.portalId, 'contacts', { email: 'scoped@example.com' })).id;
});
afterAll(() => f.close());
afterEach(() => f.control.enforceScopes(false));

describe('scope enforcement', () => {
  it('is off by default: an OAuth token without a write scope still writes', async () => {
    const created = await oauth.crm.contacts.basicApi.create({ properties: { email: 'unchecked@example.com' }, associations: [] });
    expect(created.id).toBeTruthy();
  });

  it("answers a call without the object's scope with HubSpot's exact 403 body", async () => {
    expect(await f.control.enforceScopes(true)).toEqual({ enforce: true });
    const err = await failure(oauth.crm.contacts.basicApi.create({ properties: { email: 'refused@example.com' }, associations: [] }));
    expect(err.code).toBe(403);
    expect(err.body).toEqual({
      status: 'error',
      message: "This app hasn't been granted all required scopes to make this call. Read more about required scopes here: https://developers.hubspot.com/scopes.",
      correlationId: expect.any(String),
      category: 'MISSING_SCOPES',
      errors: [{ message: 'One or more of the following scopes are required.', context: { requiredScopes: ['crm.objects.contacts.write'] } }],
      links: { scopes: 'https://developers.hubspot.com/scopes' },
    });
    expect(err.headers['x-hubspot-correlation-id']).toBe(err.body.correlationId);
    expect((await f.control.groundTruth(f.portalId)).objects.contacts!.some((c) => c.properties.email === 'refused@example.com')).toBe(false);
  });

  it('lets reads through with the read scope (get, list, search, batch read, associations) and checks each type on its own', async () => {
    await f.control.enforceScopes(true);
    expect((await oauth.crm.contacts.basicApi.getById(contactId)).id).toBe(contactId);
    expect((await oauth.crm.contacts.basicApi.getPage(5)).results.length).toBeGreaterThan(0);
    expect((await oauth.crm.contacts.searchApi.doSearch({ filterGroups: [], sorts: [], properties: [], limit: 1, after: '0' })).total).toBeGreaterThan(0);
    expect((await oauth.crm.contacts.batchApi.read({ inputs: [{ id: contactId }], properties: [], propertiesWithHistory: [] })).results).toHaveLength(1);
    expect((await oauth.crm.associations.v4.basicApi.getPage('contacts', contactId, 'companies')).results).toEqual([]);

    const deals = await failure(oauth.crm.deals.searchApi.doSearch({ filterGroups: [], sorts: [], properties: [], limit: 1, after: '0' }));
    expect(deals.code).toBe(403);
    expect(deals.body.errors).toEqual([{ message: 'One or more of the following scopes are required.', context: { requiredScopes: ['crm.objects.deals.read'] } }]);
    // A write scope is not a read scope.
    expect((await failure(oauth.crm.companies.basicApi.getPage(1))).code).toBe(403);
    expect((await oauth.crm.companies.basicApi.create({ properties: { name: 'Writable' }, associations: [] })).id).toBeTruthy();
    const link = await failure(oauth.crm.associations.v4.basicApi.createDefault('contacts', contactId, 'companies', '1'));
    expect(link.body.errors).toEqual([expect.objectContaining({ context: { requiredScopes: ['crm.objects.contacts.write'] } })]);
  });

  it('leaves private-app tokens unchecked', async () => {
    await f.control.enforceScopes(true);
    expect((await f.hubspot.crm.deals.basicApi.create({ properties: { dealname: 'Private app deal' }, associations: [] })).id).toBeTruthy();
  });
});
