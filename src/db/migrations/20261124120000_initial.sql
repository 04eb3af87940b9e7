-- Up Migration

create table connections (
  id uuid primary key,
  portal_id bigint not null,
  auth_type text not null check (auth_type in ('oauth', 'private_app')),
  status text not null default 'active'
    check (status in ('active', 'paused', 'reauth_required', 'stopping', 'stopped')),
  workflow_id text not null unique,
  object_types text[] not null,
  sync_interval_seconds integer not null check (sync_interval_seconds > 0),
  created_at timestamptz not null default now(),
  updated_at timestamptz not null default now()
);
create index connections_portal_id_idx on connections (portal_id);

-- Secrets live apart from `connections` so that no listing query can select them by accident.
-- Values are AES-256-GCM ciphertexts (base64); key_id names the key that sealed them.
create table connection_tokens (
  connection_id uuid primary key references connections (id) on delete cascade,
  key_id text not null,
  access_token text not null,
  refresh_token text,
  -- null for static private-app tokens
  expires_at timestamptz,
  updated_at timestamptz not null default now()
);

create table crm_objects (
  connection_id uuid not null references connections (id) on delete cascade,
  object_type text not null,
  object_id text not null,
  properties jsonb not null,
  created_at timestamptz,
  updated_at timestamptz not null,
  archived boolean not null default false,
  archived_at timestamptz,
  -- the surviving record's id after a merge
  merged_into text,
  synced_at timestamptz not null default now(),
  primary key (connection_id, object_type, object_id)
);
create index crm_objects_updated_idx on crm_objects (connection_id, object_type, updated_at);

create table crm_associations (
  connection_id uuid not null references connections (id) on delete cascade,
  from_type text not null,
  from_id text not null,
  to_type text not null,
  to_id text not null,
  type_id integer not null,
  category text not null,
  label text,
  synced_at timestamptz not null default now(),
  primary key (connection_id, from_type, from_id, to_type, to_id, type_id)
);
create index crm_associations_to_idx on crm_associations (connection_id, to_type, to_id);

-- Down Migration

drop table crm_associations;
drop table crm_objects;
drop table connection_tokens;
drop table connections;
