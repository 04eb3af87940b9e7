import { Context } from '@temporalio/activity';
import { ApplicationFailure } from '@temporalio/common';
import type { Client } from '@hubspot/api-client';
import type { Config } from '../config.js';
import {
  commitEngagementPage,
  completeTrigger,
  countPendingEnrolments,
  pendingEnrolments,
  outboxCounts,
  readContactAggregates,
  readPendingEngagements,
  readPushSettings,
  recordPushSetup,
  recordTrigger,
  triggeredContacts,
  type PendingEngagement,
  type PushSettings,
} from '../db/engagements.js';
import { inTransaction } from '../db/transaction.js';
import { recordOwnWrites, type OwnWrite } from '../db/write-ledger.js';
import {
  createTimelineEvents,
  enrolInWorkflow,
  ensureContactProperties,
  ensureTimelineTemplate,
  TIMELINE_BATCH,
  UPSERT_BATCH,
  upsertContactsByEmail,
  type BatchItemError,
} from '../hubspot/engagement.js';
import { HUBSPOT_ERROR_TYPES, responseFailure, toApplicationFailure } from '../hubspot/errors.js';
import { aggregate, contactProperties } from './engagement-score.js';
import { budgetHooks, withHubSpot, type CallContext, type HubSpotDeps } from './hubspot-session.js';

/** One page: about one timeline request and a few upserts, so ≤ 0.03 HubSpot calls per event. */
export const ENGAGEMENT_PAGE_SIZE = 500;
/** Workflow enrolments are one request each: bounded per page so a page stays short. */
const ENROLMENTS_PER_PAGE = 100;

export interface EngagementDeps extends HubSpotDeps {
  hubspot: HubSpotDeps['hubspot'] & Partial<Pick<Config['hubspot'], 'appId'>>;
  /** The app's developer key, for its timeline event template. */
  developerApiKey?: string | undefined;
}

export type PushCall = Omit<CallContext, 'priority'>;

export interface PushPageReport {
  /** The connection's outbox after this page: totals, so a page retried after a partial attempt still reports right. */
  done: number;
  parked: number;
  /** Events still pending plus hot leads still to enrol. */
  remaining: number;
  /** This attempt settled or enrolled something; false when only items HubSpot refused for now are left. */
  progressed: boolean;
  /** HubSpot no longer has our properties or template: run the set-up again, then retry. */
  setupMissing: boolean;
}

const T = HUBSPOT_ERROR_TYPES;

/** Our own set-up is gone (a property or the template was deleted in HubSpot), not the input's fault. */
function isSetupMissing(failure: ApplicationFailure): boolean {
  return (failure.type === T.Validation || failure.type === T.NotFound) && /PROPERTY_DOESNT_EXIST|does not exist|template/i.test(failure.message);
}

/** HubSpot's verdict on these inputs is final: retrying the same request cannot succeed. */
function isPermanent(failure: ApplicationFailure): boolean {
  return failure.type === T.Validation || failure.type === T.MissingScopes || failure.type === T.NotFound || failure.type === T.ClientError;
}

/** Batch item errors HubSpot will repeat for the same input. */
const PERMANENT_ITEM_CATEGORIES = /OBJECT_NOT_FOUND|VALIDATION_ERROR|INVALID_EMAIL|MISSING_SCOPES/;

class SetupMissing extends Error {}

type Upsert = Array<{ email: string; properties: Record<string, string> }>;

/**
 * Upserts contacts; an input HubSpot refuses (e.g. an email it deems invalid) fails the whole batch
 * with a 400, so the batch is halved until the bad inputs stand alone and can be parked.
 */
async function upsertIsolating(client: Client, contacts: Upsert, ids: Map<string, string>, rejected: Map<string, string>): Promise<void> {
  try {
    const result = await upsertContactsByEmail(client, contacts);
    for (const [email, id] of result.ids) ids.set(email, id);
    for (const e of result.errors) for (const email of e.ids) rejected.set(email.toLowerCase(), `${e.category}: ${e.message}`);
  } catch (error) {
    const failure = toApplicationFailure(error);
    if (isSetupMissing(failure)) throw new SetupMissing();
    // Transient: rethrow as it came, so withHubSpot can still refresh an expired token once.
    if (!isPermanent(failure)) throw error;
    if (contacts.length === 1 || failure.type === T.MissingScopes) {
      for (const c of contacts) rejected.set(c.email, failure.message);
      return;
    }
    const half = Math.ceil(contacts.length / 2);
    await upsertIsolating(client, contacts.slice(0, half), ids, rejected);
    await upsertIsolating(client, contacts.slice(half), ids, rejected);
  }
}

