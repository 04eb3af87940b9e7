// The OAuth install as a browser does it, against the real stack: /oauth/install → the simulator's
// authorize page → /oauth/callback, following redirects and the cookie by hand.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { callback, install } from '../support/oauth-install.js';
import { settled } from '../support/history.js';
import { decodedHistoryText, decodeFirst } from '../support/payloads.js';
import { OAUTH_APP, startStack, type Stack } from '../support/stack.js';

const PORTAL_ID = 700201;
async function json(response: Response): Promise<any> {
  return response.json();
}

async function connectionCount(stack: Stack): Promise<number> {
  return Number((await stack.db.pool.query('select count(*) from connections')).rows[0].count);
}

/** The plaintext tokens stored for a connection. */
async function storedTokens(stack: Stack, id: string) {
  const row = (await stack.db.pool.query('select * from connection_tokens where connection_id = $1', [id])).rows[0];
  return {
    row,
    access: stack.cipher.open({ keyId: row.key_id, ciphertext: row.access_token }),
    refresh: stack.cipher.open({ keyId: row.key_id, ciphertext: row.refresh_token }),
  };
}

function expectNoSecret(text: string, secrets: string[]): void {
  for (const secret of secrets) {
    expect(text).not.toContain(secret);
    // Payloads are base64 in an exported history.
    expect(text).not.toContain(Buffer.from(secret).toString('base64').slice(0, 24));
  }
}

