import type { Pool, PoolClient } from 'pg';
import type { SealedTokens } from './connections.js';

/** A connection's sealed tokens, read under a row lock. */
export interface LockedTokens extends SealedTokens {
  /** When a refresh last stored these tokens (null: never refreshed since install). */
  refreshedAt: Date | null;
}

/**
 * Reads the tokens and holds their row until the transaction ends: the one way to refresh, so
 * that several workers refreshing the same connection take turns instead of racing.
 */
export async function lockTokens(db: PoolClient, connectionId: string): Promise<LockedTokens | undefined> {
  const result = await db.query(
    `select key_id, access_token, refresh_token, expires_at, refreshed_at
     from connection_tokens where connection_id = $1 for update`,
    [connectionId],
  );
  const row = result.rows[0];
  if (!row) return undefined;
  return {
    keyId: row.key_id,
    accessToken: row.access_token,
    refreshToken: row.refresh_token,
    expiresAt: row.expires_at,
    refreshedAt: row.refreshed_at,
  };
}

/** Replaces a connection's tokens; `refreshed` marks a refresh (as opposed to a new install). */
export async function storeTokens(db: PoolClient, connectionId: string, tokens: SealedTokens, refreshed: boolean): Promise<void> {
  await db.query(
    `update connection_tokens
     set key_id = $2, access_token = $3, refresh_token = $4, expires_at = $5, updated_at = now(),
         refreshed_at = case when $6 then now() else refreshed_at end
     where connection_id = $1`,
    [connectionId, tokens.keyId, tokens.accessToken, tokens.refreshToken, tokens.expiresAt, refreshed],
  );
}

/** Forgets a revoked refresh token; the access token stays until it expires on its own. */
export async function clearRefreshToken(db: Pool | PoolClient, connectionId: string): Promise<void> {
  await db.query(`update connection_tokens set refresh_token = null, updated_at = now() where connection_id = $1`, [connectionId]);
}

/** The live OAuth connection of a portal and app, locked so a concurrent install waits for this one. */
export async function lockLiveOAuthConnection(
  db: PoolClient,
  portalId: number,
  appId: number,
): Promise<{ id: string; workflowId: string } | undefined> {
  const result = await db.query(
    `select id, workflow_id from connections
     where auth_type = 'oauth' and portal_id = $1 and app_id = $2 and status not in ('stopping', 'stopped')
     for update`,
    [portalId, appId],
  );
  const row = result.rows[0];
  return row ? { id: row.id, workflowId: row.workflow_id } : undefined;
}