/**
 * Legacy enrolment of a hot lead recorded as pending; recorded as done the moment HubSpot accepts
 * it, so a retry never enrols the same contact again.
 */
async function enrol(deps: EngagementDeps, call: CallContext, client: Client, workflowId: string, email: string): Promise<void> {
  const hooks = budgetHooks(deps.budget, call, () => 'general');
  await hooks.beforeRequest?.();
  const response = await enrolInWorkflow(client, workflowId, email);
  await hooks.afterResponse?.(response.status, Object.fromEntries(response.headers));
  if (response.ok) return completeTrigger(deps.pool, call.connectionId, email, `workflow ${workflowId}`);
  const failure = await responseFailure(response);
  if (!isPermanent(failure)) throw failure;
  // Final (no such workflow, missing scope): recorded with the reason, so it is not retried forever.
  await completeTrigger(deps.pool, call.connectionId, email, `failed: ${failure.message}`);
}

export function createEngagementActivities(deps: EngagementDeps) {
  return {
    /** Property group, custom contact properties and the timeline template: creates what is missing. */
    async ensureEngagementSetup(input: PushCall): Promise<{ created: number; templateId: string }> {
      const appId = deps.hubspot.appId;
      if (appId === undefined) {
        throw ApplicationFailure.create({ type: 'TimelineAppMissing', message: 'HUBSPOT_APP_ID is not configured: no timeline event template', nonRetryable: true });
      }
      const settings = await readPushSettings(deps.pool, input.connectionId);
      const created = await withHubSpot(deps, { ...input, priority: 'realtime' }, (client) => ensureContactProperties(client, settings.propertyPrefix));
      let templateId: string;
      try {
        templateId = await ensureTimelineTemplate({ apiBaseUrl: deps.hubspot.apiBaseUrl, appId, developerApiKey: deps.developerApiKey });
      } catch (error) {
        throw toApplicationFailure(error);
      }
      await recordPushSetup(deps.pool, input.connectionId, templateId);
      return { created, templateId };
    },

    /**
     * Pushes the oldest pending page of the outbox in steps, each recorded in PostgreSQL as soon as
     * HubSpot accepted it, so a retry (5xx, worker restart) resumes instead of starting over:
     * per 100 contacts one upsert (creating missing ones, absolute values, the trigger property),
     * then one timeline request for the page, then pending workflow enrolments. Values are
     * absolute, timeline ids overwrite and triggers are recorded before and after: safe to retry.
     */
    async pushEngagementPage(input: PushCall): Promise<PushPageReport> {
      const { pool } = deps;
      const call: CallContext = { ...input, priority: 'realtime' };
      const settings = await readPushSettings(pool, input.connectionId);
      const missing = { done: 0, parked: 0, remaining: -1, progressed: false, setupMissing: true };
      if (!settings.timelineTemplateId) return missing;
      const events = await readPendingEngagements(pool, input.connectionId, ENGAGEMENT_PAGE_SIZE);
      const rejected = new Map<string, string>();
      let progressed = false;
      // A worker that dies mid-page is noticed at the heartbeat timeout; each step below is recorded, so a retry resumes.
      const step = () => {
        progressed = true;
        Context.current().heartbeat();
      };
      try {
        await withHubSpot(deps, call, async (client, _kind, caller) => {
          const fresh = events.filter((e) => !e.applied);
          const emails = [...new Set(fresh.map((e) => e.email))];
          for (let i = 0; i < emails.length; i += UPSERT_BATCH) {
            const chunk = new Set(emails.slice(i, i + UPSERT_BATCH));
            await pushContacts(deps, client, input.connectionId, settings, fresh.filter((e) => chunk.has(e.email)), rejected);
            step();
          }
          const timeline = events.filter((e) => !rejected.has(e.email));
          for (let i = 0; i < timeline.length; i += TIMELINE_BATCH) {
            const batch = timeline.slice(i, i + TIMELINE_BATCH);
            let errors: BatchItemError[];
            try {
              errors = await createTimelineEvents(client, settings.timelineTemplateId!, batch);
            } catch (error) {
              if (isSetupMissing(toApplicationFailure(error))) throw new SetupMissing();
              throw error;
            }
            if ((await settleTimeline(deps, input.connectionId, batch, errors)) > 0) step();
          }
          if (settings.enrolWorkflowId !== null) {
            for (const email of await pendingEnrolments(pool, input.connectionId, ENROLMENTS_PER_PAGE)) {
              await enrol(deps, caller, client, settings.enrolWorkflowId, email);
              step();
            }
          }
        });
      } catch (error) {
        if (error instanceof SetupMissing) {
          await recordPushSetup(pool, input.connectionId, null);
          return missing;
        }
        throw error;
      }
      const counts = await outboxCounts(pool, input.connectionId);
      const enrolments = settings.enrolWorkflowId === null ? 0 : await countPendingEnrolments(pool, input.connectionId);
      return { done: counts.done, parked: counts.parked, remaining: counts.pending + enrolments, progressed, setupMissing: false };
    },
  };
}

