import type { Pool, PoolClient } from 'pg';
import { setConnectionStatus } from './connections.js';
import { inTransaction } from './transaction.js';

/**
 * Deletes every row mirrored for the connection (records, associations, owners, pipelines,
 * property lists). One statement: its data-modifying CTEs all run, or none does.
 */
export async function purgeMirror(db: Pool | PoolClient, connectionId: string): Promise<void> {
  await db.query(
    `with objects as (delete from crm_objects where connection_id = $1),
          associations as (delete from crm_associations where connection_id = $1),
          owners as (delete from crm_owners where connection_id = $1),
          pipelines as (delete from crm_pipelines where connection_id = $1)
     delete from object_properties where connection_id = $1`,
    [connectionId],
  );
}

/**
 * The last state of a deleted connection, all or nothing: no stored tokens, status `stopped`, and
 * with `purge` no mirrored rows. The connection row itself stays, as the record of what was synced.
 */
export async function retireConnection(pool: Pool, connectionId: string, purge: boolean): Promise<void> {
  await inTransaction(pool, async (db) => {
    await db.query(`delete from connection_tokens where connection_id = $1`, [connectionId]);
    await setConnectionStatus(db, connectionId, 'stopped');
    if (purge) await purgeMirror(db, connectionId);
  });
}
