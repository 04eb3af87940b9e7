import { ApplicationFailure } from '@temporalio/common';
import type { Pool } from 'pg';
import type { Logger } from 'pino';
import type { TokenCipher } from '../crypto/token-cipher.js';
import { readSealedTokens, sealedTokens, type CallerFacts } from '../db/connections.js';
import { clearRefreshToken, lockTokens, storeTokens, type LockedTokens } from '../db/tokens.js';
import { REFRESH_TOKEN_REJECTED, RefreshTokenRejected, refreshTokens, revokeRefreshToken, type OAuthSettings } from '../hubspot/oauth.js';

/**
 * OAuth tokens for activities. Tokens never leave this process's memory except sealed into
 * PostgreSQL: activities take a connection id and return at most an expiry.
 */

export interface TokenDeps {
  pool: Pool;
  cipher: TokenCipher;
  hubspot: OAuthSettings;
  log: Logger;
}

/** A refresh by another worker this recent is as good as our own (the timer path). */
const RECENT_REFRESH_MS = 60_000;

/** Why a refresh is wanted decides when someone else's refresh already did the job. */
type RefreshReason =
  | { kind: 'timer' }
  /** HubSpot said this access token (its ciphertext as stored) expired. */
  | { kind: 'expired'; sealedAccessToken: string };

export function createTokenActivities(deps: TokenDeps) {
  return {
    /** Refreshes the connection's OAuth tokens; returns only the new expiry (ISO time). */
    async refreshAccessToken(connectionId: string): Promise<{ expiresAt: string }> {
      const expiresAt = await refreshLocked(deps, connectionId, { kind: 'timer' });
      return { expiresAt: expiresAt.toISOString() };
    },

    /** Revokes the connection's refresh token at HubSpot and forgets it; a second run finds nothing to do. */
    async revokeConnectionTokens(connectionId: string): Promise<void> {
      const tokens = await readSealedTokens(deps.pool, connectionId);
      if (!tokens?.refreshToken) return;
      await revokeRefreshToken(deps.hubspot, deps.cipher.open({ keyId: tokens.keyId, ciphertext: tokens.refreshToken }));
      await clearRefreshToken(deps.pool, connectionId);
      deps.log.info({ connectionId }, 'refresh token revoked');
    },
  };
}

/** The connection's current access token, for activities that call HubSpot. */
export async function accessTokenFor(deps: TokenDeps, connectionId: string): Promise<string> {
  return (await readAccessToken(deps, connectionId)).token;
}

/**
 * Runs `call` with the access token (and what else a call needs to know of the connection). When
 * HubSpot answers 401 EXPIRED_AUTHENTICATION (thrown as an ApiException or returned as a fetch
 * Response), refreshes once and retries once: the timer refreshes ahead of expiry, so this covers
 * clock skew and a workflow that was paused a while.
 */
export async function withAccessToken<T>(deps: TokenDeps, connectionId: string, call: (token: string, facts: CallerFacts) => Promise<T>): Promise<T> {
  const first = await readAccessToken(deps, connectionId);
  let outcome: { value: T } | { error: unknown };
  try {
    outcome = { value: await call(first.token, first.facts) };
  } catch (error) {
    outcome = { error };
  }
  const answer = 'value' in outcome ? outcome.value : outcome.error;
  if (!(await isExpiredAuthentication(answer))) {
    if ('error' in outcome) throw outcome.error;
    return outcome.value;
  }
  deps.log.info({ connectionId }, 'HubSpot says the access token expired: refreshing once');
  await refreshLocked(deps, connectionId, { kind: 'expired', sealedAccessToken: first.sealed });
  const refreshed = await readAccessToken(deps, connectionId);
  return call(refreshed.token, refreshed.facts);
}

