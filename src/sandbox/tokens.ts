// Tokens and OAuth (HUBSPOT.md §6, §7): OAuth apps, authorization codes, 30-minute access
// tokens on the sandbox clock, refresh tokens (rotation optional, since whether HubSpot rotates
// is UNCONFIRMED), static private-app / service-key tokens, and HubSpot's exact 401 bodies.
import { randomBytes, randomUUID } from 'node:crypto';
import express, { type Request, type RequestHandler, type Response, type Router } from 'express';
import type { SandboxClock } from './types.js';

export interface OAuthApp {
  appId: number;
  clientId: string;
  clientSecret: string;
  /** When set, `redirect_uri` must be one of these (HubSpot checks it against the app's settings). */
  redirectUris?: string[];
}

export type AuthKind = 'oauth' | 'private-app';

export interface AuthContext {
  portalId: number;
  /** The OAuth app, or the private app a static token belongs to. */
  appId: number;
  kind: AuthKind;
  scopes: string[];
}

export type AuthResult = ({ ok: true } & AuthContext) | { ok: false; status: 401; body: HubSpotErrorBody };

export interface HubSpotErrorBody {
  status: 'error';
  message: string;
  correlationId: string;
  category: string;
  context?: Record<string, string[]>;
}

/** 400 body of the token endpoint: OAuth's `error` fields plus HubSpot's `status` code. */
export interface TokenErrorBody {
  status: string;
  message: string;
  correlationId: string;
  error: 'invalid_grant' | 'invalid_client' | 'invalid_request' | 'unsupported_grant_type';
  error_description: string;
}

export interface TokenResponseBody {
  access_token: string;
  refresh_token: string;
  expires_in: number;
  token_type: 'bearer';
  hub_id: number;
  scopes: string[];
}

export type TokenGrant = { ok: true; body: TokenResponseBody } | { ok: false; status: 400; body: TokenErrorBody };

export interface TokenRegistryOptions {
  accessTokenTtlSeconds?: number;
  /** Issue a new refresh token on every refresh and invalidate the old one. */
  rotateRefreshTokens?: boolean;
  authorizationCodeTtlMs?: number;
}

interface Installation {
  portalId: number;
  appId: number;
  clientId: string;
  scopes: string[];
  userId: number;
  user: string;
}

interface AccessTokenRecord extends Installation {
  expiresAt: number;
  revoked: boolean;
}

interface RefreshTokenRecord extends Installation {
  revoked: boolean;
}

interface AuthorizationCode extends Installation {
  redirectUri: string;
  expiresAt: number;
}

interface StaticTokenRecord {
  portalId: number;
  /** The private app the token belongs to (each has its own ten-second rate limit). */
  appId: number;
  scopes: string[];
  revoked: boolean;
}

/** Ids of the private apps minted for tokens created without one; far from the OAuth app ids tests pick. */
const FIRST_PRIVATE_APP_ID = 90_000_001;

const CREDENTIALS_NOT_FOUND =
  'Authentication credentials not found. This API supports OAuth 2.0 authentication and you can find more details at https://developers.hubspot.com/docs/methods/auth/oauth-overview';

export class TokenRegistry {
  readonly options: Required<TokenRegistryOptions>;
  private readonly apps = new Map<number, OAuthApp>();
  private readonly accessTokens = new Map<string, AccessTokenRecord>();
  private readonly refreshTokens = new Map<string, RefreshTokenRecord>();
  private readonly codes = new Map<string, AuthorizationCode>();
  private readonly staticTokens = new Map<string, StaticTokenRecord>();
  private readonly refreshAttemptsByPortal = new Map<number, number>();
  /** `${appId}:${portalId}` of OAuth apps installed (authorised) and not uninstalled since. */
  private readonly installations = new Set<string>();
  private nextPrivateAppId = FIRST_PRIVATE_APP_ID;
  /** Refresh grants whose token the registry never issued: no portal to charge them to. */
  unknownRefreshAttempts = 0;

  constructor(
    private readonly clock: SandboxClock,
    options: TokenRegistryOptions = {},
  ) {
    this.options = {
      accessTokenTtlSeconds: options.accessTokenTtlSeconds ?? 1800,
      rotateRefreshTokens: options.rotateRefreshTokens ?? false,
      authorizationCodeTtlMs: options.authorizationCodeTtlMs ?? 10 * 60 * 1000,
    };
  }

