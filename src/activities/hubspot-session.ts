import { ApplicationFailure, CancelledFailure } from '@temporalio/common';
import { Context } from '@temporalio/activity';
import type { Client } from '@hubspot/api-client';
import { createHubSpotClient, type RequestHooks } from '../hubspot/client.js';
import { applicationFailureFor, classifyHubSpotError } from '../hubspot/errors.js';
import type { BudgetKey, Priority, RateBudget, Tier } from '../hubspot/rate-budget.js';
import { withAccessToken, type TokenDeps } from './tokens.js';

export interface HubSpotDeps extends TokenDeps {
  budget: RateBudget;
}

/** Who is calling HubSpot, and how urgently: realtime work goes before incremental, before backfill. */
export interface CallContext {
  connectionId: string;
  portalId: number;
  tier: Tier;
  priority: Priority;
  /** The OAuth app of the token: HubSpot counts an app's requests per installing portal, apart from other apps'. */
  appId?: number | null;
}

/** The budget a call draws on: the portal's, and for OAuth the app's within it. */
export function budgetKeyOf(ctx: Pick<CallContext, 'portalId' | 'appId'>): BudgetKey {
  return ctx.appId == null ? { portalId: ctx.portalId } : { portalId: ctx.portalId, appId: ctx.appId };
}

/**
 * Every request takes a permit from the portal's shared budget and reports what HubSpot said of it.
 * `signal` ends a wait for a permit: the activity's cancellation by default; callers outside an
 * activity (the API) pass their own.
 */
export function budgetHooks(
  budget: RateBudget,
  ctx: CallContext,
  kind: () => 'general' | 'search',
  signal: () => AbortSignal = () => Context.current().cancellationSignal,
): RequestHooks {
  const key = budgetKeyOf(ctx);
  return {
    beforeRequest: () => budget.acquire(key, { kind: kind(), priority: ctx.priority, tier: ctx.tier, signal: signal() }),
    afterResponse: async (status, headers) => {
      await budget.observe(key, headers);
      // Every worker backs off, not just this one; the activity's retry honours the same delay.
      // (A daily 429 is told apart by its body, which only the failure carries: withHubSpot
      // records it. Its headers alone look like a ten-second one, and blocking the window for
      // it too is harmless: the portal waits for the day anyway.)
      if (status === 429) {
        const waitMs = Number(headers['retry-after']) * 1000 || Number(headers['x-hubspot-ratelimit-interval-milliseconds']) || 10_000;
        await budget.recordRejection(key, 'TEN_SECONDLY_ROLLING', new Date(Date.now() + waitMs));
      }
    },
  };
}

/**
 * Runs HubSpot calls for one activity: a fresh access token (refreshed once on an expired-token
 * 401), the rate budget on every request, and every failure turned into an ApplicationFailure
 * whose type the retry policies understand.
 */
export async function withHubSpot<T>(
  deps: HubSpotDeps,
  ctx: CallContext,
  call: (client: Client, kind: (k: 'general' | 'search') => void, ctx: CallContext) => Promise<T>,
): Promise<T> {
  let requestKind: 'general' | 'search' = 'general';
  const setKind = (k: 'general' | 'search') => {
    requestKind = k;
  };
  let timeZone: string | undefined;
  try {
    return await withAccessToken(deps, ctx.connectionId, (token, facts) => {
      timeZone = facts.timeZone ?? undefined;
      const caller = { ...ctx, appId: facts.appId };
      return call(createHubSpotClient(deps.hubspot.apiBaseUrl, token, budgetHooks(deps.budget, caller, () => requestKind)), setKind, caller);
    });
  } catch (error) {
    // Already classified, or the activity was cancelled (worker shutdown, workflow gone): pass it on as is.
    if (error instanceof ApplicationFailure || error instanceof CancelledFailure) throw error;
    // A daily 429 lasts until midnight in the portal's time zone.
    const info = classifyHubSpotError(error, timeZone ? { timeZone } : {});
    // A daily 429 blocks the portal for every worker until the reset (afterResponse, seeing only
    // headers, recorded it as a ten-second block).
    if (info.rejection?.policy === 'DAILY') await deps.budget.recordRejection({ portalId: ctx.portalId }, 'DAILY', info.rejection.until);
    throw applicationFailureFor(info);
  }
}
