import { Client } from '@hubspot/api-client';
import express from 'express';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createOAuthRouter, requireAuth, TokenRegistry } from '../../src/sandbox/tokens.js';
import { AdjustableClock } from '../../src/sandbox/types.js';
import { serve, type Served } from './edges-http.js';

const app = { appId: 777, clientId: 'client-777', clientSecret: 'secret-777' };
const REDIRECT = 'http://localhost:9999/oauth/callback';
const PORTAL = 4242;

let clock: AdjustableClock;
let registry: TokenRegistry;
let server: Served;

beforeAll(async () => {
  clock = new AdjustableClock();
  registry = new TokenRegistry(clock);
  registry.registerApp(app);
  registry.addStaticToken('pat-na1-static', 99, { scopes: ['crm.objects.contacts.read'] });
  const http = express();
  http.use(createOAuthRouter(registry));
  http.get('/crm/v3/objects/contacts', requireAuth(registry), (_req, res) => {
    res.json({ results: [], portal: res.locals.auth.portalId });
  });
  server = await serve(http);
});
afterAll(() => server.close());

const oauthClient = () => new Client({ basePath: server?.url, numberOfApiCallRetries: 0 });

async function authorize(state = 'csrf-1'): Promise<URL> {
  const url = new URL('/oauth/authorize', server.url);
  url.search = new URLSearchParams({
    client_id: app.clientId,
    redirect_uri: REDIRECT,
    scope: 'crm.objects.contacts.read oauth',
    optional_scope: 'timeline',
    state,
    portalId: String(PORTAL),
  }).toString();
  const res = await fetch(url, { redirect: 'manual' });
  expect(res.status).toBe(302);
  return new URL(res.headers.get('location')!);
}

async function install() {
  const code = (await authorize()).searchParams.get('code')!;
  return oauthClient().oauth.tokensApi.create('authorization_code', code, REDIRECT, app.clientId, app.clientSecret);
}

async function listContacts(accessToken: string) {
  const res = await fetch(`${server.url}/crm/v3/objects/contacts`, { headers: { authorization: `Bearer ${accessToken}` } });
  return { status: res.status, body: (await res.json()) as Record<string, unknown> };
}

describe('OAuth install and tokens', () => {
  it('redirects the authorize stand-in back with a code and the state', async () => {
    const location = await authorize('state-xyz');
    expect(location.origin + location.pathname).toBe(REDIRECT);
    expect(location.searchParams.get('state')).toBe('state-xyz');
    expect(location.searchParams.get('code')).toBeTruthy();
  });

  it('exchanges a code for tokens through the official client, once only', async () => {
    const code = (await authorize()).searchParams.get('code')!;
    const tokens = await oauthClient().oauth.tokensApi.create('authorization_code', code, REDIRECT, app.clientId, app.clientSecret);
    expect(tokens.expiresIn).toBe(1800);
    expect(tokens.tokenType).toBe('bearer');
    expect(tokens.refreshToken).toMatch(/^na1-/);

    const again = await fetch(`${server.url}/oauth/v3/token`, {
      method: 'POST',
      body: new URLSearchParams({ grant_type: 'authorization_code', code, redirect_uri: REDIRECT, client_id: app.clientId, client_secret: app.clientSecret }),
    });
    expect(again.status).toBe(400);
    expect(await again.json()).toMatchObject({ error: 'invalid_grant', status: 'BAD_AUTH_CODE' });
  });

  it('returns hub_id and scopes in the token response and the metadata endpoint', async () => {
    const code = (await authorize()).searchParams.get('code')!;
    const res = await fetch(`${server.url}/oauth/v1/token`, {
      method: 'POST',
      body: new URLSearchParams({ grant_type: 'authorization_code', code, redirect_uri: REDIRECT, client_id: app.clientId, client_secret: app.clientSecret }),
    });
    const body = (await res.json()) as { access_token: string; hub_id: number; scopes: string[] };
    expect(body.hub_id).toBe(PORTAL);
    expect(body.scopes).toEqual(['crm.objects.contacts.read', 'oauth', 'timeline']);

    const info = await oauthClient().oauth.accessTokensApi.get(body.access_token);
    expect(info).toMatchObject({ hubId: PORTAL, appId: app.appId, token: body.access_token });
    expect(info.expiresIn).toBeGreaterThan(1790);
  });

  it('answers an expired access token with the exact EXPIRED_AUTHENTICATION body', async () => {
    const tokens = await install();
    expect((await listContacts(tokens.accessToken)).status).toBe(200);
    clock.advance(1800 * 1000 + 7_000);
    const { status, body } = await listContacts(tokens.accessToken);
    expect(status).toBe(401);
    expect(body).toEqual({
      status: 'error',
      message: 'The OAuth token used to make this call expired 7 second(s) ago.',
      correlationId: expect.any(String),
      category: 'EXPIRED_AUTHENTICATION',
      context: { 'expire time': [expect.stringMatching(/Z$/)] },
    });
  });

  it('surfaces the 401 to the official client as an ApiException', async () => {
    const client = new Client({ accessToken: 'not-a-token', basePath: server.url, numberOfApiCallRetries: 0 });
    const error = await client.crm.contacts.basicApi.getPage().catch((e: unknown) => e);
    expect(error).toMatchObject({ code: 401, body: { category: 'INVALID_AUTHENTICATION', status: 'error' } });
  });

  it('answers a missing or unknown token with INVALID_AUTHENTICATION', async () => {
    const res = await fetch(`${server.url}/crm/v3/objects/contacts`);
    expect(res.status).toBe(401);
    expect(await res.json()).toMatchObject({ category: 'INVALID_AUTHENTICATION', message: expect.stringMatching(/^Authentication credentials not found/) });
  });

  it('accepts private-app tokens without expiry', async () => {
    clock.advance(10 * 24 * 3600 * 1000);
    expect(await listContacts('pat-na1-static')).toEqual({ status: 200, body: { results: [], portal: 99 } });
    expect(registry.authenticate('Bearer pat-na1-static')).toMatchObject({ ok: true, kind: 'private-app', portalId: 99 });
  });
});

