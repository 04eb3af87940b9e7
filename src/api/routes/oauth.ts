import { createHash, randomBytes } from 'node:crypto';
import { Router, type Request } from 'express';
import { z } from 'zod';
import { sealedTokens, type SealedTokens } from '../../db/connections.js';
import { consumeOAuthState, insertOAuthState, type OAuthStateRequest, type StateRefusal } from '../../db/oauth-states.js';
import { lockLiveOAuthConnection, storeTokens } from '../../db/tokens.js';
import { inTransaction } from '../../db/transaction.js';
import { exchangeCode, GrantRejectedError, tokenInfo, type TokenGrant } from '../../hubspot/oauth.js';
import { reauthorizedSignal } from '../../workflows/definitions.js';
import type { ApiDeps } from '../app.js';
import { checkedCustomObjectTypes, connectionConfig, objectTypesSchema, startConnection, syncIntervalSecondsSchema, type StartedConnection } from '../connection-start.js';
import { HttpError, parseInput } from '../errors.js';

/**
 * OAuth install (HUBSPOT.md §7). Not behind operator auth: the browser is authenticated by the
 * state, which is single-use, expires, and is bound to a nonce cookie set by /oauth/install (a
 * stolen or planted callback URL fails without that browser's cookie).
 */

const STATE_TTL_SECONDS = 600;
const NONCE_COOKIE = 'hubsync_oauth_nonce';
/** Scopes asked for when the portal's tier has them; the install works without them. */
const OPTIONAL_SCOPES = 'tickets crm.objects.custom.read timeline';

export const installQuery = z
  .object({
    // A comma-separated list in a URL: `?objectTypes=contacts,deals`.
    objectTypes: z
      .string()
      .transform((list) => list.split(',').map((type) => type.trim()))
      .pipe(objectTypesSchema)
      .optional(),
    syncIntervalSeconds: z.coerce.number().pipe(syncIntervalSecondsSchema).optional(),
    /** Sandbox only: which simulated portal the simulator's authorize page installs into. */
    portalId: z.coerce.number().int().positive().optional(),
  })
  .strict();

const STATE_REQUIRED = 'required: start the install again from /oauth/install';
// Not strict: HubSpot may add parameters of its own.
export const callbackQuery = z.object({
  state: z.string({ error: STATE_REQUIRED }).min(1, STATE_REQUIRED),
  code: z.string().min(1).optional(),
  error: z.string().optional(),
  error_description: z.string().optional(),
});

const REFUSALS: Record<StateRefusal, string> = {
  unknown: 'unknown state: start the install again from /oauth/install',
  browser_mismatch: 'this state was issued to another browser: start the install again from /oauth/install',
  used: 'this state was already used: start the install again from /oauth/install',
  expired: `this state expired (states live ${STATE_TTL_SECONDS / 60} minutes): start the install again from /oauth/install`,
};

const hashNonce = (nonce: string): string => createHash('sha256').update(nonce).digest('hex');