  registerApp(app: OAuthApp): void {
    this.apps.set(app.appId, app);
  }

  getApp(appId: number): OAuthApp | undefined {
    return this.apps.get(appId);
  }

  setRotateRefreshTokens(rotate: boolean): void {
    this.options.rotateRefreshTokens = rotate;
  }

  /** Changes token behaviour for tokens issued from now on (the control API's knob). */
  configure(options: TokenRegistryOptions): void {
    Object.assign(this.options, options);
  }

  /**
   * A private-app token or service key: static, never expires, cannot be refreshed. Without an
   * `appId` the token is its own private app; returns the app id.
   */
  addStaticToken(token: string, portalId: number, opts: { scopes?: string[]; appId?: number } = {}): number {
    const appId = opts.appId ?? this.nextPrivateAppId++;
    this.staticTokens.set(token, { portalId, appId, scopes: opts.scopes ?? [], revoked: false });
    return appId;
  }

  /** What the authorize page does once the user picks a portal and consents. */
  createAuthorizationCode(input: {
    clientId: string;
    portalId: number;
    redirectUri: string;
    scopes: string[];
    userId?: number;
    user?: string;
  }): string {
    const app = this.appByClientId(input.clientId);
    if (!app) throw new Error(`unknown client_id ${input.clientId}`);
    const code = randomUUID();
    this.codes.set(code, {
      ...this.installation(app, input.portalId, input.scopes, input.userId, input.user),
      redirectUri: input.redirectUri,
      expiresAt: this.clock.now() + this.options.authorizationCodeTtlMs,
    });
    return code;
  }

  /** Install an app without the redirect dance: what a test does to get a connected portal. */
  issueTokens(input: { appId: number; portalId: number; scopes: string[]; userId?: number; user?: string }): TokenResponseBody {
    const app = this.apps.get(input.appId);
    if (!app) throw new Error(`unknown app ${input.appId}`);
    const inst = this.installation(app, input.portalId, input.scopes, input.userId, input.user);
    this.installations.add(`${app.appId}:${input.portalId}`);
    return this.mint(inst, this.newRefreshToken(inst));
  }

  exchangeCode(input: { code?: string; clientId?: string; clientSecret?: string; redirectUri?: string }): TokenGrant {
    const clientError = this.checkClient(input.clientId, input.clientSecret);
    if (clientError) return clientError;
    const code = input.code === undefined ? undefined : this.codes.get(input.code);
    if (!code || code.clientId !== input.clientId || code.expiresAt <= this.clock.now()) {
      return grantError('BAD_AUTH_CODE', 'invalid_grant', 'missing or unknown auth code');
    }
    if (code.redirectUri !== input.redirectUri) {
      return grantError('BAD_REDIRECT_URI', 'invalid_grant', 'redirect_uri does not match the authorization request');
    }
    // Codes are single use; a redeemed code completes the install.
    this.codes.delete(input.code!);
    const { redirectUri: _r, expiresAt: _e, ...inst } = code;
    this.installations.add(`${inst.appId}:${inst.portalId}`);
    return { ok: true, body: this.mint(inst, this.newRefreshToken(inst)) };
  }

  refresh(input: { refreshToken?: string; clientId?: string; clientSecret?: string }): TokenGrant {
    const record = input.refreshToken === undefined ? undefined : this.refreshTokens.get(input.refreshToken);
    if (record) this.refreshAttemptsByPortal.set(record.portalId, this.refreshAttempts(record.portalId) + 1);
    else this.unknownRefreshAttempts++;
    const clientError = this.checkClient(input.clientId, input.clientSecret);
    if (clientError) return clientError;
    if (!record || record.revoked || record.clientId !== input.clientId) {
      return grantError('BAD_REFRESH_TOKEN', 'invalid_grant', 'missing or unknown refresh token');
    }
    let refreshToken = input.refreshToken!;
    if (this.options.rotateRefreshTokens) {
      record.revoked = true;
      refreshToken = this.newRefreshToken(record);
    }
    return { ok: true, body: this.mint(record, refreshToken) };
  }

  /**
   * Whether the app is installed in the portal: authorised through OAuth and not uninstalled, or
   * a private app with a live token. Webhooks go to installed apps only.
   */
  hasInstallation(appId: number, portalId: number): boolean {
    if (this.installations.has(`${appId}:${portalId}`)) return true;
    for (const r of this.staticTokens.values()) if (r.appId === appId && r.portalId === portalId && !r.revoked) return true;
    return false;
  }

