-- Up Migration

-- Email engagement events waiting to reach HubSpot. The event id is the idempotency key twice
-- over: a resubmitted event hits the primary key and is ignored, and it becomes the timeline
-- event id in HubSpot, where reusing an id overwrites.
create table engagement_outbox (
  connection_id uuid not null references connections (id) on delete cascade,
  event_id text not null,
  -- arrival order: the push drains in this order, so each contact's events apply in order
  seq bigserial not null,
  type text not null check (type in ('sent', 'opened', 'clicked', 'replied', 'bounced', 'unsubscribed')),
  email text not null,
  occurred_at timestamptz not null,
  campaign_id text not null,
  campaign_name text not null,
  subject text not null,
  url text,
  status text not null default 'pending' check (status in ('pending', 'done', 'parked')),
  -- counted into engagement_contacts (the contact's properties were accepted); the timeline
  -- event may still be outstanding, and a retry must not count the event twice
  applied boolean not null default false,
  reason text,
  attempts integer not null default 0,
  created_at timestamptz not null default now(),
  done_at timestamptz,
  primary key (connection_id, event_id)
);
create index engagement_outbox_pending_idx on engagement_outbox (connection_id, seq) where status = 'pending';

-- Per-contact aggregates behind the pushed properties. `raw_score` is the plain sum of rule
-- deltas; the published score is 0 once unsubscribed and never negative.
create table engagement_contacts (
  connection_id uuid not null references connections (id) on delete cascade,
  email text not null,
  object_id text,
  raw_score integer not null default 0,
  total_opens integer not null default 0,
  total_clicks integer not null default 0,
  last_opened_at timestamptz,
  last_clicked_at timestamptz,
  last_campaign text,
  last_event_at timestamptz,
  unsubscribed boolean not null default false,
  updated_at timestamptz not null default now(),
  primary key (connection_id, email)
);

-- A hot lead's trigger, recorded by the activity that performed it and checked before every
-- call: one trigger per contact, however often the activity runs.
create table engagement_triggers (
  connection_id uuid not null references connections (id) on delete cascade,
  email text not null,
  via text not null,
  triggered_at timestamptz not null default now(),
  primary key (connection_id, email)
);

-- Per-connection push settings; a missing row means the defaults in src/db/push-settings.ts.
create table connection_push_settings (
  connection_id uuid primary key references connections (id) on delete cascade,
  property_prefix text not null default 'hubsync_',
  -- { opened, clicked, replied, bounced, sent } → score delta
  scoring_rules jsonb,
  score_threshold integer not null default 75,
  -- enrol hot leads in this legacy HubSpot workflow; when null, set trigger_property instead
  enrol_workflow_id text,
  trigger_property text not null default 'lifecyclestage',
  trigger_value text not null default 'salesqualifiedlead',
  -- the app's timeline event template, once created
  timeline_template_id text,
  setup_at timestamptz,
  updated_at timestamptz not null default now()
);

-- The last value hubsync wrote to each HubSpot property, so the webhook path can tell the echo of
-- our own write (same value) from a change made in HubSpot. One row per property: bounded.
create table hubspot_write_ledger (
  connection_id uuid not null references connections (id) on delete cascade,
  object_type text not null,
  object_id text not null,
  property text not null,
  value text not null,
  written_at timestamptz not null default now(),
  primary key (connection_id, object_type, object_id, property)
);

-- Down Migration

drop table hubspot_write_ledger;
drop table connection_push_settings;
drop table engagement_triggers;
drop table engagement_contacts;
drop table engagement_outbox;