/**
 * Up to 100 contacts: aggregates their new events on top of the stored ones, upserts the absolute
 * values, and records in one transaction what HubSpot accepted — aggregates, applied events, parked
 * events of refused contacts, the hot-lead triggers and the write ledger.
 */
async function pushContacts(deps: EngagementDeps, client: Client, connectionId: string, settings: PushSettings, fresh: PendingEngagement[], rejected: Map<string, string>): Promise<void> {
  const emails = [...new Set(fresh.map((e) => e.email))];
  const stored = await readContactAggregates(deps.pool, connectionId, emails);
  const { contacts, crossed } = aggregate(stored, fresh, settings.scoringRules, settings.scoreThreshold);
  const already = await triggeredContacts(deps.pool, connectionId, [...crossed]);
  const hot = new Set([...crossed].filter((email) => !already.has(email)));
  const setProperty = settings.enrolWorkflowId === null;
  const properties = new Map(
    emails.map((email) => [
      email,
      { ...contactProperties(settings.propertyPrefix, contacts.get(email)!), ...(setProperty && hot.has(email) ? { [settings.triggerProperty]: settings.triggerValue } : {}) },
    ]),
  );
  const ids = new Map<string, string>();
  const refused = new Map<string, string>();
  await upsertIsolating(client, emails.map((email) => ({ email, properties: properties.get(email)! })), ids, refused);
  for (const [email, reason] of refused) rejected.set(email, reason);

  const accepted = emails.filter((email) => !refused.has(email) && ids.has(email));
  const ledger: OwnWrite[] = accepted.flatMap((email) =>
    Object.entries(properties.get(email)!).map(([property, value]) => ({ objectType: 'contacts', objectId: ids.get(email)!, property, value })),
  );
  await inTransaction(deps.pool, async (db) => {
    await commitEngagementPage(db, connectionId, {
      contacts: accepted.map((email) => ({ ...contacts.get(email)!, objectId: ids.get(email)! })),
      appliedIds: fresh.filter((e) => ids.has(e.email) && !refused.has(e.email)).map((e) => e.id),
      doneIds: [],
      parked: fresh.filter((e) => refused.has(e.email)).map((e) => ({ id: e.id, reason: refused.get(e.email)! })),
      retryIds: [],
    });
    for (const email of accepted) {
      if (hot.has(email)) await recordTrigger(db, connectionId, email, setProperty ? `property ${settings.triggerProperty}` : 'pending');
    }
    await recordOwnWrites(db, connectionId, ledger);
  });
}

/** Timeline events HubSpot accepted are done; a 207's final verdicts park, the rest stay pending. */
async function settleTimeline(deps: EngagementDeps, connectionId: string, batch: PendingEngagement[], errors: BatchItemError[]): Promise<number> {
  const failed = new Map<string, { reason: string; permanent: boolean }>();
  for (const e of errors) for (const id of e.ids) failed.set(id, { reason: `${e.category}: ${e.message}`, permanent: PERMANENT_ITEM_CATEGORIES.test(e.category) });
  const parked = batch.filter((e) => failed.get(e.id)?.permanent).map((e) => ({ id: e.id, reason: failed.get(e.id)!.reason }));
  const doneIds = batch.filter((e) => !failed.has(e.id)).map((e) => e.id);
  const retryIds = batch.filter((e) => failed.has(e.id) && !failed.get(e.id)!.permanent).map((e) => e.id);
  await inTransaction(deps.pool, (db) => commitEngagementPage(db, connectionId, { contacts: [], appliedIds: [], doneIds, parked, retryIds }));
  return doneIds.length + parked.length;
}
