import { Context } from '@temporalio/activity';
import type { Client } from '@hubspot/api-client';
import {
  archivedAmong,
  archivedNotCheckedBy,
  dropAssociationsTo,
  markArchiveChecked,
  markMerged,
  purgePersonalData,
  readPropertyNames,
  replaceAssociations,
  upsertRecords,
  writePropertyNames,
  type MirroredAssociation,
  type MirroredRecord,
} from '../db/crm.js';
import { inTransaction } from '../db/transaction.js';
import { associatedTypes, typesAssociatedTo } from '../hubspot/associations.js';
import { configuredProperties } from '../db/connections.js';
import { batchRead, describeRecords, listPage, modifiedProperty, propertyNames, readAssociations, searchWindowPage, SEARCH_PAGE_SIZE, type WindowQuery } from '../hubspot/crm.js';
import { withHubSpot, type CallContext, type HubSpotDeps } from './hubspot-session.js';
import { createReadAhead, listPageKey } from './read-ahead.js';

/** New custom properties appear within this long, without a restart. */
const PROPERTY_NAMES_MAX_AGE_MS = 60 * 60 * 1000;
/** HubSpot's batch read takes at most 100 ids. */
const BATCH_READ_MAX = 100;
/** Records an archived sweep re-reads at its end, at most: a backlog spreads over later sweeps. */
const RECONCILE_MAX = 1_000;

export interface PageInput extends CallContext {
  objectType: string;
}

export interface PageResult {
  /** Records HubSpot returned. */
  fetched: number;
  /** Records whose version was newer than the mirror's and so were written. */
  applied: number;
}

/** What the sync itself reads, whatever a connection's property list says: merges and the modification time. */
const ALWAYS_READ = ['hs_object_id', 'hs_merged_object_ids'];

async function propertiesFor(deps: HubSpotDeps, client: Client, input: PageInput): Promise<string[]> {
  const configured = await configuredProperties(deps.pool, input.connectionId, input.objectType);
  if (configured) return [...new Set([...configured, ...ALWAYS_READ, modifiedProperty(input.objectType)])];
  const cached = await readPropertyNames(deps.pool, input.connectionId, input.objectType, PROPERTY_NAMES_MAX_AGE_MS);
  if (cached) return cached;
  const names = await propertyNames(client, input.objectType);
  await writePropertyNames(deps.pool, input.connectionId, input.objectType, names);
  return names;
}

/** Ids a record absorbed in merges (HubSpot lists them in hs_merged_object_ids). */
function mergedIds(record: MirroredRecord): string[] {
  return (record.properties.hs_merged_object_ids ?? '').split(';').filter((id) => id && id !== record.id);
}

/** The current associations to `objectType` of the records on the other end of these records' edges. */
interface PartnerEdges {
  fromType: string;
  fromIds: string[];
  rows: MirroredAssociation[];
}

/**
 * Restoring a record brings its edges back in HubSpot on both ends, but the other end's records
 * neither change nor get an event: find them through the restored records' own associations and
 * re-read theirs (two batch reads per partner type; restores are rare).
 */
async function readPartnerEdges(client: Client, objectType: string, restoredIds: string[]): Promise<PartnerEdges[]> {
  const edges: PartnerEdges[] = [];
  if (restoredIds.length === 0) return edges;
  for (const fromType of typesAssociatedTo(objectType)) {
    const fromIds = [...new Set((await readAssociations(client, objectType, fromType, restoredIds)).map((a) => a.toId))];
    edges.push({ fromType, fromIds, rows: await readAssociations(client, fromType, objectType, fromIds) });
  }
  return edges;
}

/** Records as HubSpot has them now, with their live ones' current associations to each mirrored type. */
interface FetchedRecords {
  records: MirroredRecord[];
  associations: Array<{ toType: string; rows: MirroredAssociation[] }>;
}

