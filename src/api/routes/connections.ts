import { Router, type Request } from 'express';
import { WorkflowNotFoundError, WorkflowUpdateFailedError, type Client } from '@temporalio/client';
import type { UpdateDefinition } from '@temporalio/common';
import { z } from 'zod';
import { listConnections, sealedTokens, updateConnectionConfig, type ConnectionRow } from '../../db/connections.js';
import { storeTokens } from '../../db/tokens.js';
import { inTransaction } from '../../db/transaction.js';
import { OBJECT_TYPE_PATTERN } from '../../hubspot/object-types.js';
import { defaultTier } from '../../hubspot/rate-budget.js';
import { executeUpdateAcrossRuns } from '../../temporal/updates.js';
import { budgetKeyOf } from '../../activities/hubspot-session.js';
import { withAccessToken } from '../../activities/tokens.js';
import { checkAccessToken, TokenRejectedError } from '../../hubspot/token-check.js';
import {
  CONNECTION_STATUSES,
  configUpdate,
  pauseUpdate,
  reauthorizedSignal,
  resumeUpdate,
  resyncUpdate,
  statusQuery,
  stopUpdate,
  type ConfigChange,
  type ConnectionStatusView,
} from '../../workflows/definitions.js';
import type { ApiDeps } from '../app.js';
import { findConnection } from '../find-connection.js';
import { deleteConnection, deleteConnectionQuery } from '../connection-delete.js';
import {
  checkedCustomObjectTypes,
  checkProperties,
  connectionConfig,
  objectTypesSchema,
  propertiesSchema,
  startConnection,
  syncIntervalSecondsSchema,
  tierSchema,
} from '../connection-start.js';
import { HttpError, parseInput } from '../errors.js';

/** How long the API waits for a workflow to answer a query or update before saying so. */
const WORKFLOW_ANSWER_MS = 10_000;

/** A private app's access token (or service key), as POST /connections and PUT /connections/:id/token take it. */
const accessTokenSchema = z.string().trim().min(1, 'required');

export const createConnectionBody = z
  .object({
    accessToken: accessTokenSchema,
    objectTypes: objectTypesSchema.optional(),
    syncIntervalSeconds: syncIntervalSecondsSchema.optional(),
    tier: tierSchema.optional(),
    properties: propertiesSchema.optional(),
  })
  .strict();

export const replaceTokenBody = z.object({ accessToken: accessTokenSchema }).strict();

export const listQuery = z
  .object({
    status: z.enum(CONNECTION_STATUSES).optional(),
    portalId: z.coerce.number().int().positive().optional(),
    after: z.uuid().optional(),
    limit: z.coerce.number().int().min(1).max(500).default(100),
  })
  .strict();

export const resyncBody = z
  .object({
    objectType: z.string().regex(OBJECT_TYPE_PATTERN, 'expected an object type this connection syncs').optional(),
    since: z.iso.datetime({ offset: true, error: 'expected an ISO time with a UTC offset, e.g. 2026-01-01T00:00:00Z' }).optional(),
  })
  .strict();

export const configBody = z
  .object({
    objectTypes: objectTypesSchema.optional(),
    syncIntervalSeconds: syncIntervalSecondsSchema.optional(),
    webhookDebounceMs: z.number().int().min(0).max(60_000).optional(),
    properties: propertiesSchema.optional(),
  })
  .strict()
  .refine((change) => Object.keys(change).length > 0, 'expected at least one of objectTypes, syncIntervalSeconds, webhookDebounceMs, properties');

async function withDeadline<T>(temporal: Client, call: () => Promise<T>): Promise<T> {
  return temporal.withDeadline(Date.now() + WORKFLOW_ANSWER_MS, call);
}