async function readAccessToken(deps: TokenDeps, connectionId: string): Promise<{ token: string; sealed: string; facts: CallerFacts }> {
  const tokens = await readSealedTokens(deps.pool, connectionId);
  if (!tokens) throw ApplicationFailure.create({ type: 'ConnectionNotFound', nonRetryable: true, message: `connection ${connectionId} has no stored tokens` });
  return {
    token: deps.cipher.open({ keyId: tokens.keyId, ciphertext: tokens.accessToken }),
    sealed: tokens.accessToken,
    facts: { appId: tokens.appId, timeZone: tokens.timeZone },
  };
}

/**
 * The one refresh path. The token row stays locked from read to write, so workers refreshing the
 * same connection take turns, and the later one sees the earlier one's result instead of spending
 * (or, with rotation, invalidating) the refresh token again.
 */
async function refreshLocked(deps: TokenDeps, connectionId: string, reason: RefreshReason): Promise<Date> {
  const { pool, cipher, log } = deps;
  const db = await pool.connect();
  try {
    await db.query('begin');
    const tokens = await lockTokens(db, connectionId);
    if (!tokens?.refreshToken) {
      throw refreshRejected(`connection ${connectionId} has no refresh token stored: it needs a new OAuth install`);
    }
    if (tokens.expiresAt && refreshedBySomeoneElse(tokens, reason)) {
      await db.query('commit');
      return tokens.expiresAt;
    }
    const refreshToken = cipher.open({ keyId: tokens.keyId, ciphertext: tokens.refreshToken });
    let grant;
    try {
      grant = await refreshTokens(deps.hubspot, refreshToken);
    } catch (error) {
      if (!(error instanceof RefreshTokenRejected)) throw error;
      // It will never work again: forget it, so the activities queued behind this lock (one per
      // object type) fail at once instead of asking HubSpot again. A new install stores a new one.
      await clearRefreshToken(db, connectionId);
      await db.query('commit');
      log.warn({ connectionId, code: error.code }, 'HubSpot refused the refresh token: the connection needs a new OAuth install');
      throw refreshRejected(error.message);
    }
    // Sealing both anew also moves tokens sealed with an older key to the current one.
    await storeTokens(db, connectionId, sealedTokens(cipher.seal(grant.accessToken), cipher.seal(grant.refreshToken), grant.expiresAt), true);
    await db.query('commit');
    log.info({ connectionId, expiresAt: grant.expiresAt.toISOString(), rotated: grant.refreshToken !== refreshToken }, 'access token refreshed');
    return grant.expiresAt;
  } catch (error) {
    await db.query('rollback').catch(() => undefined);
    throw error;
  } finally {
    db.release();
  }
}

function refreshedBySomeoneElse(tokens: LockedTokens, reason: RefreshReason): boolean {
  if (reason.kind === 'expired') return tokens.accessToken !== reason.sealedAccessToken;
  return tokens.refreshedAt !== null && Date.now() - tokens.refreshedAt.getTime() < RECENT_REFRESH_MS;
}

function refreshRejected(message: string): ApplicationFailure {
  return ApplicationFailure.create({ type: REFRESH_TOKEN_REJECTED, nonRetryable: true, message });
}

/** HubSpot's 401 EXPIRED_AUTHENTICATION, from @hubspot/api-client's ApiException or a fetch Response. */
async function isExpiredAuthentication(answer: unknown): Promise<boolean> {
  if (answer instanceof Response) {
    return answer.status === 401 && categoryOf(await answer.clone().text().catch(() => '')) === 'EXPIRED_AUTHENTICATION';
  }
  // Each API module of the client has its own ApiException class: match the shape, not the class.
  if (answer && typeof answer === 'object' && 'code' in answer && 'body' in answer) {
    return answer.code === 401 && categoryOf(answer.body) === 'EXPIRED_AUTHENTICATION';
  }
  return false;
}

function categoryOf(body: unknown): unknown {
  if (typeof body === 'string') {
    try {
      return categoryOf(JSON.parse(body));
    } catch {
      return undefined;
    }
  }
  return body && typeof body === 'object' && 'category' in body ? body.category : undefined;
}