async function withAssociations(client: Client, objectType: string, records: MirroredRecord[]): Promise<FetchedRecords> {
  const live = records.filter((r) => !r.archived).map((r) => r.id);
  const associations: FetchedRecords['associations'] = [];
  for (const toType of associatedTypes(objectType)) {
    associations.push({ toType, rows: await readAssociations(client, objectType, toType, live) });
  }
  return { records, associations };
}

/** A list page and its associations, read ahead by the activity of the page before it. */
type FetchedListPage = FetchedRecords & { after: string | undefined };

async function fetchListPage(client: Client, objectType: string, properties: string[], after: string | undefined, archived: boolean): Promise<FetchedListPage> {
  const page = await listPage(client, objectType, properties, after, archived);
  return { ...(await withAssociations(client, objectType, page.records)), after: page.after };
}

/**
 * Writes fetched records and their associations in one transaction: the version guard decides
 * per record, and associations are replaced only for records whose version was applied.
 */
async function writePage(deps: HubSpotDeps, client: Client, input: PageInput, { records, associations }: FetchedRecords, restoredIds: string[] = []): Promise<number> {
  const live = records.filter((r) => !r.archived).map((r) => r.id);
  // Restored: what a restore event says, or what the mirror knew as archived. (A partner re-read
  // while the record was archived lost its edge before the mirror ever saw the archiving.)
  const restored = [...new Set([...restoredIds.filter((id) => live.includes(id)), ...(await archivedAmong(deps.pool, input.connectionId, input.objectType, live))])];
  const partnerEdges = await readPartnerEdges(client, input.objectType, restored);
  return inTransaction(deps.pool, async (db) => {
    const applied = await upsertRecords(db, input.connectionId, input.objectType, records);
    for (const record of records) {
      const merged = mergedIds(record);
      if (applied.has(record.id) && merged.length) await markMerged(db, input.connectionId, input.objectType, record.id, merged, record.updatedAt);
    }
    // An archived record keeps no associations; a live one gets exactly what HubSpot reports now.
    const appliedIds = records.map((r) => r.id).filter((id) => applied.has(id));
    for (const toType of associatedTypes(input.objectType)) {
      const rows = associations.find((a) => a.toType === toType)?.rows ?? [];
      await replaceAssociations(db, input.connectionId, input.objectType, appliedIds, toType, rows.filter((a) => applied.has(a.fromId)));
    }
    // The other end: edges to a record now archived are gone, edges to a restored one are back.
    await dropAssociationsTo(db, input.connectionId, input.objectType, records.filter((r) => r.archived && applied.has(r.id)).map((r) => r.id));
    for (const { fromType, fromIds, rows } of partnerEdges) await replaceAssociations(db, input.connectionId, fromType, fromIds, input.objectType, rows);
    return applied.size;
  });
}