  /** The portal removes the app: every token the app holds there stops working, and so do its webhooks. */
  uninstall(appId: number, portalId: number): void {
    this.installations.delete(`${appId}:${portalId}`);
    for (const records of [this.accessTokens, this.refreshTokens, this.staticTokens] as const) {
      for (const record of records.values()) if (record.appId === appId && record.portalId === portalId) record.revoked = true;
    }
  }

  /** Refresh-grant requests charged to a portal, successful or not. */
  refreshAttempts(portalId: number): number {
    return this.refreshAttemptsByPortal.get(portalId) ?? 0;
  }

  /** HubSpot's DELETE of a refresh token: access tokens already issued keep working until they expire. */
  /** Every token ever issued for the portal (OAuth access and refresh tokens, static tokens): what a "no secret leaked" check searches for. */
  issuedTokens(portalId: number): string[] {
    return [...this.accessTokens, ...this.refreshTokens, ...this.staticTokens].filter(([, record]) => record.portalId === portalId).map(([token]) => token);
  }

  revokeRefreshToken(token: string): boolean {
    const record = this.refreshTokens.get(token);
    if (!record || record.revoked) return false;
    record.revoked = true;
    return true;
  }

  revokeAccessToken(token: string): boolean {
    const record = this.accessTokens.get(token) ?? this.staticTokens.get(token);
    if (!record || record.revoked) return false;
    record.revoked = true;
    return true;
  }

  /** Every app uninstalled from the portal at once (fault injection): all its tokens stop working. */
  revokeAllForPortal(portalId: number): void {
    for (const key of this.installations) if (key.endsWith(`:${portalId}`)) this.installations.delete(key);
    for (const records of [this.accessTokens, this.refreshTokens, this.staticTokens] as const) {
      for (const record of records.values()) if (record.portalId === portalId) record.revoked = true;
    }
  }

  authenticate(authorizationHeader: string | undefined): AuthResult {
    const match = /^Bearer\s+(\S+)\s*$/i.exec(authorizationHeader ?? '');
    const token = match?.[1];
    const fixed = token === undefined ? undefined : this.staticTokens.get(token);
    if (fixed && !fixed.revoked) return { ok: true, portalId: fixed.portalId, appId: fixed.appId, kind: 'private-app', scopes: fixed.scopes };
    const record = token === undefined ? undefined : this.accessTokens.get(token);
    if (!record || record.revoked) return unauthorized('INVALID_AUTHENTICATION', CREDENTIALS_NOT_FOUND);
    const expiredMs = this.clock.now() - record.expiresAt;
    if (expiredMs >= 0) {
      return unauthorized(
        'EXPIRED_AUTHENTICATION',
        `The OAuth token used to make this call expired ${agoText(expiredMs)} ago.`,
        { 'expire time': [new Date(record.expiresAt).toISOString()] },
      );
    }
    return { ok: true, portalId: record.portalId, appId: record.appId, kind: 'oauth', scopes: record.scopes };
  }

  /** Body of `GET /oauth/v1/access-tokens/{token}`, or undefined when the token is not live. */
  accessTokenInfo(token: string) {
    const record = this.accessTokens.get(token);
    const expiresIn = record ? Math.floor((record.expiresAt - this.clock.now()) / 1000) : 0;
    if (!record || record.revoked || expiresIn <= 0) return undefined;
    return {
      token,
      user: record.user,
      hub_domain: hubDomain(record.portalId),
      scopes: record.scopes,
      hub_id: record.portalId,
      app_id: record.appId,
      expires_in: expiresIn,
      user_id: record.userId,
      token_type: 'access',
    };
  }

  /** Body of `GET /oauth/v1/refresh-tokens/{token}`, or undefined when unknown or revoked. */
  refreshTokenInfo(token: string) {
    const record = this.refreshTokens.get(token);
    if (!record || record.revoked) return undefined;
    return {
      token,
      user: record.user,
      hub_domain: hubDomain(record.portalId),
      scopes: record.scopes,
      hub_id: record.portalId,
      client_id: record.clientId,
      user_id: record.userId,
      token_type: 'refresh',
    };
  }

