import {
  ActivityFailure,
  ApplicationFailure,
  ContinueAsNew,
  condition,
  isCancellation,
  continueAsNew,
  patched,
  getExternalWorkflowHandle,
  proxyActivities,
  setHandler,
  workflowInfo,
} from '@temporalio/workflow';
import type { createActivities } from '../activities/index.js';
// Constants only: the module's imports are types, erased from the workflow bundle.
import { LIST_PAGE_SIZE, SEARCH_PAGE_SIZE } from '../hubspot/crm.js';
import {
  syncControlSignal,
  syncFinishedSignal,
  syncProgressSignal,
  type ObjectSyncInput,
  type Priority,
  type SyncCursor,
  type SyncFinished,
} from './definitions.js';
import { PAGE_SYNC } from './options.js';

type Activities = ReturnType<typeof createActivities>;

/** A checkpoint reaches the connection every this many pages. */
const PAGES_PER_CHECKPOINT = 10;
/** Incremental windows start this much before the last one ended: search lags writes a little. */
export const INCREMENTAL_OVERLAP_MS = 30_000;

const PRIORITY: Record<SyncCursor['kind'], Priority> = { backfill: 'backfill', archived: 'backfill', incremental: 'incremental' };

function describeFailure(error: unknown): NonNullable<SyncFinished['error']> {
  const cause = error instanceof ActivityFailure ? error.cause : error;
  if (cause instanceof ApplicationFailure) {
    const resetAt = (cause.details?.[0] as { resetAt?: unknown } | undefined)?.resetAt;
    return { type: cause.type ?? 'ApplicationFailure', message: cause.message, ...(typeof resetAt === 'string' ? { resetAt } : {}) };
  }
  return { type: 'Unexpected', message: error instanceof Error ? error.message : String(error) };
}

/**
 * One sync run of one object type: page by page, one activity per page (fetch and write together,
 * returning counts and the next cursor, never the records). Reports checkpoints and its end to the
 * connection workflow by signal, so the connection can continue-as-new while this runs.
 */
export async function objectSyncWorkflow(input: ObjectSyncInput): Promise<SyncFinished> {
  // A proxy per call, so each activity carries a summary the Web UI shows ("contacts backfill page 37").
  const activities = (summary: string) => proxyActivities<Activities>({ ...PAGE_SYNC, summary: `${input.objectType} ${input.cursor.kind} ${summary}` });
  const parent = getExternalWorkflowHandle(input.parentWorkflowId);
  const childId = workflowInfo().workflowId;
  const call = { connectionId: input.connectionId, portalId: input.portalId, tier: input.tier, objectType: input.objectType, priority: PRIORITY[input.cursor.kind] };
  let cursor = input.cursor;
  const counts = { ...input.counts };
  let paused = input.paused ?? false;
  let stopRequested = false;
  let estimatedTotal: number | undefined;

  setHandler(syncControlSignal, (command) => {
    if (command === 'pause') paused = true;
    if (command === 'resume') paused = false;
    if (command === 'stop') stopRequested = true;
  });

  const finish = async (outcome: SyncFinished['outcome'], error?: SyncFinished['error']): Promise<SyncFinished> => {
    const report: SyncFinished = { childId, objectType: input.objectType, cursor, counts, outcome, ...(error ? { error } : {}), ...(estimatedTotal !== undefined ? { estimatedTotal } : {}) };
    await parent.signal(syncFinishedSignal, report);
    return report;
  };

  try {
    if (cursor.kind === 'backfill' && cursor.after === undefined && counts.pages === 0) {
      const described = await activities('count').describeObjects(call);
      estimatedTotal = described.total;
      // Tell the connection where incremental sync can start, so changes made during a long backfill arrive too.
      await parent.signal(syncProgressSignal, { childId, objectType: input.objectType, cursor, counts, estimatedTotal, latestModifiedMs: described.latestModifiedMs });
    }
    if (cursor.kind === 'incremental' && cursor.toMs === undefined) {
      const { latestModifiedMs } = await activities('window end').describeObjects(call);
      // Nothing modified since the window's start: the run is done before it begins.
      if (latestModifiedMs === null || latestModifiedMs < cursor.fromMs) return await finish('done');
      cursor = { ...cursor, toMs: latestModifiedMs };
    }

    for (;;) {
      await condition(() => !paused || stopRequested);
      if (stopRequested) return await finish('stopped');

      let done: boolean;
      if (cursor.kind === 'incremental') {
        const summary = `page ${counts.pages + 1}: up to ${SEARCH_PAGE_SIZE} records changed since ${new Date(cursor.fromMs).toISOString()}`;
        const page = await activities(summary).syncWindowPage({ ...call, fromMs: cursor.fromMs, toMs: cursor.toMs ?? cursor.fromMs, afterId: cursor.afterId });
        counts.fetched += page.fetched;
        counts.applied += page.applied;
        done = page.lastId === undefined;
        cursor = { ...cursor, ...(page.lastId ? { afterId: page.lastId } : {}) };
      } else {
        const archived = cursor.kind === 'archived';
        const summary = `page ${counts.pages + 1}: records ${counts.fetched + 1}–${counts.fetched + LIST_PAGE_SIZE}`;
        const page = await activities(summary).syncListPage({ ...call, after: cursor.after, archived, ...(archived ? { sweep: childId } : {}) });
        counts.fetched += page.fetched;
        counts.applied += page.applied;
        done = page.after === undefined;
        cursor = { kind: cursor.kind, ...(page.after ? { after: page.after } : {}) };
      }
      counts.pages += 1;
      if (done) {
        // A restore need not move the modification time incremental sync follows: the sweep's end
        // re-reads what the mirror holds as archived but this sweep no longer listed.
        if (cursor.kind === 'archived' && patched('archived-sweep-finds-restores')) {
          counts.applied += (await activities('restores').reconcileArchived({ ...call, sweep: childId })).restored;
        }
        return await finish('done');
      }
      if (counts.pages % PAGES_PER_CHECKPOINT === 0) {
        await parent.signal(syncProgressSignal, { childId, objectType: input.objectType, cursor, counts });
      }
      if (workflowInfo().continueAsNewSuggested) {
        await continueAsNew<typeof objectSyncWorkflow>({ ...input, cursor, counts, paused });
      }
    }
  } catch (error) {
    if (error instanceof ContinueAsNew || isCancellation(error)) throw error;
    // Retries are spent (or the failure is final): report it, keep the checkpoint, end cleanly.
    return await finish('failed', describeFailure(error));
  }
}
