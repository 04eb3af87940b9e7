import type { Pool, PoolClient } from 'pg';

type Db = Pool | PoolClient;

// Lock order: a sync page and a webhook batch of one connection may write the same records at the
// same time, each in its own order (a list page by id, a batch read as HubSpot answers it). Rows
// are written in key order, so two such writers queue behind each other instead of deadlocking.

/** One version of a HubSpot record, as mirrored. */
export interface MirroredRecord {
  id: string;
  properties: Record<string, string | null>;
  createdAt: Date | null;
  updatedAt: Date;
  archived: boolean;
  archivedAt: Date | null;
}

export interface MirroredAssociation {
  fromId: string;
  toId: string;
  typeId: number;
  category: string;
  label: string | null;
}

/**
 * One multi-row upsert. The version guard keeps the newer row: a page fetched earlier but written
 * later never overwrites what a later page wrote (promise 2); writing the same page twice changes
 * nothing (promise 3). Returns the ids whose version was applied.
 */
export async function upsertRecords(db: Db, connectionId: string, objectType: string, records: MirroredRecord[]): Promise<Set<string>> {
  if (records.length === 0) return new Set();
  const result = await db.query(
    `insert into crm_objects (connection_id, object_type, object_id, properties, created_at, updated_at, archived, archived_at, merged_into, synced_at)
     select $1, $2, r.id, r.properties, r.created_at, r.updated_at, r.archived, r.archived_at, null, now()
       from jsonb_to_recordset($3::jsonb)
         as r(id text, properties jsonb, created_at timestamptz, updated_at timestamptz, archived boolean, archived_at timestamptz)
      order by r.id
     on conflict (connection_id, object_type, object_id) do update
       set properties = excluded.properties, created_at = excluded.created_at, updated_at = excluded.updated_at,
           archived = excluded.archived, archived_at = excluded.archived_at, merged_into = null, synced_at = now()
       where excluded.updated_at >= crm_objects.updated_at
     returning object_id`,
    [
      connectionId,
      objectType,
      JSON.stringify(
        records.map((r) => ({
          id: r.id,
          properties: r.properties,
          created_at: r.createdAt,
          updated_at: r.updatedAt,
          archived: r.archived,
          archived_at: r.archivedAt,
        })),
      ),
    ],
  );
  return new Set(result.rows.map((row) => row.object_id as string));
}

/**
 * Records merged into `survivorId` are archived and point to it. A merged id that was never
 * mirrored gets a tombstone row, so a late page cannot resurrect it with an older version.
 */
export async function markMerged(db: Db, connectionId: string, objectType: string, survivorId: string, mergedIds: string[], at: Date): Promise<void> {
  const ids = mergedIds.filter((id) => id !== survivorId);
  if (ids.length === 0) return;
  await db.query(
    `insert into crm_objects (connection_id, object_type, object_id, properties, updated_at, archived, archived_at, merged_into)
     select $1, $2, id, '{}'::jsonb, $4, true, $4, $3 from unnest($5::text[]) as id order by id
     on conflict (connection_id, object_type, object_id) do update
       set archived = true, archived_at = coalesce(crm_objects.archived_at, excluded.archived_at),
           merged_into = excluded.merged_into, updated_at = greatest(crm_objects.updated_at, excluded.updated_at), synced_at = now()`,
    [connectionId, objectType, survivorId, at, ids],
  );
  // Associations follow the survivor, as HubSpot moves them; the survivor's own are re-read with its page.
  await db.query(
    `insert into crm_associations (connection_id, from_type, from_id, to_type, to_id, type_id, category, label)
     select connection_id, from_type, from_id, to_type, $3, type_id, category, label from crm_associations
      where connection_id = $1 and to_type = $2 and to_id = any($4::text[])
     on conflict do nothing`,
    [connectionId, objectType, survivorId, ids],
  );
  await db.query(
    `delete from crm_associations where connection_id = $1
       and ((to_type = $2 and to_id = any($3::text[])) or (from_type = $2 and from_id = any($3::text[])))`,
    [connectionId, objectType, ids],
  );
}

/** Replaces the associations of these records to `toType` with what HubSpot reports now. */
export async function replaceAssociations(
  db: Db,
  connectionId: string,
  fromType: string,
  fromIds: string[],
  toType: string,
  associations: MirroredAssociation[],
): Promise<void> {
  if (fromIds.length === 0) return;
  await db.query(
    `delete from crm_associations where connection_id = $1 and from_type = $2 and to_type = $3 and from_id = any($4::text[])`,
    [connectionId, fromType, toType, fromIds],
  );
  if (associations.length === 0) return;
  await db.query(
    `insert into crm_associations (connection_id, from_type, from_id, to_type, to_id, type_id, category, label)
     select $1, $2, a.from_id, $3, a.to_id, a.type_id, a.category, a.label
       from jsonb_to_recordset($4::jsonb) as a(from_id text, to_id text, type_id int, category text, label text)
      order by a.from_id, a.to_id, a.type_id
     on conflict do nothing`,
    [
      connectionId,
      fromType,
      toType,
      JSON.stringify(associations.map((a) => ({ from_id: a.fromId, to_id: a.toId, type_id: a.typeId, category: a.category, label: a.label }))),
    ],
  );
}

