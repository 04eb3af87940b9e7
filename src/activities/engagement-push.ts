import { Context } from '@temporalio/activity';
import { ApplicationFailure } from '@temporalio/common';
import type { Client } from '@hubspot/api-client';
import type { Config } from '../config.js';
import { getConnection } from '../db/connections.js';
import {
  commitEngagementPage,
  completeTrigger,
  countPendingEnrolments,
  knownContactIds,
  outboxCounts,
  pendingEnrolments,
  readContactAggregates,
  readPendingEngagements,
  recordTrigger,
  triggeredContacts,
  type PendingEngagement,
} from '../db/engagements.js';
import { readPushSettings, recordPushSetup, type PushSettings } from '../db/push-settings.js';
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
import type { PushPhase } from '../workflows/engagement-definitions.js';
import { aggregate, contactProperties, PUSHED_PROPERTIES } from './engagement-score.js';
import { withHubSpot, type CallContext, type HubSpotDeps } from './hubspot-session.js';

/** One page: about one timeline request and a few upserts, so ≤ 0.03 HubSpot calls per event. */
export const ENGAGEMENT_PAGE_SIZE = 500;
/** Workflow enrolments are one request each: bounded per page so a page stays short. */
const ENROLMENTS_PER_PAGE = 100;
/**
 * Pages in which HubSpot may refuse an event for now (a 207 item error of a category not known to
 * be final) before it is parked: an unknown category must not keep an event pending for ever.
 */
export const MAX_ITEM_ATTEMPTS = 10;

export interface EngagementDeps extends HubSpotDeps {
  hubspot: HubSpotDeps['hubspot'] & Partial<Pick<Config['hubspot'], 'appId'>>;
  /** The app's developer key, for its timeline event template. */
  developerApiKey?: string | undefined;
}

export type PushCall = Omit<CallContext, 'priority'>;

