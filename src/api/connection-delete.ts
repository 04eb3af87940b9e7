import {
  isGrpcDeadlineError,
  WorkflowFailedError,
  WorkflowNotFoundError,
  WorkflowUpdateFailedError,
  WorkflowUpdateRPCTimeoutOrCancelledError,
  type Client,
} from '@temporalio/client';
import { z } from 'zod';
import { createTokenActivities } from '../activities/tokens.js';
import { retireConnection } from '../db/connection-removal.js';
import { setConnectionStatus, type ConnectionRow } from '../db/connections.js';
import { OAuthRequestError } from '../hubspot/oauth.js';
import { stopUpdate } from '../workflows/definitions.js';
import type { ApiDeps } from './app.js';
import { endPush } from './engagement-push-control.js';
import { HttpError } from './errors.js';

/** How a connection is taken down: DELETE /connections/:id. */

/** In-flight work finishes at a page boundary; a page rarely takes more than a few seconds. */
const STOP_WAIT_MS = 60_000;

export const deleteConnectionQuery = z
  .object({
    purge: z
      .enum(['true', 'false'], 'expected true or false')
      .default('false')
      .transform((value) => value === 'true'),
  })
  .strict();

export interface DeletedConnection {
  id: string;
  status: 'stopped';
  /** The mirrored rows are gone. */
  purged: boolean;
  /** The OAuth refresh token is revoked at HubSpot (private-app tokens have none to revoke). */
  revoked: boolean;
}

/**
 * Stops the workflow and waits for it to finish, ends the engagement push, revokes the refresh
 * token, then forgets the tokens and (with `purge`) the mirror. Every step is a no-op when already
 * done, so a repeated or retried DELETE answers the same; a failed step leaves the later ones for
 * the retry.
 */
export async function deleteConnection(
  deps: Pick<ApiDeps, 'pool' | 'temporal' | 'cipher' | 'hubspot' | 'log'>,
  connection: ConnectionRow,
  purge: boolean,
): Promise<DeletedConnection> {
  await stopAndWait(deps.temporal, connection.workflowId);
  // The connection workflow records `stopped` as it ends; said again for one that ended otherwise,
  // because the push workflow ends on reading it.
  await setConnectionStatus(deps.pool, connection.id, 'stopped');
  await endPush(deps, connection.id);
  // Only once the workflow is done: a refresh timer must not find the token revoked and report reauth_required.
  const revoked = connection.authType === 'oauth';
  if (revoked) await revokeRefreshToken(deps, connection.id);
  await retireConnection(deps.pool, connection.id, purge);
  deps.log.info({ connectionId: connection.id, purged: purge, revoked }, 'connection deleted');
  return { id: connection.id, status: 'stopped', purged: purge, revoked };
}

/** Sends `stop` unless the workflow already ended, and waits (bounded) until it has. */
async function stopAndWait(temporal: Client, workflowId: string): Promise<void> {
  const handle = temporal.workflow.getHandle(workflowId);
  try {
    await temporal.withDeadline(Date.now() + STOP_WAIT_MS, async () => {
      const { status } = await handle.describe();
      if (status.name !== 'RUNNING') return;
      try {
        await handle.executeUpdate(stopUpdate);
      } catch (error) {
        // The workflow refuses a second stop while it is stopping: waiting is all that is left.
        if (!(error instanceof WorkflowUpdateFailedError)) throw error;
      }
      await handle.result();
    });
  } catch (error) {
    // Gone from Temporal (past retention), or ended some other way (terminated, failed): it runs no more.
    if (error instanceof WorkflowNotFoundError || error instanceof WorkflowFailedError) return;
    if (error instanceof WorkflowUpdateRPCTimeoutOrCancelledError || isGrpcDeadlineError(error)) {
      throw new HttpError(
        504,
        'stop_timeout',
        `the connection's workflow did not finish its in-flight work within ${STOP_WAIT_MS / 1000} s; it keeps stopping: send DELETE again later`,
      );
    }
    throw error;
  }
}

/** The revokeConnectionTokens activity (revoke at HubSpot, then forget the refresh token), called directly: the workflow has ended. */
async function revokeRefreshToken(deps: Pick<ApiDeps, 'pool' | 'cipher' | 'hubspot' | 'log'>, connectionId: string): Promise<void> {
  try {
    await createTokenActivities(deps).revokeConnectionTokens(connectionId);
  } catch (error) {
    // The tokens stay stored, so a later DELETE can revoke them. The message names no secret (oauth.ts scrubs it).
    if (error instanceof OAuthRequestError) throw new HttpError(502, 'hubspot_unavailable', `could not revoke the refresh token: ${error.message}`);
    throw error;
  }
}
