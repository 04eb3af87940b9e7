import { responseFailure } from './errors.js';
import type { Client } from '@hubspot/api-client';

/**
 * Owners and pipelines through the official client, mapped to what src/db/crm.ts stores. Each
 * function is one HTTP request.
 */

/** The owners endpoint's largest page (HUBSPOT.md §3). */
export const OWNERS_PAGE_SIZE = 100;

/** The object types that have pipelines among those hubsync mirrors. */
export const PIPELINE_OBJECT_TYPES: readonly string[] = ['deals', 'tickets'];

export interface OwnerRow {
  id: string;
  updatedAt: Date | null;
  archived: boolean;
  /** The owner as HubSpot returned it. */
  data: unknown;
}

/** One page of active owners, or (with `archived`) of archived ones only, as HubSpot lists them apart. */
export async function ownersPage(client: Client, after: string | undefined, archived: boolean): Promise<{ owners: OwnerRow[]; after: string | undefined }> {
  const response = await client.crm.owners.ownersApi.getPage(undefined, after, OWNERS_PAGE_SIZE, archived);
  return {
    owners: response.results.map((owner) => ({ id: String(owner.id), updatedAt: owner.updatedAt ?? null, archived: owner.archived ?? archived, data: owner })),
    after: response.paging?.next?.after,
  };
}

/** Every pipeline of the type with its stages, as HubSpot returns them. */
export async function pipelinesOf(client: Client, objectType: string): Promise<Array<{ id: string; data: unknown }>> {
  const response = await client.crm.pipelines.pipelinesApi.getAll(objectType);
  return response.results.map((pipeline) => ({ id: pipeline.id, data: pipeline }));
}

/** The portal's time zone (IANA name), from HubSpot's account details: its daily limit resets at midnight there. */
export async function accountTimeZone(client: Client): Promise<string | null> {
  const response = await client.apiRequest({ method: 'GET', path: '/account-info/v3/details' });
  if (!response.ok) throw await responseFailure(response);
  const body = (await response.json()) as { timeZone?: unknown };
  return typeof body.timeZone === 'string' && body.timeZone !== '' ? body.timeZone : null;
}