  /** Body of `POST /oauth/v3/token/introspect` (RFC 7662 style: `{active:false}` when not live). */
  introspect(token: string) {
    const access = this.accessTokenInfo(token);
    if (access) {
      const { token_type, ...rest } = access;
      const clientId = this.apps.get(access.app_id)?.clientId;
      return { active: true, token_use: 'access_token', token_type, client_id: clientId, is_private_distribution: false, ...rest };
    }
    const refresh = this.refreshTokenInfo(token);
    if (refresh) {
      const appId = this.refreshTokens.get(token)?.appId;
      return { active: true, token_use: 'refresh_token', app_id: appId, is_private_distribution: false, ...refresh };
    }
    return { active: false };
  }

  private checkClient(clientId: string | undefined, clientSecret: string | undefined): TokenGrant | undefined {
    const app = this.appByClientId(clientId);
    if (!app) return grantError('BAD_CLIENT_ID', 'invalid_client', 'missing or invalid client_id');
    if (app.clientSecret !== clientSecret) return grantError('BAD_CLIENT_SECRET', 'invalid_client', 'missing or invalid client_secret');
    return undefined;
  }

  appByClientId(clientId: string | undefined): OAuthApp | undefined {
    for (const app of this.apps.values()) if (app.clientId === clientId) return app;
    return undefined;
  }

  private installation(app: OAuthApp, portalId: number, scopes: string[], userId?: number, user?: string): Installation {
    return {
      portalId,
      appId: app.appId,
      clientId: app.clientId,
      scopes: [...new Set(scopes)],
      userId: userId ?? 1,
      user: user ?? `user@sandbox-${portalId}.example`,
    };
  }

  private newRefreshToken(inst: Installation): string {
    // Shaped like HubSpot's (`na1-xxxx-...`) so log scrubbers written for real tokens apply.
    const token = `na1-${randomUUID()}`;
    this.refreshTokens.set(token, { ...inst, revoked: false });
    return token;
  }

  private mint(inst: Installation, refreshToken: string): TokenResponseBody {
    const accessToken = randomBytes(24).toString('base64url');
    const { portalId, appId, clientId, scopes, userId, user } = inst;
    this.accessTokens.set(accessToken, {
      portalId, appId, clientId, scopes, userId, user,
      expiresAt: this.clock.now() + this.options.accessTokenTtlSeconds * 1000,
      revoked: false,
    });
    return {
      access_token: accessToken,
      refresh_token: refreshToken,
      expires_in: this.options.accessTokenTtlSeconds,
      token_type: 'bearer',
      hub_id: portalId,
      scopes,
    };
  }
}

function hubDomain(portalId: number): string {
  return `sandbox-${portalId}.hubspot.com`;
}

/** HubSpot words the age in the largest whole unit: "32 second(s)", "3 minute(s)", "6 hour(s)", "1 day(s)". */
function agoText(ms: number): string {
  const s = Math.floor(ms / 1000);
  if (s < 60) return `${s} second(s)`;
  if (s < 3600) return `${Math.floor(s / 60)} minute(s)`;
  if (s < 86_400) return `${Math.floor(s / 3600)} hour(s)`;
  return `${Math.floor(s / 86_400)} day(s)`;
}

function unauthorized(category: string, message: string, context?: Record<string, string[]>): AuthResult {
  return {
    ok: false,
    status: 401,
    body: { status: 'error', message, correlationId: randomUUID(), category, ...(context ? { context } : {}) },
  };
}

function grantError(status: string, error: TokenErrorBody['error'], description: string): TokenGrant {
  return {
    ok: false,
    status: 400,
    body: { status, message: description, correlationId: randomUUID(), error, error_description: description },
  };
}

/** Puts the caller's `AuthContext` on `res.locals.auth`, or answers HubSpot's 401. */
export function requireAuth(registry: TokenRegistry): RequestHandler {
  return (req, res, next) => {
    const result = registry.authenticate(req.get('authorization'));
    if (!result.ok) {
      res.status(401).set('x-hubspot-correlation-id', result.body.correlationId).json(result.body);
      return;
    }
    const { ok: _ok, ...auth } = result;
    res.locals.auth = auth satisfies AuthContext;
    next();
  };
}

export interface OAuthRouterOptions {
  /** Portal the authorize stand-in installs into when the request names none (read per request). */
  defaultPortalId?: () => number | undefined;
}

