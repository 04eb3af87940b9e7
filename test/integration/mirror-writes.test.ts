// The mirror's write functions against a real PostgreSQL (no Temporal, no simulator): the version
// guard never lets an older version overwrite a newer one (promise 2), writing a page again changes
// nothing (promise 3), merges leave tombstones and move associations, archives and restores follow
// the newest version.
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { insertConnection } from '../../src/db/connections.js';
import { markMerged, replaceAssociations, upsertRecords, type MirroredRecord } from '../../src/db/crm.js';
import { inTransaction } from '../../src/db/transaction.js';
import { connectionWorkflowId } from '../../src/workflows/definitions.js';
import { createTestDatabase, type TestDatabase } from '../support/database.js';

let db: TestDatabase;

beforeAll(async () => {
  db = await createTestDatabase();
});
afterAll(async () => db?.drop());

/** A connection of its own per test, so tests share no rows. */
async function connection(): Promise<string> {
  const id = randomUUID();
  await insertConnection(
    db.pool,
    { id, portalId: 900_001, authType: 'private_app', workflowId: connectionWorkflowId(id), objectTypes: ['contacts'], syncIntervalSeconds: 60 },
    { keyId: 'k1', accessToken: 'sealed', refreshToken: null, expiresAt: null },
  );
  return id;
}

const at = (minute: number) => new Date(Date.UTC(2026, 0, 1, 12, minute));

function version(id: string, minute: number, properties: Record<string, string | null>, archived = false): MirroredRecord {
  return { id, properties, createdAt: at(0), updatedAt: at(minute), archived, archivedAt: archived ? at(minute) : null };
}

/** The mirrored rows of one type, everything but synced_at (which records when, not what). */
async function rows(connectionId: string, objectType = 'contacts') {
  const result = await db.pool.query(
    `select object_id, properties, created_at, updated_at, archived, archived_at, merged_into
       from crm_objects where connection_id = $1 and object_type = $2 order by object_id`,
    [connectionId, objectType],
  );
  return result.rows;
}

async function row(connectionId: string, objectId: string, objectType = 'contacts') {
  return (await rows(connectionId, objectType)).find((r) => r.object_id === objectId);
}

async function associations(connectionId: string) {
  const result = await db.pool.query(
    `select from_type, from_id, to_type, to_id, type_id from crm_associations where connection_id = $1 order by from_type, from_id, to_type, to_id, type_id`,
    [connectionId],
  );
  return result.rows.map((r) => `${r.from_type}:${r.from_id}->${r.to_type}:${r.to_id}#${r.type_id}`);
}

describe('upsertRecords', () => {
  it('keeps the newer version when a stale page is written after it', async () => {
    const c = await connection();
    const newer = [version('1', 20, { firstname: 'New', email: 'a@example.org' }), version('2', 20, { firstname: 'Two' }, true)];
    const stale = [version('1', 10, { firstname: 'Old', email: 'a@example.org' }), version('2', 10, { firstname: 'Two' })];

    expect(await upsertRecords(db.pool, c, 'contacts', newer)).toEqual(new Set(['1', '2']));
    expect(await upsertRecords(db.pool, c, 'contacts', stale)).toEqual(new Set());

    expect(await row(c, '1')).toMatchObject({ properties: { firstname: 'New', email: 'a@example.org' }, updated_at: at(20), archived: false });
    expect(await row(c, '2')).toMatchObject({ properties: { firstname: 'Two' }, updated_at: at(20), archived: true, archived_at: at(20) });
  });

  it('applies, within one page, only the records that are newer than the mirror', async () => {
    const c = await connection();
    await upsertRecords(db.pool, c, 'contacts', [version('1', 20, { firstname: 'Kept' }), version('2', 5, { firstname: 'Before' })]);
    const applied = await upsertRecords(db.pool, c, 'contacts', [version('1', 15, { firstname: 'Stale' }), version('2', 15, { firstname: 'After' }), version('3', 15, { firstname: 'New' })]);

    expect(applied).toEqual(new Set(['2', '3']));
    expect((await rows(c)).map((r) => [r.object_id, r.properties.firstname])).toEqual([
      ['1', 'Kept'],
      ['2', 'After'],
      ['3', 'New'],
    ]);
  });

  it('changes nothing when the same page is written twice', async () => {
    const c = await connection();
    const page = [version('1', 10, { firstname: 'A' }), version('2', 11, { firstname: 'B' }, true), version('3', 12, { firstname: null })];
    await upsertRecords(db.pool, c, 'contacts', page);
    const first = await rows(c);
    await upsertRecords(db.pool, c, 'contacts', page);
    expect(await rows(c)).toEqual(first);
    expect(first).toHaveLength(3);
  });

  it('archives the row when an archived version follows a live one, and not when the archived version is older', async () => {
    const c = await connection();
    await upsertRecords(db.pool, c, 'contacts', [version('1', 10, { firstname: 'Live' }), version('2', 30, { firstname: 'Live' })]);
    await upsertRecords(db.pool, c, 'contacts', [version('1', 20, { firstname: 'Live' }, true), version('2', 20, { firstname: 'Live' }, true)]);

    expect(await row(c, '1')).toMatchObject({ archived: true, archived_at: at(20), updated_at: at(20) });
    expect(await row(c, '2')).toMatchObject({ archived: false, archived_at: null, updated_at: at(30) });
  });

  it('un-archives the row when a newer live version arrives (a restore)', async () => {
    const c = await connection();
    await upsertRecords(db.pool, c, 'contacts', [version('1', 10, { firstname: 'Live' })]);
    await upsertRecords(db.pool, c, 'contacts', [version('1', 20, { firstname: 'Live' }, true)]);
    await upsertRecords(db.pool, c, 'contacts', [version('1', 30, { firstname: 'Restored' })]);

    expect(await row(c, '1')).toMatchObject({ properties: { firstname: 'Restored' }, archived: false, archived_at: null, updated_at: at(30) });
    // A late copy of the archived version does not undo the restore.
    await upsertRecords(db.pool, c, 'contacts', [version('1', 20, { firstname: 'Live' }, true)]);
    expect(await row(c, '1')).toMatchObject({ archived: false, updated_at: at(30) });
  });
});

