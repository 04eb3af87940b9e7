// Messages of the engagement push workflow, apart from its code so the API imports no workflow.
import { defineQuery, defineSignal } from '@temporalio/workflow';
import type { Tier } from '../hubspot/rate-budget.js';

export const ENGAGEMENT_PUSH_WORKFLOW = 'engagementPushWorkflow';

export const pushWorkflowId = (connectionId: string): string => `connection:${connectionId}:push`;

export interface EngagementPushInput {
  connectionId: string;
  portalId: number;
  tier: Tier;
  /** Carried across continue-as-new. */
  state?: PushState;
}

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

/** New events are in the outbox: drain it. Carries nothing; the outbox is the source of truth. */
export const drainOutboxSignal = defineSignal('drainOutbox');

export const pushStatusQuery = defineQuery<PushState>('pushStatus');