/** Which of these records the mirror holds as archived (a live version of one is a restore). */
export async function archivedAmong(db: Db, connectionId: string, objectType: string, ids: string[]): Promise<string[]> {
  if (ids.length === 0) return [];
  const result = await db.query(
    `select object_id from crm_objects where connection_id = $1 and object_type = $2 and object_id = any($3::text[]) and archived`,
    [connectionId, objectType, ids],
  );
  return result.rows.map((row) => row.object_id as string);
}

/** HubSpot hides edges to archived records from both ends: drop those the other end mirrors. */
export async function dropAssociationsTo(db: Db, connectionId: string, toType: string, toIds: string[]): Promise<void> {
  if (toIds.length === 0) return;
  await db.query(`delete from crm_associations where connection_id = $1 and to_type = $2 and to_id = any($3::text[])`, [connectionId, toType, toIds]);
}

/** Marks records as seen by an archived sweep (its id), or as gone from HubSpot for good ('gone'). */
export async function markArchiveChecked(db: Db, connectionId: string, objectType: string, ids: string[], checkedBy: string): Promise<void> {
  if (ids.length === 0) return;
  await db.query(`update crm_objects set archive_checked_by = $4 where connection_id = $1 and object_type = $2 and object_id = any($3::text[])`, [
    connectionId,
    objectType,
    ids,
    checkedBy,
  ]);
}

/**
 * Records the mirror holds as archived that this sweep did not see archived: restored since, or
 * purged. Merged records and GDPR tombstones are settled, and so is what is known to be gone.
 */
export async function archivedNotCheckedBy(db: Db, connectionId: string, objectType: string, sweep: string, limit: number): Promise<string[]> {
  const result = await db.query(
    `select object_id from crm_objects
      where connection_id = $1 and object_type = $2 and archived and merged_into is null and updated_at <> 'infinity'
        and archive_checked_by is distinct from $3 and archive_checked_by is distinct from 'gone'
      order by object_id limit $4`,
    [connectionId, objectType, sweep, limit],
  );
  return result.rows.map((row) => row.object_id as string);
}

export async function readPropertyNames(db: Db, connectionId: string, objectType: string, maxAgeMs: number): Promise<string[] | undefined> {
  const result = await db.query(
    `select names from object_properties where connection_id = $1 and object_type = $2 and discovered_at > now() - ($3::text || ' milliseconds')::interval`,
    [connectionId, objectType, String(maxAgeMs)],
  );
  return result.rows[0]?.names;
}

export async function writePropertyNames(db: Db, connectionId: string, objectType: string, names: string[]): Promise<void> {
  await db.query(
    `insert into object_properties (connection_id, object_type, names) values ($1, $2, $3)
     on conflict (connection_id, object_type) do update set names = excluded.names, discovered_at = now()`,
    [connectionId, objectType, names],
  );
}

export async function upsertOwners(db: Db, connectionId: string, owners: Array<{ id: string; updatedAt: Date | null; archived: boolean; data: unknown }>): Promise<void> {
  if (owners.length === 0) return;
  await db.query(
    `insert into crm_owners (connection_id, owner_id, data, updated_at, archived)
     select $1, o.id, o.data, o.updated_at, o.archived from jsonb_to_recordset($2::jsonb) as o(id text, data jsonb, updated_at timestamptz, archived boolean)
     on conflict (connection_id, owner_id) do update
       set data = excluded.data, updated_at = excluded.updated_at, archived = excluded.archived, synced_at = now()
       where excluded.updated_at is null or crm_owners.updated_at is null or excluded.updated_at >= crm_owners.updated_at`,
    [connectionId, JSON.stringify(owners.map((o) => ({ id: o.id, data: o.data, updated_at: o.updatedAt, archived: o.archived })))],
  );
}

export async function replacePipelines(db: Db, connectionId: string, objectType: string, pipelines: Array<{ id: string; data: unknown }>): Promise<void> {
  await db.query(`delete from crm_pipelines where connection_id = $1 and object_type = $2 and not (pipeline_id = any($3::text[]))`, [
    connectionId,
    objectType,
    pipelines.map((p) => p.id),
  ]);
  if (pipelines.length === 0) return;
  await db.query(
    `insert into crm_pipelines (connection_id, object_type, pipeline_id, data)
     select $1, $2, p.id, p.data from jsonb_to_recordset($3::jsonb) as p(id text, data jsonb)
     on conflict (connection_id, object_type, pipeline_id) do update set data = excluded.data, synced_at = now()`,
    [connectionId, objectType, JSON.stringify(pipelines)],
  );
}

/**
 * A GDPR deletion in HubSpot: keep the row as an archived tombstone (so no late version brings it
 * back) but drop every property and association.
 */
export async function purgePersonalData(db: Db, connectionId: string, objectType: string, ids: string[]): Promise<void> {
  if (ids.length === 0) return;
  await db.query(
    `insert into crm_objects (connection_id, object_type, object_id, properties, updated_at, archived, archived_at)
     select $1, $2, id, '{}'::jsonb, 'infinity', true, now() from unnest($3::text[]) as id
     on conflict (connection_id, object_type, object_id) do update
       set properties = '{}'::jsonb, updated_at = 'infinity', archived = true, archived_at = coalesce(crm_objects.archived_at, now()), synced_at = now()`,
    [connectionId, objectType, ids],
  );
  await db.query(
    `delete from crm_associations where connection_id = $1
       and ((from_type = $2 and from_id = any($3::text[])) or (to_type = $2 and to_id = any($3::text[])))`,
    [connectionId, objectType, ids],
  );
}
