// A private-app connection whose token HubSpot revoked, on the real stack: it waits in
// reauth_required until an operator gives it a new token of the same portal through
// PUT /connections/:id/token, then resumes from its cursors. Tokens HubSpot refuses, tokens of
// another portal and OAuth connections are refused with a 4xx and change nothing.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { installConnection } from '../support/oauth-install.js';
import { eventually, startStack, liveStatus, type Stack } from '../support/stack.js';

const PORTAL_ID = 700_801;
const OTHER_PORTAL_ID = 700_802;
const OAUTH_PORTAL_ID = 700_803;
const INTERVAL_S = 10;

let stack: Stack;
let connectionId: string;
let contactId: string;

const live = () => liveStatus(stack, connectionId);

async function storedAccessToken(): Promise<string> {
  const row = (await stack.db.pool.query('select key_id, access_token from connection_tokens where connection_id = $1', [connectionId])).rows[0];
  return stack.cipher.open({ keyId: row.key_id, ciphertext: row.access_token });
}

function replaceToken(id: string, body: unknown): Promise<Response> {
  return stack.api(`/connections/${id}/token`, { method: 'PUT', json: body });
}

async function mirroredFirstName(): Promise<string | undefined> {
  const row = await stack.db.pool.query(`select properties->>'firstname' as firstname from crm_objects where connection_id = $1 and object_id = $2`, [connectionId, contactId]);
  return row.rows[0]?.firstname;
}

beforeAll(async () => {
  stack = await startStack({ sandboxApi: true });
  for (const portalId of [PORTAL_ID, OTHER_PORTAL_ID, OAUTH_PORTAL_ID]) await stack.control.createPortal({ portalId });
  await stack.control.seed(PORTAL_ID, { seed: 11, contacts: 150, companies: 0, deals: 0, tickets: 0 });
  contactId = (await stack.control.groundTruth(PORTAL_ID)).objects.contacts![0]!.id;
  const { token } = await stack.control.createToken(PORTAL_ID);
  const created = await stack.api('/connections', { method: 'POST', json: { accessToken: token, objectTypes: ['contacts'], syncIntervalSeconds: INTERVAL_S } });
  expect(created.status).toBe(201);
  connectionId = ((await created.json()) as { id: string }).id;
  await eventually(async () => ((await live())?.objects?.contacts?.backfill?.status === 'done' ? true : undefined), 60_000, 'backfill');
});
afterAll(async () => stack?.close());

describe('PUT /connections/:id/token', () => {
  it('refuses a token HubSpot rejects, or one of another portal, and keeps the stored one', async () => {
    const before = await storedAccessToken();
    const rejected = await replaceToken(connectionId, { accessToken: 'pat-na1-not-a-real-token' });
    expect(rejected.status).toBe(400);
    expect(((await rejected.json()) as any).error).toMatchObject({ code: 'invalid_access_token', message: expect.stringMatching(/HubSpot rejected the access token \(401\)/) });

    const { token: otherPortals } = await stack.control.createToken(OTHER_PORTAL_ID);
    const misplaced = await replaceToken(connectionId, { accessToken: otherPortals });
    expect(misplaced.status).toBe(400);
    expect(((await misplaced.json()) as any).error.message).toBe(`accessToken: the token belongs to portal ${OTHER_PORTAL_ID}, this connection to portal ${PORTAL_ID}`);

    const empty = await replaceToken(connectionId, {});
    expect(empty.status).toBe(400);
    expect(((await empty.json()) as any).error.message).toMatch(/^accessToken: /);
    expect(await storedAccessToken()).toBe(before);
  });

  it('brings a connection whose token was revoked back from reauth_required, from its cursors', async () => {
    await stack.control.revokeTokens(PORTAL_ID);
    await eventually(async () => ((await live())?.status === 'reauth_required' ? true : undefined), 30_000, 'reauth_required');
    const syncedBefore = (await live()).objects.contacts.recordsSynced;

    const { token } = await stack.control.createToken(PORTAL_ID);
    const replaced = await replaceToken(connectionId, { accessToken: token });
    expect(replaced.status).toBe(200);
    expect(await replaced.json()).toEqual({ id: connectionId, portalId: PORTAL_ID, workflowId: `connection:${connectionId}` });
    expect(await storedAccessToken()).toBe(token);
    // The answer names no token.
    expect(JSON.stringify(await (await stack.api(`/connections/${connectionId}`)).json())).not.toContain(token);

    await eventually(async () => ((await live())?.status === 'active' ? true : undefined), 15_000, 'active again');
    await stack.control.updateObject(PORTAL_ID, 'contacts', contactId, { firstname: 'Resumed' });
    await eventually(async () => ((await mirroredFirstName()) === 'Resumed' ? true : undefined), 4 * INTERVAL_S * 1000, 'the change after the new token');
    // Incremental from the cursor, not a new backfill of all 150.
    const after = (await live()).objects.contacts;
    expect(after.backfill.status).toBe('done');
    expect(after.recordsSynced - syncedBefore).toBeLessThan(150);
  }, 90_000);

  it('sends OAuth connections to the install flow, and answers 404 for an unknown id', async () => {
    const installed = await installConnection(stack, OAUTH_PORTAL_ID, '&objectTypes=contacts');
    expect(installed.status).toBe(201);
    const oauth = (await installed.json()) as { id: string };
    const refused = await replaceToken(oauth.id, { accessToken: 'pat-na1-anything' });
    expect(refused.status).toBe(409);
    expect(((await refused.json()) as any).error.message).toMatch(/installing the app again/);

    const unknown = await replaceToken('00000000-0000-4000-8000-000000000000', { accessToken: 'pat-na1-anything' });
    expect(unknown.status).toBe(404);
  });
});
