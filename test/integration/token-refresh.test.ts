// The token activities called directly, with a real PostgreSQL and the simulator over HTTP (no
// Temporal needed): rotation, refusal, concurrent refreshes, the expired-token 401, revocation.
import { randomBytes, randomUUID } from 'node:crypto';
import { Writable } from 'node:stream';
import { ApplicationFailure } from '@temporalio/common';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { accessTokenFor, createTokenActivities, withAccessToken, type TokenDeps } from '../../src/activities/tokens.js';
import { createTokenCipher } from '../../src/crypto/token-cipher.js';
import { insertConnection, sealedTokens } from '../../src/db/connections.js';
import { createHubSpotClient } from '../../src/hubspot/client.js';
import { createLogger } from '../../src/logger.js';
import { createSandbox, type Sandbox } from '../../src/sandbox/server.js';
import { connectionWorkflowId } from '../../src/workflows/definitions.js';
import { createTestDatabase, type TestDatabase } from '../support/database.js';

const APP = { appId: 5151, clientId: 'refresh-test-client', clientSecret: 'refresh-test-client-secret-0123456789' };
let nextPortalId = 800_001;

let sandbox: Sandbox;
let closeSandbox: () => Promise<void>;
let db: TestDatabase;
let deps: TokenDeps;
const logs: string[] = [];
/** Every token the simulator issued in this file, for the "never logged" check. */
const issued: string[] = [];

beforeAll(async () => {
  sandbox = createSandbox({ rateLimits: { enabled: false } });
  sandbox.tokens.registerApp(APP);
  const server = await sandbox.listen(0);
  closeSandbox = server.close;
  db = await createTestDatabase();
  const log = createLogger('debug', new Writable({ write: (chunk, _encoding, done) => (logs.push(String(chunk)), done()) }));
  deps = {
    pool: db.pool,
    cipher: createTokenCipher([randomBytes(32).toString('base64')]),
    hubspot: { apiBaseUrl: server.url, clientId: APP.clientId, clientSecret: APP.clientSecret, tokenVersion: 'v3' },
    log,
  };
});
afterAll(async () => {
  await db?.drop();
  await closeSandbox?.();
});
afterEach(() => sandbox.tokens.setRotateRefreshTokens(false));

/** An OAuth connection of a fresh portal, installed directly in the simulator and stored like the callback does. */
async function connect(): Promise<{ id: string; portalId: number; access: string; refresh: string }> {
  const portalId = nextPortalId++;
  sandbox.store.createPortal({ portalId });
  const grant = sandbox.tokens.issueTokens({ appId: APP.appId, portalId, scopes: ['crm.objects.contacts.read', 'oauth'] });
  issued.push(grant.access_token, grant.refresh_token);
  const id = randomUUID();
  const tokens = sealedTokens(deps.cipher.seal(grant.access_token), deps.cipher.seal(grant.refresh_token), new Date(Date.now() + grant.expires_in * 1000));
  await insertConnection(db.pool, { id, portalId, authType: 'oauth', appId: APP.appId, workflowId: connectionWorkflowId(id), objectTypes: ['contacts'], syncIntervalSeconds: 60 }, tokens);
  return { id, portalId, access: grant.access_token, refresh: grant.refresh_token };
}

async function stored(id: string) {
  const row = (await db.pool.query('select * from connection_tokens where connection_id = $1', [id])).rows[0];
  return {
    row,
    access: deps.cipher.open({ keyId: row.key_id, ciphertext: row.access_token }),
    refresh: row.refresh_token === null ? null : deps.cipher.open({ keyId: row.key_id, ciphertext: row.refresh_token }),
  };
}