describe('OAuth install (v3 token endpoint)', () => {
  let stack: Stack;
  let connection: { id: string; portalId: number; workflowId: string };
  let firstTokens: { access: string; refresh: string };

  beforeAll(async () => {
    stack = await startStack({ sandboxApi: true });
    await stack.control.createPortal({ portalId: PORTAL_ID });
  });
  afterAll(async () => stack?.close());

  it('redirects to HubSpot with the app, scopes and a state, and binds the state to the browser with a cookie', async () => {
    const { authorizeUrl, setCookie } = await install(stack, `?portalId=${PORTAL_ID}&objectTypes=contacts,deals&syncIntervalSeconds=120`);
    expect(`${authorizeUrl.origin}${authorizeUrl.pathname}`).toBe(stack.hubspot.authorizeUrl);
    const params = Object.fromEntries(authorizeUrl.searchParams);
    expect(params).toMatchObject({
      client_id: OAUTH_APP.clientId,
      redirect_uri: `${stack.apiUrl}/oauth/callback`,
      scope: stack.hubspot.scopes,
      optional_scope: expect.any(String),
      state: expect.stringMatching(/^[\w-]{40,}$/),
      portalId: String(PORTAL_ID),
    });
    expect(setCookie).toMatch(/HttpOnly/i);
    expect(setCookie).toMatch(/SameSite=Lax/i);
    // Only the nonce's hash is stored.
    const nonce = setCookie.split(';')[0]!.split('=')[1]!;
    const stored = JSON.stringify((await stack.db.pool.query('select * from oauth_states')).rows);
    expect(stored).toContain(params.state);
    expect(stored).not.toContain(nonce);
  });

  it('rejects bad install parameters with 400', async () => {
    const response = await fetch(`${stack.apiUrl}/oauth/install?objectTypes=contacts,nonsense`, { redirect: 'manual' });
    expect(response.status).toBe(400);
    expect((await json(response)).error.message).toMatch(/^objectTypes\.1: /);
  });

  it('connects the portal: tokens stored encrypted, workflow started with the expiry and no token', async () => {
    const flow = await install(stack, `?portalId=${PORTAL_ID}&objectTypes=contacts,deals&syncIntervalSeconds=120`);
    const response = await callback(flow.callbackUrl, flow.cookie);
    expect(response.status).toBe(201);
    connection = await json(response);
    expect(connection).toEqual({ id: expect.any(String), portalId: PORTAL_ID, workflowId: `connection:${connection.id}`, reauthorized: false });

    const row = (await stack.db.pool.query('select * from connections where id = $1', [connection.id])).rows[0];
    expect(row).toMatchObject({ auth_type: 'oauth', portal_id: String(PORTAL_ID), app_id: String(OAUTH_APP.appId), object_types: ['contacts', 'deals'], sync_interval_seconds: 120 });

    const tokens = await storedTokens(stack, connection.id);
    firstTokens = tokens;
    expect(tokens.row.key_id).toBe(stack.cipher.currentKeyId);
    expect(tokens.row.access_token).not.toContain(tokens.access);
    expect(tokens.row.refresh_token).not.toContain(tokens.refresh);
    // They are the simulator's live tokens for this portal.
    expect(stack.sandbox.tokens.accessTokenInfo(tokens.access)?.hub_id).toBe(PORTAL_ID);
    expect(stack.sandbox.tokens.refreshTokenInfo(tokens.refresh)?.hub_id).toBe(PORTAL_ID);
    const expiresInMs = new Date(tokens.row.expires_at).getTime() - Date.now();
    expect(expiresInMs).toBeGreaterThan(25 * 60_000);
    expect(expiresInMs).toBeLessThanOrEqual(30 * 60_000);

    const handle = stack.temporal.workflow.getHandle(connection.workflowId);
    expect((await handle.describe()).status.name).toBe('RUNNING');
    const history = await handle.fetchHistory();
    const input = await decodeFirst(stack.temporal, history.events![0]!.workflowExecutionStartedEventAttributes!.input!.payloads!);
    expect(input).toMatchObject({ connectionId: connection.id, portalId: PORTAL_ID, authType: 'oauth', tokenExpiresAt: new Date(tokens.row.expires_at).toISOString() });
    expectNoSecret(await decodedHistoryText(stack.temporal, history), [tokens.access, tokens.refresh, OAUTH_APP.clientSecret]);
  });

  it('refuses a state that was already used, without writing anything', async () => {
    const flow = await install(stack, `?portalId=${PORTAL_ID}`);
    expect((await callback(flow.callbackUrl, flow.cookie)).status).toBe(200);
    const before = await connectionCount(stack);
    const again = await callback(flow.callbackUrl, flow.cookie);
    expect(again.status).toBe(400);
    expect((await json(again)).error).toEqual({ code: 'invalid_state', message: expect.stringMatching(/already used/) });
    expect(await connectionCount(stack)).toBe(before);
  });

  it('refuses an expired state', async () => {
    const flow = await install(stack, `?portalId=${PORTAL_ID}`);
    const state = new URL(flow.callbackUrl).searchParams.get('state');
    await stack.db.pool.query(`update oauth_states set expires_at = now() - interval '1 second' where state = $1`, [state]);
    const response = await callback(flow.callbackUrl, flow.cookie);
    expect(response.status).toBe(400);
    expect((await json(response)).error.message).toMatch(/expired/);
  });

  it('refuses a missing or unknown state', async () => {
    const flow = await install(stack, `?portalId=${PORTAL_ID}`);
    const missing = await callback(`${stack.apiUrl}/oauth/callback?code=abc`, flow.cookie);
    expect(missing.status).toBe(400);
    expect((await json(missing)).error.message).toMatch(/^state: required/);
    const unknown = await callback(`${stack.apiUrl}/oauth/callback?code=abc&state=forged`, flow.cookie);
    expect(unknown.status).toBe(400);
    expect((await json(unknown)).error.message).toMatch(/unknown state/);
  });

  it('answers access_denied when the user declines', async () => {
    const flow = await install(stack, `?portalId=${PORTAL_ID}`);
    const state = new URL(flow.callbackUrl).searchParams.get('state')!;
    const response = await callback(`${stack.apiUrl}/oauth/callback?error=access_denied&state=${state}`, flow.cookie);
    expect(response.status).toBe(400);
    expect((await json(response)).error.code).toBe('access_denied');
  });

  it('refuses a state presented without the cookie of the browser that started the install', async () => {
    const victim = await install(stack, `?portalId=${PORTAL_ID}`);
    const attacker = await install(stack, `?portalId=${PORTAL_ID}`);
    const before = await connectionCount(stack);
    const withoutCookie = await callback(victim.callbackUrl);
    expect(withoutCookie.status).toBe(400);
    expect((await json(withoutCookie)).error.message).toMatch(/no install cookie/);
    const otherCookie = await callback(victim.callbackUrl, attacker.cookie);
    expect(otherCookie.status).toBe(400);
    expect((await json(otherCookie)).error.message).toMatch(/another browser/);
    expect(await connectionCount(stack)).toBe(before);
  });

  it('reauthorizes the existing connection when the same portal installs again', async () => {
    const flow = await install(stack, `?portalId=${PORTAL_ID}`);
    const response = await callback(flow.callbackUrl, flow.cookie);
    expect(response.status).toBe(200);
    const body = await json(response);
    expect(body).toEqual({ ...connection, reauthorized: true });
    expect((await stack.db.pool.query('select count(*) from connections where portal_id = $1', [PORTAL_ID])).rows[0].count).toBe('1');

    const tokens = await storedTokens(stack, connection.id);
    expect(tokens.access).not.toBe(firstTokens.access);
    await settled(stack.temporal, connection.workflowId);
    const history = await stack.temporal.workflow.getHandle(connection.workflowId).fetchHistory();
    const signals = history.events?.filter((e) => e.workflowExecutionSignaledEventAttributes?.signalName === 'reauthorized') ?? [];
    expect(signals.length).toBeGreaterThanOrEqual(1);
    const signalInput = await decodeFirst(stack.temporal, signals.at(-1)!.workflowExecutionSignaledEventAttributes!.input!.payloads!);
    expect(signalInput).toEqual({ tokenExpiresAt: new Date(tokens.row.expires_at).toISOString() });
    expectNoSecret(await decodedHistoryText(stack.temporal, history), [tokens.access, tokens.refresh, firstTokens.access, firstTokens.refresh]);
  });

  it('writes no token or client secret to the logs or API answers', async () => {
    const tokens = await storedTokens(stack, connection.id);
    const answers = JSON.stringify([await json(await stack.api(`/connections/${connection.id}`)), await json(await stack.api('/connections'))]);
    expect(stack.logs.length).toBeGreaterThan(0);
    for (const text of [stack.logs.join('\n'), answers]) {
      for (const secret of [tokens.access, tokens.refresh, firstTokens.access, firstTokens.refresh, OAUTH_APP.clientSecret]) expect(text).not.toContain(secret);
    }
  });
});

