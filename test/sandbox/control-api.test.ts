// The control API's request log, clock and OAuth knobs, driven over HTTP through SandboxClient
// while the official client makes the HubSpot calls.
import { Client } from '@hubspot/api-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SandboxControlError } from '../../src/sandbox/client.js';
import { failure, startFixture, type Fixture } from './sandbox-fixture.js';

let f: Fixture;

beforeAll(async () => {
  f = await startFixture();
});
afterAll(() => f.close());

const controlError = (call: Promise<unknown>) => call.then(() => undefined, (e: unknown) => e as SandboxControlError);

describe('GET /__sandbox/requests', () => {
  it('lists each HubSpot-path request with method, path, portal, app, token kind, status and time, filtered', async () => {
    const { now: since } = await f.control.clock();
    const created = await f.hubspot.crm.contacts.basicApi.create({ properties: { email: 'logged@example.com' }, associations: [] });
    await f.hubspot.crm.contacts.basicApi.getById(created.id);
    expect((await failure(f.hubspot.crm.deals.basicApi.getById('424242'))).code).toBe(404);
    await fetch(`${f.url}/oauth/v1/access-tokens/nope`);
    await f.control.groundTruth(f.portalId); // control-API calls are not HubSpot requests

    const all = await f.control.requests({ since });
    expect(all.results.map((r) => `${r.method} ${r.path} ${r.status}`)).toEqual([
      'POST /crm/v3/objects/contacts 201',
      `GET /crm/v3/objects/contacts/${created.id} 200`,
      'GET /crm/v3/objects/deals/424242 404',
      'GET /oauth/v1/access-tokens/nope 404',
    ]);
    expect(all.results[0]).toEqual({ method: 'POST', path: '/crm/v3/objects/contacts', portalId: f.portalId, appId: 4242, tokenKind: 'private-app', status: 201, at: expect.any(Number) });
    expect(all.results[0]!.at).toBeGreaterThanOrEqual(since);
    // Unauthenticated paths carry no portal or app.
    expect(all.results[3]).toEqual({ method: 'GET', path: '/oauth/v1/access-tokens/nope', status: 404, at: expect.any(Number) });

    const contacts = await f.control.requests({ since, portalId: f.portalId, pathPrefix: '/crm/v3/objects/contacts' });
    expect(contacts.results.map((r) => r.method)).toEqual(['POST', 'GET']);
    const last = await f.control.requests({ since, limit: 1 });
    expect(last).toMatchObject({ total: 4, results: [{ path: '/oauth/v1/access-tokens/nope' }] });
    expect((await f.control.requests({ since, portalId: 1 })).results).toEqual([]);
  });

  it('refuses an invalid filter with 400', async () => {
    const err = await controlError(f.control.requests({ limit: 0 }));
    expect(err).toBeInstanceOf(SandboxControlError);
    expect(err!.status).toBe(400);
    expect(err!.body).toMatchObject({ category: 'VALIDATION_ERROR', message: expect.stringContaining('limit') });
  });
});

describe('PUT /__sandbox/clock/scale', () => {
  it('speeds simulated time up so an OAuth token expires in real milliseconds, and freezes it at 0', async () => {
    const app = await f.control.createApp({ appId: 5151 });
    const tokens = await f.control.installApp(f.portalId, app.appId);
    const oauth = new Client({ accessToken: tokens.access_token, basePath: f.url, numberOfApiCallRetries: 0 });
    await oauth.crm.contacts.basicApi.getPage(1);
    try {
      const before = await f.control.setTimeScale(36_000);
      expect(before.scale).toBe(36_000);
      await new Promise((r) => setTimeout(r, 250)); // 250 ms at 36,000x: 2.5 simulated hours
      const after = await f.control.clock();
      expect(after.now - before.now).toBeGreaterThan(1800 * 1000);
      const expired = await failure(oauth.crm.contacts.basicApi.getPage(1));
      expect(expired.code).toBe(401);
      expect(expired.body.category).toBe('EXPIRED_AUTHENTICATION');

      const frozen = await f.control.setTimeScale(0);
      await new Promise((r) => setTimeout(r, 30));
      expect((await f.control.clock()).now).toBe(frozen.now);
    } finally {
      await f.control.setTimeScale(1);
    }
    const a = await f.control.clock();
    await new Promise((r) => setTimeout(r, 30));
    expect((await f.control.clock()).now - a.now).toBeGreaterThanOrEqual(25);
  });

  it('refuses a negative scale with 400', async () => {
    expect((await controlError(f.control.setTimeScale(-1)))!.status).toBe(400);
  });
});

describe('PUT /__sandbox/oauth', () => {
  it('sets the access-token lifetime and refresh-token rotation of tokens issued afterwards', async () => {
    const app = await f.control.createApp({ appId: 6161 });
    expect(await f.control.configureOAuth({ accessTokenTtlSeconds: 60, rotateRefreshTokens: true })).toEqual({ accessTokenTtlSeconds: 60, rotateRefreshTokens: true });
    try {
      const first = await f.control.installApp(f.portalId, app.appId);
      expect(first.expires_in).toBe(60);
      const oauth = new Client({ basePath: f.url, numberOfApiCallRetries: 0 });
      const refreshed = await oauth.oauth.tokensApi.create('refresh_token', undefined, undefined, app.clientId, app.clientSecret, first.refresh_token);
      expect(refreshed.expiresIn).toBe(60);
      expect(refreshed.refreshToken).not.toBe(first.refresh_token);
      const reused = await failure(oauth.oauth.tokensApi.create('refresh_token', undefined, undefined, app.clientId, app.clientSecret, first.refresh_token));
      expect(reused).toMatchObject({ code: 400, body: { error: 'invalid_grant', status: 'BAD_REFRESH_TOKEN' } });
      f.sandbox.clock.advance(61_000);
      const expired = await failure(new Client({ accessToken: refreshed.accessToken, basePath: f.url, numberOfApiCallRetries: 0 }).crm.contacts.basicApi.getPage(1));
      expect(expired.body.category).toBe('EXPIRED_AUTHENTICATION');
    } finally {
      await f.control.configureOAuth({ accessTokenTtlSeconds: 1800, rotateRefreshTokens: false });
    }
  });

  it('refuses an unknown or invalid setting with 400', async () => {
    expect((await controlError(f.control.configureOAuth({ accessTokenTtlSeconds: 0 })))!.status).toBe(400);
    expect((await controlError(f.control.configureOAuth({ rotate: true } as never)))!.status).toBe(400);
  });
});