describe('refreshAccessToken', () => {
  it('stores the new access token and a rotated refresh token, and returns only the expiry', async () => {
    sandbox.tokens.setRotateRefreshTokens(true);
    const connection = await connect();
    const result = await createTokenActivities(deps).refreshAccessToken(connection.id);

    expect(Object.keys(result)).toEqual(['expiresAt']);
    const after = await stored(connection.id);
    issued.push(after.access, after.refresh!);
    expect(new Date(result.expiresAt).toISOString()).toBe(new Date(after.row.expires_at).toISOString());
    expect(after.access).not.toBe(connection.access);
    expect(after.refresh).not.toBe(connection.refresh);
    expect(sandbox.tokens.refreshTokenInfo(connection.refresh)).toBeUndefined();
    expect(sandbox.tokens.refreshTokenInfo(after.refresh!)?.hub_id).toBe(connection.portalId);
    expect(sandbox.tokens.accessTokenInfo(after.access)?.hub_id).toBe(connection.portalId);
  });

  it('keeps the refresh token when HubSpot does not rotate it', async () => {
    const connection = await connect();
    await createTokenActivities(deps).refreshAccessToken(connection.id);
    expect((await stored(connection.id)).refresh).toBe(connection.refresh);
  });

  it('throws a non-retryable RefreshTokenRejected for a revoked refresh token, forgets it, and asks HubSpot no more', async () => {
    const connection = await connect();
    sandbox.tokens.revokeRefreshToken(connection.refresh);
    const before = (await stored(connection.id)).row;
    const attempts = sandbox.tokens.refreshAttempts(connection.portalId);

    const failure = await createTokenActivities(deps).refreshAccessToken(connection.id).catch((error: unknown) => error);
    expect(failure).toBeInstanceOf(ApplicationFailure);
    expect(failure).toMatchObject({ type: 'RefreshTokenRejected', nonRetryable: true, message: expect.stringMatching(/BAD_REFRESH_TOKEN/) });
    expect((failure as Error).message).not.toContain(connection.refresh);
    expect((failure as Error).message).not.toContain(APP.clientSecret);
    // The dead refresh token is gone; the access token stays until it expires on its own.
    expect((await stored(connection.id)).row).toEqual({ ...before, refresh_token: null, updated_at: expect.any(Date) });

    // A second refresh (another activity queued behind the first) fails the same way without HubSpot.
    const again = await createTokenActivities(deps).refreshAccessToken(connection.id).catch((error: unknown) => error);
    expect(again).toMatchObject({ type: 'RefreshTokenRejected', nonRetryable: true });
    expect(sandbox.tokens.refreshAttempts(connection.portalId)).toBe(attempts + 1);
  });

  it('calls HubSpot once when two workers refresh the same connection at the same time', async () => {
    sandbox.tokens.setRotateRefreshTokens(true);
    const connection = await connect();
    // Two activity sets as two workers would build them; the row lock is what they share.
    const [a, b] = await Promise.all([
      createTokenActivities(deps).refreshAccessToken(connection.id),
      createTokenActivities(deps).refreshAccessToken(connection.id),
    ]);
    expect(sandbox.tokens.refreshAttempts(connection.portalId)).toBe(1);
    expect(a).toEqual(b);
    // With rotation a second HubSpot call would have spent the first one's refresh token: it still works.
    const after = await stored(connection.id);
    issued.push(after.access, after.refresh!);
    expect(sandbox.tokens.refreshTokenInfo(after.refresh!)).toBeDefined();
  });
});

describe('withAccessToken', () => {
  const contactsPage = (token: string) =>
    fetch(`${deps.hubspot.apiBaseUrl}/crm/v3/objects/contacts?limit=1`, { headers: { authorization: `Bearer ${token}` } });

  it('refreshes once after a 401 EXPIRED_AUTHENTICATION (fetch Response) and retries', async () => {
    const connection = await connect();
    expect((await contactsPage(await accessTokenFor(deps, connection.id))).status).toBe(200);
    sandbox.clock.advance(31 * 60_000);

    const calls: number[] = [];
    const response = await withAccessToken(deps, connection.id, async (token) => {
      const answer = await contactsPage(token);
      calls.push(answer.status);
      return answer;
    });
    expect(calls).toEqual([401, 200]);
    expect(response.status).toBe(200);
    expect(sandbox.tokens.refreshAttempts(connection.portalId)).toBe(1);
    issued.push((await stored(connection.id)).access);
  });

  it('refreshes once after the official client throws a 401 EXPIRED_AUTHENTICATION', async () => {
    const connection = await connect();
    sandbox.clock.advance(31 * 60_000);
    let calls = 0;
    const page = await withAccessToken(deps, connection.id, (token) => {
      calls++;
      return createHubSpotClient(deps.hubspot.apiBaseUrl, token).crm.contacts.basicApi.getPage(1);
    });
    expect(calls).toBe(2);
    expect(page.results).toBeInstanceOf(Array);
    expect(sandbox.tokens.refreshAttempts(connection.portalId)).toBe(1);
    issued.push((await stored(connection.id)).access);
  });

  it('does not refresh on other failures', async () => {
    const connection = await connect();
    sandbox.tokens.revokeAccessToken(connection.access);
    const response = await withAccessToken(deps, connection.id, contactsPage);
    expect(response.status).toBe(401);
    expect(sandbox.tokens.refreshAttempts(connection.portalId)).toBe(0);
  });
});

describe('revokeConnectionTokens', () => {
  it('revokes the refresh token at HubSpot and forgets it; running it again is harmless', async () => {
    const connection = await connect();
    const activities = createTokenActivities(deps);
    await activities.revokeConnectionTokens(connection.id);
    expect(sandbox.tokens.refreshTokenInfo(connection.refresh)).toBeUndefined();
    expect((await stored(connection.id)).refresh).toBeNull();
    await activities.revokeConnectionTokens(connection.id);
  });

  it('revokes through the v1 endpoint when configured', async () => {
    const connection = await connect();
    const v1 = { ...deps, hubspot: { ...deps.hubspot, tokenVersion: 'v1' as const } };
    await createTokenActivities(v1).revokeConnectionTokens(connection.id);
    expect(sandbox.tokens.refreshTokenInfo(connection.refresh)).toBeUndefined();
  });
});

it('writes no token or client secret to the logs', () => {
  expect(logs.length).toBeGreaterThan(0);
  const text = logs.join('\n');
  expect(issued.length).toBeGreaterThan(10);
  for (const secret of [...issued, APP.clientSecret]) expect(text).not.toContain(secret);
});
