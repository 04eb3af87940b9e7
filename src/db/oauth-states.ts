import type { Pool, PoolClient } from 'pg';

type Db = Pool | PoolClient;

export interface NewOAuthState {
  state: string;
  nonceHash: string;
  ttlSeconds: number;
  objectTypes: string[] | undefined;
  syncIntervalSeconds: number | undefined;
}

export interface OAuthStateRequest {
  objectTypes: string[] | undefined;
  syncIntervalSeconds: number | undefined;
}

/** Why a callback's state was refused; each gets its own message. */
export type StateRefusal = 'unknown' | 'browser_mismatch' | 'used' | 'expired';

export async function insertOAuthState(db: Db, state: NewOAuthState): Promise<void> {
  await db.query(
    `insert into oauth_states (state, nonce_hash, object_types, sync_interval_seconds, expires_at)
     values ($1, $2, $3, $4, now() + make_interval(secs => $5))`,
    [state.state, state.nonceHash, state.objectTypes ?? null, state.syncIntervalSeconds ?? null, state.ttlSeconds],
  );
  // Abandoned installs leave rows behind; each new install sweeps the long-expired ones.
  await db.query(`delete from oauth_states where expires_at < now() - interval '1 day'`);
}

/**
 * Marks the state used if it is known, unused, unexpired and bound to this browser's nonce, in
 * one statement so two callbacks with the same state cannot both succeed.
 */
export async function consumeOAuthState(
  db: Db,
  state: string,
  nonceHash: string,
): Promise<{ ok: true; request: OAuthStateRequest } | { ok: false; refusal: StateRefusal }> {
  const consumed = await db.query(
    `update oauth_states set used_at = now()
     where state = $1 and nonce_hash = $2 and used_at is null and expires_at > now()
     returning object_types, sync_interval_seconds`,
    [state, nonceHash],
  );
  const row = consumed.rows[0];
  if (row) {
    return { ok: true, request: { objectTypes: row.object_types ?? undefined, syncIntervalSeconds: row.sync_interval_seconds ?? undefined } };
  }
  const found = await db.query(
    `select nonce_hash = $2 as same_browser, used_at is not null as used, expires_at <= now() as expired
     from oauth_states where state = $1`,
    [state, nonceHash],
  );
  const why = found.rows[0];
  if (!why) return { ok: false, refusal: 'unknown' };
  if (!why.same_browser) return { ok: false, refusal: 'browser_mismatch' };
  return { ok: false, refusal: why.used ? 'used' : 'expired' };
}
