import type { Pool, PoolClient } from 'pg';
import type { ContactAggregate, EngagementEvent } from '../activities/engagement-score.js';

type Db = Pool | PoolClient;

/** Stores events once by id; a resubmitted id (or a repeat within the batch) is ignored. */
export async function insertEngagements(db: Db, connectionId: string, events: EngagementEvent[]): Promise<{ accepted: number; duplicates: number }> {
  if (events.length === 0) return { accepted: 0, duplicates: 0 };
  const { rowCount } = await db.query(
    `insert into engagement_outbox (connection_id, event_id, type, email, occurred_at, campaign_id, campaign_name, subject, url)
     select $1, e.id, e.type, e.email, e."occurredAt", e."campaignId", e."campaignName", e.subject, e.url
       from rows from (jsonb_to_recordset($2::jsonb)
              as (id text, type text, email text, "occurredAt" timestamptz, "campaignId" text, "campaignName" text, subject text, url text))
            with ordinality as e(id, type, email, "occurredAt", "campaignId", "campaignName", subject, url, n)
      -- seq follows the request's order
      order by e.n
     on conflict (connection_id, event_id) do nothing`,
    [connectionId, JSON.stringify(events)],
  );
  const accepted = rowCount ?? 0;
  return { accepted, duplicates: events.length - accepted };
}

export interface PendingEngagement extends EngagementEvent {
  /** Already counted into the contact's aggregate; only its timeline event is outstanding. */
  applied: boolean;
  /** Pages in which HubSpot refused it for now (a 207 item error); bounded before it is parked. */
  attempts: number;
}

/** The oldest pending events, in arrival order. */
export async function readPendingEngagements(db: Db, connectionId: string, limit: number): Promise<PendingEngagement[]> {
  const { rows } = await db.query(
    `select event_id, type, email, occurred_at, campaign_id, campaign_name, subject, url, applied, attempts
       from engagement_outbox where connection_id = $1 and status = 'pending' order by seq limit $2`,
    [connectionId, limit],
  );
  return rows.map((r) => ({
    id: r.event_id,
    type: r.type,
    email: r.email,
    occurredAt: (r.occurred_at as Date).toISOString(),
    campaignId: r.campaign_id,
    campaignName: r.campaign_name,
    subject: r.subject,
    ...(r.url === null ? {} : { url: r.url }),
    applied: r.applied,
    attempts: r.attempts,
  }));
}

const iso = (d: Date | null): string | null => (d === null ? null : d.toISOString());

export async function readContactAggregates(db: Db, connectionId: string, emails: string[]): Promise<Map<string, ContactAggregate>> {
  const { rows } = await db.query(`select * from engagement_contacts where connection_id = $1 and email = any($2)`, [connectionId, emails]);
  return new Map(
    rows.map((r) => [
      r.email,
      {
        email: r.email,
        rawScore: r.raw_score,
        totalOpens: r.total_opens,
        totalClicks: r.total_clicks,
        lastOpenedAt: iso(r.last_opened_at),
        lastClickedAt: iso(r.last_clicked_at),
        lastCampaign: r.last_campaign,
        lastEventAt: iso(r.last_event_at),
        unsubscribed: r.unsubscribed,
      },
    ]),
  );
}

/**
 * HubSpot ids of contacts already known by email: from earlier pushes, else from the mirror. Lets
 * the push record its writes before making them (an echo may arrive before the page commits).
 */
export async function knownContactIds(db: Db, connectionId: string, emails: string[]): Promise<Map<string, string>> {
  const { rows } = await db.query(
    `select distinct on (email) email, object_id from (
       select email, object_id, 0 as rank from engagement_contacts
        where connection_id = $1 and email = any($2) and object_id is not null
       union all
       select lower(properties ->> 'email'), object_id, 1 from crm_objects
        where connection_id = $1 and object_type = 'contacts' and lower(properties ->> 'email') = any($2)
          and not archived and merged_into is null
     ) known order by email, rank`,
    [connectionId, emails],
  );
  return new Map(rows.map((r) => [r.email as string, r.object_id as string]));
}

/** Emails among `emails` whose hot-lead trigger already happened. */
export async function triggeredContacts(db: Db, connectionId: string, emails: string[]): Promise<Set<string>> {
  const { rows } = await db.query(`select email from engagement_triggers where connection_id = $1 and email = any($2)`, [connectionId, emails]);
  return new Set(rows.map((r) => r.email as string));
}

export async function recordTrigger(db: Db, connectionId: string, email: string, via: string): Promise<void> {
  await db.query(`insert into engagement_triggers (connection_id, email, via) values ($1, $2, $3) on conflict do nothing`, [connectionId, email, via]);
}