export function oauthRoutes(deps: ApiDeps): Router {
  const { pool, temporal, cipher, hubspot, log } = deps;
  const router = Router();

  function oauthApp(): { clientId: string; redirectUri: string } {
    const { clientId, clientSecret, redirectUri } = hubspot;
    if (!clientId || !clientSecret || !redirectUri) {
      throw new HttpError(503, 'oauth_not_configured', 'OAuth is not configured: set HUBSPOT_CLIENT_ID, HUBSPOT_CLIENT_SECRET and HUBSPOT_REDIRECT_URI');
    }
    return { clientId, redirectUri };
  }

  router.get('/oauth/install', async (req, res) => {
    const query = parseInput(installQuery, req.query);
    if (query.portalId !== undefined && !deps.sandbox) throw new HttpError(400, 'invalid_request', 'portalId: only the sandbox lets the caller pick a portal');
    const { clientId, redirectUri } = oauthApp();

    const state = randomBytes(32).toString('base64url');
    const nonce = randomBytes(32).toString('base64url');
    await insertOAuthState(pool, {
      state,
      nonceHash: hashNonce(nonce),
      ttlSeconds: STATE_TTL_SECONDS,
      objectTypes: query.objectTypes,
      syncIntervalSeconds: query.syncIntervalSeconds,
    });

    const authorize = new URL(hubspot.authorizeUrl);
    authorize.searchParams.set('client_id', clientId);
    authorize.searchParams.set('redirect_uri', redirectUri);
    authorize.searchParams.set('scope', hubspot.scopes);
    authorize.searchParams.set('optional_scope', OPTIONAL_SCOPES);
    authorize.searchParams.set('state', state);
    if (query.portalId !== undefined) authorize.searchParams.set('portalId', String(query.portalId));

    // Lax: the cookie comes back on HubSpot's top-level redirect to the callback, not on cross-site posts.
    res.cookie(NONCE_COOKIE, nonce, {
      httpOnly: true,
      sameSite: 'lax',
      secure: redirectUri.startsWith('https:'),
      path: '/oauth',
      maxAge: STATE_TTL_SECONDS * 1000,
    });
    res.redirect(302, authorize.toString());
  });

  router.get('/oauth/callback', async (req, res) => {
    const query = parseInput(callbackQuery, req.query, 'invalid_state');
    const { redirectUri } = oauthApp();
    const nonce = cookieOf(req, NONCE_COOKIE);
    if (!nonce) throw new HttpError(400, 'invalid_state', 'no install cookie: start the install again from /oauth/install in this browser');
    const consumed = await consumeOAuthState(pool, query.state, hashNonce(nonce));
    if (!consumed.ok) throw new HttpError(400, 'invalid_state', REFUSALS[consumed.refusal]);
    res.clearCookie(NONCE_COOKIE, { path: '/oauth' });

    if (query.error) {
      const declined = query.error === 'access_denied';
      throw new HttpError(400, declined ? 'access_denied' : 'authorization_failed', declined ? 'the HubSpot user declined to install the app' : `HubSpot answered ${query.error}: ${query.error_description ?? 'no description'}`);
    }
    if (!query.code) throw new HttpError(400, 'invalid_request', 'code: required');

    let grant: TokenGrant;
    try {
      grant = await exchangeCode(hubspot, query.code, redirectUri);
    } catch (error) {
      if (error instanceof GrantRejectedError) throw new HttpError(400, 'invalid_code', `${error.message}: start the install again from /oauth/install`);
      throw error;
    }
    const info = await tokenInfo(hubspot, grant.accessToken);
    const appId = info.appId ?? hubspot.appId;
    if (appId === undefined) throw new HttpError(502, 'hubspot_error', "HubSpot's token metadata names no app: set HUBSPOT_APP_ID");

    const connected = await connect(info.portalId, appId, grant, consumed.request);
    res.status(connected.reauthorized ? 200 : 201).json(connected);
  });

  /**
   * A portal already connected through this app gets the new tokens and a `reauthorized` signal
   * (its workflow resumes from its cursors); otherwise a new connection starts.
   */
  async function connect(
    portalId: number,
    appId: number,
    grant: TokenGrant,
    request: OAuthStateRequest,
  ): Promise<StartedConnection & { reauthorized: boolean }> {
    const tokens = sealedTokens(cipher.seal(grant.accessToken), cipher.seal(grant.refreshToken), grant.expiresAt);
    const existing = await reauthorize(portalId, appId, tokens, grant.expiresAt);
    if (existing) return { ...existing, reauthorized: true };
    const typeIds = await checkedCustomObjectTypes(deps.hubspot.apiBaseUrl, grant.accessToken, portalId, request.objectTypes ?? []);
    try {
      const started = await startConnection(deps, { portalId, authType: 'oauth', appId, config: connectionConfig(request, typeIds), tokens });
      return { ...started, reauthorized: false };
    } catch (error) {
      // A concurrent callback for the same portal inserted first (unique index): reauthorize that one.
      const raced = (error as { code?: unknown }).code === '23505' ? await reauthorize(portalId, appId, tokens, grant.expiresAt) : undefined;
      if (!raced) throw error;
      return { ...raced, reauthorized: true };
    }
  }

  async function reauthorize(portalId: number, appId: number, tokens: SealedTokens, expiresAt: Date): Promise<StartedConnection | undefined> {
    const existing = await inTransaction(pool, async (db) => {
      const live = await lockLiveOAuthConnection(db, portalId, appId);
      if (live) await storeTokens(db, live.id, tokens, false);
      return live;
    });
    if (!existing) return undefined;
    await temporal.workflow.getHandle(existing.workflowId).signal(reauthorizedSignal, { tokenExpiresAt: expiresAt.toISOString() });
    log.info({ connectionId: existing.id, portalId, workflowId: existing.workflowId }, 'connection reauthorized');
    return { id: existing.id, portalId, workflowId: existing.workflowId };
  }

  return router;
}

function cookieOf(req: Request, name: string): string | undefined {
  for (const part of (req.get('cookie') ?? '').split(';')) {
    const [key, ...value] = part.trim().split('=');
    if (key === name) return decodeURIComponent(value.join('='));
  }
  return undefined;
}