export interface PushPageReport {
  /** What the connection's status allows; anything but `live` means nothing was pushed. */
  connection: PushPhase;
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

export interface SetupReport {
  connection: PushPhase;
  /** Group and properties created now. */
  created: number;
  templateId: string | null;
}

const T = HUBSPOT_ERROR_TYPES;

/** HubSpot's words for a template it does not have, or a token the template lacks. */
const TEMPLATE_MISSING = /event ?template|unknown token/i;

/**
 * Our own set-up is gone (one of our properties, the template or a token was deleted in HubSpot),
 * not the input's fault: the set-up repairs it. The one property we write that is not ours is the
 * trigger property: when HubSpot says only it is missing, the contacts carrying it are parked with
 * the reason instead (a message that names neither, e.g. cut short, goes to the set-up to check).
 */
function isSetupMissing(failure: ApplicationFailure, settings: PushSettings): boolean {
  const { message } = failure;
  if (failure.type !== T.Validation && failure.type !== T.NotFound) return false;
  if (TEMPLATE_MISSING.test(message)) return true;
  if (!/PROPERTY_DOESNT_EXIST|does not exist/i.test(message)) return false;
  return PUSHED_PROPERTIES.some((name) => message.includes(`${settings.propertyPrefix}${name}`)) || !message.includes(settings.triggerProperty);
}

/** A timeline item refused for want of our template or one of its tokens: the set-up's to repair. */
const isSetupItemError = (e: BatchItemError): boolean => TEMPLATE_MISSING.test(e.message);

/** HubSpot's verdict on these inputs is final: retrying the same request cannot succeed. */
function isPermanent(failure: ApplicationFailure): boolean {
  return failure.type === T.Validation || failure.type === T.MissingScopes || failure.type === T.NotFound || failure.type === T.ClientError;
}

/**
 * Batch item errors HubSpot repeats for the same input (an invalid email, a missing scope, no such
 * contact); items failing with any other category (an internal error, a lock, a rate limit) are
 * tried again on the next page, alone, up to MAX_ITEM_ATTEMPTS.
 */
const PERMANENT_ITEM_CATEGORIES = new Set(['VALIDATION_ERROR', 'INVALID_EMAIL', 'OBJECT_NOT_FOUND', 'MISSING_SCOPES', 'INVALID_AUTHENTICATION']);

const itemReason = (e: BatchItemError): string => `${e.category}: ${e.message}`;

/** Thrown inside a page to end it at once; caught before it leaves the activity. */
class PageInterrupted extends Error {
  constructor(readonly outcome: 'setup-missing' | Exclude<PushPhase, 'live'>) {
    super(outcome);
  }
}

/** The push's view of the connection: only an active connection is pushed for, a stopped or deleted one never again. */
async function pushPhase(deps: EngagementDeps, connectionId: string): Promise<PushPhase> {
  const connection = await getConnection(deps.pool, connectionId);
  if (!connection || connection.status === 'stopping' || connection.status === 'stopped') return 'ended';
  return connection.status === 'active' ? 'live' : 'held';
}

type Upsert = Array<{ email: string; properties: Record<string, string> }>;

/** What HubSpot said of each contact of an upsert: its id, or why not (final, or for now). */
interface UpsertOutcome {
  ids: Map<string, string>;
  refused: Map<string, string>;
  deferred: Map<string, string>;
}

/**
 * Upserts contacts. A 207 names the items it refused, each kept for the next page or parked by its
 * category; an input HubSpot refuses outright (e.g. an email it deems invalid) fails the whole
 * batch with a 400, so the batch is halved until the bad inputs stand alone and can be parked.
 */
async function upsertIsolating(client: Client, settings: PushSettings, contacts: Upsert, outcome: UpsertOutcome): Promise<void> {
  try {
    const result = await upsertContactsByEmail(client, contacts);
    for (const [email, id] of result.ids) outcome.ids.set(email, id);
    for (const e of result.errors) {
      for (const email of e.ids.map((id) => id.toLowerCase())) (PERMANENT_ITEM_CATEGORIES.has(e.category) ? outcome.refused : outcome.deferred).set(email, itemReason(e));
    }
    for (const { email } of contacts) {
      if (!outcome.ids.has(email) && !outcome.refused.has(email) && !outcome.deferred.has(email)) outcome.deferred.set(email, 'HubSpot answered without this contact');
    }
  } catch (error) {
    const failure = toApplicationFailure(error);
    if (isSetupMissing(failure, settings)) throw new PageInterrupted('setup-missing');
    // Transient: rethrow as it came, so withHubSpot can still refresh an expired token once.
    if (!isPermanent(failure)) throw error;
    if (contacts.length === 1 || failure.type === T.MissingScopes) {
      for (const c of contacts) outcome.refused.set(c.email, failure.message);
      return;
    }
    const half = Math.ceil(contacts.length / 2);
    await upsertIsolating(client, settings, contacts.slice(0, half), outcome);
    await upsertIsolating(client, settings, contacts.slice(half), outcome);
  }
}

/**
 * Legacy enrolment of a hot lead recorded as pending; recorded as done the moment HubSpot accepts
 * it, so a retry never enrols the same contact again.
 */
async function enrol(deps: EngagementDeps, call: CallContext, client: Client, workflowId: string, email: string): Promise<void> {
  const response = await enrolInWorkflow(client, workflowId, email);
  if (response.ok) return completeTrigger(deps.pool, call.connectionId, email, `workflow ${workflowId}`);
  const failure = await responseFailure(response);
  if (!isPermanent(failure)) throw failure;
  // Final (no such workflow, missing scope): recorded with the reason, so it is not retried forever.
  await completeTrigger(deps.pool, call.connectionId, email, `failed: ${failure.message}`);
}

export function createEngagementActivities(deps: EngagementDeps) {
  return {
    /**
     * Verifies the set-up in HubSpot, creating or repairing what is missing: the property group,
     * the custom contact properties, and the timeline template with its tokens. Safe to repeat.
     */
    async ensureEngagementSetup(input: PushCall): Promise<SetupReport> {
      const connection = await pushPhase(deps, input.connectionId);
      if (connection !== 'live') return { connection, created: 0, templateId: null };
      const appId = deps.hubspot.appId;
      if (appId === undefined) {
        throw ApplicationFailure.create({ type: 'TimelineAppMissing', message: 'HUBSPOT_APP_ID is not configured: no timeline event template', nonRetryable: true });
      }
      const settings = await readPushSettings(deps.pool, input.connectionId);
      const properties = await withHubSpot(deps, { ...input, priority: 'realtime' }, (client) => ensureContactProperties(client, settings.propertyPrefix));
      if (properties.archived.length > 0) {
        throw ApplicationFailure.create({
          type: 'EngagementPropertyArchived',
          message: `HubSpot has ${properties.archived.join(', ')} archived: restore it in HubSpot (a property of that name cannot be created again) or choose another propertyPrefix`,
          nonRetryable: true,
        });
      }
      let templateId: string;
      try {
        templateId = await ensureTimelineTemplate({ apiBaseUrl: deps.hubspot.apiBaseUrl, appId, developerApiKey: deps.developerApiKey });
      } catch (error) {
        throw toApplicationFailure(error);
      }
      await recordPushSetup(deps.pool, input.connectionId, templateId);
      return { connection, created: properties.created, templateId };
    },

    /**
     * Pushes the oldest pending page of the outbox in steps, each recorded in PostgreSQL as soon as
     * HubSpot accepted it, so a retry (5xx, worker restart) resumes instead of starting over:
     * per 100 contacts one upsert (creating missing ones, absolute values, the trigger property),
     * then one timeline request for the page, then pending workflow enrolments. Values are
     * absolute, timeline ids overwrite and triggers are recorded before and after: safe to retry.
     * The connection's status is read first and after every step: once it stopped, nothing more
     * is sent.
     */
    async pushEngagementPage(input: PushCall): Promise<PushPageReport> {
      const { pool } = deps;
      const idle = { done: 0, parked: 0, remaining: -1, progressed: false, setupMissing: false };
      const phase = await pushPhase(deps, input.connectionId);
      if (phase !== 'live') return { ...idle, connection: phase };
      const settings = await readPushSettings(pool, input.connectionId);
      const templateId = settings.timelineTemplateId;
      if (!templateId) return { ...idle, connection: 'live', setupMissing: true };
      const events = await readPendingEngagements(pool, input.connectionId, ENGAGEMENT_PAGE_SIZE);
      const enrolling = settings.enrolWorkflowId !== null && (await countPendingEnrolments(pool, input.connectionId)) > 0;
      let progressed = false;
      // A worker that dies mid-page is noticed at the heartbeat timeout; each step is recorded, so a retry resumes.
      const step = async (settled: boolean) => {
        if (settled) progressed = true;
        Context.current().heartbeat();
        const now = await pushPhase(deps, input.connectionId);
        if (now !== 'live') throw new PageInterrupted(now);
      };
      if (events.length > 0 || enrolling) {
        let outcome: 'pushed' | PageInterrupted['outcome'];
        try {
          outcome = await withHubSpot(deps, { ...input, priority: 'realtime' }, async (client, _kind, caller) => {
            try {
              await pushSteps(deps, client, caller, settings, templateId, events, step);
              return 'pushed' as const;
            } catch (error) {
              if (error instanceof PageInterrupted) return error.outcome;
              throw error;
            }
          });
        } catch (error) {
          // After some steps HubSpot is evidently up: a transient failure ends the page early, and the
          // next page resumes at once instead of after the retry policy's growing backoff.
          if (!(progressed && error instanceof ApplicationFailure && !error.nonRetryable)) throw error;
          outcome = 'pushed';
        }
        if (outcome === 'setup-missing') {
          await recordPushSetup(pool, input.connectionId, null);
          return { ...idle, connection: 'live', setupMissing: true };
        }
        if (outcome !== 'pushed') return { ...idle, connection: outcome, progressed };
      }
      const counts = await outboxCounts(pool, input.connectionId);
      const enrolments = settings.enrolWorkflowId === null ? 0 : await countPendingEnrolments(pool, input.connectionId);
      return { connection: 'live', done: counts.done, parked: counts.parked, remaining: counts.pending + enrolments, progressed, setupMissing: false };
    },
  };
}

/** The steps of one page; throws PageInterrupted when the set-up is missing or the connection stopped. */
async function pushSteps(
  deps: EngagementDeps,
  client: Client,
  caller: CallContext,
  settings: PushSettings,
  templateId: string,
  events: PendingEngagement[],
  /** After each request: `settled` when HubSpot took or finally refused something (not merely "later"). */
  step: (settled: boolean) => Promise<void>,
): Promise<void> {
  const connectionId = caller.connectionId;
  const fresh = events.filter((e) => !e.applied);
  const emails = [...new Set(fresh.map((e) => e.email))];
  // Contacts HubSpot did not take this page: their events wait (or are parked) and get no timeline event yet.
  const skipped = new Set<string>();
  for (let i = 0; i < emails.length; i += UPSERT_BATCH) {
    const chunk = new Set(emails.slice(i, i + UPSERT_BATCH));
    const pushed = await pushContacts(deps, client, connectionId, settings, fresh.filter((e) => chunk.has(e.email)));
    for (const email of pushed.skipped) skipped.add(email);
    await step(pushed.settled > 0);
  }
  const timeline = events.filter((e) => !skipped.has(e.email));
  for (let i = 0; i < timeline.length; i += TIMELINE_BATCH) {
    const batch = timeline.slice(i, i + TIMELINE_BATCH);
    let errors: BatchItemError[];
    try {
      errors = await createTimelineEvents(client, templateId, batch);
    } catch (error) {
      if (isSetupMissing(toApplicationFailure(error), settings)) throw new PageInterrupted('setup-missing');
      throw error;
    }
    if (errors.some(isSetupItemError)) throw new PageInterrupted('setup-missing');
    await step((await settleTimeline(deps, connectionId, batch, errors)) > 0);
  }
  if (settings.enrolWorkflowId !== null) {
    for (const email of await pendingEnrolments(deps.pool, connectionId, ENROLMENTS_PER_PAGE)) {
      await enrol(deps, caller, client, settings.enrolWorkflowId, email);
      await step(true);
    }
  }
}

/** Events of contacts HubSpot refused for now: tried again next page, parked once they used their attempts. */
function retryOrPark(events: PendingEngagement[], reasons: Map<string, string>, keyOf: (e: PendingEngagement) => string) {
  const spent = (e: PendingEngagement) => e.attempts + 1 >= MAX_ITEM_ATTEMPTS;
  return {
    retryIds: events.filter((e) => !spent(e)).map((e) => e.id),
    parked: events.filter(spent).map((e) => ({ id: e.id, reason: `refused ${MAX_ITEM_ATTEMPTS} times, last: ${reasons.get(keyOf(e))}` })),
  };
}

/**
 * Up to 100 contacts: aggregates their new events on top of the stored ones, upserts the absolute
 * values, and records in one transaction what HubSpot accepted — aggregates, applied events, parked
 * events of refused contacts, the hot-lead triggers and the write ledger. Returns the contacts
 * HubSpot did not accept, and how many it settled (accepted, or refused for good).
 */
async function pushContacts(
  deps: EngagementDeps,
  client: Client,
  connectionId: string,
  settings: PushSettings,
  fresh: PendingEngagement[],
): Promise<{ skipped: string[]; settled: number }> {
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
  const writes = (ids: Map<string, string>, of: string[]): OwnWrite[] =>
    of.flatMap((email) => Object.entries(properties.get(email)!).map(([property, value]) => ({ objectType: 'contacts', objectId: ids.get(email)!, property, value })));
  // Recorded before the write: HubSpot's echo of it may arrive before this page commits.
  const known = await knownContactIds(deps.pool, connectionId, emails);
  await recordOwnWrites(deps.pool, connectionId, writes(known, emails.filter((email) => known.has(email))));

  const outcome: UpsertOutcome = { ids: new Map(), refused: new Map(), deferred: new Map() };
  await upsertIsolating(client, settings, emails.map((email) => ({ email, properties: properties.get(email)! })), outcome);
  const { ids, refused, deferred } = outcome;
  const accepted = emails.filter((email) => ids.has(email) && !refused.has(email) && !deferred.has(email));
  const later = retryOrPark(fresh.filter((e) => deferred.has(e.email)), deferred, (e) => e.email);
  await inTransaction(deps.pool, async (db) => {
    await commitEngagementPage(db, connectionId, {
      contacts: accepted.map((email) => ({ ...contacts.get(email)!, objectId: ids.get(email)! })),
      appliedIds: fresh.filter((e) => accepted.includes(e.email)).map((e) => e.id),
      doneIds: [],
      parked: [...fresh.filter((e) => refused.has(e.email)).map((e) => ({ id: e.id, reason: refused.get(e.email)! })), ...later.parked],
      retryIds: later.retryIds,
    });
    for (const email of accepted) {
      if (hot.has(email)) await recordTrigger(db, connectionId, email, setProperty ? `property ${settings.triggerProperty}` : 'pending');
    }
    await recordOwnWrites(db, connectionId, writes(ids, accepted));
  });
  return { skipped: [...refused.keys(), ...deferred.keys()], settled: accepted.length + refused.size + later.parked.length };
}

/**
 * Timeline events HubSpot accepted are done; a 207's final verdicts park, the rest stay pending
 * (bounded). Returns how many events it settled.
 */
async function settleTimeline(deps: EngagementDeps, connectionId: string, batch: PendingEngagement[], errors: BatchItemError[]): Promise<number> {
  const failed = new Map<string, BatchItemError>();
  for (const e of errors) for (const id of e.ids) failed.set(id, e);
  const permanent = (e: PendingEngagement) => PERMANENT_ITEM_CATEGORIES.has(failed.get(e.id)!.category);
  const refused = batch.filter((e) => failed.has(e.id));
  const later = retryOrPark(refused.filter((e) => !permanent(e)), new Map([...failed].map(([id, e]) => [id, itemReason(e)])), (e) => e.id);
  const doneIds = batch.filter((e) => !failed.has(e.id)).map((e) => e.id);
  const parked = [...refused.filter(permanent).map((e) => ({ id: e.id, reason: itemReason(failed.get(e.id)!) })), ...later.parked];
  await inTransaction(deps.pool, (db) => commitEngagementPage(db, connectionId, { contacts: [], appliedIds: [], doneIds, parked, retryIds: later.retryIds }));
  return doneIds.length + parked.length;
}
