import {
  ActivityFailure,
  ApplicationFailure,
  allHandlersFinished,
  condition,
  continueAsNew,
  patched,
  proxyActivities,
  setHandler,
  sleep,
  workflowInfo,
} from '@temporalio/workflow';
import type { createActivities } from '../activities/index.js';
import { drainOutboxSignal, pushStatusQuery, type EngagementPushInput, type PushState } from './engagement-definitions.js';
import { ENGAGEMENT_PAGE } from './options.js';

type Activities = ReturnType<typeof createActivities>;

/** After a page or the set-up failed past its retries, wait this long before draining again. */
const RETRY_AFTER_FAILURE = '1 minute';
/** A page whose every event HubSpot refused for now (207 with transient errors) waits this long. */
const RETRY_PARTIAL_AFTER = '10 seconds';
/**
 * How often a running push looks at the outbox unasked. The outbox is the queue and a signal only
 * says "look again", so an event whose signal never came (POST answered `pushScheduled: false`)
 * waits at most this long; an idle look is one PostgreSQL-only activity.
 */
const RECHECK_INTERVAL = '5 minutes';
/**
 * Runs started before this patch wait for signals only, end only by termination, and sleep through
 * a signal after a failure; runs with it re-check on a timer, end when the connection is stopped or
 * deleted, wake on a signal after a failure, and stop re-running a set-up HubSpot keeps refusing.
 */
const LIFECYCLE_PATCH = 'engagement-push-lifecycle';

const { ensureEngagementSetup, pushEngagementPage } = proxyActivities<Activities>({ ...ENGAGEMENT_PAGE, summary: 'engagement push' });

function describe(error: unknown): string {
  const cause = error instanceof ActivityFailure ? error.cause : error;
  if (cause instanceof ApplicationFailure) return `${cause.type ?? 'ApplicationFailure'}: ${cause.message}`;
  return error instanceof Error ? error.message : String(error);
}

/**
 * Pushes a connection's email engagement to HubSpot (issue 7). The outbox in PostgreSQL is the
 * queue; a `drainOutbox` signal only says "look again", so a lost or repeated signal loses and
 * duplicates nothing, and a timer looks again unasked. Pages return counts, never records. Every
 * activity reads the connection's status first: the push holds while the connection is paused and
 * completes once it is stopped or deleted. Continues-as-new when Temporal suggests it.
 */
export async function engagementPushWorkflow(input: EngagementPushInput): Promise<void> {
  const call = { connectionId: input.connectionId, portalId: input.portalId, tier: input.tier };
  // A fresh start drains at once: events may have arrived while nothing ran.
  const state: PushState = input.state ?? { done: 0, parked: 0, outboxDepth: 0, pages: 0, lastRunAt: null, lastError: null, drainRequested: true };
  const lifecycle = patched(LIFECYCLE_PATCH);
  let setupChecked = false;

  setHandler(drainOutboxSignal, () => {
    state.drainRequested = true;
  });
  setHandler(pushStatusQuery, () => state);

  /** Pushes page after page until the outbox is empty; `ended` once the connection is stopped or gone. */
  async function drain(): Promise<'idle' | 'ended'> {
    let setupRan = false;
    for (;;) {
      if (!setupChecked) {
        const setup = await ensureEngagementSetup(call);
        if (setup.connection === 'ended') return 'ended';
        if (setup.connection === 'held') return 'idle';
        setupChecked = true;
        setupRan = true;
      }
      const page = await pushEngagementPage(call);
      if (page.connection === 'ended') return 'ended';
      if (page.connection === 'held') return 'idle';
      if (page.setupMissing) {
        // Verified a moment ago and refused again: no set-up repairs that (e.g. the trigger
        // property was deleted in HubSpot). Wait like any failure instead of looping.
        if (lifecycle && setupRan) throw ApplicationFailure.create({ type: 'EngagementSetupRefused', message: 'HubSpot refuses the push right after the set-up was verified' });
        setupChecked = false;
        continue;
      }
      state.pages += 1;
      state.done = page.done;
      state.parked = page.parked;
      state.outboxDepth = page.remaining;
      state.lastRunAt = new Date().toISOString();
      state.lastError = null;
      if (page.remaining === 0) return 'idle';
      // Only items HubSpot refused for now (a 207) are left: give them a moment before the next try.
      if (!page.progressed) await sleep(RETRY_PARTIAL_AFTER);
      if (workflowInfo().continueAsNewSuggested) {
        state.drainRequested = true;
        return 'idle';
      }
    }
  }

  const woken = () => state.drainRequested || workflowInfo().continueAsNewSuggested;
  for (;;) {
    if (lifecycle) await condition(woken, input.recheckInterval ?? RECHECK_INTERVAL);
    else await condition(woken);
    if (workflowInfo().continueAsNewSuggested) {
      await condition(allHandlersFinished);
      await continueAsNew<typeof engagementPushWorkflow>({ ...input, state });
    }
    state.drainRequested = false;
    try {
      if ((await drain()) === 'ended') return;
    } catch (error) {
      // Retries are spent (HubSpot down for a while): keep the outbox and try again later, or sooner when asked.
      state.lastError = describe(error);
      if (lifecycle) await condition(() => state.drainRequested, RETRY_AFTER_FAILURE);
      else await sleep(RETRY_AFTER_FAILURE);
      state.drainRequested = true;
    }
  }
}