export interface PageOutcome {
  /** Aggregates now including the newly applied events, with the HubSpot id of each contact. */
  contacts: Array<ContactAggregate & { objectId: string }>;
  /** Events counted into `contacts` by this page. */
  appliedIds: string[];
  /** Events HubSpot fully accepted (properties and timeline event). */
  doneIds: string[];
  parked: Array<{ id: string; reason: string }>;
  /** Events that stay pending for another try. */
  retryIds: string[];
}

/** Everything a page learned, in one transaction: a retry of the page after this commits finds nothing left to do. */
export async function commitEngagementPage(db: PoolClient, connectionId: string, outcome: PageOutcome): Promise<void> {
  if (outcome.contacts.length > 0) {
    await db.query(
      `insert into engagement_contacts as c (connection_id, email, object_id, raw_score, total_opens, total_clicks,
              last_opened_at, last_clicked_at, last_campaign, last_event_at, unsubscribed, updated_at)
       select $1, a.email, a."objectId", a."rawScore", a."totalOpens", a."totalClicks",
              a."lastOpenedAt", a."lastClickedAt", a."lastCampaign", a."lastEventAt", a.unsubscribed, now()
         from jsonb_to_recordset($2::jsonb) as a(email text, "objectId" text, "rawScore" int, "totalOpens" int, "totalClicks" int,
              "lastOpenedAt" timestamptz, "lastClickedAt" timestamptz, "lastCampaign" text, "lastEventAt" timestamptz, unsubscribed boolean)
       on conflict (connection_id, email) do update set
         object_id = excluded.object_id, raw_score = excluded.raw_score, total_opens = excluded.total_opens,
         total_clicks = excluded.total_clicks, last_opened_at = excluded.last_opened_at, last_clicked_at = excluded.last_clicked_at,
         last_campaign = excluded.last_campaign, last_event_at = excluded.last_event_at, unsubscribed = excluded.unsubscribed, updated_at = now()`,
      [connectionId, JSON.stringify(outcome.contacts)],
    );
  }
  await db.query(`update engagement_outbox set applied = true where connection_id = $1 and event_id = any($2)`, [connectionId, outcome.appliedIds]);
  await db.query(`update engagement_outbox set status = 'done', done_at = now(), attempts = attempts + 1 where connection_id = $1 and event_id = any($2)`, [
    connectionId,
    outcome.doneIds,
  ]);
  await db.query(`update engagement_outbox set attempts = attempts + 1 where connection_id = $1 and event_id = any($2)`, [connectionId, outcome.retryIds]);
  if (outcome.parked.length > 0) {
    await db.query(
      `update engagement_outbox o set status = 'parked', reason = p.reason, done_at = now(), attempts = attempts + 1
         from jsonb_to_recordset($2::jsonb) as p(id text, reason text)
        where o.connection_id = $1 and o.event_id = p.id`,
      [connectionId, JSON.stringify(outcome.parked)],
    );
  }
}

export interface OutboxCounts {
  pending: number;
  done: number;
  parked: number;
  /** Why events were parked, most frequent first (at most 20 distinct reasons). */
  parkedReasons: Array<{ reason: string; count: number }>;
}

export async function outboxCounts(db: Db, connectionId: string): Promise<OutboxCounts> {
  const { rows } = await db.query(`select status, count(*)::int as n from engagement_outbox where connection_id = $1 group by status`, [connectionId]);
  const n = (status: string) => (rows.find((r) => r.status === status)?.n as number | undefined) ?? 0;
  const reasons = await db.query(
    `select reason, count(*)::int as count from engagement_outbox where connection_id = $1 and status = 'parked'
      group by reason order by count desc, reason limit 20`,
    [connectionId],
  );
  return { pending: n('pending'), done: n('done'), parked: n('parked'), parkedReasons: reasons.rows };
}

/** Hot leads whose workflow enrolment is still to do (recorded when the score crossed). */
export async function pendingEnrolments(db: Db, connectionId: string, limit: number): Promise<string[]> {
  const { rows } = await db.query(`select email from engagement_triggers where connection_id = $1 and via = 'pending' order by triggered_at, email limit $2`, [
    connectionId,
    limit,
  ]);
  return rows.map((r) => r.email as string);
}

export async function completeTrigger(db: Db, connectionId: string, email: string, via: string): Promise<void> {
  await db.query(`update engagement_triggers set via = $3, triggered_at = now() where connection_id = $1 and email = $2`, [connectionId, email, via]);
}

export async function countPendingEnrolments(db: Db, connectionId: string): Promise<number> {
  const { rows } = await db.query(`select count(*)::int as n from engagement_triggers where connection_id = $1 and via = 'pending'`, [connectionId]);
  return rows[0].n;
}
