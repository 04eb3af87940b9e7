import {
  ActivityFailure,
  ApplicationFailure,
  ParentClosePolicy,
  allHandlersFinished,
  condition,
  continueAsNew,
  getExternalWorkflowHandle,
  log,
  patched,
  proxyActivities,
  setCurrentDetails,
  setHandler,
  startChild,
  upsertSearchAttributes,
  workflowInfo,
} from '@temporalio/workflow';
import type { createActivities } from '../activities/index.js';
import { HUBSPOT_ERROR_TYPES } from '../hubspot/errors.js';
import { OBJECT_TYPE_PATTERN } from '../hubspot/object-types.js';
import { connectionStatusKey } from '../temporal/search-attributes.js';
import {
  configUpdate,
  pauseUpdate,
  reauthorizedSignal,
  resumeUpdate,
  resyncUpdate,
  statusQuery,
  stopUpdate,
  syncControlSignal,
  syncFinishedSignal,
  syncProgressSignal,
  webhookBatchDoneSignal,
  webhookEventsSignal,
  type ConnectionState,
  type ConnectionStatus,
  type ConnectionStatusView,
  type ConnectionWorkflowInput,
  type ObjectSyncState,
  type SyncCursor,
  type SyncFinished,
  type WebhookObjects,
} from './definitions.js';
import { INCREMENTAL_OVERLAP_MS, objectSyncWorkflow } from './object-sync.js';
import { DATABASE_WRITES, PAGE_SYNC, TOKEN_REFRESH, isFinalFailure } from './options.js';
import { webhookBatchWorkflow } from './webhook-batch.js';
import { eventKey, strongerAction, touchedRecords } from './webhook-events.js';

type Activities = ReturnType<typeof createActivities>;
const { recordConnectionStatus } = proxyActivities<Activities>(DATABASE_WRITES);
const { refreshAccessToken } = proxyActivities<Activities>(TOKEN_REFRESH);
const { syncOwnersAndPipelines } = proxyActivities<Activities>({ ...PAGE_SYNC, summary: 'owners and pipelines' });

/** HubSpot access tokens live 30 minutes: refresh this long before they expire. */
const TOKEN_REFRESH_MARGIN_MS = 5 * 60_000;
/** After a refresh failed for a passing reason, try again this much later. */
const TOKEN_REFRESH_RETRY_MS = 60_000;
/** Archived records never appear in search: list them this often to mirror deletions. */
const ARCHIVED_SWEEP_EVERY_MS = 10 * 60_000;
/** Well below Temporal's 10,000 signals per run. */
const MAX_SIGNALS_PER_RUN = 5_000;
const MAX_RECENT_ERRORS = 20;
/** Webhook events wait this long (unless configured) so that a burst about one record becomes one read. */
const WEBHOOK_DEBOUNCE_MS = 250;
/** What runs recorded before the `webhook-debounce-250ms` patch waited. */
const WEBHOOK_DEBOUNCE_BEFORE_PATCH_MS = 1_000;
/** Records re-read by one webhook batch child. */
const WEBHOOK_BATCH_MAX = 1_000;
/** Event keys remembered for de-duplication (HubSpot retries within a day; most duplicates come within minutes). */
const MAX_SEEN_EVENT_KEYS = 5_000;
/** Owners and pipelines change rarely: mirror them this often. */
const METADATA_EVERY_MS = 60 * 60_000;
/** Failures that mean the credentials no longer work: wait for a new install, don't retry. */
const CREDENTIAL_FAILURES = new Set(['RefreshTokenRejected', HUBSPOT_ERROR_TYPES.InvalidToken]);
/** What signalling a workflow that has already closed fails with. */
const CHILD_GONE = 'ExternalWorkflowExecutionNotFound';

const nowIso = () => new Date().toISOString();

function emptyObjectState(): ObjectSyncState {
  return { backfill: { status: 'pending', done: 0 }, incrementalFromMs: null, recordsSynced: 0, nextRunAt: null, running: {}, runs: 0 };
}

