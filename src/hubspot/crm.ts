import type { Client } from '@hubspot/api-client';
import type { MirroredAssociation, MirroredRecord } from '../db/crm.js';

/**
 * The CRM reads a sync needs, through the official client, mapped to mirror rows. Each function is
 * one HTTP request.
 */

export const LIST_PAGE_SIZE = 100;
export const SEARCH_PAGE_SIZE = 200;

interface HubSpotRecord {
  id: string;
  properties: Record<string, string | null>;
  createdAt?: Date;
  updatedAt?: Date;
  archived?: boolean;
  archivedAt?: Date;
}

export function toMirrored(record: HubSpotRecord): MirroredRecord {
  return {
    id: String(record.id),
    properties: record.properties,
    createdAt: record.createdAt ?? null,
    updatedAt: record.updatedAt ?? new Date(0),
    archived: record.archived ?? false,
    archivedAt: record.archivedAt ?? null,
  };
}

export interface Page {
  records: MirroredRecord[];
  /** The cursor of the next page; undefined on the last one. */
  after: string | undefined;
}

export async function listPage(client: Client, objectType: string, properties: string[], after: string | undefined, archived = false): Promise<Page> {
  const response = await client.crm.objects.basicApi.getPage(objectType, LIST_PAGE_SIZE, after, properties, undefined, undefined, archived);
  return { records: response.results.map(toMirrored), after: response.paging?.next?.after };
}

/** The property HubSpot bumps on every change of a record of this type. */
export function modifiedProperty(objectType: string): string {
  return objectType === 'contacts' ? 'lastmodifieddate' : 'hs_lastmodifieddate';
}

export interface WindowQuery {
  /** Modified at or after (ms). */
  fromMs: number;
  /** Modified at or before (ms). */
  toMs: number;
  /** Only records with a larger hs_object_id: the keyset that pages through the window. */
  afterId: string | undefined;
}

/**
 * One page of records modified within a time window, in hs_object_id order. Paging by an id
 * filter instead of `after` never reaches search's 10,000-result cap, and a flood of records with
 * one identical timestamp still makes progress: every page moves the id forward.
 */
export async function searchWindowPage(client: Client, objectType: string, properties: string[], query: WindowQuery): Promise<{ records: MirroredRecord[]; total: number }> {
  const modified = modifiedProperty(objectType);
  const filters = [
    { propertyName: modified, operator: 'GTE', value: String(query.fromMs) },
    { propertyName: modified, operator: 'LTE', value: String(query.toMs) },
    ...(query.afterId ? [{ propertyName: 'hs_object_id', operator: 'GT', value: query.afterId }] : []),
  ];
  // The client types `sorts` as strings; HubSpot documents objects, which is what we send.
  const request = {
    filterGroups: [{ filters }],
    sorts: [{ propertyName: 'hs_object_id', direction: 'ASCENDING' }],
    properties,
    limit: SEARCH_PAGE_SIZE,
  };
  const response = await client.crm.objects.searchApi.doSearch(objectType, request as never);
  return { records: response.results.map(toMirrored), total: response.total };
}

/** HubSpot's association batch read takes at most this many inputs. */
const ASSOCIATION_BATCH_SIZE = 1_000;

/** Current associations of these records to one other type, all pages of each input: one request per 1,000 records (and per further page). */
export async function readAssociations(client: Client, fromType: string, toType: string, ids: string[]): Promise<MirroredAssociation[]> {
  const associations: MirroredAssociation[] = [];
  for (let start = 0; start < ids.length; start += ASSOCIATION_BATCH_SIZE) {
    associations.push(...(await readAssociationBatch(client, fromType, toType, ids.slice(start, start + ASSOCIATION_BATCH_SIZE))));
  }
  return associations;
}

async function readAssociationBatch(client: Client, fromType: string, toType: string, ids: string[]): Promise<MirroredAssociation[]> {
  const associations: MirroredAssociation[] = [];
  let inputs = ids.map((id) => ({ id }));
  // Per-input paging: an input with more associations than one page comes back with a cursor.
  while (inputs.length > 0) {
    const response = await client.crm.associations.v4.batchApi.getPage(fromType, toType, { inputs } as never);
    const next: Array<{ id: string; after: string }> = [];
    for (const result of response.results) {
      const fromId = String(result._from.id);
      for (const target of result.to) {
        for (const type of target.associationTypes) {
          associations.push({ fromId, toId: String(target.toObjectId), typeId: type.typeId, category: type.category, label: type.label ?? null });
        }
      }
      const after = result.paging?.next?.after;
      if (after) next.push({ id: fromId, after });
    }
    inputs = next;
  }
  return associations;
}

export async function propertyNames(client: Client, objectType: string): Promise<string[]> {
  const response = await client.crm.properties.coreApi.getAll(objectType);
  return response.results.map((property) => property.name).sort();
}

/**
 * How many live records there are and the newest modification time, in HubSpot's own clock: the
 * upper bound of an incremental window, so skew between our clock and HubSpot's loses nothing.
 */
export async function describeRecords(client: Client, objectType: string): Promise<{ total: number; latestModifiedMs: number | null }> {
  const modified = modifiedProperty(objectType);
  const request = { filterGroups: [], sorts: [{ propertyName: modified, direction: 'DESCENDING' }], properties: [modified], limit: 1 };
  const response = await client.crm.objects.searchApi.doSearch(objectType, request as never);
  const latest = response.results[0];
  const value = latest?.properties[modified] ?? latest?.updatedAt?.toISOString();
  // HubSpot answers datetimes as ISO strings; epoch milliseconds are accepted too.
  return { total: response.total, latestModifiedMs: value ? (/^\d+$/.test(value) ? Number(value) : Date.parse(value)) : null };
}

/** Current versions of up to 100 records by id; ids HubSpot does not find are left out. */
export async function batchRead(client: Client, objectType: string, ids: string[], properties: string[], archived: boolean): Promise<MirroredRecord[]> {
  if (ids.length === 0) return [];
  const response = await client.crm.objects.batchApi.read(objectType, { inputs: ids.map((id) => ({ id })), properties, propertiesWithHistory: [] }, archived);
  return response.results.map(toMirrored);
}
