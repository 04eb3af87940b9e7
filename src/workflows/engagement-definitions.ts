// Messages of the engagement push workflow, apart from its code so the API imports no workflow.
import type { Duration } from '@temporalio/common';
import { defineQuery, defineSignal } from '@temporalio/workflow';
import type { Tier } from '../hubspot/rate-budget.js';

export const ENGAGEMENT_PUSH_WORKFLOW = 'engagementPushWorkflow';

export const pushWorkflowId = (connectionId: string): string => `connection:${connectionId}:push`;

export interface EngagementPushInput {
  connectionId: string;
  portalId: number;
  tier: Tier;
  /** How often the push looks at the outbox unasked (default 5 minutes; tests shorten it). */
  recheckInterval?: Duration;
  /** Carried across continue-as-new. */
  state?: PushState;
}

/**
 * What the connection's status in PostgreSQL allows: `live` (active) pushes; `held` (paused,
 * reauth_required) waits; `ended` (stopping, stopped, deleted) ends the push workflow.
 */
export type PushPhase = 'live' | 'held' | 'ended';

export interface PushState {
  /** Events of the outbox HubSpot accepted / that were parked (totals, as of the last page). */
  done: number;
  parked: number;
  /** Pending events left after the last page. */
  outboxDepth: number;
  pages: number;
  lastRunAt: string | null;
  lastError: string | null;
  /** A drain was asked for and has not started yet. */
  drainRequested: boolean;
}

/**
 * Look again: new events are in the outbox, the settings changed, or the connection stopped.
 * Carries nothing; PostgreSQL (outbox, settings, connection status) is the source of truth.
 */
export const drainOutboxSignal = defineSignal('drainOutbox');

export const pushStatusQuery = defineQuery<PushState>('pushStatus');