export function connectionRoutes(deps: ApiDeps): Router {
  const { pool, temporal, cipher } = deps;
  const router = Router();


  /** The workflow's own view, or why it could not be read. */
  async function liveStatus(connection: ConnectionRow): Promise<ConnectionStatusView | { unavailable: string }> {
    try {
      return await withDeadline(temporal, () => temporal.workflow.getHandle(connection.workflowId).query(statusQuery));
    } catch (error) {
      return { unavailable: error instanceof Error ? error.message : String(error) };
    }
  }

  /** The token's portal, as HubSpot says; a token HubSpot refuses is the caller's 400, with HubSpot's reason. */
  async function portalOfToken(accessToken: string): Promise<number> {
    try {
      return (await checkAccessToken(deps.hubspot.apiBaseUrl, accessToken)).portalId;
    } catch (error) {
      if (error instanceof TokenRejectedError) throw new HttpError(400, 'invalid_access_token', error.message);
      throw error;
    }
  }

  router.post('/connections', async (req, res) => {
    const body = parseInput(createConnectionBody, req.body);
    const portalId = await portalOfToken(body.accessToken);

    const typeIds = await checkedCustomObjectTypes(deps.hubspot.apiBaseUrl, body.accessToken, portalId, body.objectTypes ?? []);
    const config = connectionConfig(body, typeIds);
    if (config.properties) await checkProperties(deps.hubspot.apiBaseUrl, body.accessToken, config.objectTypes, config.properties);
    const tokens = sealedTokens(cipher.seal(body.accessToken), null, null);
    const started = await startConnection(deps, { portalId, authType: 'private_app', config, tier: body.tier, tokens });
    res.status(201).json(started);
  });

  router.get('/connections', async (req, res) => {
    const query = parseInput(listQuery, req.query);
    const connections = await listConnections(pool, query);
    const last = connections.at(-1);
    res.json({ connections, next: connections.length === query.limit && last ? last.id : null });
  });

  router.get('/connections/:id', async (req, res) => {
    const connection = await findConnection(pool, req);
    const live = await liveStatus(connection);
    // The tier lives in the workflow; while it cannot answer, the default a new connection gets.
    const tier = 'tier' in live ? live.tier : defaultTier(connection.authType);
    const rateBudget = { tier, ...(await deps.budget.snapshot(budgetKeyOf(connection), { tier })) };
    res.json({ ...connection, live, rateBudget });
  });

  /** Runs a control update on the connection's workflow; a refusal by the workflow is a 409 with its reason. */
  async function control(
    target: Request | ConnectionRow,
    action: string,
    update: Pick<UpdateDefinition<ConnectionStatusView>, 'name'>,
    arg?: unknown,
  ): Promise<ConnectionStatusView> {
    const connection = 'workflowId' in target ? target : await findConnection(pool, target);
    // An operator's change to a connection: who asked is the token, what and where is this line.
    deps.log.info({ connectionId: connection.id, workflowId: connection.workflowId, action }, 'connection control');
    try {
      const handle = temporal.workflow.getHandle(connection.workflowId);
      return await withDeadline(temporal, () => executeUpdateAcrossRuns<ConnectionStatusView>(handle, update.name, arg));
    } catch (error) {
      if (error instanceof WorkflowUpdateFailedError) {
        throw new HttpError(409, 'conflict', `cannot ${action}: ${error.cause?.message ?? error.message}`);
      }
      if (error instanceof WorkflowNotFoundError) {
        throw new HttpError(409, 'conflict', `cannot ${action}: the connection's workflow is not running`);
      }
      throw error;
    }
  }

  for (const [action, update] of [
    ['pause', pauseUpdate],
    ['resume', resumeUpdate],
    ['stop', stopUpdate],
  ] as const) {
    router.post(`/connections/:id/${action}`, async (req, res) => {
      res.json(await control(req, action, update));
    });
  }

  router.patch('/connections/:id', async (req, res) => {
    const change: ConfigChange = parseInput(configBody, req.body ?? {});
    const connection = await findConnection(pool, req);
    // New custom types and property lists are checked against the portal as at creation, with the stored token.
    const objectTypes = change.objectTypes ?? connection.objectTypes;
    if (change.objectTypes || change.properties) {
      await withAccessToken(deps, connection.id, async (token) => {
        if (change.objectTypes) change.customObjectTypeIds = await checkedCustomObjectTypes(deps.hubspot.apiBaseUrl, token, connection.portalId, objectTypes);
        if (change.properties) await checkProperties(deps.hubspot.apiBaseUrl, token, objectTypes, change.properties);
      });
    }
    const view = await control(connection, 'change the configuration', configUpdate, change);
    await updateConnectionConfig(pool, view.connectionId, view.config);
    res.json(view);
  });

  // A private app's token is replaced here (rotated, or revoked in HubSpot: the connection waits
  // in reauth_required and resumes from its cursors); OAuth connections install again instead.
  router.put('/connections/:id/token', async (req, res) => {
    const { accessToken } = parseInput(replaceTokenBody, req.body ?? {});
    const connection = await findConnection(pool, req);
    if (connection.authType !== 'private_app') {
      throw new HttpError(409, 'conflict', 'an OAuth connection gets new tokens by installing the app again (GET /oauth/install)');
    }
    const portalId = await portalOfToken(accessToken);
    if (portalId !== connection.portalId) {
      throw new HttpError(400, 'invalid_access_token', `accessToken: the token belongs to portal ${portalId}, this connection to portal ${connection.portalId}`);
    }
    await inTransaction(pool, (db) => storeTokens(db, connection.id, sealedTokens(cipher.seal(accessToken), null, null), false));
    try {
      await withDeadline(temporal, () => temporal.workflow.getHandle(connection.workflowId).signal(reauthorizedSignal, { tokenExpiresAt: null }));
    } catch (error) {
      if (error instanceof WorkflowNotFoundError) throw new HttpError(409, 'conflict', "the token is stored, but the connection's workflow is not running");
      throw error;
    }
    deps.log.info({ connectionId: connection.id, workflowId: connection.workflowId }, 'private-app token replaced');
    res.json({ id: connection.id, portalId, workflowId: connection.workflowId });
  });

  router.post('/connections/:id/resync', async (req, res) => {
    const body = parseInput(resyncBody, req.body ?? {});
    const connection = await findConnection(pool, req);
    // The workflow's validator would refuse it too, but as a 409 after a round trip: a type the
    // connection does not sync is the caller's mistake, answered here before any workflow sees it.
    // The stored row follows every config update (PATCH writes it back), so it knows the types.
    if (body.objectType !== undefined && !connection.objectTypes.includes(body.objectType)) {
      throw new HttpError(400, 'invalid_request', `objectType: ${body.objectType} is not synced by this connection (it syncs ${connection.objectTypes.join(', ')})`);
    }
    res.json(await control(connection, 'resync', resyncUpdate, body));
  });

  router.delete('/connections/:id', async (req, res) => {
    const { purge } = parseInput(deleteConnectionQuery, req.query);
    res.json(await deleteConnection(deps, await findConnection(pool, req), purge));
  });

  return router;
}