export function createSyncActivities(deps: HubSpotDeps) {
  const readAhead = createReadAhead<FetchedListPage>();
  return {
    /** Live record count (backfill progress) and newest modification time (incremental upper bound). */
    async describeObjects(input: PageInput): Promise<{ total: number; latestModifiedMs: number | null }> {
      return withHubSpot(deps, input, (client, kind) => {
        kind('search');
        return describeRecords(client, input.objectType);
      });
    },

    /** One list page (backfill, or the archived sweep with `archived`): fetch, write, return the next cursor. */
    async syncListPage(input: PageInput & { after: string | undefined; archived?: boolean; sweep?: string }): Promise<PageResult & { after: string | undefined }> {
      return withHubSpot(deps, input, async (client) => {
        const properties = await propertiesFor(deps, client, input);
        const archived = input.archived ?? false;
        const keyOf = (after: string | undefined) => listPageKey(input.connectionId, input.objectType, properties, after, archived);
        const page = (await readAhead.take(keyOf(input.after))) ?? (await fetchListPage(client, input.objectType, properties, input.after, archived));
        // The next page's reads overlap this page's write and the scheduling of the next activity.
        const next = page.after;
        if (next !== undefined) readAhead.start(keyOf(next), () => fetchListPage(client, input.objectType, properties, next, archived));
        const applied = await writePage(deps, client, input, page);
        // An archived sweep marks what it saw still archived (`sweep` names it; reconcileArchived reads the marks).
        if (input.sweep) await markArchiveChecked(deps.pool, input.connectionId, input.objectType, page.records.map((r) => r.id), input.sweep);
        Context.current().log.debug('list page synced', { objectType: input.objectType, fetched: page.records.length, applied });
        return { fetched: page.records.length, applied, after: page.after };
      });
    },

    /**
     * Webhook-driven: re-reads up to 100 records as they are now (live, else archived) and writes
     * them with the version guard, so duplicate, late and out-of-order events all end the same.
     * `purgeIds` were GDPR-deleted in HubSpot: their personal data goes here too.
     */
    async applyObjectBatch(input: PageInput & { ids: string[]; restoredIds?: string[]; purgeIds: string[] }): Promise<PageResult & { missing: number }> {
      return withHubSpot(deps, input, async (client) => {
        const properties = await propertiesFor(deps, client, input);
        const live = await batchRead(client, input.objectType, input.ids, properties, false);
        const found = new Set(live.map((r) => r.id));
        const archived = await batchRead(client, input.objectType, input.ids.filter((id) => !found.has(id)), properties, true);
        const records = [...live, ...archived];
        const applied = await writePage(deps, client, input, await withAssociations(client, input.objectType, records), input.restoredIds);
        await purgePersonalData(deps.pool, input.connectionId, input.objectType, input.purgeIds);
        return { fetched: records.length, applied, missing: input.ids.length - records.length };
      });
    },

    /**
     * The end of an archived sweep: records the mirror holds as archived that the sweep did not
     * list are re-read. Live ones were restored (a restore need not move the modification time
     * incremental sync follows) and are written back; archived ones are marked seen; those HubSpot
     * has no more are marked gone, never to be asked about again. At most RECONCILE_MAX per sweep.
     */
    async reconcileArchived(input: PageInput & { sweep: string }): Promise<{ restored: number; gone: number }> {
      const { sweep } = input;
      const ids = await archivedNotCheckedBy(deps.pool, input.connectionId, input.objectType, sweep, RECONCILE_MAX);
      if (ids.length === 0) return { restored: 0, gone: 0 };
      return withHubSpot(deps, input, async (client) => {
        const properties = await propertiesFor(deps, client, input);
        let restored = 0;
        let gone = 0;
        for (let start = 0; start < ids.length; start += BATCH_READ_MAX) {
          const batch = ids.slice(start, start + BATCH_READ_MAX);
          const live = await batchRead(client, input.objectType, batch, properties, false);
          restored += await writePage(deps, client, input, await withAssociations(client, input.objectType, live));
          const liveIds = new Set(live.map((r) => r.id));
          const archived = new Set((await batchRead(client, input.objectType, batch.filter((id) => !liveIds.has(id)), [], true)).map((r) => r.id));
          await markArchiveChecked(deps.pool, input.connectionId, input.objectType, [...archived], sweep);
          const missing = batch.filter((id) => !liveIds.has(id) && !archived.has(id));
          await markArchiveChecked(deps.pool, input.connectionId, input.objectType, missing, 'gone');
          gone += missing.length;
        }
        return { restored, gone };
      });
    },

    /** One search page of a modification window, in id order; `lastId` continues it, undefined when done. */
    async syncWindowPage(input: PageInput & WindowQuery): Promise<PageResult & { lastId: string | undefined; total: number }> {
      return withHubSpot(deps, input, async (client, kind) => {
        const properties = await propertiesFor(deps, client, input);
        kind('search');
        const page = await searchWindowPage(client, input.objectType, properties, input);
        kind('general');
        const applied = await writePage(deps, client, input, await withAssociations(client, input.objectType, page.records));
        const full = page.records.length === SEARCH_PAGE_SIZE;
        return { fetched: page.records.length, applied, lastId: full ? page.records.at(-1)?.id : undefined, total: page.total };
      });
    },
  };
}
