import type { Pool, PoolClient } from 'pg';

type Db = Pool | PoolClient;

/**
 * How long after our write a change carrying the same value counts as its echo. HubSpot delivers
 * webhooks within seconds; a retried delivery that comes later costs one re-read, nothing more.
 * Past the window the same value is someone setting it back (A→B→A) and must reach the mirror;
 * inside it that is indistinguishable from the echo, and the next change or incremental sync
 * brings it instead.
 */
export const ECHO_WINDOW = '10 minutes';

const ISO_TIME = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:?\d{2})$/;

/**
 * A value as the ledger compares it. HubSpot may hand a time back in another spelling than we sent
 * (epoch milliseconds in a webhook, ISO without milliseconds in a read), so an ISO time is kept as
 * its epoch milliseconds: every spelling of one instant matches.
 */
export function ledgerValue(value: string): string {
  return ISO_TIME.test(value) ? String(Date.parse(value)) : value;
}

/** One property value hubsync wrote to HubSpot. */
export interface OwnWrite {
  objectType: string;
  objectId: string;
  property: string;
  value: string;
}

/**
 * Remembers what hubsync last wrote to each property (issue 7, loop prevention): the webhook path
 * asks `ownWriteEchoes` before acting on a `propertyChange`, so the echo of our own write does no work.
 */
export async function recordOwnWrites(db: Db, connectionId: string, writes: OwnWrite[]): Promise<void> {
  if (writes.length === 0) return;
  await db.query(
    `insert into hubspot_write_ledger (connection_id, object_type, object_id, property, value, written_at)
     select $1, w."objectType", w."objectId", w.property, w.value, now()
       from jsonb_to_recordset($2::jsonb) as w("objectType" text, "objectId" text, property text, value text)
     on conflict (connection_id, object_type, object_id, property) do update
       set value = excluded.value, written_at = excluded.written_at`,
    [connectionId, JSON.stringify(writes.map((w) => ({ ...w, value: ledgerValue(w.value) })))],
  );
}

/**
 * For each change, whether it carries the value hubsync itself last wrote to that property within
 * ECHO_WINDOW: HubSpot echoing our write. A different value means someone changed it in HubSpot
 * since. One query for a whole webhook batch.
 */
export async function ownWriteEchoes(db: Db, connectionId: string, changes: OwnWrite[]): Promise<boolean[]> {
  if (changes.length === 0) return [];
  const { rows } = await db.query<{ i: number }>(
    `select c.i from jsonb_to_recordset($2::jsonb) as c(i int, "objectType" text, "objectId" text, property text, value text)
       join hubspot_write_ledger l on l.connection_id = $1 and l.object_type = c."objectType" and l.object_id = c."objectId"
        and l.property = c.property and l.value = c.value and l.written_at > now() - $3::interval`,
    [connectionId, JSON.stringify(changes.map((change, i) => ({ i, ...change, value: ledgerValue(change.value) }))), ECHO_WINDOW],
  );
  const echoes = new Set(rows.map((row) => row.i));
  return changes.map((_, i) => echoes.has(i));
}
