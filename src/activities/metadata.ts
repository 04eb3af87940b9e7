import { upsertOwners, replacePipelines } from '../db/crm.js';
import { inTransaction } from '../db/transaction.js';
import { setConnectionTimeZone } from '../db/connections.js';
import { accountTimeZone, ownersPage, PIPELINE_OBJECT_TYPES, pipelinesOf, type OwnerRow } from '../hubspot/metadata.js';
import { withHubSpot, type CallContext, type HubSpotDeps } from './hubspot-session.js';

export interface MetadataInput extends CallContext {
  /** The connection's object types; pipelines are read for those that have them (deals, tickets). */
  objectTypes: string[];
}

export interface MetadataCounts {
  owners: number;
  pipelines: number;
}

export function createMetadataActivities(deps: HubSpotDeps) {
  return {
    /**
     * Mirrors every owner (active and archived), the pipelines with their stages, and the portal's
     * time zone (where HubSpot's daily limit resets). All reads
     * happen before one transaction writes them, so a retry after any failure rewrites the same
     * rows (promise 3). Returns counts only.
     */
    async syncOwnersAndPipelines(input: MetadataInput): Promise<MetadataCounts> {
      // Owners and pipelines change rarely and nothing waits for them: they queue behind every record page.
      const ctx: CallContext = { ...input, priority: 'backfill' };
      const { owners, pipelines, timeZone } = await withHubSpot(deps, ctx, async (client) => {
        const owners: OwnerRow[] = [];
        // HubSpot lists archived owners only when asked for them, and then only them.
        for (const archived of [false, true]) {
          let after: string | undefined;
          do {
            const page = await ownersPage(client, after, archived);
            owners.push(...page.owners);
            after = page.after;
          } while (after);
        }
        const pipelines = [];
        for (const objectType of input.objectTypes.filter((type) => PIPELINE_OBJECT_TYPES.includes(type))) {
          pipelines.push({ objectType, rows: await pipelinesOf(client, objectType) });
        }
        return { owners, pipelines, timeZone: await accountTimeZone(client) };
      });

      await inTransaction(deps.pool, async (db) => {
        await upsertOwners(db, input.connectionId, owners);
        for (const { objectType, rows } of pipelines) await replacePipelines(db, input.connectionId, objectType, rows);
        await setConnectionTimeZone(db, input.connectionId, timeZone);
      });
      return { owners: owners.length, pipelines: pipelines.reduce((n, p) => n + p.rows.length, 0) };
    },
  };
}
