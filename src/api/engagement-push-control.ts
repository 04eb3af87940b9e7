import { isGrpcDeadlineError, WorkflowFailedError, WorkflowNotFoundError } from '@temporalio/client';
import type { ConnectionRow } from '../db/connections.js';
import { defaultTier, type Tier } from '../hubspot/rate-budget.js';
import { drainOutboxSignal, ENGAGEMENT_PUSH_WORKFLOW, pushWorkflowId, type EngagementPushInput } from '../workflows/engagement-definitions.js';
import type { ApiDeps } from './app.js';
import { HttpError } from './errors.js';

/** How the API starts, wakes and ends a connection's engagement push workflow. */

/** A push ends at its next look, or after the step in flight: seconds, unless HubSpot is in a retry backoff. */
const END_WAIT_MS = 30_000;

/** A stopped connection pushes no more: what it is given would wait for ever. */
export function refuseWhenStopped(connection: ConnectionRow, action: string): void {
  if (connection.status === 'stopping' || connection.status === 'stopped') {
    throw new HttpError(409, 'conflict', `cannot ${action}: the connection is ${connection.status}`);
  }
}

/**
 * Wakes the connection's push workflow, starting it if needed (it verifies the set-up first).
 * Returns false when Temporal did not take the signal: the outbox keeps the events, and the running
 * workflow's periodic look (or the next request) finds them.
 */
export async function schedulePush(
  deps: Pick<ApiDeps, 'temporal' | 'taskQueue' | 'log'>,
  connection: Pick<ConnectionRow, 'id' | 'portalId' | 'authType'>,
  tier?: Tier,
): Promise<boolean> {
  const input: EngagementPushInput = {
    connectionId: connection.id,
    portalId: connection.portalId,
    // The same default tier a new connection gets; the rate budget also adapts to HubSpot's headers.
    tier: tier ?? defaultTier(connection.authType),
  };
  try {
    await deps.temporal.workflow.signalWithStart(ENGAGEMENT_PUSH_WORKFLOW, {
      workflowId: pushWorkflowId(connection.id),
      taskQueue: deps.taskQueue,
      args: [input],
      signal: drainOutboxSignal,
      signalArgs: [],
    });
    return true;
  } catch (error) {
    deps.log.warn({ connectionId: connection.id, err: error instanceof Error ? error.message : String(error) }, 'engagement push not signalled');
    return false;
  }
}

/**
 * For a connection whose status is already `stopped`: wakes its push workflow, which reads that
 * status and completes, and waits (bounded) until it has, so the step in flight finishes before
 * the tokens go. Past the wait it proceeds: every push activity reads the status before calling
 * HubSpot, so the push sends nothing more either way.
 */
export async function endPush(deps: Pick<ApiDeps, 'temporal' | 'log'>, connectionId: string): Promise<void> {
  const handle = deps.temporal.workflow.getHandle(pushWorkflowId(connectionId));
  try {
    await deps.temporal.withDeadline(Date.now() + END_WAIT_MS, async () => {
      await handle.signal(drainOutboxSignal);
      await handle.result();
    });
  } catch (error) {
    // Never started, already ended, or ended some other way (terminated): it runs no more.
    if (error instanceof WorkflowNotFoundError || error instanceof WorkflowFailedError) return;
    if (!isGrpcDeadlineError(error)) throw error;
    deps.log.warn({ connectionId }, `engagement push still finishing a step after ${END_WAIT_MS / 1000} s; it ends on its own`);
  }
}
