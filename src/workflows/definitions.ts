import { defineQuery, defineSignal, defineUpdate } from '@temporalio/workflow';

/**
 * Messages of the connection workflow and their types. The API imports this file only, never the
 * workflow code itself. Everything here is plain JSON: it crosses queries, updates and
 * continue-as-new.
 */

export const CONNECTION_WORKFLOW_TYPE = 'connectionWorkflow';

export const connectionWorkflowId = (connectionId: string): string => `connection:${connectionId}`;

export const CONNECTION_STATUSES = ['active', 'paused', 'reauth_required', 'stopping', 'stopped'] as const;
export type ConnectionStatus = (typeof CONNECTION_STATUSES)[number];

export type AuthType = 'oauth' | 'private_app';

export interface ConnectionConfig {
  objectTypes: string[];
  syncIntervalSeconds: number;
  /** How long webhook events wait to coalesce per record before they are applied (default 250 ms). */
  webhookDebounceMs?: number;
  /**
   * Custom object types named by their fully qualified name, by HubSpot's type id (`2-1234` →
   * `p123_cars`): webhook events name the type by id.
   */
  customObjectTypeIds?: Record<string, string>;
  /** The properties mirrored per object type; a type left out mirrors every property HubSpot lists. */
  properties?: Record<string, string[]>;
}

// A connection's rate-limit tier and a call's priority come from the rate budget (types only: erased from the bundle).
import type { Priority, Tier } from '../hubspot/rate-budget.js';
export type { Priority, Tier };

export type SyncKind = 'backfill' | 'incremental' | 'archived';

/** Where a sync run stands; enough to resume it after a crash or a continue-as-new. */
export type SyncCursor =
  | { kind: 'backfill'; after?: string }
  | { kind: 'archived'; after?: string }
  /** Records modified in [fromMs, toMs] (HubSpot's clock), paged by id; toMs is fixed when the run starts. */
  | { kind: 'incremental'; fromMs: number; toMs?: number; afterId?: string };

export interface SyncCounts {
  pages: number;
  fetched: number;
  applied: number;
}

/** Input of one child sync workflow (one object type, one run). */
export interface ObjectSyncInput {
  connectionId: string;
  portalId: number;
  tier: Tier;
  objectType: string;
  /** The connection workflow to report to (its latest run, whatever continue-as-new did). */
  parentWorkflowId: string;
  cursor: SyncCursor;
  counts: SyncCounts;
  /** Present when an earlier run of this child continued-as-new while paused. */
  paused?: boolean;
}

export interface SyncReport {
  childId: string;
  objectType: string;
  cursor: SyncCursor;
  counts: SyncCounts;
  /** Backfill, at its start: the newest modification (HubSpot's clock) — where incremental sync takes over. */
  latestModifiedMs?: number | null;
  /** Backfill: how many records HubSpot had when it started. */
  estimatedTotal?: number;
}

export interface SyncFinished extends SyncReport {
  outcome: 'done' | 'stopped' | 'failed';
  error?: { type: string; message: string; /** DailyLimit: when HubSpot's daily quota resets (ISO). */ resetAt?: string };
}

/** Child → connection: a checkpoint every few pages. */
export const syncProgressSignal = defineSignal<[SyncReport]>('syncProgress');
/** Child → connection: the run ended (done, stopped on request, or failed after its retries). */
export const syncFinishedSignal = defineSignal<[SyncFinished]>('syncFinished');
/** Connection → child: pause at the next page boundary, resume, or stop there. */
export const syncControlSignal = defineSignal<['pause' | 'resume' | 'stop']>('syncControl');

export interface RecentError {
  at: string;
  type: string;
  message: string;
}

/** The workflow's whole state; carried across continue-as-new as it is. */
export interface ConnectionState {
  connectionId: string;
  portalId: number;
  authType: AuthType;
  config: ConnectionConfig;
  status: ConnectionStatus;
  /** The status last written to PostgreSQL and the search attribute. */
  publishedStatus: ConnectionStatus | null;
  startedAt: string;
  statusChangedAt: string;
  /** How many runs came before this one (continue-as-new count). */
  continuedAsNew: number;
  recentErrors: RecentError[];
  tier: Tier;
  /** OAuth: when the access token expires (ISO); null for static tokens. */
  tokenExpiresAt: string | null;
  objects: Record<string, ObjectSyncState>;
  /** Signals received by this run: continue-as-new well before Temporal's 10,000 per run. */
  signalsThisRun: number;
  /** Paused by hubsync itself (HubSpot's daily limit): resumes on its own at this time (ISO). */
  autoResumeAt: string | null;
  webhooks: WebhookState;
  /** Owners and pipelines were last mirrored then (ISO). */
  metadataSyncedAt: string | null;
}

export interface WebhookState {
  received: number;
  duplicates: number;
  applied: number;
  /** When the newest event seen happened in HubSpot (ISO): after downtime, the gap the incremental sync closes. */
  lastEventAt: string | null;
  /** Recent event keys, oldest first, bounded: duplicates within this horizon are dropped. */
  seenKeys: string[];
  /** Records to re-read, by object type: id → 'read', 'restore' (restored: its partners' edges too), or 'purge' (GDPR deletion). */
  pending: Record<string, Record<string, WebhookAction>>;
  /** When the oldest pending record arrived (ISO): batches wait a short debounce to coalesce. */
  pendingSince: string | null;
  /** The webhook batch child now running, if any. */
  running: string | null;
  /** What the running child was handed: queued again should it end without reporting. */
  inFlight?: WebhookObjects[];
  runs: number;
}