describe('OAuth install (v1 token endpoint)', () => {
  let stack: Stack;

  beforeAll(async () => {
    stack = await startStack({ oauthTokenVersion: 'v1' });
    await stack.control.createPortal({ portalId: PORTAL_ID });
  });
  afterAll(async () => stack?.close());

  it('exchanges the code on /oauth/v1/token when configured', async () => {
    // Without SANDBOX=1 the API lets no caller pick the portal; the user picks it on the consent page.
    const refused = await fetch(`${stack.apiUrl}/oauth/install?portalId=${PORTAL_ID}`, { redirect: 'manual' });
    expect(refused.status).toBe(400);
    const started = await fetch(`${stack.apiUrl}/oauth/install`, { redirect: 'manual' });
    const authorize = new URL(started.headers.get('location')!);
    authorize.searchParams.set('portalId', String(PORTAL_ID));
    const consent = await fetch(authorize, { redirect: 'manual' });
    const cookie = started.headers.getSetCookie()[0]!.split(';')[0]!;

    const response = await callback(consent.headers.get('location')!, cookie);
    expect(response.status).toBe(201);
    expect(await json(response)).toMatchObject({ portalId: PORTAL_ID, reauthorized: false });
    expect(stack.sandbox.counters.byRoute['POST /oauth/v1/token']).toBe(1);
    expect(stack.sandbox.counters.byRoute['POST /oauth/v3/token']).toBeUndefined();
  });
});
