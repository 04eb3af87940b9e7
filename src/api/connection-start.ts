import { randomUUID } from 'node:crypto';
import { z } from 'zod';
import { insertConnection, type SealedTokens } from '../db/connections.js';
import { inTransaction } from '../db/transaction.js';
import { OBJECT_TYPE_PATTERN, STANDARD_OBJECT_TYPES } from '../hubspot/object-types.js';
import { createHubSpotClient } from '../hubspot/client.js';
import { propertyNames } from '../hubspot/crm.js';
import { resolveCustomObjectTypes } from '../hubspot/schemas.js';
import { defaultTier, TIER_LIMITS, type Tier } from '../hubspot/rate-budget.js';
import { connectionStatusKey, portalIdKey } from '../temporal/search-attributes.js';
import {
  CONNECTION_WORKFLOW_TYPE,
  connectionWorkflowId,
  type AuthType,
  type ConnectionConfig,
  type ConnectionWorkflowInput,
} from '../workflows/definitions.js';
import type { ApiDeps } from './app.js';
import { schedulePush } from './engagement-push-control.js';
import { HttpError } from './errors.js';

/** How a new connection is set up, the same for private-app tokens and OAuth installs. */

const DEFAULT_SYNC_INTERVAL_SECONDS = 60;

export const objectTypesSchema = z
  .array(z.string().regex(OBJECT_TYPE_PATTERN, 'expected contacts, companies, deals, tickets or a custom object name like p123_cars'))
  .min(1)
  .max(20)
  .refine((types) => new Set(types).size === types.length, 'must not repeat an object type');

export const syncIntervalSecondsSchema = z.number().int().min(10).max(86_400);

/** Per object type, the properties to mirror (every property when a type is left out). */
export const propertiesSchema = z.record(
  z.string().regex(OBJECT_TYPE_PATTERN, 'expected an object type of the connection'),
  z.array(z.string().regex(/^[a-z0-9_]+$/, 'expected a HubSpot property name')).min(1).max(1_000),
);

/** The portal's HubSpot tier sets the connection's request budget (HUBSPOT.md §5). */
export const tierSchema = z.enum(Object.keys(TIER_LIMITS) as [Tier, ...Tier[]]);

export function connectionConfig(
  request: { objectTypes?: string[] | undefined; syncIntervalSeconds?: number | undefined; properties?: Record<string, string[]> | undefined },
  customObjectTypeIds: Record<string, string> = {},
): ConnectionConfig {
  return {
    objectTypes: request.objectTypes ?? [...STANDARD_OBJECT_TYPES],
    syncIntervalSeconds: request.syncIntervalSeconds ?? DEFAULT_SYNC_INTERVAL_SECONDS,
    ...(Object.keys(customObjectTypeIds).length > 0 ? { customObjectTypeIds } : {}),
    ...(request.properties ? { properties: request.properties } : {}),
  };
}

/** A property list names only the connection's types, and only properties the portal has (Properties API): else 400 naming each. */
export async function checkProperties(apiBaseUrl: string, accessToken: string, objectTypes: readonly string[], properties: Record<string, string[]>): Promise<void> {
  const client = createHubSpotClient(apiBaseUrl, accessToken);
  const problems: string[] = [];
  for (const [type, names] of Object.entries(properties)) {
    if (!objectTypes.includes(type)) {
      problems.push(`properties.${type}: not one of the connection's object types (${objectTypes.join(', ')})`);
      continue;
    }
    const known = new Set(await propertyNames(client, type));
    for (const name of names) if (!known.has(name)) problems.push(`properties.${type}: unknown HubSpot property ${name} on ${type}`);
  }
  if (problems.length > 0) throw new HttpError(400, 'invalid_request', problems.join('; '));
}

/** The custom object types among `objectTypes`, checked against the portal: 400 naming those it does not have. */
export async function checkedCustomObjectTypes(apiBaseUrl: string, accessToken: string, portalId: number, objectTypes: readonly string[]): Promise<Record<string, string>> {
  const { unknown, typeIds } = await resolveCustomObjectTypes(apiBaseUrl, accessToken, objectTypes);
  if (unknown.length > 0) throw new HttpError(400, 'invalid_request', `objectTypes: portal ${portalId} has no custom object ${unknown.join(', ')}`);
  return typeIds;
}

export interface ConnectionStart {
  portalId: number;
  authType: AuthType;
  /** OAuth: the app installed in the portal. */
  appId?: number | undefined;
  config: ConnectionConfig;
  /** Omitted: OAuth installs get the public-app budget, private apps the smallest (free) one. */
  tier?: Tier | undefined;
  tokens: SealedTokens;
}

export interface StartedConnection {
  id: string;
  portalId: number;
  workflowId: string;
}

/**
 * Stores the connection with its sealed tokens and starts its workflow. Row and workflow appear
 * together: the transaction commits only once the workflow started. The workflow learns the
 * token's expiry, never the token. Then, with ENGAGEMENT_SETUP_ON_CONNECT, the engagement push
 * starts too, so its properties and timeline template are set up in the portal at once (the
 * template belongs to the app: only with HUBSPOT_APP_ID); otherwise, or should that fail, the push
 * starts with the first engagement events.
 */
export async function startConnection(
  { pool, temporal, taskQueue, log, hubspot, engagementSetupOnConnect }: Pick<ApiDeps, 'pool' | 'temporal' | 'taskQueue' | 'log' | 'engagementSetupOnConnect'> & {
    hubspot: { appId?: number | undefined };
  },
  start: ConnectionStart,
): Promise<StartedConnection> {
  const { portalId, authType, config, tokens } = start;
  const id = randomUUID();
  const workflowId = connectionWorkflowId(id);
  const input: ConnectionWorkflowInput = {
    connectionId: id,
    portalId,
    authType,
    config,
    tier: start.tier ?? defaultTier(authType),
    ...(tokens.expiresAt ? { tokenExpiresAt: tokens.expiresAt.toISOString() } : {}),
  };

  await inTransaction(pool, async (db) => {
    await insertConnection(db, { id, portalId, authType, workflowId, appId: start.appId, ...config }, tokens);
    await temporal.workflow.start(CONNECTION_WORKFLOW_TYPE, {
      workflowId,
      taskQueue,
      args: [input],
      typedSearchAttributes: [
        { key: portalIdKey, value: String(portalId) },
        { key: connectionStatusKey, value: 'active' },
      ],
      staticSummary: `HubSpot portal ${portalId} · ${authType === 'oauth' ? 'OAuth' : 'private app'}`,
      staticDetails: `Connection ${id}: ${config.objectTypes.join(', ')} every ${config.syncIntervalSeconds}s`,
    });
  });
  log.info({ connectionId: id, portalId, workflowId, authType }, 'connection created');
  if (engagementSetupOnConnect && hubspot.appId !== undefined) await schedulePush({ temporal, taskQueue, log }, { id, portalId, authType }, input.tier);
  return { id, portalId, workflowId };
}
