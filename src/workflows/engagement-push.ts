import { ActivityFailure, ApplicationFailure, allHandlersFinished, condition, continueAsNew, proxyActivities, setHandler, sleep, workflowInfo } from '@temporalio/workflow';
import type { createActivities } from '../activities/index.js';
import { drainOutboxSignal, pushStatusQuery, type EngagementPushInput, type PushState } from './engagement-definitions.js';
import { ENGAGEMENT_PAGE } from './options.js';

type Activities = ReturnType<typeof createActivities>;

/** After a page or the set-up failed past its retries, wait this long before draining again. */
const RETRY_AFTER_FAILURE = '1 minute';
/** A page whose every event HubSpot refused for now (207 with transient errors) waits this long. */
const RETRY_PARTIAL_AFTER = '10 seconds';

const { ensureEngagementSetup, pushEngagementPage } = proxyActivities<Activities>({ ...ENGAGEMENT_PAGE, summary: 'engagement push' });

function describe(error: unknown): string {
  const cause = error instanceof ActivityFailure ? error.cause : error;
  if (cause instanceof ApplicationFailure) return `${cause.type ?? 'ApplicationFailure'}: ${cause.message}`;
  return error instanceof Error ? error.message : String(error);
}

/**
 * Pushes a connection's email engagement to HubSpot (issue 7). The outbox in PostgreSQL is the
 * queue; a `drainOutbox` signal only says "look again", so a lost or repeated signal loses and
 * duplicates nothing. Pages return counts, never records. Runs until the connection goes away,
 * continuing-as-new when Temporal suggests it.
 */
export async function engagementPushWorkflow(input: EngagementPushInput): Promise<void> {
  const call = { connectionId: input.connectionId, portalId: input.portalId, tier: input.tier };
  // A fresh start drains at once: events may have arrived while nothing ran.
  const state: PushState = input.state ?? { done: 0, parked: 0, outboxDepth: 0, pages: 0, lastRunAt: null, lastError: null, drainRequested: true };
  let setupChecked = false;

  setHandler(drainOutboxSignal, () => {
    state.drainRequested = true;
  });
  setHandler(pushStatusQuery, () => state);

  for (;;) {
    await condition(() => state.drainRequested || workflowInfo().continueAsNewSuggested);
    if (workflowInfo().continueAsNewSuggested) {
      await condition(allHandlersFinished);
      await continueAsNew<typeof engagementPushWorkflow>({ ...input, state });
    }
    state.drainRequested = false;
    try {
      for (;;) {
        if (!setupChecked) {
          await ensureEngagementSetup(call);
          setupChecked = true;
        }
        const page = await pushEngagementPage(call);
        if (page.setupMissing) {
          setupChecked = false;
          continue;
        }
        state.pages += 1;
        state.done = page.done;
        state.parked = page.parked;
        state.outboxDepth = page.remaining;
        state.lastRunAt = new Date().toISOString();
        state.lastError = null;
        if (page.remaining === 0) break;
        // Only items HubSpot refused for now (a 207) are left: give them a moment before the next try.
        if (!page.progressed) await sleep(RETRY_PARTIAL_AFTER);
        if (workflowInfo().continueAsNewSuggested) {
          state.drainRequested = true;
          break;
        }
      }
    } catch (error) {
      // Retries are spent (HubSpot down for a while): keep the outbox and try again later.
      state.lastError = describe(error);
      await sleep(RETRY_AFTER_FAILURE);
      state.drainRequested = true;
    }
  }
}
