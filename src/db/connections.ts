import type { Pool, PoolClient } from 'pg';
import type { SealedSecret } from '../crypto/token-cipher.js';
import type { AuthType, ConnectionStatus } from '../workflows/definitions.js';

type Db = Pool | PoolClient;

export interface ConnectionRow {
  id: string;
  portalId: number;
  authType: AuthType;
  status: ConnectionStatus;
  workflowId: string;
  objectTypes: string[];
  syncIntervalSeconds: number;
  /** The OAuth app it was installed through; null for a private app. */
  appId: number | null;
  createdAt: string;
  updatedAt: string;
}

const COLUMNS = `id, portal_id, auth_type, status, workflow_id, object_types, sync_interval_seconds, app_id, created_at, updated_at`;

function toConnection(row: Record<string, unknown>): ConnectionRow {
  return {
    id: row.id as string,
    portalId: Number(row.portal_id),
    authType: row.auth_type as AuthType,
    status: row.status as ConnectionStatus,
    workflowId: row.workflow_id as string,
    objectTypes: row.object_types as string[],
    syncIntervalSeconds: row.sync_interval_seconds as number,
    appId: row.app_id === null ? null : Number(row.app_id),
    createdAt: (row.created_at as Date).toISOString(),
    updatedAt: (row.updated_at as Date).toISOString(),
  };
}

export interface NewConnection {
  id: string;
  portalId: number;
  authType: AuthType;
  workflowId: string;
  objectTypes: string[];
  syncIntervalSeconds: number;
  /** OAuth connections: the HubSpot app they were installed through. */
  appId?: number | undefined;
  properties?: Record<string, string[]> | undefined;
}

export interface SealedTokens {
  keyId: string;
  accessToken: string;
  refreshToken: string | null;
  expiresAt: Date | null;
}

export function sealedTokens(access: SealedSecret, refresh: SealedSecret | null, expiresAt: Date | null): SealedTokens {
  if (refresh && refresh.keyId !== access.keyId) throw new Error('both tokens must be sealed with the same key');
  return { keyId: access.keyId, accessToken: access.ciphertext, refreshToken: refresh?.ciphertext ?? null, expiresAt };
}

/** Inserts the connection and its sealed tokens together (call inside a transaction). */
export async function insertConnection(db: Db, connection: NewConnection, tokens: SealedTokens): Promise<ConnectionRow> {
  const inserted = await db.query(
    `insert into connections (id, portal_id, auth_type, workflow_id, object_types, sync_interval_seconds, app_id, properties)
     values ($1, $2, $3, $4, $5, $6, $7, $8) returning ${COLUMNS}`,
    [
      connection.id,
      connection.portalId,
      connection.authType,
      connection.workflowId,
      connection.objectTypes,
      connection.syncIntervalSeconds,
      connection.appId ?? null,
      connection.properties ?? null,
    ],
  );
  await db.query(
    `insert into connection_tokens (connection_id, key_id, access_token, refresh_token, expires_at) values ($1, $2, $3, $4, $5)`,
    [connection.id, tokens.keyId, tokens.accessToken, tokens.refreshToken, tokens.expiresAt],
  );
  return toConnection(inserted.rows[0]);
}

export async function getConnection(db: Db, id: string): Promise<ConnectionRow | undefined> {
  const result = await db.query(`select ${COLUMNS} from connections where id = $1`, [id]);
  return result.rows[0] ? toConnection(result.rows[0]) : undefined;
}

export interface ConnectionFilter {
  status?: ConnectionStatus | undefined;
  portalId?: number | undefined;
  /** Keyset pagination: rows created after this connection. */
  after?: string | undefined;
  limit: number;
}

export async function listConnections(db: Db, filter: ConnectionFilter): Promise<ConnectionRow[]> {
  const where: string[] = [];
  const params: unknown[] = [];
  if (filter.status) where.push(`status = $${params.push(filter.status)}`);
  if (filter.portalId !== undefined) where.push(`portal_id = $${params.push(filter.portalId)}`);
  if (filter.after) {
    where.push(`(created_at, id) > (select created_at, id from connections where id = $${params.push(filter.after)})`);
  }
  const result = await db.query(
    `select ${COLUMNS} from connections ${where.length ? `where ${where.join(' and ')}` : ''}
     order by created_at, id limit $${params.push(filter.limit)}`,
    params,
  );
  return result.rows.map(toConnection);
}

export async function setConnectionStatus(db: Db, id: string, status: ConnectionStatus): Promise<void> {
  await db.query(`update connections set status = $2, updated_at = now() where id = $1`, [id, status]);
}

/** What a call to HubSpot needs to know of the connection besides its token. */
export interface CallerFacts {
  /** The OAuth app the tokens were granted to; null for a private app. */
  appId: number | null;
  /** The portal's time zone, once read from HubSpot (null before). */
  timeZone: string | null;
}

export interface StoredTokens extends SealedTokens, CallerFacts {}

export async function readSealedTokens(db: Db, connectionId: string): Promise<StoredTokens | undefined> {
  const result = await db.query(
    `select t.key_id, t.access_token, t.refresh_token, t.expires_at, c.app_id, c.time_zone
       from connection_tokens t join connections c on c.id = t.connection_id
      where t.connection_id = $1`,
    [connectionId],
  );
  const row = result.rows[0];
  if (!row) return undefined;
  return {
    keyId: row.key_id,
    accessToken: row.access_token,
    refreshToken: row.refresh_token,
    expiresAt: row.expires_at,
    appId: row.app_id === null ? null : Number(row.app_id),
    timeZone: row.time_zone,
  };
}

export async function setConnectionTimeZone(db: Db, id: string, timeZone: string | null): Promise<void> {
  await db.query(`update connections set time_zone = $2 where id = $1 and time_zone is distinct from $2`, [id, timeZone]);
}

/** Where a portal's webhook events go: its connections whose workflow may still run (one per app). */
export interface LiveConnection {
  id: string;
  workflowId: string;
  appId: number | null;
}

export async function liveConnectionsOfPortal(db: Db, portalId: number): Promise<LiveConnection[]> {
  const result = await db.query(
    `select id, workflow_id, app_id from connections where portal_id = $1 and status <> 'stopped' order by created_at, id`,
    [portalId],
  );
  return result.rows.map((row) => ({ id: row.id, workflowId: row.workflow_id, appId: row.app_id === null ? null : Number(row.app_id) }));
}

/** Mirrors the workflow's configuration into the row that listings read. */
export async function updateConnectionConfig(
  db: Db,
  id: string,
  config: { objectTypes: string[]; syncIntervalSeconds: number; properties?: Record<string, string[]> | undefined },
): Promise<void> {
  await db.query(`update connections set object_types = $2, sync_interval_seconds = $3, properties = $4, updated_at = now() where id = $1`, [
    id,
    config.objectTypes,
    config.syncIntervalSeconds,
    config.properties ?? null,
  ]);
}

/** The properties a connection names for one object type; undefined: every property. */
export async function configuredProperties(db: Db, id: string, objectType: string): Promise<string[] | undefined> {
  const result = await db.query(`select properties -> $2 as names from connections where id = $1`, [id, objectType]);
  return result.rows[0]?.names ?? undefined;
}