describe('markMerged', () => {
  it('archives merged records, tombstones ids never mirrored, and moves associations to the survivor', async () => {
    const c = await connection();
    await upsertRecords(db.pool, c, 'contacts', [version('100', 10, { firstname: 'Survivor' }), version('200', 10, { firstname: 'Merged' })]);
    await replaceAssociations(db.pool, c, 'contacts', ['200'], 'companies', [{ fromId: '200', toId: '9', typeId: 279, category: 'HUBSPOT_DEFINED', label: null }]);
    await replaceAssociations(db.pool, c, 'deals', ['7'], 'contacts', [
      { fromId: '7', toId: '200', typeId: 3, category: 'HUBSPOT_DEFINED', label: null },
      { fromId: '7', toId: '300', typeId: 3, category: 'HUBSPOT_DEFINED', label: null },
    ]);

    await markMerged(db.pool, c, 'contacts', '100', ['200', '300', '100'], at(40));

    expect(await row(c, '100')).toMatchObject({ archived: false, merged_into: null, properties: { firstname: 'Survivor' } });
    expect(await row(c, '200')).toMatchObject({ archived: true, archived_at: at(40), merged_into: '100', updated_at: at(40), properties: { firstname: 'Merged' } });
    expect(await row(c, '300')).toMatchObject({ archived: true, archived_at: at(40), merged_into: '100', updated_at: at(40), properties: {} });
    // The survivor's own associations are re-read with its page; what pointed at the merged ids now points at it.
    expect(await associations(c)).toEqual(['deals:7->contacts:100#3']);

    // A page fetched before the merge, written after it, resurrects neither id.
    expect(await upsertRecords(db.pool, c, 'contacts', [version('200', 30, { firstname: 'Late' }), version('300', 30, { firstname: 'Late' })])).toEqual(new Set());
    expect(await row(c, '200')).toMatchObject({ archived: true, merged_into: '100', properties: { firstname: 'Merged' } });
    expect(await row(c, '300')).toMatchObject({ archived: true, merged_into: '100' });
  });

  it('is idempotent: marking the same merge again changes nothing', async () => {
    const c = await connection();
    await upsertRecords(db.pool, c, 'contacts', [version('100', 10, {}), version('200', 10, {})]);
    await replaceAssociations(db.pool, c, 'deals', ['7'], 'contacts', [{ fromId: '7', toId: '200', typeId: 3, category: 'HUBSPOT_DEFINED', label: null }]);
    await markMerged(db.pool, c, 'contacts', '100', ['200'], at(40));
    const once = { rows: await rows(c), associations: await associations(c) };
    await markMerged(db.pool, c, 'contacts', '100', ['200'], at(40));
    expect({ rows: await rows(c), associations: await associations(c) }).toEqual(once);
  });
});

describe('concurrent writers', () => {
  it('of the same records and associations, each in its own order, queue instead of deadlocking', async () => {
    // A list page comes in id order, a webhook batch as HubSpot answers its batch read: here the
    // exact reverse, written at the same time, again and again (before the fix about half the
    // rounds ended in "deadlock detected").
    const c = await connection();
    const ids = Array.from({ length: 100 }, (_, i) => String(1_000 + i));
    const writePage = (order: string[], minute: number) =>
      inTransaction(db.pool, async (tx) => {
        await upsertRecords(tx, c, 'contacts', order.map((id) => version(id, minute, { firstname: `F${minute}` })));
        const edges = order.map((id) => ({ fromId: id, toId: String(minute), typeId: 279, category: 'HUBSPOT_DEFINED', label: null }));
        await replaceAssociations(tx, c, 'contacts', order, 'companies', edges);
      });
    const failures: unknown[] = [];
    for (let minute = 1; minute <= 20; minute++) {
      const results = await Promise.allSettled([writePage(ids, minute), writePage([...ids].reverse(), minute)]);
      failures.push(...results.filter((r) => r.status === 'rejected').map((r) => (r as PromiseRejectedResult).reason));
    }
    expect(failures).toEqual([]);
    expect((await rows(c)).every((r) => r.properties.firstname === 'F20')).toBe(true);
    expect(await associations(c)).toEqual(ids.map((id) => `contacts:${id}->companies:20#279`));
  });
});
