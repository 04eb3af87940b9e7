import type { Config } from '../config.js';

/**
 * HubSpot's OAuth endpoints (HUBSPOT.md §7): code exchange, refresh, token introspection, revocation.
 *
 * Plain fetch rather than @hubspot/api-client: the official client (v14) knows only the
 * deprecated /oauth/v1/token, not the v3 endpoints that are the default here, and a form POST
 * needs nothing the client adds. Nothing in this file puts a token or the client secret in an
 * error message: HubSpot's own reasons are passed through with any secret blanked out.
 */

export type OAuthSettings = Pick<Config['hubspot'], 'apiBaseUrl' | 'clientId' | 'clientSecret' | 'tokenVersion'>;

export interface TokenGrant {
  accessToken: string;
  refreshToken: string;
  expiresAt: Date;
}

export interface TokenInfo {
  portalId: number;
  appId: number | undefined;
  /** The scopes the portal granted; HubSpot reports them for OAuth tokens only. */
  scopes: string[];
}

/** The failure type the workflow matches: the connection needs a new install, retrying cannot help. */
export const REFRESH_TOKEN_REJECTED = 'RefreshTokenRejected';

/** HubSpot refused a grant (`invalid_grant`, e.g. BAD_AUTH_CODE); `code` is HubSpot's status field. */
export class GrantRejectedError extends Error {
  override name = 'GrantRejectedError';
  constructor(
    readonly code: string,
    readonly reason: string,
  ) {
    super(`HubSpot refused the grant (${code}): ${reason}`);
  }
}

/** A refresh token HubSpot no longer accepts (BAD_REFRESH_TOKEN): revoked, uninstalled or unknown. */
export class RefreshTokenRejected extends GrantRejectedError {
  override name = REFRESH_TOKEN_REJECTED;
}

/** Any other failure of an OAuth call (5xx, invalid_client, network): worth retrying or fixing config. */
export class OAuthRequestError extends Error {
  override name = 'OAuthRequestError';
}

const TIMEOUT_MS = 20_000;

export async function exchangeCode(settings: OAuthSettings, code: string, redirectUri: string): Promise<TokenGrant> {
  const { clientId, clientSecret } = credentials(settings);
  const body = await postForm(settings, tokenPath(settings), {
    grant_type: 'authorization_code',
    code,
    redirect_uri: redirectUri,
    client_id: clientId,
    client_secret: clientSecret,
  }, [code, clientSecret]);
  return toGrant(body, undefined);
}

/** New tokens; HubSpot may or may not rotate the refresh token, so the answer always carries one. */
export async function refreshTokens(settings: OAuthSettings, refreshToken: string): Promise<TokenGrant> {
  const { clientId, clientSecret } = credentials(settings);
  try {
    const body = await postForm(settings, tokenPath(settings), {
      grant_type: 'refresh_token',
      refresh_token: refreshToken,
      client_id: clientId,
      client_secret: clientSecret,
    }, [refreshToken, clientSecret]);
    return toGrant(body, refreshToken);
  } catch (error) {
    if (error instanceof GrantRejectedError) throw new RefreshTokenRejected(error.code, error.reason);
    throw error;
  }
}

/** The portal (hub) and app an access token belongs to: v3 introspection, or v1 token metadata. */
export async function tokenInfo(settings: OAuthSettings, accessToken: string): Promise<TokenInfo> {
  let body: Record<string, unknown>;
  if (settings.tokenVersion === 'v3') {
    const { clientId, clientSecret } = credentials(settings);
    body = await postForm(settings, '/oauth/v3/token/introspect', { token: accessToken, client_id: clientId, client_secret: clientSecret }, [accessToken, clientSecret]);
  } else {
    body = await send(settings, `/oauth/v1/access-tokens/${encodeURIComponent(accessToken)}`, { method: 'GET' }, [accessToken]);
  }
  if (typeof body.hub_id !== 'number') throw new OAuthRequestError('HubSpot token metadata has no hub_id (is the token live?)');
  const scopes = Array.isArray(body.scopes) ? body.scopes.map(String) : [];
  return { portalId: body.hub_id, appId: typeof body.app_id === 'number' ? body.app_id : undefined, scopes };
}