export function createOAuthRouter(registry: TokenRegistry, options: OAuthRouterOptions = {}): Router {
  const router = express.Router();
  const form = express.urlencoded({ extended: false });

  // Stand-in for app.hubspot.com's consent screen: consents at once for the chosen portal.
  router.get('/oauth/authorize', (req, res) => {
    const q = (name: string) => (typeof req.query[name] === 'string' ? (req.query[name] as string) : undefined);
    const clientId = q('client_id');
    const redirectUri = q('redirect_uri');
    const portalId = Number(q('portalId') ?? options.defaultPortalId?.());
    const app = registry.appByClientId(clientId);
    if (!app || !redirectUri) return void res.status(400).type('text').send('Invalid client_id or redirect_uri');
    if (app.redirectUris && !app.redirectUris.includes(redirectUri)) {
      return void res.status(400).type('text').send('redirect_uri does not match the app settings');
    }
    if (!Number.isSafeInteger(portalId)) return void res.status(400).type('text').send('Choose a portal: portalId');
    const scopes = [q('scope'), q('optional_scope')].flatMap((s) => (s ?? '').split(/[\s+]+/)).filter(Boolean);
    const code = registry.createAuthorizationCode({ clientId: app.clientId, portalId, redirectUri, scopes });
    const target = new URL(redirectUri);
    target.searchParams.set('code', code);
    const state = q('state');
    if (state !== undefined) target.searchParams.set('state', state);
    res.redirect(302, target.toString());
  });

  const token = (req: Request, res: Response) => {
    const body = formBody(req);
    let grant: TokenGrant;
    if (body.grant_type === 'authorization_code') {
      grant = registry.exchangeCode({ code: body.code, clientId: body.client_id, clientSecret: body.client_secret, redirectUri: body.redirect_uri });
    } else if (body.grant_type === 'refresh_token') {
      grant = registry.refresh({ refreshToken: body.refresh_token, clientId: body.client_id, clientSecret: body.client_secret });
    } else {
      grant = grantError('BAD_GRANT_TYPE', 'unsupported_grant_type', 'grant_type must be authorization_code or refresh_token');
    }
    if (grant.ok) res.status(200).json(grant.body);
    else res.status(grant.status).set('x-hubspot-correlation-id', grant.body.correlationId).json(grant.body);
  };
  router.post('/oauth/v1/token', form, token);
  router.post('/oauth/v3/token', form, token);

  router.get('/oauth/v1/access-tokens/:token', (req, res) => {
    const info = registry.accessTokenInfo(req.params.token);
    if (info) res.json(info);
    else notFound(res, 'Token not found');
  });
  router.get('/oauth/v1/refresh-tokens/:token', (req, res) => {
    const info = registry.refreshTokenInfo(req.params.token);
    if (info) res.json(info);
    else notFound(res, 'Refresh token not found');
  });
  router.delete('/oauth/v1/refresh-tokens/:token', (req, res) => {
    if (registry.revokeRefreshToken(req.params.token)) res.status(204).end();
    else notFound(res, 'Refresh token not found');
  });

  const withClient = (handler: (token: string, req: Request, res: Response) => void) => (req: Request, res: Response) => {
    const body = formBody(req);
    const error = checkClientOf(registry, body.client_id, body.client_secret);
    if (error) return void res.status(400).json(error);
    handler(body.token ?? '', req, res);
  };
  router.post('/oauth/v3/token/introspect', form, withClient((token, _req, res) => void res.json(registry.introspect(token))));
  // RFC 7009: revocation answers 200 whether or not the token was live.
  router.post('/oauth/v3/token/revoke', form, withClient((token, _req, res) => {
    if (!registry.revokeRefreshToken(token)) registry.revokeAccessToken(token);
    res.status(200).end();
  }));

  return router;
}

function checkClientOf(registry: TokenRegistry, clientId: string | undefined, clientSecret: string | undefined) {
  const app = registry.appByClientId(clientId);
  if (app && app.clientSecret === clientSecret) return undefined;
  return { status: 'error', message: 'Invalid client credentials', correlationId: randomUUID(), category: 'VALIDATION_ERROR' };
}

function formBody(req: Request): Record<string, string | undefined> {
  const body: unknown = req.body;
  if (!body || typeof body !== 'object') return {};
  const out: Record<string, string | undefined> = {};
  for (const [k, v] of Object.entries(body)) if (typeof v === 'string') out[k] = v;
  return out;
}

function notFound(res: Response, message: string): void {
  res.status(404).json({ status: 'error', message, correlationId: randomUUID(), category: 'OBJECT_NOT_FOUND' });
}
