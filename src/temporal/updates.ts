import { randomUUID } from 'node:crypto';
import { ServiceError, WorkflowNotFoundError, isGrpcServiceError, type WorkflowHandle } from '@temporalio/client';

/** A continue-as-new takes a moment: an update that meets the closing run is sent again this often. */
const ATTEMPTS = 5;
const PAUSE_MS = 200;
/** gRPC status FAILED_PRECONDITION. */
const FAILED_PRECONDITION = 9;

/**
 * Whether the update never took effect and may simply be sent again:
 * - it reached a run just as that run continued-as-new ("workflow execution already completed");
 *   the next run takes it;
 * - the server refused the workflow task that carried it, e.g. because that task continued-as-new
 *   while another event arrived (UnhandledCommand); the server then aborts the update with
 *   FAILED_PRECONDITION and nothing of it is in the history.
 */
function notApplied(error: unknown): boolean {
  if (error instanceof WorkflowNotFoundError) return true;
  return error instanceof ServiceError && isGrpcServiceError(error.cause) && error.cause.code === FAILED_PRECONDITION;
}

/**
 * Runs an update on a long-lived workflow, sending it again briefly while it did not take effect.
 * Every attempt carries the same update id, so an attempt that did apply is never applied twice.
 */
export async function executeUpdateAcrossRuns<Ret>(handle: WorkflowHandle, name: string, arg?: unknown): Promise<Ret> {
  const updateId = randomUUID();
  for (let attempt = 1; ; attempt++) {
    try {
      return arg === undefined
        ? await handle.executeUpdate<Ret, []>(name, { updateId })
        : await handle.executeUpdate<Ret, [unknown]>(name, { args: [arg], updateId });
    } catch (error) {
      if (!notApplied(error) || attempt >= ATTEMPTS) throw error;
      await new Promise((resolve) => setTimeout(resolve, PAUSE_MS));
    }
  }
}
