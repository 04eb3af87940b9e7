import type { ActivityOptions } from '@temporalio/workflow';
import { NON_RETRYABLE_HUBSPOT_ERRORS } from '../hubspot/errors.js';

/**
 * Activity option groups. Each says why its timeouts and retries are what they are.
 */

/** Failures no retry can fix: a refused refresh token, a connection that is gone, HubSpot's own 4xx verdicts. */
const NON_RETRYABLE = [...NON_RETRYABLE_HUBSPOT_ERRORS, 'RefreshTokenRejected', 'ConnectionNotFound'];

/** Whether a failure of this type would fail the same way again, however often it is retried. */
export const isFinalFailure = (type: string): boolean => NON_RETRYABLE.includes(type);

/** PostgreSQL bookkeeping: short statements; a database outage must not fail the connection, so retry without limit. */
export const DATABASE_WRITES: ActivityOptions = {
  startToCloseTimeout: '30 seconds',
  retry: { initialInterval: '1 second', backoffCoefficient: 2, maximumInterval: '1 minute' },
};

/**
 * One page: a few HubSpot requests (each may wait for the rate budget) and one transaction.
 * Transient failures back off up to a minute (429s carry HubSpot's own delay); after ten attempts
 * the run reports the failure and the next interval tries again from its checkpoint.
 */
export const PAGE_SYNC: ActivityOptions = {
  startToCloseTimeout: '3 minutes',
  retry: { initialInterval: '1 second', backoffCoefficient: 2, maximumInterval: '1 minute', maximumAttempts: 10, nonRetryableErrorTypes: NON_RETRYABLE },
};

/**
 * Token refresh: one small request. A refused refresh token is final (reauth_required, no retry
 * loop); a network blip gets a few quick tries before the next timer tick.
 */
export const TOKEN_REFRESH: ActivityOptions = {
  startToCloseTimeout: '30 seconds',
  retry: { initialInterval: '2 seconds', backoffCoefficient: 2, maximumInterval: '30 seconds', maximumAttempts: 4, nonRetryableErrorTypes: NON_RETRYABLE },
};

/**
 * One engagement push page: like a sync page, but it records each step as HubSpot accepts it and
 * heartbeats after each, so a worker that dies mid-page is noticed in a minute, not at the
 * 3-minute timeout, and the retry resumes where it stopped.
 */
export const ENGAGEMENT_PAGE: ActivityOptions = { ...PAGE_SYNC, heartbeatTimeout: '1 minute' };

/**
 * One webhook batch: up to 100 records re-read and written. Realtime work, so a worker that dies
 * mid-call is noticed after a minute (the start-to-close timeout), not after PAGE_SYNC's three.
 */
export const WEBHOOK_BATCH: ActivityOptions = { ...PAGE_SYNC, startToCloseTimeout: '1 minute' };