/** Revokes a refresh token; one HubSpot no longer knows counts as revoked, so retries are harmless. */
export async function revokeRefreshToken(settings: OAuthSettings, refreshToken: string): Promise<void> {
  if (settings.tokenVersion === 'v3') {
    const { clientId, clientSecret } = credentials(settings);
    await postForm(settings, '/oauth/v3/token/revoke', { token: refreshToken, client_id: clientId, client_secret: clientSecret }, [refreshToken, clientSecret]);
    return;
  }
  await send(settings, `/oauth/v1/refresh-tokens/${encodeURIComponent(refreshToken)}`, { method: 'DELETE' }, [refreshToken], [404]);
}

function tokenPath(settings: OAuthSettings): string {
  return `/oauth/${settings.tokenVersion}/token`;
}

function credentials(settings: OAuthSettings): { clientId: string; clientSecret: string } {
  const { clientId, clientSecret } = settings;
  if (!clientId || !clientSecret) throw new OAuthRequestError('OAuth is not configured: set HUBSPOT_CLIENT_ID and HUBSPOT_CLIENT_SECRET');
  return { clientId, clientSecret };
}

function postForm(settings: OAuthSettings, path: string, form: Record<string, string>, secrets: string[]): Promise<Record<string, unknown>> {
  return send(settings, path, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: new URLSearchParams(form) }, secrets);
}

/**
 * One call. 400 `invalid_grant` becomes GrantRejectedError; `tolerated` statuses count as success
 * with an empty body; anything else not 2xx is an OAuthRequestError naming HubSpot's reason.
 */
async function send(
  settings: OAuthSettings,
  path: string,
  init: RequestInit,
  secrets: string[],
  tolerated: number[] = [],
): Promise<Record<string, unknown>> {
  const endpoint = path.split('/').slice(0, 4).join('/'); // never the token part of a path
  let response: Response;
  try {
    response = await fetch(`${settings.apiBaseUrl}${path}`, { ...init, signal: AbortSignal.timeout(TIMEOUT_MS) });
  } catch (error) {
    // fetch's own errors may carry the URL, which can hold a token: say only what failed.
    const cause = error instanceof Error ? (error.name === 'TimeoutError' ? 'timed out' : error.name) : 'failed';
    throw new OAuthRequestError(`HubSpot OAuth ${endpoint} request failed: ${cause}`);
  }
  const text = await response.text();
  if (tolerated.includes(response.status)) return {};
  const body = parseObject(text);
  const reason = scrub(String(body.error_description ?? body.message ?? response.statusText), secrets);
  if (response.status === 400 && body.error === 'invalid_grant') {
    throw new GrantRejectedError(scrub(String(body.status ?? 'invalid_grant'), secrets), reason);
  }
  if (!response.ok) throw new OAuthRequestError(`HubSpot OAuth ${endpoint} answered ${response.status}: ${reason}`);
  return body;
}

function toGrant(body: Record<string, unknown>, previousRefreshToken: string | undefined): TokenGrant {
  const { access_token: accessToken, refresh_token: refreshToken, expires_in: expiresIn } = body;
  const refresh = typeof refreshToken === 'string' ? refreshToken : previousRefreshToken;
  if (typeof accessToken !== 'string' || typeof expiresIn !== 'number' || refresh === undefined) {
    throw new OAuthRequestError('HubSpot token answer lacks access_token, refresh_token or expires_in');
  }
  return { accessToken, refreshToken: refresh, expiresAt: new Date(Date.now() + expiresIn * 1000) };
}

function parseObject(text: string): Record<string, unknown> {
  try {
    const value: unknown = JSON.parse(text);
    return value && typeof value === 'object' ? (value as Record<string, unknown>) : {};
  } catch {
    return {};
  }
}

function scrub(text: string, secrets: string[]): string {
  return secrets.reduce((out, secret) => (secret ? out.split(secret).join('[redacted]') : out), text).slice(0, 300);
}
