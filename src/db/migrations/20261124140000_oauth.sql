-- Up Migration

-- The CSRF state of one OAuth install. The browser that started it holds a nonce in a cookie;
-- only the nonce's hash is kept, so a database read cannot forge the callback.
create table oauth_states (
  state text primary key,
  nonce_hash text not null,
  -- what the install asked for; null: the defaults
  object_types text[],
  sync_interval_seconds integer check (sync_interval_seconds > 0),
  created_at timestamptz not null default now(),
  expires_at timestamptz not null,
  used_at timestamptz
);
create index oauth_states_expires_at_idx on oauth_states (expires_at);

-- The HubSpot app an OAuth connection was installed through (null for private-app tokens).
alter table connections add column app_id bigint;
-- One live OAuth connection per portal and app: a second install of the portal reauthorizes it.
create unique index connections_oauth_portal_app_idx on connections (portal_id, app_id)
  where auth_type = 'oauth' and status not in ('stopping', 'stopped');

-- When tokens were last refreshed (not installed), so concurrent refreshes by several workers
-- can see that another one has just done it.
alter table connection_tokens add column refreshed_at timestamptz;

-- Down Migration

alter table connection_tokens drop column refreshed_at;
drop index connections_oauth_portal_app_idx;
alter table connections drop column app_id;
drop table oauth_states;