export type WebhookAction = 'read' | 'restore' | 'purge';

export interface RunSummary {
  kind: SyncKind;
  startedAt: string;
  finishedAt: string;
  durationMs: number;
  fetched: number;
  applied: number;
  outcome: SyncFinished['outcome'];
}

export interface RunningSync {
  kind: SyncKind;
  startedAt: string;
  cursor: SyncCursor;
  counts: SyncCounts;
  /** Asked to stop at its next page boundary (a resync restarts the backfill). */
  stopRequested?: boolean;
}

export interface ObjectSyncState {
  backfill: {
    status: 'pending' | 'running' | 'done';
    /** Checkpoint: the list cursor to resume from. */
    after?: string;
    done: number;
    estimatedTotal?: number;
    startedAt?: string;
    finishedAt?: string;
  };
  /** Next incremental window starts here (HubSpot's clock, ms), less a small overlap; null before the first backfill. */
  incrementalFromMs: number | null;
  /** The next incremental window starts no later than this (ms): a resync "since T", or a window that failed. */
  pendingResyncFromMs?: number;
  /** A full resync asked while a backfill ran: that run stops, and a fresh one starts. */
  restartBackfill?: boolean;
  recordsSynced: number;
  lastRun?: RunSummary;
  lastArchivedSweepAt?: string;
  nextRunAt: string | null;
  /** Child workflows of this type now running, by workflow id. */
  running: Record<string, RunningSync>;
  /** Numbers child workflow ids: connection:<id>:sync:<type>:<n>. */
  runs: number;
}

export interface ConnectionWorkflowInput {
  connectionId: string;
  portalId: number;
  authType: AuthType;
  config: ConnectionConfig;
  /** Defaults to `free`: the smallest budget is the safe guess. */
  tier?: Tier;
  /** OAuth connections: when the stored access token expires (ISO time). Absent for static tokens. */
  tokenExpiresAt?: string;
  /** Present when this run continues an earlier one. */
  state?: ConnectionState;
}

/** What an operator sees of webhooks: counts, not the de-duplication memory or the queued ids. */
export interface WebhookStatus extends Omit<WebhookState, 'seenKeys' | 'pending'> {
  /** Records waiting to be re-read, by object type. */
  pending: Record<string, number>;
}

/** What an operator sees: the state plus facts about the current run. */
export interface ConnectionStatusView extends Omit<ConnectionState, 'publishedStatus' | 'webhooks'> {
  webhooks: WebhookStatus;
  workflowId: string;
  runId: string;
  historyLength: number;
}

export const statusQuery = defineQuery<ConnectionStatusView>('status');
export const pauseUpdate = defineUpdate<ConnectionStatusView>('pause');
export const resumeUpdate = defineUpdate<ConnectionStatusView>('resume');
export const stopUpdate = defineUpdate<ConnectionStatusView>('stop');

export interface ResyncRequest {
  /** One type, or all configured types when omitted. */
  objectType?: string;
  /** ISO time: re-read what changed since then instead of a full backfill. */
  since?: string;
}
export const resyncUpdate = defineUpdate<ConnectionStatusView, [ResyncRequest]>('resync');

export type ConfigChange = Partial<ConnectionConfig>;
export const configUpdate = defineUpdate<ConnectionStatusView, [ConfigChange]>('config');

/**
 * New tokens are stored: sent by the OAuth callback when an already connected portal installs
 * again, and by PUT /connections/:id/token for a private app.
 */
export interface Reauthorized {
  /** Null for a private app's token, which does not expire. */
  tokenExpiresAt: string | null;
}
export const reauthorizedSignal = defineSignal<[Reauthorized]>('reauthorized');

/**
 * One HubSpot webhook event, as the API hands it over (HUBSPOT.md §8). Ids are strings here
 * (HubSpot sends numbers); optional fields appear only for the event types that carry them.
 */
export interface WebhookEvent {
  eventId: number;
  subscriptionId: number;
  portalId: number;
  appId?: number;
  occurredAt: number;
  subscriptionType: string;
  attemptNumber?: number;
  objectId: string;
  /** `object.*` events (custom objects, and newer apps for standard ones): `0-1`, `2-123`, ... */
  objectTypeId?: string;
  changeSource?: string;
  sourceId?: string;
  changeFlag?: string;
  propertyName?: string;
  propertyValue?: string;
  primaryObjectId?: string;
  mergedObjectIds?: string[];
  newObjectId?: string;
  associationType?: string;
  fromObjectId?: string;
  toObjectId?: string;
  associationRemoved?: boolean;
  isPrimaryAssociation?: boolean;
}

/** API → connection: one signal per connection per webhook request, with that portal's events. */
export const webhookEventsSignal = defineSignal<[WebhookEvent[]]>('webhookEvents');

/** Records to re-read for one object type, from webhooks. */
export interface WebhookObjects {
  objectType: string;
  /** Re-read these (restored ones included). */
  ids: string[];
  /** Among `ids`: restored, so the records on the other end of their edges are re-read too. */
  restoredIds?: string[];
  purgeIds: string[];
}

export interface WebhookBatchInput {
  connectionId: string;
  portalId: number;
  tier: Tier;
  parentWorkflowId: string;
  batches: WebhookObjects[];
}

export interface WebhookBatchDone {
  childId: string;
  applied: number;
  /** What could not be applied after the activity's retries: the connection queues it again. */
  failed: WebhookObjects[];
  error?: { type: string; message: string };
}

/** Webhook batch child → connection: done. */
export const webhookBatchDoneSignal = defineSignal<[WebhookBatchDone]>('webhookBatchDone');