describe('refresh tokens', () => {
  const refresh = (refreshToken: string) =>
    oauthClient().oauth.tokensApi.create('refresh_token', undefined, undefined, app.clientId, app.clientSecret, refreshToken);

  it('keeps the refresh token by default and mints a fresh access token', async () => {
    const first = await install();
    const next = await refresh(first.refreshToken);
    expect(next.refreshToken).toBe(first.refreshToken);
    expect(next.accessToken).not.toBe(first.accessToken);
    expect((await listContacts(next.accessToken)).status).toBe(200);
  });

  it('rotates refresh tokens when configured, refusing the old one', async () => {
    registry.setRotateRefreshTokens(true);
    try {
      const first = await install();
      const next = await refresh(first.refreshToken);
      expect(next.refreshToken).not.toBe(first.refreshToken);
      const error = await refresh(first.refreshToken).catch((e: unknown) => e);
      expect(error).toMatchObject({ code: 400, body: { error: 'invalid_grant', status: 'BAD_REFRESH_TOKEN' } });
      expect((await refresh(next.refreshToken)).accessToken).toBeTruthy();
    } finally {
      registry.setRotateRefreshTokens(false);
    }
  });

  it('refuses a refresh token deleted through the official client, with the exact invalid_grant body', async () => {
    const tokens = await install();
    const before = registry.refreshAttempts(PORTAL);
    await oauthClient().oauth.refreshTokensApi.archive(tokens.refreshToken);
    const res = await fetch(`${server.url}/oauth/v3/token`, {
      method: 'POST',
      body: new URLSearchParams({ grant_type: 'refresh_token', refresh_token: tokens.refreshToken, client_id: app.clientId, client_secret: app.clientSecret }),
    });
    expect(res.status).toBe(400);
    expect(await res.json()).toEqual({
      status: 'BAD_REFRESH_TOKEN',
      message: 'missing or unknown refresh token',
      correlationId: expect.any(String),
      error: 'invalid_grant',
      error_description: 'missing or unknown refresh token',
    });
    expect(registry.refreshAttempts(PORTAL)).toBe(before + 1);
    // HubSpot: deleting the refresh token leaves issued access tokens working until they expire.
    expect((await listContacts(tokens.accessToken)).status).toBe(200);
  });

  it('reads refresh-token metadata and reports 404 once deleted', async () => {
    const tokens = await install();
    const info = await oauthClient().oauth.refreshTokensApi.get(tokens.refreshToken);
    expect(info).toMatchObject({ hubId: PORTAL, clientId: app.clientId, token: tokens.refreshToken });
    await oauthClient().oauth.refreshTokensApi.archive(tokens.refreshToken);
    expect((await fetch(`${server.url}/oauth/v1/refresh-tokens/${tokens.refreshToken}`)).status).toBe(404);
  });

  it('revokes every token of a portal at once', async () => {
    const tokens = await install();
    expect(registry.hasInstallation(app.appId, PORTAL)).toBe(true);
    registry.revokeAllForPortal(PORTAL);
    expect(registry.hasInstallation(app.appId, PORTAL)).toBe(false);
    expect((await listContacts(tokens.accessToken)).body).toMatchObject({ category: 'INVALID_AUTHENTICATION' });
    expect(await refresh(tokens.refreshToken).catch((e: unknown) => e)).toMatchObject({ code: 400 });
  });

  it('introspects and revokes through the v3 endpoints', async () => {
    const tokens = await install();
    const post = (path: string, token: string) =>
      fetch(`${server.url}${path}`, { method: 'POST', body: new URLSearchParams({ client_id: app.clientId, client_secret: app.clientSecret, token }) });
    expect(await (await post('/oauth/v3/token/introspect', tokens.accessToken)).json()).toMatchObject({
      active: true, token_use: 'access_token', hub_id: PORTAL, app_id: app.appId, client_id: app.clientId,
    });
    expect(await (await post('/oauth/v3/token/introspect', tokens.refreshToken)).json()).toMatchObject({ active: true, token_use: 'refresh_token' });
    expect((await post('/oauth/v3/token/revoke', tokens.refreshToken)).status).toBe(200);
    expect(await (await post('/oauth/v3/token/introspect', tokens.refreshToken)).json()).toEqual({ active: false });
  });

  it('refuses a wrong client secret', async () => {
    const tokens = await install();
    const error = await oauthClient()
      .oauth.tokensApi.create('refresh_token', undefined, undefined, app.clientId, 'wrong', tokens.refreshToken)
      .catch((e: unknown) => e);
    expect(error).toMatchObject({ code: 400, body: { error: 'invalid_client', status: 'BAD_CLIENT_SECRET' } });
  });
});
