import { WorkflowNotFoundError, type WorkflowHandle } from '@temporalio/client';

/** A continue-as-new takes a moment: an update that meets the closing run is sent again this often. */
const ATTEMPTS = 5;
const PAUSE_MS = 200;

/**
 * Runs an update on a long-lived workflow. An update that reaches a run just as it continues-as-new
 * fails with "workflow execution already completed"; the next run takes it, so try again briefly
 * before concluding that the workflow is gone.
 */
export async function executeUpdateAcrossRuns<Ret>(handle: WorkflowHandle, name: string, arg?: unknown): Promise<Ret> {
  for (let attempt = 1; ; attempt++) {
    try {
      return arg === undefined ? await handle.executeUpdate<Ret, []>(name) : await handle.executeUpdate<Ret, [unknown]>(name, { args: [arg] });
    } catch (error) {
      if (!(error instanceof WorkflowNotFoundError) || attempt >= ATTEMPTS) throw error;
      await new Promise((resolve) => setTimeout(resolve, PAUSE_MS));
    }
  }
}