function initialState(input: ConnectionWorkflowInput): ConnectionState {
  const now = nowIso();
  return {
    connectionId: input.connectionId,
    portalId: input.portalId,
    authType: input.authType,
    config: input.config,
    status: 'active',
    publishedStatus: null,
    startedAt: now,
    statusChangedAt: now,
    continuedAsNew: 0,
    recentErrors: [],
    tier: input.tier ?? 'free',
    tokenExpiresAt: input.tokenExpiresAt ?? null,
    objects: {},
    signalsThisRun: 0,
    autoResumeAt: null,
    webhooks: { received: 0, duplicates: 0, applied: 0, lastEventAt: null, seenKeys: [], pending: {}, pendingSince: null, running: null, runs: 0 },
    metadataSyncedAt: null,
  };
}

/**
 * One HubSpot connection, for as long as it exists. Owns the token-refresh timer, one sync cursor
 * per object type and the sync schedule; runs each sync as a child workflow that reports back by
 * signal; continues-as-new when the server suggests it (or after many signals), carrying its state.
 */
export async function connectionWorkflow(input: ConnectionWorkflowInput): Promise<ConnectionStatusView> {
  const state = input.state ?? initialState(input);
  state.signalsThisRun = 0;
  for (const type of state.config.objectTypes) state.objects[type] ??= emptyObjectState();
  /** Set by every message: the main loop looks again. */
  let wake = false;
  let refreshRetryAt = 0;

  const view = (): ConnectionStatusView => {
    const { publishedStatus: _published, webhooks, ...rest } = state;
    const { seenKeys: _seen, pending, ...counts } = webhooks;
    const pendingCounts = Object.fromEntries(Object.entries(pending).map(([type, ids]) => [type, Object.keys(ids).length]));
    const info = workflowInfo();
    return { ...rest, webhooks: { ...counts, pending: pendingCounts }, workflowId: info.workflowId, runId: info.runId, historyLength: info.historyLength };
  };

  const moveTo = (status: ConnectionStatus): ConnectionStatusView => {
    if (state.status !== status) {
      state.status = status;
      state.statusChangedAt = nowIso();
      if (status !== 'paused') state.autoResumeAt = null;
    }
    wake = true;
    return view();
  };

  const recordError = (type: string, message: string) => {
    state.recentErrors = [{ at: nowIso(), type, message }, ...state.recentErrors].slice(0, MAX_RECENT_ERRORS);
  };

  const rejectWhenFinishing = (): void => {
    if (state.status === 'stopping' || state.status === 'stopped') {
      throw ApplicationFailure.create({ type: 'ConnectionStopped', message: `connection is ${state.status}`, nonRetryable: true });
    }
  };

  setHandler(statusQuery, view);
  setHandler(pauseUpdate, () => moveTo('paused'), { validator: rejectWhenFinishing });
  setHandler(stopUpdate, () => moveTo('stopping'), { validator: rejectWhenFinishing });
  setHandler(resumeUpdate, () => moveTo('active'), {
    validator: () => {
      rejectWhenFinishing();
      if (state.status === 'reauth_required') {
        throw ApplicationFailure.create({ type: 'ReauthRequired', message: 'HubSpot refused the credentials: install the app again (GET /oauth/install)', nonRetryable: true });
      }
    },
  });
  setHandler(
    resyncUpdate,
    ({ objectType, since }) => {
      const sinceMs = since === undefined ? undefined : Date.parse(since);
      for (const type of objectType ? [objectType] : state.config.objectTypes) {
        const object = (state.objects[type] ??= emptyObjectState());
        if (sinceMs === undefined) {
          // A fresh backfill beside the live incremental sync; the incremental cursor stays. One
          // already running would absorb the request: it stops and a fresh one starts.
          const backfillRunning = Object.values(object.running).some((r) => r.kind === 'backfill');
          if (backfillRunning && patched('resync-restarts-running-backfill')) object.restartBackfill = true;
          else object.backfill = { status: 'pending', done: 0 };
        } else if (patched('resync-since-as-pending-window')) {
          // Kept apart from the cursor, which a window already running would move past it.
          object.pendingResyncFromMs = Math.min(object.pendingResyncFromMs ?? sinceMs, sinceMs);
          object.nextRunAt = nowIso();
          // Deletions only show in the archived list: sweep it now too.
          delete object.lastArchivedSweepAt;
        } else {
          object.incrementalFromMs = Math.min(object.incrementalFromMs ?? sinceMs, sinceMs);
          object.nextRunAt = nowIso();
          delete object.lastArchivedSweepAt;
        }
      }
      wake = true;
      return view();
    },
    {
      validator: ({ objectType, since }) => {
        rejectWhenFinishing();
        if (objectType !== undefined && !state.config.objectTypes.includes(objectType)) {
          throw ApplicationFailure.create({ type: 'InvalidRequest', message: `objectType ${objectType} is not synced by this connection`, nonRetryable: true });
        }
        if (since !== undefined && Number.isNaN(Date.parse(since))) {
          throw ApplicationFailure.create({ type: 'InvalidRequest', message: `since must be an ISO time, got ${since}`, nonRetryable: true });
        }
      },
    },
  );
  setHandler(
    configUpdate,
    (change) => {
      state.config = { ...state.config, ...change };
      for (const type of state.config.objectTypes) state.objects[type] ??= emptyObjectState();
      wake = true;
      return view();
    },
    {
      validator: ({ objectTypes, syncIntervalSeconds, webhookDebounceMs }) => {
        rejectWhenFinishing();
        if (objectTypes !== undefined && (objectTypes.length === 0 || objectTypes.some((t: string) => !OBJECT_TYPE_PATTERN.test(t)))) {
          throw ApplicationFailure.create({ type: 'InvalidRequest', message: 'objectTypes must name contacts, companies, deals, tickets or custom objects', nonRetryable: true });
        }
        if (webhookDebounceMs !== undefined && !(Number.isInteger(webhookDebounceMs) && webhookDebounceMs >= 0 && webhookDebounceMs <= 60_000)) {
          throw ApplicationFailure.create({ type: 'InvalidRequest', message: 'webhookDebounceMs must be an integer from 0 to 60000', nonRetryable: true });
        }
        if (syncIntervalSeconds !== undefined && !(Number.isInteger(syncIntervalSeconds) && syncIntervalSeconds >= 10 && syncIntervalSeconds <= 86_400)) {
          throw ApplicationFailure.create({ type: 'InvalidRequest', message: 'syncIntervalSeconds must be an integer from 10 to 86400', nonRetryable: true });
        }
      },
    },
  );
  setHandler(reauthorizedSignal, ({ tokenExpiresAt }) => {
    state.signalsThisRun++;
    state.tokenExpiresAt = tokenExpiresAt;
    if (state.status === 'reauth_required') {
      log.info('connection reauthorized: resuming from its cursors', { connectionId: state.connectionId });
      moveTo('active');
    }
    wake = true;
  });
  setHandler(syncProgressSignal, (report) => {
    state.signalsThisRun++;
    const object = state.objects[report.objectType];
    const running = object?.running[report.childId];
    if (!object || !running) return;
    running.cursor = report.cursor;
    running.counts = report.counts;
    if (report.cursor.kind === 'backfill') {
      object.backfill.after = report.cursor.after;
      object.backfill.done = report.counts.fetched;
      if (report.estimatedTotal !== undefined) object.backfill.estimatedTotal = report.estimatedTotal;
      // Incremental sync takes over from the newest change HubSpot had when the backfill began.
      if (report.latestModifiedMs !== undefined && object.incrementalFromMs === null) {
        object.incrementalFromMs = report.latestModifiedMs ?? 0;
        object.nextRunAt = nowIso();
      }
    }
    wake = true;
  });
  setHandler(syncFinishedSignal, (report) => {
    state.signalsThisRun++;
    const object = state.objects[report.objectType];
    if (object) endRun(object, report);
  });

  setHandler(webhookEventsSignal, (events) => {
    state.signalsThisRun++;
    const hooks = state.webhooks;
    const seen = new Set(hooks.seenKeys);
    for (const event of events) {
      const key = eventKey(event);
      if (seen.has(key)) {
        hooks.duplicates++;
        continue;
      }
      seen.add(key);
      hooks.seenKeys.push(key);
      hooks.received++;
      const occurred = new Date(event.occurredAt).toISOString();
      if (!hooks.lastEventAt || occurred > hooks.lastEventAt) hooks.lastEventAt = occurred;
      for (const touched of touchedRecords(event, state.config.objectTypes, state.config.customObjectTypeIds)) {
        const pending = (hooks.pending[touched.objectType] ??= {});
        pending[touched.id] = strongerAction(pending[touched.id], touched);
        hooks.pendingSince ??= nowIso();
      }
    }
    hooks.seenKeys.splice(0, Math.max(0, hooks.seenKeys.length - MAX_SEEN_EVENT_KEYS));
    wake = true;
  });
  setHandler(webhookBatchDoneSignal, (done) => {
    state.signalsThisRun++;
    if (state.webhooks.running !== done.childId) return;
    state.webhooks.running = null;
    delete state.webhooks.inFlight;
    state.webhooks.applied += done.applied;
    if (done.error) {
      const final = isFinalFailure(done.error.type);
      // What failed for a passing reason is queued again: webhooks are applied later, never dropped.
      // A final verdict (missing scope, a 400) would fail the same way every debounce: the next
      // incremental sync or a resync brings those records once the cause is fixed.
      if (!final) for (const batch of done.failed) queueWebhookObjects(batch);
      recordFailure(done.error, `webhook batch${final ? ` (${done.failed.reduce((n, b) => n + b.ids.length + b.purgeIds.length, 0)} records left to the next sync)` : ''}`);
    }
    wake = true;
  });

  function queueWebhookObjects({ objectType, ids, restoredIds = [], purgeIds }: WebhookObjects): void {
    const pending = (state.webhooks.pending[objectType] ??= {});
    for (const id of ids) pending[id] = strongerAction(pending[id], { objectType, id, restore: restoredIds.includes(id) });
    for (const id of purgeIds) pending[id] = 'purge';
    state.webhooks.pendingSince ??= nowIso();
  }

  /** A webhook batch child that ended without reporting (terminated, failed): its records go back in the queue. */
  function forgetLostWebhookBatch(childId: string): void {
    if (state.webhooks.running !== childId) return;
    state.webhooks.running = null;
    for (const batch of state.webhooks.inFlight ?? []) queueWebhookObjects(batch);
    delete state.webhooks.inFlight;
    recordError('WebhookBatchLost', `${childId} ended without reporting: its records are queued again`);
    wake = true;
  }

  /** Hands pending webhook records to a child once the debounce passed; returns when that will be. */
  async function flushWebhooksWhenDue(): Promise<number> {
    const hooks = state.webhooks;
    if (hooks.running || !hooks.pendingSince) return Infinity;
    const debounce = state.config.webhookDebounceMs ?? (patched('webhook-debounce-250ms') ? WEBHOOK_DEBOUNCE_MS : WEBHOOK_DEBOUNCE_BEFORE_PATCH_MS);
    const due = Date.parse(hooks.pendingSince) + debounce;
    if (Date.now() < due) return due;
    const batches: WebhookObjects[] = [];
    let taken = 0;
    for (const [objectType, pending] of Object.entries(hooks.pending)) {
      const batch: WebhookObjects = { objectType, ids: [], purgeIds: [] };
      const restoredIds: string[] = [];
      for (const [id, action] of Object.entries(pending)) {
        if (taken >= WEBHOOK_BATCH_MAX) break;
        (action === 'purge' ? batch.purgeIds : batch.ids).push(id);
        if (action === 'restore') restoredIds.push(id);
        delete pending[id];
        taken++;
      }
      if (restoredIds.length > 0) batch.restoredIds = restoredIds;
      if (Object.keys(pending).length === 0) delete hooks.pending[objectType];
      if (batch.ids.length + batch.purgeIds.length > 0) batches.push(batch);
    }
    hooks.pendingSince = Object.keys(hooks.pending).length > 0 ? nowIso() : null;
    hooks.runs += 1;
    const workflowId = `${workflowInfo().workflowId}:webhooks:${hooks.runs}`;
    hooks.running = workflowId;
    hooks.inFlight = batches;
    const child = await startChild(webhookBatchWorkflow, {
      workflowId,
      args: [{ connectionId: state.connectionId, portalId: state.portalId, tier: state.tier, parentWorkflowId: workflowInfo().workflowId, batches }],
      parentClosePolicy: ParentClosePolicy.ABANDON,
      staticSummary: `${taken} records from webhooks for portal ${state.portalId}`,
    });
    // A child reports before it completes; one that fails or is terminated first never will.
    child.result().catch(() => forgetLostWebhookBatch(workflowId));
    return Infinity;
  }

  /** Owners and pipelines, hourly. */
  async function syncMetadataWhenDue(): Promise<number> {
    const due = state.metadataSyncedAt ? Date.parse(state.metadataSyncedAt) + METADATA_EVERY_MS : 0;
    if (Date.now() < due) return due;
    state.metadataSyncedAt = nowIso();
    try {
      await syncOwnersAndPipelines({ connectionId: state.connectionId, portalId: state.portalId, tier: state.tier, priority: 'backfill', objectTypes: state.config.objectTypes });
    } catch (error) {
      const cause = error instanceof ActivityFailure ? error.cause : error;
      recordError(cause instanceof ApplicationFailure ? (cause.type ?? 'ApplicationFailure') : 'Unexpected', `owners and pipelines: ${cause instanceof Error ? cause.message : String(cause)}`);
    }
    return Date.now() + METADATA_EVERY_MS;
  }

  function endRun(object: ObjectSyncState, report: SyncFinished): void {
    const running = object.running[report.childId];
    if (!running) return;
    delete object.running[report.childId];
    applyFinishedRun(object, running.startedAt, report);
    wake = true;
  }

  function applyFinishedRun(object: ObjectSyncState, startedAt: string, report: SyncFinished): void {
    const finishedAt = nowIso();
    object.recordsSynced += report.counts.applied;
    object.lastRun = {
      kind: report.cursor.kind,
      startedAt,
      finishedAt,
      durationMs: Date.parse(finishedAt) - Date.parse(startedAt),
      fetched: report.counts.fetched,
      applied: report.counts.applied,
      outcome: report.outcome,
    };
    const cursor = report.cursor;
    if (cursor.kind === 'backfill') {
      if (report.outcome === 'done') object.backfill = { ...object.backfill, status: 'done', after: undefined, done: report.counts.fetched, finishedAt };
      else object.backfill = { ...object.backfill, status: 'pending', after: cursor.after };
    } else if (cursor.kind === 'incremental' && report.outcome === 'done' && cursor.toMs !== undefined) {
      object.incrementalFromMs = Math.max(object.incrementalFromMs ?? 0, cursor.toMs);
    } else if (cursor.kind === 'incremental' && report.outcome !== 'done') {
      // The next window covers this one again, however far back it reached (a resync "since").
      object.pendingResyncFromMs = Math.min(object.pendingResyncFromMs ?? cursor.fromMs, cursor.fromMs);
    } else if (cursor.kind === 'archived' && report.outcome === 'done') {
      object.lastArchivedSweepAt = finishedAt;
    }
    if (report.outcome === 'failed' && report.error) recordFailure(report.error, `${report.objectType} ${cursor.kind}`);
  }

  /** A child's failure, once its retries are spent: shown in the status, and what it means for the connection. */
  function recordFailure(error: NonNullable<SyncFinished['error']>, what: string): void {
    recordError(error.type, `${what}: ${error.message}`);
    if (CREDENTIAL_FAILURES.has(error.type)) moveTo('reauth_required');
    if (error.type === HUBSPOT_ERROR_TYPES.DailyLimit && state.status === 'active') {
      // Retrying all night cannot help: pause until the portal's daily quota resets.
      moveTo('paused');
      state.autoResumeAt = error.resetAt ?? new Date(Date.now() + 60 * 60_000).toISOString();
    }
  }

  async function startSync(objectType: string, object: ObjectSyncState, cursor: SyncCursor): Promise<void> {
    object.runs += 1;
    const workflowId = `${workflowInfo().workflowId}:sync:${objectType}:${object.runs}`;
    const counts = { pages: 0, fetched: cursor.kind === 'backfill' ? object.backfill.done : 0, applied: 0 };
    object.running[workflowId] = { kind: cursor.kind, startedAt: nowIso(), cursor, counts };
    const child = await startChild(objectSyncWorkflow, {
      workflowId,
      args: [{ connectionId: state.connectionId, portalId: state.portalId, tier: state.tier, objectType, parentWorkflowId: workflowInfo().workflowId, cursor, counts }],
      // Children report by signal and outlive a continue-as-new of this workflow.
      parentClosePolicy: ParentClosePolicy.ABANDON,
      staticSummary: `${objectType} ${cursor.kind} for portal ${state.portalId}`,
    });
    child.result().catch(() => forgetLostRun(objectType, object, workflowId));
  }

  /** Starts what is due; returns when something next falls due (ms since epoch). */
  async function startDueSyncs(): Promise<number> {
    const now = Date.now();
    let next = Infinity;
    for (const type of state.config.objectTypes) {
      const object = (state.objects[type] ??= emptyObjectState());
      if (object.restartBackfill) await restartBackfill(type, object);
      const running = Object.values(object.running);
      if (object.backfill.status === 'pending' && !running.some((r) => r.kind === 'backfill')) {
        object.backfill.status = 'running';
        object.backfill.startedAt ??= nowIso();
        await startSync(type, object, { kind: 'backfill', ...(object.backfill.after ? { after: object.backfill.after } : {}) });
      }
      if (object.incrementalFromMs !== null && !running.some((r) => r.kind === 'incremental')) {
        const due = object.nextRunAt ? Date.parse(object.nextRunAt) : now;
        if (due <= now) {
          object.nextRunAt = new Date(now + state.config.syncIntervalSeconds * 1000).toISOString();
          const fromMs = Math.min(Math.max(0, object.incrementalFromMs - INCREMENTAL_OVERLAP_MS), object.pendingResyncFromMs ?? Infinity);
          delete object.pendingResyncFromMs;
          await startSync(type, object, { kind: 'incremental', fromMs });
        }
        next = Math.min(next, Date.parse(object.nextRunAt ?? nowIso()));
      }
      if (object.backfill.status === 'done' && !running.some((r) => r.kind === 'archived')) {
        const sweepDue = (object.lastArchivedSweepAt ? Date.parse(object.lastArchivedSweepAt) : 0) + ARCHIVED_SWEEP_EVERY_MS;
        if (sweepDue <= now) {
          object.lastArchivedSweepAt = nowIso();
          await startSync(type, object, { kind: 'archived' });
        } else next = Math.min(next, sweepDue);
      }
    }
    return next;
  }

  /** A full resync asked during a backfill: stop that run at a page boundary, then start afresh. */
  async function restartBackfill(objectType: string, object: ObjectSyncState): Promise<void> {
    const run = Object.entries(object.running).find(([, r]) => r.kind === 'backfill');
    if (!run) {
      object.backfill = { status: 'pending', done: 0 };
      delete object.restartBackfill;
    } else if (!run[1].stopRequested) {
      run[1].stopRequested = true;
      if (!(await signalChild(run[0], 'stop'))) forgetLostRun(objectType, object, run[0]);
    }
  }

  /** Refreshes OAuth tokens ahead of expiry; returns when the next refresh falls due. */
  async function refreshTokensWhenDue(): Promise<number> {
    if (state.authType !== 'oauth' || !state.tokenExpiresAt) return Infinity;
    const due = Math.max(Date.parse(state.tokenExpiresAt) - TOKEN_REFRESH_MARGIN_MS, refreshRetryAt);
    if (Date.now() < due) return due;
    try {
      state.tokenExpiresAt = (await refreshAccessToken(state.connectionId)).expiresAt;
      const next = Date.parse(state.tokenExpiresAt) - TOKEN_REFRESH_MARGIN_MS;
      // A token that lives shorter than the margin would be due again at once: wait instead of spinning.
      if (next <= Date.now()) refreshRetryAt = Date.now() + TOKEN_REFRESH_RETRY_MS;
      return Math.max(next, refreshRetryAt);
    } catch (error) {
      const cause = error instanceof ActivityFailure ? error.cause : error;
      const type = cause instanceof ApplicationFailure ? (cause.type ?? 'ApplicationFailure') : 'Unexpected';
      recordError(type, `token refresh: ${cause instanceof Error ? cause.message : String(cause)}`);
      if (CREDENTIAL_FAILURES.has(type)) {
        log.warn('HubSpot refused the refresh token: the connection needs to be installed again', { connectionId: state.connectionId });
        moveTo('reauth_required');
        return Infinity;
      }
      refreshRetryAt = Date.now() + TOKEN_REFRESH_RETRY_MS;
      return refreshRetryAt;
    }
  }

  /** Running children follow the connection: paused unless it is active. */
  let childrenPaused: boolean | undefined;
  async function steerChildren(): Promise<void> {
    const pause = state.status !== 'active';
    if (pause === childrenPaused) return;
    childrenPaused = pause;
    await signalChildren(pause ? 'pause' : 'resume');
  }

  async function signalChildren(command: 'pause' | 'resume' | 'stop'): Promise<void> {
    for (const [objectType, object] of Object.entries(state.objects)) {
      for (const childId of Object.keys(object.running)) {
        if (!(await signalChild(childId, command))) forgetLostRun(objectType, object, childId);
      }
    }
  }

  /** Signals a child; false when it has already closed. */
  async function signalChild(childId: string, command: 'pause' | 'resume' | 'stop'): Promise<boolean> {
    try {
      await getExternalWorkflowHandle(childId).signal(syncControlSignal, command);
      return true;
    } catch (error) {
      if (!(error instanceof ApplicationFailure && error.type === CHILD_GONE)) throw error;
      return false;
    }
  }

  /**
   * A child that finished between our last look and a signal to it has already reported (a run
   * signals its end before it completes). One still listed ended without a report, e.g.
   * terminated by an operator: count it as failed, so its work starts again from its checkpoint.
   */
  function forgetLostRun(objectType: string, object: ObjectSyncState, childId: string): void {
    const running = object.running[childId];
    if (!running) return;
    const error = { type: 'SyncRunLost', message: `${childId} ended without reporting` };
    endRun(object, { childId, objectType, cursor: running.cursor, counts: running.counts, outcome: 'failed', error });
  }

  const runningChildren = () => Object.values(state.objects).reduce((n, o) => n + Object.keys(o.running).length, 0);

  for (;;) {
    // Messages that arrive while this pass awaits must wake the next wait: clear the flag first.
    if (patched('wake-cleared-before-work')) wake = false;
    await publishStatus(state);
    if (state.status === 'stopping') {
      // Finish in-flight work at a page boundary, then complete.
      await signalChildren('stop');
      // A webhook batch finishes on its own; after a continue-as-new nothing else would tell us
      // that one ended without reporting (a batch has no use for the signal: it is a probe).
      const batch = state.webhooks.running;
      if (batch && patched('stop-probes-webhook-batch') && !(await signalChild(batch, 'stop'))) forgetLostWebhookBatch(batch);
      await condition(() => runningChildren() === 0 && !state.webhooks.running);
      moveTo('stopped');
      await publishStatus(state);
      log.info('connection stopped', { connectionId: state.connectionId });
      return view();
    }
    if (state.status === 'paused' && state.autoResumeAt && Date.now() >= Date.parse(state.autoResumeAt)) moveTo('active');
    await steerChildren();

    let nextDue = state.status === 'paused' && state.autoResumeAt ? Date.parse(state.autoResumeAt) : Infinity;
    if (state.status === 'active') {
      nextDue = Math.min(await refreshTokensWhenDue(), nextDue);
      if (state.status === 'active') nextDue = Math.min(await startDueSyncs(), await flushWebhooksWhenDue(), nextDue);
      if (state.status === 'active') nextDue = Math.min(await syncMetadataWhenDue(), nextDue);
    }

    if (!patched('wake-cleared-before-work')) wake = false;
    const mustContinue = () => workflowInfo().continueAsNewSuggested || state.signalsThisRun >= MAX_SIGNALS_PER_RUN;
    const woken = () => wake || state.status !== state.publishedStatus || mustContinue();
    if (nextDue === Infinity) await condition(woken);
    else await condition(woken, Math.max(nextDue - Date.now(), 1));

    if (mustContinue()) {
      // Let running handlers finish so no message is lost, then start a fresh history. Children
      // keep running and report to the new run.
      await condition(allHandlersFinished);
      await continueAsNew<typeof connectionWorkflow>({
        connectionId: state.connectionId,
        portalId: state.portalId,
        authType: state.authType,
        config: state.config,
        // The next run publishes its status afresh: the Web UI's current details do not carry over.
        state: { ...state, publishedStatus: null, continuedAsNew: state.continuedAsNew + 1 },
      });
    }
  }
}

/** Makes the status visible where operators look: PostgreSQL, the search attribute, the Web UI details. */
async function publishStatus(state: ConnectionState): Promise<void> {
  if (state.status === state.publishedStatus) return;
  const status = state.status;
  upsertSearchAttributes([{ key: connectionStatusKey, value: status }]);
  setCurrentDetails(`**${status}** since ${state.statusChangedAt} · portal ${state.portalId} · ${state.config.objectTypes.join(', ')}`);
  await recordConnectionStatus(state.connectionId, status);
  state.publishedStatus = status;
}
